// Layer-wise calibration sensitivity (eval/calibration_sensitivity.h): the two whole
// networks are what evaluate_on_device gives with each calibration method; each row changes
// one node's range and nothing else; rows come largest loss first; equal methods give no row.
#include <gtest/gtest.h>

#include "core/error.h"
#include "data/synthetic.h"
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
}  // namespace

TEST(CalibrationSensitivity, EachRowChangesOneNodeAndTheWholeNetworksMatchEvaluation) {
  Checkpoint ck = tiny_checkpoint();
  SyntheticOptions so;
  so.scenes = 2;
  so.height = 70;
  so.width = 90;
  so.seed = 3;
  auto s = make_synthetic(so);
  TileOptions to;
  to.tile = 64;
  to.overlap = 8;
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
