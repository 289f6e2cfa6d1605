// The int8-tflite emulator (device/int8_emulator.h): the int8 form of a graph, calibration
// ranges against the float model, the quantization of each node, the int8 result against
// the float one, scalar = SIMD convolution paths, and refusals naming the node.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "device/emulator.h"
#include "device/int8_emulator.h"
#include "device/int8_test_graphs.h"
#include "quant/conv_params.h"
#include "quant/int8_ops.h"
#include "quant/ort_int8_ops.h"

namespace dalnas {
namespace {

using int8_test::conv;
using int8_test::images;
using int8_test::simple;
using int8_test::unet;

const Shape kIn{3, 16, 16};

// How many elements of two outputs of the same size differ.
template <typename T>
int64_t count_differ(const std::vector<T>& a, const std::vector<T>& b) {
  int64_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += a[i] != b[i];
  return n;
}

TEST(Int8Form, SplitsActivationsTfliteCannotFuse) {
  std::mt19937 rng(1);
  const DeviceGraph g = unet(rng);
  const DeviceGraph f = int8_form(g, kIn);
  // GELU (enc2), Sigmoid (se_expand) and HardSwish (res_add) become Activation nodes.
  EXPECT_EQ(f.nodes.size(), g.nodes.size() + 3);
  int acts = 0;
  for (const Node& n : f.nodes) {
    if (n.op == OpType::Activation) {
      ++acts;
      EXPECT_TRUE(n.act == ActType::GELU || n.act == ActType::Sigmoid ||
                  n.act == ActType::HardSwish);
    } else if (n.op == OpType::Conv || n.op == OpType::Add) {
      EXPECT_TRUE(n.act == ActType::None || n.act == ActType::ReLU || n.act == ActType::ReLU6)
          << n.name;
    }
  }
  EXPECT_EQ(acts, 3);
  // The split graph computes what the original computes (FP32).
  const auto x = images(1, kIn, rng);
  const EmulatorConfig fp32;
  const auto a = Emulator(g, fp32).run(x.data(), kIn);
  const auto b = Emulator(f, fp32).run(x.data(), kIn);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_FLOAT_EQ(a[i], b[i]);
}

TEST(Int8Calibration, MinMaxIsTheFloatModelsRangeAndPercentileIsInside) {
  std::mt19937 rng(2);
  const DeviceGraph f = int8_form(unet(rng), kIn);
  const auto x = images(3, kIn, rng);
  Int8Config cfg;
  const auto r = calibrate_ranges(f, x.data(), 3, kIn, cfg);
  ASSERT_EQ(r.size(), f.nodes.size());
  const Emulator emu(f, EmulatorConfig{});
  std::vector<float> lo(f.nodes.size(), 1e30f), hi(f.nodes.size(), -1e30f);
  for (int k = 0; k < 3; ++k) {
    const auto all = emu.run_all(x.data() + kIn.numel() * k, kIn);
    for (size_t i = 0; i < all.size(); ++i) {
      for (float v : all[i]) {
        lo[i] = std::min(lo[i], v);
        hi[i] = std::max(hi[i], v);
      }
    }
  }
  for (size_t i = 0; i + 1 < f.nodes.size(); ++i) {
    EXPECT_EQ(r[i].min, lo[i]) << f.nodes[i].name;
    EXPECT_EQ(r[i].max, hi[i]) << f.nodes[i].name;
  }
  cfg.calibration = CalibrationMethod::Percentile;
  cfg.percentile = 99.0;
  const auto p = calibrate_ranges(f, x.data(), 3, kIn, cfg);
  bool narrower = false;
  for (size_t i = 0; i + 1 < f.nodes.size(); ++i) {
    EXPECT_GE(p[i].min, r[i].min);
    EXPECT_LE(p[i].max, r[i].max);
    narrower = narrower || p[i].max < r[i].max;
  }
  EXPECT_TRUE(narrower);
  EXPECT_THROW(calibrate_ranges(f, x.data(), 0, kIn, cfg), Error);
  // Entropy: min / max clipped at a KL threshold, never wider.
  cfg.calibration = CalibrationMethod::Entropy;
  const auto e = calibrate_ranges(f, x.data(), 3, kIn, cfg);
  bool clipped = false;
  for (size_t i = 0; i + 1 < f.nodes.size(); ++i) {
    EXPECT_GE(e[i].min, r[i].min) << f.nodes[i].name;
    EXPECT_LE(e[i].max, r[i].max) << f.nodes[i].name;
    EXPECT_LT(e[i].min, e[i].max) << f.nodes[i].name;
    clipped = clipped || e[i].max < r[i].max || e[i].min > r[i].min;
  }
  EXPECT_TRUE(clipped);
  // keep_bounded: after a bounded activation (here a ReLU6 depthwise convolution and the SE
  // block's sigmoid) min / max, everywhere else the same clipped ranges; for entropy and
  // percentile alike.
  for (const CalibrationMethod m : {CalibrationMethod::Entropy, CalibrationMethod::Percentile}) {
    cfg.calibration = m;
    const auto clip = calibrate_ranges(f, x.data(), 3, kIn, cfg);
    cfg.keep_bounded = true;
    const auto keep = calibrate_ranges(f, x.data(), 3, kIn, cfg);
    cfg.keep_bounded = false;
    int bounded = 0, bounded_clipped = 0;
    for (size_t i = 0; i + 1 < f.nodes.size(); ++i) {
      const ActType a = f.nodes[i].act;
      if (a == ActType::ReLU6 || a == ActType::Sigmoid || a == ActType::Clip ||
          a == ActType::HardSigmoid) {
        bounded += a == ActType::ReLU6;
        bounded_clipped += a == ActType::ReLU6 && clip[i].max < r[i].max;
        EXPECT_EQ(keep[i].min, r[i].min) << f.nodes[i].name;
        EXPECT_EQ(keep[i].max, r[i].max) << f.nodes[i].name;
      } else {
        EXPECT_EQ(keep[i].min, clip[i].min) << f.nodes[i].name;
        EXPECT_EQ(keep[i].max, clip[i].max) << f.nodes[i].name;
      }
    }
    EXPECT_GE(bounded, 1);
    EXPECT_GE(bounded_clipped, 1) << "the check needs a clipped ReLU6 output";
  }
  // entropy = "grid": one-signed tensors on 256 levels without their zeros; never wider
  // than min / max, and wider than TensorRT's cut for some ReLU output; tensors of both
  // signs keep 128 levels (only the zeros leave their histogram).
  cfg.calibration = CalibrationMethod::Entropy;
  const auto trt = calibrate_ranges(f, x.data(), 3, kIn, cfg);
  cfg.entropy_grid = true;
  const auto grid = calibrate_ranges(f, x.data(), 3, kIn, cfg);
  cfg.entropy_grid = false;
  int wider = 0;
  for (size_t i = 0; i + 1 < f.nodes.size(); ++i) {
    EXPECT_GE(grid[i].min, r[i].min) << f.nodes[i].name;
    EXPECT_LE(grid[i].max, r[i].max) << f.nodes[i].name;
    if (r[i].min >= 0.0f) wider += grid[i].max > trt[i].max;
  }
  EXPECT_GE(wider, 1);
}

TEST(Int8Emulator, QuantizesEachNodeAsTheSpecSays) {
  std::mt19937 rng(3);
  const DeviceGraph f = int8_form(unet(rng), kIn);
  const auto x = images(2, kIn, rng);
  const auto r = calibrate_ranges(f, x.data(), 2, kIn, Int8Config{});
  const Int8Emulator emu(f, r, Int8Config{});
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    const Node& n = f.nodes[i];
    const QuantParams& p = emu.params(static_cast<int>(i));
    const QuantParams& in = n.inputs.empty() ? p : emu.params(n.inputs[0]);
    if (n.op == OpType::MaxPool || n.op == OpType::AvgPool || n.op == OpType::Resize) {
      EXPECT_EQ(p.scale, in.scale) << n.name;  // shared
      EXPECT_EQ(p.zero_point, in.zero_point) << n.name;
    } else if (n.op == OpType::Activation && n.act == ActType::Sigmoid) {
      EXPECT_EQ(p.scale, 1.0f / 256.0f);
      EXPECT_EQ(p.zero_point, -128);
    } else if (n.op != OpType::Output) {
      const QuantParams want =
          asymmetric_int8_params(std::min(r[i].min, 0.0f), std::max(r[i].max, 0.0f));
      EXPECT_EQ(p.scale, want.scale) << n.name;
      EXPECT_EQ(p.zero_point, want.zero_point) << n.name;
    }
  }
  // The concat's inputs are requantized to its parameters.
  const auto all = emu.run_all(x.data(), kIn);
  int cat = -1;
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    if (f.nodes[i].name == "cat") cat = static_cast<int>(i);
  }
  ASSERT_GE(cat, 0);
  const int u = f.nodes[cat].inputs[0];
  std::vector<int8_t> want(all[u].size());
  int8_requantize(all[u].data(), static_cast<int64_t>(want.size()), emu.params(u), emu.params(cat),
                  RequantRounding::Double, want.data());
  EXPECT_TRUE(std::equal(want.begin(), want.end(), all[cat].begin()));
}

