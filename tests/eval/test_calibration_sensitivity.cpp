// Layer-wise calibration sensitivity (eval/calibration_sensitivity.h): the two whole
// networks are what evaluate_on_device gives with each calibration method; each row changes
// one node's range and nothing else; rows come largest loss first; equal methods give no row.
#include <gtest/gtest.h>

#include "core/error.h"
#include "data/synthetic.h"
#include "device/trained_ranges.h"
#include "eval/calibration_sensitivity.h"

using namespace dalnas;

namespace {
Checkpoint tiny_checkpoint() {
  Checkpoint ck;
  ck.genome =
      Genome::parse("ConvBnAct-8-k3-relu_max_ConvSE-12-k3-hswish_max_MBConv-12-k3-e3-relu6_dec-8");
  ck.bands = 4;
  torch::manual_seed(4);
  ck.net = build_network(ck.genome, 4);
  ck.net->eval();
  ck.norm.mean = {3000, 3000, 2800, 2000};
  ck.norm.std = {600, 650, 700, 900};
  return ck;
}
std::vector<Scene> two_scenes() {
  SyntheticOptions so;
  so.scenes = 2;
  so.height = 70;
  so.width = 90;
  so.seed = 3;
  return make_synthetic(so);
}
TileOptions tiles_64() {
  TileOptions to;
  to.tile = 64;
  to.overlap = 8;
  return to;
}
}  // namespace

TEST(CalibrationSensitivity, EachRowChangesOneNodeAndTheWholeNetworksMatchEvaluation) {
  Checkpoint ck = tiny_checkpoint();
  auto s = two_scenes();
  const TileOptions to = tiles_64();
  const std::vector<int> calib{0};
  DeviceProfile p = load_profile("int8-tflite");
  p.integer->percentile = 55.0;  // a percentile that clips hard: the methods differ everywhere
  const CalibrationSensitivity r =
      calibration_sensitivity(ck, p, CalibrationMethod::Percentile, s, {1}, to, &calib);
  EXPECT_EQ(r.base_method, "minmax");
  EXPECT_EQ(r.alternative_method, "percentile");
  EXPECT_EQ(r.base_miou,
            evaluate_on_device(ck, "int8-tflite", s, {1}, to, &p, &calib).metrics.cm.miou());
  DeviceProfile q = p;
  q.integer->calibration = CalibrationMethod::Percentile;
  EXPECT_EQ(r.alternative_miou,
            evaluate_on_device(ck, "int8-tflite", s, {1}, to, &q, &calib).metrics.cm.miou());
  ASSERT_GE(r.nodes.size(), 5u);
  bool moved = false;
  for (size_t i = 0; i < r.nodes.size(); ++i) {
    const auto& n = r.nodes[i];
    EXPECT_FALSE(n.base.min == n.alternative.min && n.base.max == n.alternative.max) << n.node;
    EXPECT_NE(n.node.find("pool"), 0u) << "pooling shares its input's parameters";
    EXPECT_DOUBLE_EQ(n.delta, n.miou - r.base_miou) << n.node;
    if (i > 0) {
      EXPECT_LE(r.nodes[i - 1].delta, n.delta);
    }
    moved = moved || n.delta != 0;
  }
  EXPECT_TRUE(moved) << "a clipping percentile at some node moves the metrics\n" << r.table();
  EXPECT_NE(r.table().find(r.nodes.front().node), std::string::npos);

  // The same method as the profile's: nothing differs, no row.
  const CalibrationSensitivity same =
      calibration_sensitivity(ck, p, CalibrationMethod::MinMax, s, {1}, to, &calib);
  EXPECT_TRUE(same.nodes.empty());
  EXPECT_EQ(same.base_miou, same.alternative_miou);

  // Errors: no calibration scenes, a float profile, diffs outside dpu-int8.
  EXPECT_THROW(calibration_sensitivity(ck, p, CalibrationMethod::Percentile, s, {1}, to, nullptr),
               Error);
  EXPECT_THROW(calibration_sensitivity(ck, load_profile("myriadx"), CalibrationMethod::Percentile,
                                       s, {1}, to, &calib),
               Error);
  EXPECT_THROW(calibration_sensitivity(ck, p, CalibrationMethod::Diffs, s, {1}, to, &calib), Error);
}

// `trained`: the base is the profile's calibration with no trained range, each row one
// node at the range the network was trained at. A network without trained ranges is an
// error naming them; the parser takes "trained" and the method names, and names the value
// it refuses.
TEST(CalibrationSensitivity, TrainedRangesAgainstRecalibrationOneNodeAtATime) {
  Checkpoint ck = tiny_checkpoint();
  auto s = two_scenes();
  const TileOptions to = tiles_64();
  const std::vector<int> calib{0};
  const DeviceProfile p = load_profile("int8-tflite");
  EXPECT_THROW(
      calibration_sensitivity(ck, p, SensitivityAlternative::trained_ranges(), s, {1}, to, &calib),
      Error);
  // Trained ranges: the recalibrated ones, every other node's four times as wide.
  DeviceProfile recal = p;
  recal.integer->trained_ranges = false;
  const Int8Setup q = int8_setup(ck, recal, s, to, &calib);
  ActRanges trained;
  int k = 0;
  for (size_t i = 0; i < q.form.nodes.size(); ++i) {
    const std::string& name = q.form.nodes[i].name;
    if (q.form.nodes[i].op != OpType::Conv || name.find('.') == std::string::npos ||
        trained_range_node(q.form, name) != static_cast<int>(i))
      continue;  // a convolution holding its own point's tensor
    const float f = (k++ % 2 == 0) ? 4.0f : 1.0f;
    trained[name] = {q.ranges[i].min * f, q.ranges[i].max * f};
  }
  ASSERT_GE(k, 4);
  ck.act_ranges = trained;
  const CalibrationSensitivity r =
      calibration_sensitivity(ck, p, SensitivityAlternative::trained_ranges(), s, {1}, to, &calib);
  EXPECT_EQ(r.alternative_method, "trained");
  EXPECT_EQ(r.base_miou,
            evaluate_on_device(ck, "int8-tflite", s, {1}, to, &recal, &calib).metrics.cm.miou());
  EXPECT_EQ(r.alternative_miou,
            evaluate_on_device(ck, "int8-tflite", s, {1}, to, &p, &calib).metrics.cm.miou());
  EXPECT_EQ(static_cast<int>(r.nodes.size()), (k + 1) / 2) << r.table();
  for (const auto& n : r.nodes) {
    EXPECT_FLOAT_EQ(n.alternative.max, 4.0f * n.base.max) << n.node;
    ASSERT_TRUE(trained.count(n.node)) << n.node;
  }

  EXPECT_TRUE(parse_sensitivity_alternative("trained").trained);
  EXPECT_EQ(parse_sensitivity_alternative("entropy").method, CalibrationMethod::Entropy);
  try {
    parse_sensitivity_alternative("trianed");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("trianed"), std::string::npos) << e.what();
  }
}
