// int16 layers (TFLite's 16x8 scheme) inside the integer emulator (device/int8_emulator.h):
// the block's pipeline rebuilt from the kernels (quant/int16_ops.h) bit for bit, int16
// closer to the float model than int8, the conversions at the block's edges, refusals that
// name the node, the precision rule per format, and the integer cost model's int16 rates.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "device/emulator.h"
#include "device/int8_emulator.h"
#include "device/precision_rule.h"
#include "device/profile.h"
#include "int8_test_graphs.h"
#include "quant/int16_ops.h"
#include "quant/int8_ops.h"

namespace dalnas {
namespace {

using int8_test::conv;
using int8_test::images;
using int8_test::node_named;
using int8_test::residual;
using int8_test::simple;

const Shape kIn{3, 12, 12};

struct Prepared {
  DeviceGraph form;
  std::vector<TensorRange> ranges;
  std::vector<float> x;
};

Prepared setup(LayerPrecision block1, unsigned seed) {
  std::mt19937 rng(seed);
  Prepared s;
  s.form = int8_form(residual(rng, block1), kIn);
  s.x = images(4, kIn, rng);
  s.ranges = calibrate_ranges(s.form, s.x.data(), 4, kIn, Int8Config{});
  return s;
}

std::vector<int16_t> conv16(const Int8Emulator& emu, int node, const std::vector<int16_t>& x,
                            const Shape& is) {
  const Node& n = emu.graph().nodes[static_cast<size_t>(node)];
  const Int8Emulator::ConvData& d = emu.conv(node);
  Int16ConvArgs a;
  a.in = x.data();
  a.c_in = is.c;
  a.h = is.h;
  a.w = is.w;
  a.weight = d.weight.data();
  a.bias = d.bias64.data();
  a.c_out = n.out_c;
  a.kernel = n.kernel;
  a.pad = n.pad;
  a.stride = n.stride;
  a.groups = n.groups;
  a.multiplier = d.multiplier.data();
  a.shift = d.shift.data();
  a.act_min = d.act_min;
  a.act_max = d.act_max;
  std::vector<int16_t> y(static_cast<size_t>(n.out_c) * a.out_h() * a.out_w());
  a.out = y.data();
  int16_conv(a, Int8Isa::Scalar);
  return y;
}

// int16 MAX_POOL 2×2, stride 2, of a tensor of shape `is`.
std::vector<int16_t> max_pool2(const std::vector<int16_t>& x, const Shape& is) {
  Int16PoolArgs pa;
  pa.in = x.data();
  pa.c = is.c;
  pa.h = is.h;
  pa.w = is.w;
  pa.kernel = pa.stride = 2;
  std::vector<int16_t> y(static_cast<size_t>(is.c) * pa.out_h() * pa.out_w());
  pa.out = y.data();
  int16_max_pool(pa);
  return y;
}

std::vector<int8_t> to_int8(const std::vector<int16_t>& y, const QuantParams& p16,
                            const QuantParams& p8) {
  std::vector<int8_t> q(y.size());
  int16_to_int8_requantize(y.data(), static_cast<int64_t>(y.size()), p16, p8,
                           RequantRounding::Double, q.data());
  return q;
}

TEST(Int16Layer, TheBlockIsTheDocumentedPipelineBitForBit) {
  const Prepared s = setup(LayerPrecision::Int16, 1);
  const Int8Emulator emu(s.form, s.ranges, Int8Config{});
  const DeviceGraph& g = emu.graph();
  const int e0 = node_named(g, "enc0.conv"), pool = node_named(g, "pool1"),
            c1 = node_named(g, "enc1.conv"), dw = node_named(g, "enc1.dw"),
            add = node_named(g, "enc1.add"), head = node_named(g, "head");
  ASSERT_TRUE(e0 >= 0 && pool >= 0 && c1 >= 0 && dw >= 0 && add >= 0 && head >= 0);
  EXPECT_EQ(emu.precision(e0), LayerPrecision::Int8);
  EXPECT_EQ(emu.precision(c1), LayerPrecision::Int16);
  EXPECT_EQ(emu.precision(head), LayerPrecision::Int8);
  // Symmetric int16 parameters: zero point 0, the range's larger end at 32767 steps.
  for (int k : {pool, c1, dw, add}) EXPECT_EQ(emu.params16(k).zero_point, 0);
  EXPECT_EQ(emu.params16(pool).scale, emu.params16(e0).scale);  // shared, as in int8
  EXPECT_TRUE(emu.conv(c1).bias.empty());
  EXPECT_EQ(emu.conv(c1).bias64.size(), 8u);

  const std::vector<Shape> shapes = g.compute_shapes(kIn);
  for (int img = 0; img < 2; ++img) {
    const float* x = s.x.data() + kIn.numel() * img;
    const auto all = emu.run_all(x, kIn);
    // The block from its int8 input: QUANTIZE int8 -> int16 of enc0's output, then the
    // int16 kernels, then each node's int8 form for int8 readers.
    std::vector<int16_t> in16(all[e0].size());
    int8_to_int16_requantize(all[e0].data(), static_cast<int64_t>(in16.size()), emu.params(e0),
                             emu.params16(e0), RequantRounding::Double, in16.data());
    const std::vector<int16_t> p16 = max_pool2(in16, shapes[e0]);
    const std::vector<int16_t> y1 = conv16(emu, c1, p16, shapes[pool]);
    const std::vector<int16_t> yd = conv16(emu, dw, y1, shapes[c1]);
    std::vector<int16_t> ya(yd.size());
    const ActivationRange ar = activation_range_int16(FusedActivation::None, emu.params16(add));
    int16_add(yd.data(), emu.params16(dw), y1.data(), emu.params16(c1),
              static_cast<int64_t>(ya.size()), emu.params16(add), ar.min, ar.max,
              RequantRounding::Double, ya.data());
    EXPECT_EQ(to_int8(p16, emu.params16(pool), emu.params(pool)), all[pool]);
    EXPECT_EQ(to_int8(y1, emu.params16(c1), emu.params(c1)), all[c1]);
    EXPECT_EQ(to_int8(yd, emu.params16(dw), emu.params(dw)), all[dw]);
    EXPECT_EQ(to_int8(ya, emu.params16(add), emu.params(add)), all[add]);
    // The int16 values are finer than their int8 form: more distinct values.
    const auto distinct = [](auto v) {
      std::sort(v.begin(), v.end());
      return std::unique(v.begin(), v.end()) - v.begin();
    };
    EXPECT_GT(distinct(y1), distinct(all[c1]));
  }
  // The SIMD convolution path gives the same network output as the scalar one.
  Int8Config scalar;
  scalar.simd = false;
  const Int8Emulator ref(s.form, s.ranges, scalar);
  EXPECT_EQ(emu.run(s.x.data(), kIn), ref.run(s.x.data(), kIn));
}

// An int16 head's output is dequantized from int16; with every layer but the input in
// int16 the network follows the float model more closely than all-int8. What stays in
// both, the input's int8 quantization and the int8 weights, bounds the gain (here 22 %
// less error).
TEST(Int16Layer, CloserToTheFloatModelThanInt8) {
  double err[2] = {0, 0};
  for (int mode = 0; mode < 2; ++mode) {
    const LayerPrecision p = mode == 0 ? LayerPrecision::Int8 : LayerPrecision::Int16;
    Prepared s = setup(p, 2);
    for (const char* name : {"head", "enc0.conv"})
      s.form.nodes[static_cast<size_t>(node_named(s.form, name))].precision = p;
    const Int8Emulator emu(s.form, s.ranges, Int8Config{});
    const Emulator fp32(s.form, EmulatorConfig{});
    for (int img = 0; img < 4; ++img) {
      const float* x = s.x.data() + kIn.numel() * img;
      const auto a = fp32.run(x, kIn);
      const auto b = emu.run(x, kIn);
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i) err[mode] += std::abs(a[i] - b[i]);
    }
  }
  EXPECT_GT(err[1], 0.0);
  EXPECT_LT(err[1], 0.85 * err[0]) << "int8 " << err[0] << ", int16 but the input " << err[1];
}

// in -> enc0 (ReLU) -> pool -> enc1 (ReLU6) -> bilinear resize -> concat with enc0 -> head.
DeviceGraph small_unet(std::mt19937& rng) {
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  Node c0 = conv("enc0", 0, 3, 4, 3, 1, ActType::ReLU, rng);
  c0.block = 0;
  const int i0 = g.add(c0);
  Node mp = simple(OpType::MaxPool, "pool1", {i0});
  mp.kernel = mp.stride = 2;
  mp.block = 1;
  const int ip = g.add(mp);
  Node c1 = conv("enc1", ip, 4, 6, 3, 1, ActType::ReLU6, rng);
  c1.block = 1;
  const int i1 = g.add(c1);
  Node up = simple(OpType::Resize, "up", {i1, i0});
  up.coord = ResizeCoord::HalfPixel;
  const int iu = g.add(up);
  const int cat = g.add(simple(OpType::Concat, "cat", {iu, i0}));
  const int h = g.add(conv("head", cat, 10, 2, 1, 1, ActType::None, rng));
  g.add(simple(OpType::Output, "out", {h}));
  g.norm_mean = {100.0f, 200.0f, 300.0f};
  g.norm_std = {50.0f, 60.0f, 70.0f};
  return g;
}

// The profile's rule `precision = "int16"` (TFLite's whole-model 16x8 mode): every layer
// int16, the decoder's resize and concat included; the whole chain rebuilt from the int8
// input with the kernels, the output dequantized from int16.
TEST(Int16Layer, AWholeInt16NetworkIsTheKernelChainBitForBit) {
  std::mt19937 rng(6);
  const DeviceGraph f = int8_form(small_unet(rng), kIn);
  const auto x = images(3, kIn, rng);
  Int8Config c;
  c.precision = LayerPrecision::Int16;
  const Int8Emulator emu(f, calibrate_ranges(f, x.data(), 3, kIn, c), c);
  const int in = node_named(f, "in"), e0 = node_named(f, "enc0"), pool = node_named(f, "pool1"),
            e1 = node_named(f, "enc1"), up = node_named(f, "up"), cat = node_named(f, "cat"),
            head = node_named(f, "head");
  EXPECT_EQ(emu.precision(in), LayerPrecision::Int8);  // the host's QUANTIZE
  for (int k : {e0, pool, e1, up, cat, head}) EXPECT_EQ(emu.precision(k), LayerPrecision::Int16);
  const std::vector<Shape> sh = f.compute_shapes(kIn);
  const auto all = emu.run_all(x.data(), kIn);
  std::vector<int16_t> x16(all[in].size());
  int8_to_int16_requantize(all[in].data(), static_cast<int64_t>(x16.size()), emu.params(in),
                           emu.params16(in), RequantRounding::Double, x16.data());
  const std::vector<int16_t> y0 = conv16(emu, e0, x16, sh[in]);
  const std::vector<int16_t> yp = max_pool2(y0, sh[e0]);
  const std::vector<int16_t> y1 = conv16(emu, e1, yp, sh[pool]);
  std::vector<int16_t> yu(static_cast<size_t>(sh[up].numel()));
  int16_resize_bilinear(y1.data(), sh[e1].c, sh[e1].h, sh[e1].w, sh[up].h, sh[up].w, false, true,
                        RequantRounding::Double, yu.data());
  EXPECT_EQ(emu.params16(up).scale, emu.params16(e1).scale);  // shared
  std::vector<int16_t> yc(static_cast<size_t>(sh[cat].numel()));
  int16_requantize(yu.data(), static_cast<int64_t>(yu.size()), emu.params16(up), emu.params16(cat),
                   RequantRounding::Double, yc.data());
  int16_requantize(y0.data(), static_cast<int64_t>(y0.size()), emu.params16(e0), emu.params16(cat),
                   RequantRounding::Double, yc.data() + yu.size());
  const std::vector<int16_t> yh = conv16(emu, head, yc, sh[cat]);
  EXPECT_EQ(to_int8(yu, emu.params16(up), emu.params(up)), all[up]);
  EXPECT_EQ(to_int8(yc, emu.params16(cat), emu.params(cat)), all[cat]);
  std::vector<float> want(yh.size());
  dequantize_int16(yh.data(), static_cast<int64_t>(yh.size()), emu.params16(head), want.data());
  EXPECT_EQ(emu.run(x.data(), kIn), want);
}

// in -> enc0 (ReLU) -> SE: global mean, 1×1 ReLU, 1×1 Sigmoid, the gate's product -> head.
DeviceGraph se_net(std::mt19937& rng) {
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  const int e0 = g.add(conv("enc0", 0, 3, 6, 3, 1, ActType::ReLU, rng));
  const int gp = g.add(simple(OpType::GlobalAvgPool, "se_pool", {e0}));
  const int sr = g.add(conv("se_reduce", gp, 6, 3, 1, 1, ActType::ReLU, rng));
  const int se = g.add(conv("se_expand", sr, 3, 6, 1, 1, ActType::Sigmoid, rng));
  const int m = g.add(simple(OpType::Mul, "se_mul", {e0, se}));
  const int h = g.add(conv("head", m, 6, 2, 1, 1, ActType::None, rng));
  g.add(simple(OpType::Output, "out", {h}));
  return g;
}

// An SE block in int16 (the whole model 16x8): MEAN, the 1×1 convolutions, LOGISTIC at its
// fixed 1/32768 output and the per-channel MUL, rebuilt from the kernels bit for bit.
TEST(Int16Layer, ASqueezeExcitationBlockIsTheKernelChainBitForBit) {
  std::mt19937 rng(9);
  const DeviceGraph f = int8_form(se_net(rng), kIn);
  const auto x = images(3, kIn, rng);
  Int8Config c;
  c.precision = LayerPrecision::Int16;
  const Int8Emulator emu(f, calibrate_ranges(f, x.data(), 3, kIn, c), c);
  const int in = node_named(f, "in"), e0 = node_named(f, "enc0"), gp = node_named(f, "se_pool"),
            sr = node_named(f, "se_reduce"), se = node_named(f, "se_expand"),
            sig = node_named(f, "se_expand.act"), mul = node_named(f, "se_mul"),
            head = node_named(f, "head");
  ASSERT_TRUE(sig >= 0 && mul >= 0 && gp >= 0);
  for (int k : {e0, gp, sr, se, sig, mul, head}) {
    EXPECT_EQ(emu.precision(k), LayerPrecision::Int16) << f.nodes[static_cast<size_t>(k)].name;
  }
  EXPECT_EQ(emu.params16(sig).scale, 1.0f / 32768.0f);
  const std::vector<Shape> sh = f.compute_shapes(kIn);
  for (int img = 0; img < 3; ++img) {
    const float* xi = x.data() + kIn.numel() * img;
    const auto all = emu.run_all(xi, kIn);
    std::vector<int16_t> x16(all[in].size());
    int8_to_int16_requantize(all[in].data(), static_cast<int64_t>(x16.size()), emu.params(in),
                             emu.params16(in), RequantRounding::Double, x16.data());
    const std::vector<int16_t> y0 = conv16(emu, e0, x16, sh[in]);
    std::vector<int16_t> ym(static_cast<size_t>(sh[e0].c));
    int16_mean_hw(y0.data(), sh[e0].c, sh[e0].h, sh[e0].w, emu.params16(e0), emu.params16(gp),
                  RequantRounding::Double, ym.data());
    const std::vector<int16_t> yr = conv16(emu, sr, ym, sh[gp]);
    const std::vector<int16_t> ye = conv16(emu, se, yr, sh[sr]);
    std::vector<int16_t> ys(ye.size());
    int16_logistic(ye.data(), static_cast<int64_t>(ye.size()), emu.params16(se), ys.data());
    std::vector<int16_t> yg(y0.size());
    int16_mul(y0.data(), emu.params16(e0), ys.data(), emu.params16(sig), sh[e0].c, sh[e0].h,
              sh[e0].w, true, emu.params16(mul), -32768, 32767, RequantRounding::Double, yg.data());
    const std::vector<int16_t> yh = conv16(emu, head, yg, sh[mul]);
    EXPECT_EQ(to_int8(ym, emu.params16(gp), emu.params(gp)), all[gp]);
    EXPECT_EQ(to_int8(ys, emu.params16(sig), emu.params(sig)), all[sig]);
    EXPECT_EQ(to_int8(yg, emu.params16(mul), emu.params(mul)), all[mul]);
    // The gate is a sigmoid: strictly inside (0, 1) here, and not constant.
    EXPECT_GT(*std::max_element(ys.begin(), ys.end()), *std::min_element(ys.begin(), ys.end()));
    std::vector<float> want(yh.size());
    dequantize_int16(yh.data(), static_cast<int64_t>(yh.size()), emu.params16(head), want.data());
    EXPECT_EQ(emu.run(xi, kIn), want);
  }
  // And it follows the float model more closely than the same network in int8.
  Int8Config c8;
  const Int8Emulator emu8(f, calibrate_ranges(f, x.data(), 3, kIn, c8), c8);
  const Emulator fp32(f, EmulatorConfig{});
  double e16 = 0, e8 = 0;
  for (int img = 0; img < 3; ++img) {
    const float* xi = x.data() + kIn.numel() * img;
    const auto a = fp32.run(xi, kIn), b16 = emu.run(xi, kIn), b8 = emu8.run(xi, kIn);
    for (size_t i = 0; i < a.size(); ++i) {
      e16 += std::abs(a[i] - b16[i]);
      e8 += std::abs(a[i] - b8[i]);
    }
  }
  EXPECT_LT(e16, e8);
}

TEST(Int16Layer, RefusesOperationsWithoutAnInt16KernelNamingTheNode) {
  std::mt19937 rng(3);
  DeviceGraph g = residual(rng, LayerPrecision::Int16);
  // A GELU convolution in the int16 block: int8_form splits the GELU off as an Activation
  // node of the block, which has no int16 kernel (TFLite's GELU is int8 / uint8 only).
  g.nodes[static_cast<size_t>(node_named(g, "enc1.conv"))].act = ActType::GELU;
  const DeviceGraph f = int8_form(g, kIn);
  const auto x = images(2, kIn, rng);
  const auto r = calibrate_ranges(f, x.data(), 2, kIn, Int8Config{});
  try {
    Int8Emulator emu(f, r, Int8Config{});
    FAIL() << "an int16 GELU was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("enc1.conv"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("int16"), std::string::npos) << e.what();
  }
}

TEST(Int16Layer, OnlyInt8TfliteRunsIt) {
  std::mt19937 rng(4);
  const DeviceGraph g = residual(rng, LayerPrecision::Int16);
  EXPECT_NO_THROW(resolve_precision(g, Int8Config{}));
  for (Int8Format f : {Int8Format::OnnxRuntime, Int8Format::Dpu}) {
    Int8Config c;
    c.format = f;
    try {
      resolve_precision(g, c);
      ADD_FAILURE() << to_string(f) << " ran an int16 layer";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("pool1"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("int16"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(format_runs(Int8Format::Tflite, LayerPrecision::Int16));
  EXPECT_FALSE(format_runs(Int8Format::OnnxRuntime, LayerPrecision::Int16));
  // A profile's rule: int16 for int8-tflite; refused for onnxruntime-int8, naming the key.
  nlohmann::json doc = {{"name", "x"},
                        {"integer", {{"format", "int8-tflite"}, {"precision", "int16"}}}};
  EXPECT_EQ(parse_profile(doc, "x.toml").integer->precision, LayerPrecision::Int16);
  doc["integer"]["format"] = "onnxruntime-int8";
  try {
    parse_profile(doc, "x.toml");
    ADD_FAILURE() << "onnxruntime-int8 took an int16 rule";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("precision"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("int8 or int4w"), std::string::npos) << e.what();
  }
}

// The integer cost model: an int16 layer at int16_gmacs and 16-bit activations, with a
// conversion where the block meets int8 layers.

}  // namespace
}  // namespace dalnas