// Swish (SiLU, imported graphs only) has no integer form here: refused, naming the node.
TEST(Int8Emulator, RefusesSwishNamingTheNode) {
  std::mt19937 rng(3);
  DeviceGraph g = unet(rng);
  int swish = -1;
  for (size_t i = 0; i < g.nodes.size() && swish < 0; ++i) {
    if (g.nodes[i].op == OpType::Conv) swish = static_cast<int>(i);
  }
  ASSERT_GE(swish, 0);
  g.nodes[static_cast<size_t>(swish)].act = ActType::Swish;
  const DeviceGraph f = int8_form(g, kIn);
  const auto x = images(2, kIn, rng);
  try {
    const auto r = calibrate_ranges(f, x.data(), 2, kIn, Int8Config{});
    const Int8Emulator emu(f, r, Int8Config{});
    FAIL() << "Swish accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("Swish (SiLU) is not supported"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'" + g.nodes[static_cast<size_t>(swish)].name), std::string::npos) << msg;
  }
}

TEST(Int8Emulator, FollowsTheFloatModelWithinQuantizationError) {
  std::mt19937 rng(4);
  const DeviceGraph f = int8_form(unet(rng), kIn);
  const auto calib = images(8, kIn, rng);
  const auto r = calibrate_ranges(f, calib.data(), 8, kIn, Int8Config{});
  const Int8Emulator emu(f, r, Int8Config{});
  const Emulator ref(f, EmulatorConfig{});
  const auto x = images(4, kIn, rng);
  double err = 0, range = 0;
  int64_t n = 0;
  for (int k = 0; k < 4; ++k) {
    const auto a = ref.run(x.data() + kIn.numel() * k, kIn);
    const auto b = emu.run(x.data() + kIn.numel() * k, kIn);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      err += std::abs(a[i] - b[i]);
      range = std::max(range, static_cast<double>(std::abs(a[i])));
      ++n;
    }
  }
  const double mean_err = err / static_cast<double>(n);
  EXPECT_GT(mean_err, 0.0);           // it is not the float model
  EXPECT_LT(mean_err, 0.05 * range);  // but close to it
  // A run without calibration-like ranges is far off: a too-narrow input range clips.
  auto narrow = r;
  narrow[0] = TensorRange{-0.05f, 0.05f};
  const Int8Emulator clipped(f, narrow, Int8Config{});
  double err2 = 0;
  for (int k = 0; k < 4; ++k) {
    const auto a = ref.run(x.data() + kIn.numel() * k, kIn);
    const auto b = clipped.run(x.data() + kIn.numel() * k, kIn);
    for (size_t i = 0; i < a.size(); ++i) err2 += std::abs(a[i] - b[i]);
  }
  EXPECT_GT(err2, 2 * err);
}

