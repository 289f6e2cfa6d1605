// Device evaluation: the fp32 profile reproduces the host metrics; FP16 numerics with raw
// saturated input on the device produce NaN pixels; the tile runner matches the emulator.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "data/synthetic.h"
#include "device/alignment.h"
#include "device/int8_emulator.h"
#include "device/trained_ranges.h"
#include "eval/device_eval.h"
#include "steps_near.h"
#include "train/experiment.h"

using namespace dalnas;

namespace {
Checkpoint tiny_checkpoint(uint64_t seed) {
  Checkpoint ck;
  ck.genome =
      Genome::parse("ConvBnAct-8-k3-relu_max_ConvSE-12-k3-hswish_max_MBConv-12-k3-e3-relu6_dec-8");
  ck.bands = 4;
  torch::manual_seed(seed);
  ck.net = build_network(ck.genome, 4);
  ck.net->eval();
  ck.norm.mean = {3000, 3000, 2800, 2000};
  ck.norm.std = {600, 650, 700, 900};
  return ck;
}
// n raw 4 x 32 x 32 tiles normalised as the checkpoint's network takes them.
torch::Tensor normalised_tiles(const Checkpoint& ck, const std::vector<float>& raw, int n) {
  auto x = torch::from_blob(const_cast<float*>(raw.data()), {n, 4, 32, 32}).clone();
  for (int c = 0; c < 4; ++c)
    x.select(1, c)
        .sub_(ck.norm.mean[static_cast<size_t>(c)])
        .div_(ck.norm.std[static_cast<size_t>(c)]);
  return x;
}
// Up to 8 tiles of scene 0 (train) and of scene 1 (other).
struct TileSets {
  std::vector<float> train, other;
  int nt = 0, no = 0;
};
TileSets tile_sets(const std::vector<Scene>& s, const TileOptions& to) {
  TileSets t;
  t.nt = calibration_tiles(s, {0}, to, 8, t.train);
  t.no = calibration_tiles(s, {1}, to, 8, t.other);
  return t;
}
int node_named(const DeviceGraph& g, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].name == name) return static_cast<int>(i);
  return -1;
}
std::vector<Scene> scenes() {
  SyntheticOptions o;
  o.scenes = 2;
  o.height = 70;
  o.width = 90;
  o.seed = 3;
  return make_synthetic(o);
}
}  // namespace

TEST(DeviceEval, Fp32ProfileGivesTheHostConfusionMatrix) {
  Checkpoint ck = tiny_checkpoint(1);
  auto s = scenes();
  TileOptions to;
  to.tile = 64;
  to.overlap = 8;
  const auto host = evaluate_on_device(ck, "host", s, {0, 1}, to);
  const auto dev = evaluate_on_device(ck, "fp32", s, {0, 1}, to);
  EXPECT_EQ(dev.nan_pixels, 0);
  // FP32 emulation differs from libtorch only in summation order: at most a handful of
  // pixels sit exactly at the threshold.
  const auto diff = [](uint64_t a, uint64_t b) { return a > b ? a - b : b - a; };
  EXPECT_LE(diff(host.metrics.cm.tp, dev.metrics.cm.tp), 2u);
  EXPECT_LE(diff(host.metrics.cm.fp, dev.metrics.cm.fp), 2u);
  EXPECT_EQ(host.metrics.cm.total(), dev.metrics.cm.total());
}

TEST(DeviceEval, SaturatedRawPixelsGiveNaNOnlyWithNormalisationOnTheDevice) {
  Checkpoint ck = tiny_checkpoint(2);
  auto s = scenes();
  s[0].image[100] = 65535.0f;  // band 0: a saturated pixel, as in real scenes
  TileOptions to;
  to.tile = 64;
  to.overlap = 8;
  DeviceProfile p = load_profile("myriadx");
  p.fold_normalization = false;
  EXPECT_EQ(evaluate_on_device(ck, "myriadx", s, {0}, to, &p).nan_pixels, 0);
  p.fold_normalization = true;
  EXPECT_GT(evaluate_on_device(ck, "myriadx", s, {0}, to, &p).nan_pixels, 0);
}