TEST(Int8Emulator, ScalarAndSimdConvolutionsGiveTheSameResult) {
  std::mt19937 rng(5);
  const DeviceGraph f = int8_form(unet(rng), kIn);
  const auto x = images(2, kIn, rng);
  Int8Config simd, scalar;
  scalar.simd = false;
  const auto r = calibrate_ranges(f, x.data(), 2, kIn, simd);
  const Int8Emulator a(f, r, simd), b(f, r, scalar);
  EXPECT_EQ(b.isa(), Int8Isa::Scalar);
  const auto ya = a.run_batch(x.data(), 2, kIn, 2);
  const auto yb = b.run_batch(x.data(), 2, kIn, 1);
  ASSERT_EQ(ya.size(), yb.size());
  for (size_t i = 0; i < ya.size(); ++i) ASSERT_EQ(ya[i], yb[i]) << i;
  // run_batch is run() per image.
  const auto one = a.run(x.data() + kIn.numel(), kIn);
  for (size_t i = 0; i < one.size(); ++i) ASSERT_EQ(ya[one.size() + i], one[i]);
}

// [integer] weights = "per-tensor": every convolution's weights on the tensor's one grid
// (quantize_weights_per_tensor, its scale repeated per channel), and a different result.
TEST(Int8Emulator, PerTensorWeightsAreASetting) {
  std::mt19937 rng(8);
  const DeviceGraph f = int8_form(unet(rng), kIn);
  const auto x = images(2, kIn, rng);
  Int8Config pc, pt;
  pt.weights_per_tensor = true;
  const auto r = calibrate_ranges(f, x.data(), 2, kIn, pc);
  const Int8Emulator a(f, r, pc), b(f, r, pt);
  int convs = 0;
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    const Node& n = f.nodes[i];
    if (n.op != OpType::Conv) continue;
    ++convs;
    const int per = static_cast<int>(n.weight.size()) / n.out_c;
    const PerChannelWeights want = quantize_weights_per_tensor(n.weight.data(), n.out_c, per);
    const Int8Emulator::ConvData& d = b.conv(static_cast<int>(i));
    EXPECT_EQ(d.weight, want.values) << n.name;
    EXPECT_EQ(d.weight_scale, want.scales) << n.name;
    EXPECT_EQ(a.conv(static_cast<int>(i)).weight_scale,
              quantize_weights_per_channel(n.weight.data(), n.out_c, per).scales)
        << n.name;
  }
  EXPECT_GT(convs, 2);
  EXPECT_GT(count_differ(a.run(x.data(), kIn), b.run(x.data(), kIn)), 0);
}

// Trained weight scales (Node::weight_scale, learned weight steps lowered): a convolution
// that has them holds its weights at them (quantize_weights_at_scales, int4w at qmax 7);
// [integer] ranges = "calibrated" and per-tensor weights ignore them; the result differs.
TEST(Int8Emulator, TrainedWeightScalesReplaceTheMaxGrid) {
  std::mt19937 rng(9);
  DeviceGraph g = unet(rng);
  for (Node& n : g.nodes) {
    if (n.op != OpType::Conv) continue;
    const int per = static_cast<int>(n.weight.size()) / n.out_c;
    n.weight_scale = quantize_weights_per_channel(n.weight.data(), n.out_c, per).scales;
    for (float& s : n.weight_scale) s *= 0.5f;  // the largest weights clamp
  }
  g.nodes[static_cast<size_t>(int8_test::node_named(g, "enc2"))].precision = LayerPrecision::Int4W;
  const DeviceGraph f = int8_form(g, kIn);
  const auto x = images(2, kIn, rng);
  Int8Config trained, calibrated, per_tensor;
  calibrated.trained_ranges = false;
  per_tensor.weights_per_tensor = true;
  const auto r = calibrate_ranges(f, x.data(), 2, kIn, trained);
  const Int8Emulator a(f, r, trained), b(f, r, calibrated), c(f, r, per_tensor);
  int convs = 0;
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    const Node& n = f.nodes[i];
    if (n.op != OpType::Conv) continue;
    ++convs;
    const int per = static_cast<int>(n.weight.size()) / n.out_c;
    const int qmax = n.name == "enc2" ? 7 : 127;
    const PerChannelWeights want =
        quantize_weights_at_scales(n.weight.data(), n.out_c, per, n.weight_scale, qmax);
    EXPECT_EQ(a.conv(static_cast<int>(i)).weight, want.values) << n.name;
    EXPECT_EQ(a.conv(static_cast<int>(i)).weight_scale, n.weight_scale) << n.name;
    EXPECT_EQ(b.conv(static_cast<int>(i)).weight_scale,
              quantize_weights_per_channel(n.weight.data(), n.out_c, per, qmax).scales)
        << n.name;
    EXPECT_EQ(c.conv(static_cast<int>(i)).weight_scale,
              quantize_weights_per_tensor(n.weight.data(), n.out_c, per, qmax).scales)
        << n.name;
  }
  EXPECT_GT(convs, 4);
  EXPECT_GT(count_differ(a.run(x.data(), kIn), b.run(x.data(), kIn)), 0);
}