TEST(DeviceEval, UnknownDeviceNamesTheProfile) {
  Checkpoint ck = tiny_checkpoint(3);
  auto s = scenes();
  try {
    evaluate_on_device(ck, "tpu9000", s, {0}, TileOptions{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tpu9000"), std::string::npos) << e.what();
  }
}

TEST(DeviceEval, Int8ProfileQuantizesAfterCalibratingOnTheTrainingScenes) {
  // SE with hard-swish, MBConv with ReLU6: activations int8-tflite splits off as tables.
  Checkpoint ck = tiny_checkpoint(4);
  auto s = scenes();
  TileOptions to;
  to.tile = 64;
  to.overlap = 8;
  const DeviceProfile p = load_profile("int8-tflite");
  ASSERT_TRUE(p.integer.has_value());
  // Without calibration scenes: an error naming the device.
  try {
    evaluate_on_device(ck, "int8-tflite", s, {1}, to, &p);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("int8-tflite"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("calibration"), std::string::npos) << e.what();
  }
  const std::vector<int> calib{0};
  const auto host = evaluate_on_device(ck, "host", s, {1}, to);
  const auto q = evaluate_on_device(ck, "int8-tflite", s, {1}, to, &p, &calib);
  ASSERT_EQ(q.metrics.cm.total(), host.metrics.cm.total());
  EXPECT_EQ(q.nan_pixels, 0);
  // int8 moves some pixels across the threshold, not most of them.
  const auto positives = [](const Metrics& m) { return static_cast<double>(m.cm.tp + m.cm.fp); };
  const double total = static_cast<double>(host.metrics.cm.total());
  EXPECT_LT(std::abs(positives(q.metrics) - positives(host.metrics)) / total, 0.1);
  // The calibration set is a setting that reaches the result: the input range of one
  // calibration tile is not that of the whole scene.
  DeviceProfile one = p;
  one.integer->calibration_tiles = 1;
  const auto q1 = evaluate_on_device(ck, "int8-tflite", s, {1}, to, &one, &calib);
  EXPECT_NE(q1.metrics.cm.tp * 1000003 + q1.metrics.cm.fp,
            q.metrics.cm.tp * 1000003 + q.metrics.cm.fp);
}

// A network trained quantization-aware deploys at the activation ranges it was trained at
// ([integer] ranges = "trained", the default), as a TFLite converter deploys a QAT model:
// the emulator then computes what the quantization-aware forward computed, closer than
// after re-calibrating the same weights on other tiles.
TEST(DeviceEval, QuantizationAwareNetworkDeploysAtItsTrainedRanges) {
  Checkpoint ck = tiny_checkpoint(5);
  const DeviceProfile p = load_profile("int8-tflite");
  ASSERT_TRUE(p.integer && p.integer->trained_ranges);
  ck.net->policy->mode = PrecisionMode::Aligned;
  ck.net->policy->align = alignment_for(p);
  ASSERT_TRUE(ck.net->policy->quantization_aware());
  auto s = scenes();
  TileOptions to;
  to.tile = 32;
  to.overlap = 0;
  const TileSets t = tile_sets(s, to);
  const std::vector<float>&train_tiles = t.train, &other_tiles = t.other;
  const int nt = t.nt, no = t.no;
  ASSERT_GE(nt, 2);
  ASSERT_GE(no, 2);
  const auto normalised = [&](const std::vector<float>& raw, int n) {
    return normalised_tiles(ck, raw, n);
  };
  // Ranges learned as training learns them (gradients recorded), on scene 0's tiles at
  // twice their contrast: ranges that calibration on scene 1 would not find.
  for (int pass = 0; pass < 3; ++pass)
    ck.net->forward((normalised(train_tiles, nt) * 2).requires_grad_(true));
  ASSERT_FALSE(ck.net->policy->int8_ranges().empty());
  torch::Tensor qat;
  {
    torch::NoGradGuard ng;
    qat = ck.net->forward(normalised(other_tiles, no)).contiguous();
  }
  const Shape tile{4, 32, 32};
  const DeviceGraph form = int8_form(lower_for(ck.net, ck.norm, p), tile);
  const auto calibrated = calibrate_ranges(form, other_tiles.data(), no, tile, *p.integer);
  auto trained = calibrated;
  EXPECT_GT(apply_trained_ranges(form, trained_act_ranges(ck), trained), 10);
  const auto distance = [&](const std::vector<TensorRange>& r) {
    const Int8Emulator e(form, r, *p.integer);
    const auto out = e.run_batch(other_tiles.data(), no, tile, 1);
    const float* q = qat.data_ptr<float>();
    double d = 0;
    for (size_t i = 0; i < out.size(); ++i) d += std::fabs(out[i] - q[i]);
    return d / static_cast<double>(out.size());
  };
  const double at_trained = distance(trained), at_calibrated = distance(calibrated);
  std::printf("mean |emulator - QAT forward|: %.5f at the trained ranges, %.5f calibrated\n",
              at_trained, at_calibrated);
  EXPECT_LT(at_trained, 0.5 * at_calibrated) << at_trained << " vs " << at_calibrated;

  // evaluate_on_device does the same; "calibrated" ignores the trained ranges.
  to.tile = 64;
  to.overlap = 8;
  const std::vector<int> calib{0};
  DeviceProfile recal = p;
  recal.integer->trained_ranges = false;
  const auto a = evaluate_on_device(ck, "int8-tflite", s, {1}, to, &p, &calib);
  const auto b = evaluate_on_device(ck, "int8-tflite", s, {1}, to, &recal, &calib);
  ck.net->policy->set_int8_ranges({});  // no ranges: "trained" calibrates everything too
  const auto c = evaluate_on_device(ck, "int8-tflite", s, {1}, to, &p, &calib);
  EXPECT_EQ(b.metrics.cm.tp, c.metrics.cm.tp);
  EXPECT_EQ(b.metrics.cm.fp, c.metrics.cm.fp);
  EXPECT_NE(a.metrics.cm.tp * 1000003 + a.metrics.cm.fp,
            b.metrics.cm.tp * 1000003 + b.metrics.cm.fp);
}

// A network trained with learned weight steps (LSQ on weights) deploys at them: on a
// 4-bit-weight target (mixed-a8w4) with steps well below max |w| / 7, the emulator with the
// steps lowered into the graph follows the quantization-aware forward far more closely than
// the same network and ranges at the max |w| grid.
TEST(DeviceEval, LearnedWeightStepsDeployWithTheWeights) {
  Checkpoint ck = tiny_checkpoint(6);
  const DeviceProfile p = load_profile("mixed-a8w4");
  ck.net->policy->mode = PrecisionMode::Aligned;
  ck.net->policy->align = alignment_for(p);
  ck.net->policy->learned_weight_steps = true;
  auto s = scenes();
  TileOptions to;
  to.tile = 32;
  to.overlap = 0;
  const TileSets t = tile_sets(s, to);
  const std::vector<float>&train_tiles = t.train, &other_tiles = t.other;
  const int nt = t.nt, no = t.no;
  const auto normalised = [&](const std::vector<float>& raw, int n) {
    return normalised_tiles(ck, raw, n);
  };
  // A training forward creates the steps (at max |w| / qmax); set them to 0.55 of that,
  // then let the activation ranges follow the quantized weights.
  ck.net->forward(normalised(train_tiles, nt).requires_grad_(true));
  WeightSteps steps = ck.net->policy->weight_steps();
  ASSERT_GE(steps.size(), 8u);
  for (auto& [name, v] : steps)
    for (float& x : v) x *= 0.55f;
  ck.net->policy->set_weight_steps(steps);
  for (int pass = 0; pass < 3; ++pass)
    ck.net->forward(normalised(train_tiles, nt).requires_grad_(true));
  EXPECT_TRUE(test_util::steps_near(trained_weight_steps(ck), steps));
  steps = trained_weight_steps(ck);
  torch::Tensor qat;
  {
    torch::NoGradGuard ng;
    qat = ck.net->forward(normalised(other_tiles, no)).contiguous();
  }
  const Shape tile{4, 32, 32};
  const auto distance = [&](const WeightSteps& w) {
    const DeviceGraph form = int8_form(lower_for(ck.net, ck.norm, p, w), tile);
    auto r = calibrate_ranges(form, other_tiles.data(), no, tile, *p.integer);
    apply_trained_ranges(form, trained_act_ranges(ck), r);
    const Int8Emulator e(form, r, *p.integer);
    const auto out = e.run_batch(other_tiles.data(), no, tile, 1);
    const float* q = qat.data_ptr<float>();
    double d = 0;
    for (size_t i = 0; i < out.size(); ++i) d += std::fabs(out[i] - q[i]);
    return d / static_cast<double>(out.size());
  };
  const double with = distance(steps), without = distance({});
  std::printf("mean |emulator - QAT forward|: %.5f at the learned steps, %.5f at max |w|\n", with,
              without);
  EXPECT_LT(with, 0.5 * without) << with << " vs " << without;
}

// Activations an integer target does not fuse into the operation before them (GELU,
// hard-swish, the SE gate's sigmoid; int8_form splits them off) read the pre-activation
// tensor as the target stores it, and TFLite's LOGISTIC writes the gate on a fixed grid
// (1/256). Quantization-aware training computes both (nn/activation.h: the points P.pre and
// the gate's grid), so the network deployed at its trained ranges computes what the training
// forward computed: every activation of this network is split, and the emulator stays
// within a fraction of an output step of the QAT forward on both integer targets (measured:
// 0.21 of a step with TFLite's arithmetic, whose integer ADD the float forward does not
// reproduce; 0.06 with ONNX Runtime's). Before the pre-activation points and the gate's
// grid (this test's network and tiles): 0.0025 on both targets, 1.7 output steps.
TEST(DeviceEval, QuantizationAwareTrainingQuantizesWhatTheTargetStoresBeforeAnActivation) {
  auto s = scenes();
  TileOptions to;
  to.tile = 32;
  to.overlap = 0;
  const TileSets t = tile_sets(s, to);
  for (const char* device : {"int8-tflite", "onnxruntime-int8"}) {
    const DeviceProfile p = load_profile(device);
    Checkpoint ck = tiny_checkpoint(7);
    ck.genome = Genome::parse(
        "ConvBnAct-8-k3-gelu_max_ConvSE-12-k3-hswish_max_ResNetBlock-12-k3-gelu_dec-8");
    torch::manual_seed(7);
    ck.net = build_network(ck.genome, 4);
    ck.net->eval();  // BatchNorm as the device folds it
    ck.net->policy->mode = PrecisionMode::Aligned;
    ck.net->policy->align = alignment_for(p);
    std::set<std::string> seen;
    ck.net->policy->observer = [&](const std::string& where, const torch::Tensor&) {
      seen.insert(where);
    };
    for (int pass = 0; pass < 3; ++pass)
      ck.net->forward(normalised_tiles(ck, t.train, t.nt).requires_grad_(true));
    ck.net->policy->observer = nullptr;
    torch::Tensor qat;
    {
      torch::NoGradGuard ng;
      qat = ck.net->forward(normalised_tiles(ck, t.other, t.no)).contiguous();
    }
    const Shape tile{4, 32, 32};
    const DeviceGraph form = int8_form(lower_for(ck.net, ck.norm, p), tile);
    // Every split activation "X.act" of the graph has its point X.pre in training, and
    // every X.pre reaches the node X before the split.
    int splits = 0;
    for (const Node& n : form.nodes) {
      if (n.op != OpType::Activation || n.name.size() < 4 ||
          n.name.compare(n.name.size() - 4, 4, ".act") != 0)
        continue;
      const std::string x = n.name.substr(0, n.name.size() - 4);
      ++splits;
      EXPECT_TRUE(seen.count(x + ".pre")) << device << ": no training point " << x << ".pre";
      EXPECT_EQ(trained_range_node(form, x + ".pre"), node_named(form, x)) << x;
    }
    EXPECT_EQ(splits, 5) << device;  // enc0.conv, enc1.conv, enc1.se_expand, enc2.conv1, enc2.add
    for (const std::string& w : seen) {
      if (w.size() > 4 && w.compare(w.size() - 4, 4, ".pre") == 0) {
        EXPECT_GE(trained_range_node(form, w), 0) << device << ": " << w << " reaches no node";
      }
    }
    auto ranges = calibrate_ranges(form, t.other.data(), t.no, tile, *p.integer);
    apply_trained_ranges(form, trained_act_ranges(ck), ranges);
    const Int8Emulator e(form, ranges, *p.integer);
    const auto out = e.run_batch(t.other.data(), t.no, tile, 1);
    const float* q = qat.data_ptr<float>();
    double d = 0;
    for (size_t i = 0; i < out.size(); ++i) d += std::fabs(out[i] - q[i]);
    d /= static_cast<double>(out.size());
    const float head_step = e.params(node_named(form, "head")).scale;
    std::printf("%s: mean |emulator - QAT forward| %.6f (head step %.5f)\n", device, d, head_step);
    EXPECT_LT(d, 0.3 * head_step) << device;
  }
}

// An integer device that normalises in the graph (input = "folded", the census's "model"
// pipeline): the host quantizes the raw values with one scale for every band, a depthwise
// 1x1 convolution normalises them. Quantization-aware training follows that ("input.raw"
// before "input"), and the network deployed at its trained ranges computes what the
// training forward computed, closer than a training that quantizes only the normalised
// input (as on the host pipeline).
TEST(DeviceEval, QuantizationAwareTrainingFollowsANormalisationOnTheDevice) {
  DeviceProfile p = load_profile("int8-tflite");
  p.pipeline.input = InputPipeline::Folded;
  p.fold_normalization = true;
  ASSERT_TRUE(alignment_for(p).int8_input_folded);
  ASSERT_FALSE(alignment_for(load_profile("int8-tflite")).int8_input_folded);
  auto s = scenes();
  TileOptions to;
  to.tile = 32;
  to.overlap = 0;
  std::vector<float> tiles;
  const int n = calibration_tiles(s, {0, 1}, to, 12, tiles);
  ASSERT_GE(n, 4);
  const Shape tile{4, 32, 32};
  // Mean |emulator - QAT forward| over the tiles, the network deployed at its trained
  // ranges, after ranges learned with (or without) the device's input quantization.
  const auto distance = [&](bool folded_in_training, ActRanges* ranges_out) {
    Checkpoint ck = tiny_checkpoint(6);
    ck.net->policy->mode = PrecisionMode::Aligned;
    ck.net->policy->align = alignment_for(p);
    ck.net->policy->align.int8_input_folded = folded_in_training;
    ck.net->policy->norm_mean = ck.norm.mean;
    ck.net->policy->norm_std = ck.norm.std;
    auto x = torch::from_blob(tiles.data(), {n, 4, 32, 32}).clone();
    for (int c = 0; c < 4; ++c)
      x.select(1, c)
          .sub_(ck.norm.mean[static_cast<size_t>(c)])
          .div_(ck.norm.std[static_cast<size_t>(c)]);
    for (int pass = 0; pass < 3; ++pass) ck.net->forward(x.clone().requires_grad_(true));
    torch::Tensor qat;
    {
      torch::NoGradGuard ng;
      qat = ck.net->forward(x).contiguous();
    }
    if (ranges_out) *ranges_out = trained_act_ranges(ck);
    const DeviceGraph form = int8_form(lower_for(ck.net, ck.norm, p), tile);
    auto ranges = calibrate_ranges(form, tiles.data(), n, tile, *p.integer);
    apply_trained_ranges(form, trained_act_ranges(ck), ranges);
    const Int8Emulator e(form, ranges, *p.integer);
    const auto out = e.run_batch(tiles.data(), n, tile, 1);  // raw values: normalised inside
    const float* q = qat.data_ptr<float>();
    double d = 0;
    for (size_t i = 0; i < out.size(); ++i) d += std::fabs(out[i] - q[i]);
    return d / static_cast<double>(out.size());
  };
  ActRanges folded_ranges;
  const double folded = distance(true, &folded_ranges), host_style = distance(false, nullptr);
  std::printf(
      "mean |emulator - QAT forward|: %.5f trained with the input quantized raw, %.5f not\n",
      folded, host_style);
  // The raw range is a trained point, and it reaches the graph's input node.
  ASSERT_TRUE(folded_ranges.count("input.raw"));
  const auto [lo, hi] = folded_ranges.at("input.raw");
  EXPECT_GT(hi - lo, 1000.0f);  // digital numbers, not normalised values
  Checkpoint probe = tiny_checkpoint(6);
  const DeviceGraph form = int8_form(lower_for(probe.net, probe.norm, p), tile);
  const int input_node = trained_range_node(form, "input.raw");
  ASSERT_GE(input_node, 0);
  EXPECT_EQ(form.nodes[static_cast<size_t>(input_node)].op, OpType::Input);
  EXPECT_EQ(form.nodes[static_cast<size_t>(trained_range_node(form, "input"))].name, "normalize");
  EXPECT_LT(folded, 0.5 * host_style) << folded << " vs " << host_style;
}

// A quantization-aware training with few batches an epoch: BatchNorm's running statistics
// (what the device folds) have not caught up with the batch statistics the ranges were
// learned on. With BatchNorm frozen for the last epoch (freeze_bn_epochs auto, the default
// for an integer target), the ranges end training on the network the device runs: each
// trained range is within a factor of the min / max calibration of the same weights on the
// training scenes. Without the freeze, some are far wider (the check can fail).
TEST(DeviceEval, QuantizationAwareRangesFitTheFoldedNetworkWithBatchNormFrozenLast) {
  torch::set_num_threads(1);
  const DeviceProfile p = load_profile("int8-tflite");
  TrainConfig c;
  c.data = "synthetic";
  c.synthetic.scenes = 6;
  c.synthetic.height = 96;
  c.synthetic.width = 96;
  c.arch = "ConvBnAct-8-k3-relu_max_ConvBnAct-12-k3-relu_max_ConvBnAct-16-k3-relu_dec-8";
  c.epochs = 2;
  c.batch = 8;
  c.lr = 3e-3;
  c.tiling.size = 48;
  c.tiling.stride = 48;
  c.tiling.background_keep = 1.0;
  c.eval_tile = 48;
  c.eval_overlap = 0;
  c.patience = 0;
  c.precision = PrecisionMode::Aligned;
  c.align_device = "int8-tflite";
  c.align = alignment_for(p);
  ASSERT_EQ(c.freeze_bn_epochs, -1);  // auto is the default
  EXPECT_EQ(c.resolved_freeze_bn_epochs(true), 1);
  EXPECT_EQ(c.resolved_freeze_bn_epochs(false), 0);
  // The widest trained / calibrated ratio of range widths over the nodes a range reaches.
  const auto widest_ratio = [&](int freeze) {
    TrainConfig t = c;
    t.freeze_bn_epochs = freeze;
    PreparedData d = prepare_data(t);
    TrainOutcome r = train_model(t, d);
    EXPECT_TRUE(r.ck.net->policy->quantization_aware());
    EXPECT_FALSE(trained_act_ranges(r.ck).empty());
    DeviceProfile recal = p;
    recal.integer->trained_ranges = false;
    TileOptions to;
    to.tile = 48;
    to.overlap = 0;
    const Int8Setup q = int8_setup(r.ck, recal, d.scenes, to, &d.split.train);
    auto trained = q.ranges;
    EXPECT_GT(apply_trained_ranges(q.form, trained_act_ranges(r.ck), trained), 5);
    double widest = 0;
    for (size_t i = 0; i < trained.size(); ++i) {
      const double cw = q.ranges[i].max - q.ranges[i].min;
      const double tw = trained[i].max - trained[i].min;
      if (cw > 0) widest = std::max(widest, tw / cw);
    }
    return widest;
  };
  const double frozen = widest_ratio(-1), moving = widest_ratio(0);
  std::printf("widest trained / calibrated range: %.2f with BatchNorm frozen last, %.2f not\n",
              frozen, moving);
  EXPECT_LT(frozen, 2.0);
  EXPECT_GT(moving, 2.0 * frozen);
  torch::set_num_threads(2);
}

TEST(DeviceEval, DpuProfileQuantizesAfterCalibratingOnTheTrainingScenes) {
  Checkpoint ck = tiny_checkpoint(4);
  auto s = scenes();
  TileOptions to;
  to.tile = 64;
  to.overlap = 8;
  const DeviceProfile dpu = load_profile("dpu-int8");
  const std::vector<int> calib{0};
  const auto host = evaluate_on_device(ck, "host", s, {1}, to);
  const auto d = evaluate_on_device(ck, "dpu-int8", s, {1}, to, &dpu, &calib);
  ASSERT_EQ(d.metrics.cm.total(), host.metrics.cm.total());
  EXPECT_EQ(d.nan_pixels, 0);
  const auto positives = [](const Metrics& m) { return static_cast<double>(m.cm.tp + m.cm.fp); };
  const double total = static_cast<double>(host.metrics.cm.total());
  EXPECT_LT(std::abs(positives(d.metrics) - positives(host.metrics)) / total, 0.1);
  EXPECT_EQ(d.device, "dpu-int8");
  // Without calibration scenes: an error naming the device, as for every integer profile.
  EXPECT_THROW(evaluate_on_device(ck, "dpu-int8", s, {1}, to, &dpu), Error);
}

TEST(DeviceEval, CalibrationTilesSpreadOverTheScenes) {
  auto s = scenes();  // 70 × 90: tile 32, overlap 0 -> 3 × 3 origins per scene
  TileOptions to;
  to.tile = 32;
  to.overlap = 0;
  std::vector<float> t;
  EXPECT_EQ(calibration_tiles(s, {0, 1}, to, 4, t), 4);
  ASSERT_EQ(t.size(), 4u * 4 * 32 * 32);
  // The first tile is scene 0's top-left corner, the last scene 1's bottom-right one.
  EXPECT_EQ(t[0], s[0].at(0, 0, 0));
  EXPECT_EQ(t[3 * 4 * 32 * 32 + 31 * 32 + 31], s[1].at(0, 69, 89));
  EXPECT_EQ(calibration_tiles(s, {0, 1}, to, 100, t), 18);
  EXPECT_EQ(calibration_tiles(s, {}, to, 4, t), 0);
}