TEST(Int8Emulator, TheRoundingBuildIsASetting) {
  std::mt19937 rng(6);
  const DeviceGraph f = int8_form(unet(rng), kIn);
  const auto x = images(2, kIn, rng);
  Int8Config dbl, sgl;
  sgl.rounding = RequantRounding::Single;
  const auto r = calibrate_ranges(f, x.data(), 2, kIn, dbl);
  const auto a = Int8Emulator(f, r, dbl).run_all(x.data(), kIn);
  const auto b = Int8Emulator(f, r, sgl).run_all(x.data(), kIn);
  int64_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t k = 0; k < a[i].size(); ++k) differ += a[i][k] != b[i][k];
  }
  EXPECT_GT(differ, 0);  // ties do occur in a network this size
}

TEST(Int8Emulator, RefusesWhatItCannotRunNamingTheNode) {
  std::mt19937 rng(7);
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  const int c = g.add(conv("c", 0, 3, 4, 3, 1, ActType::None, rng));
  const int s = g.add(simple(OpType::Softmax, "probabilities", {c}));
  g.add(simple(OpType::Output, "out", {s}));
  const DeviceGraph f = int8_form(g, kIn);
  const auto x = images(1, kIn, rng);
  const auto r = calibrate_ranges(f, x.data(), 1, kIn, Int8Config{});
  try {
    Int8Emulator emu(f, r, Int8Config{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("probabilities"), std::string::npos) << e.what();
  }
  // Non-finite calibration values name the node.
  std::vector<float> bad(x);
  bad[5] = NAN;
  EXPECT_THROW(calibrate_ranges(f, bad.data(), 1, kIn, Int8Config{}), Error);
}

// An Add runs through the constructor's table of all 65536 input pairs; the table is the
// kernel's own output, so the emulator's add equals int8_add (int8-tflite) and ort_add
// (onnxruntime-int8) on the same int8 inputs.
TEST(Int8Emulator, AddTableEqualsTheAddKernels) {
  for (Int8Format format : {Int8Format::Tflite, Int8Format::OnnxRuntime}) {
    std::mt19937 rng(5);
    Int8Config c;
    c.format = format;
    const DeviceGraph f = int8_form(unet(rng), kIn);
    const auto x = images(2, kIn, rng);
    const Int8Emulator emu(f, calibrate_ranges(f, x.data(), 2, kIn, c), c);
    const auto all = emu.run_all(x.data(), kIn);
    int add = -1;
    for (size_t i = 0; i < f.nodes.size(); ++i) {
      if (f.nodes[i].op == OpType::Add) add = static_cast<int>(i);
    }
    ASSERT_GE(add, 0);
    const int a = f.nodes[add].inputs[0], b = f.nodes[add].inputs[1];
    const int64_t n = static_cast<int64_t>(all[add].size());
    std::vector<int8_t> want(all[add].size());
    // The emulator's clamp of this add: its fused activation's range (none here: the int8
    // form split the HardSwish off).
    const ActivationRange ar = activation_range_int8(FusedActivation::None, emu.params(add));
    if (format == Int8Format::Tflite) {
      int8_add(all[a].data(), emu.params(a), all[b].data(), emu.params(b), n, emu.params(add),
               ar.min, ar.max, RequantRounding::Double, want.data());
    } else {
      ort_add(all[a].data(), emu.params(a), all[b].data(), emu.params(b), n, emu.params(add),
              ar.min, ar.max, want.data(), OrtPath::Float);  // `se` feeds the mul too
    }
    EXPECT_EQ(want, all[add]) << to_string(format);
  }
}

}  // namespace
}  // namespace dalnas
