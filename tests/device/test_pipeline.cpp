// The Myriad X deployment pipeline as profile settings (device/numerics.h): each test
// builds the smallest graph on which the setting changes the result, and checks both the
// value the setting defines and that it differs from the value without it.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "device/emulator.h"
#include "device/kernels.h"
#include "device/profile.h"
#include "precision/half.h"

namespace dalnas {
namespace {

const float kInf = std::numeric_limits<float>::infinity();

Node node(OpType op, const std::string& name, std::vector<int> inputs) {
  Node n;
  n.op = op;
  n.name = name;
  n.inputs = std::move(inputs);
  return n;
}

int add_output(DeviceGraph& g, int from) {
  return g.add(node(OpType::Output, "out", {from}));
}

// A k×k convolution (pad k/2) from node `from`, weights w (out_c × cin/groups × k × k).
Node conv(int from, int out_c, int k, std::vector<float> w, std::vector<float> b = {},
          int groups = 1, ActType act = ActType::None) {
  Node c = node(OpType::Conv, "conv" + std::to_string(from), {from});
  c.out_c = out_c;
  c.kernel = k;
  c.pad = k / 2;
  c.groups = groups;
  c.weight = std::move(w);
  c.bias = std::move(b);
  c.act = act;
  return c;
}

EmulatorConfig fp16(const char* acc = "fp32") {
  EmulatorConfig c;
  for (Numerics* n : {&c.nce, &c.shave}) {
    n->storage = Storage::FP16;
    n->acc = parse_accumulation(acc);
  }
  return c;
}

// The kernel paths this CPU has (the SIMD ones are checked against the scalar reference
// in test_emulator.cpp and test_kernels.cpp; here each setting is checked on all).
std::vector<KernelIsa> isas() {
  std::vector<KernelIsa> v{KernelIsa::Scalar};
  if (kernels::cpu_has_avx2_f16c()) v.push_back(KernelIsa::AVX2);
  if (kernels::cpu_has_avx512()) v.push_back(KernelIsa::AVX512);
  return v;
}

float h(float x, HalfMode m = {}) {
  return round_to_half(x, m);
}

// --- conversions ---------------------------------------------------------------------

TEST(Pipeline, InputConversionFollowsTheHostCastOrTheDeviceConvert) {
  DeviceGraph g;
  g.add(node(OpType::Input, "in", {}));
  add_output(g, 0);
  const Shape s{3, 1, 1};
  // 65535 (a saturated 16-bit DN), a tie between 1 and 1 + 2^-10, a value below 2^-15.
  const std::vector<float> x = {65535.0f, 1.0f + std::ldexp(1.0f, -11), std::ldexp(1.0f, -16)};
  EmulatorConfig numpy = fp16();
  numpy.host_cast = kNumpyHalf;
  const std::vector<float> a = Emulator(g, numpy).run(x.data(), s);
  EXPECT_EQ(a[0], kInf);
  EXPECT_EQ(a[1], 1.0f);                   // ties to even
  EXPECT_EQ(a[2], std::ldexp(1.0f, -16));  // subnormal kept
  EmulatorConfig ie = fp16();
  ie.input_precision = InputPrecision::FP32;  // the device converts, here with IE's rule
  ie.host_cast = kNumpyHalf;
  ie.device_convert = kIeHalf;
  const std::vector<float> b = Emulator(g, ie).run(x.data(), s);
  EXPECT_EQ(b[0], 65504.0f);                      // saturates
  EXPECT_EQ(b[1], 1.0f + std::ldexp(1.0f, -10));  // ties away
  EXPECT_EQ(b[2], 0.0f);                          // below 2^-15: zero
  // U8 inputs must be bytes.
  EmulatorConfig u8 = ie;
  u8.input_precision = InputPrecision::U8;
  EXPECT_THROW(Emulator(g, u8).run(x.data(), s), Error);
  const std::vector<float> bytes = {0.0f, 17.0f, 255.0f};
  EXPECT_EQ(Emulator(g, u8).run(bytes.data(), s), bytes);
}

TEST(Pipeline, RescaledConstantsUseThePluginConversion) {
  // Weights 2^-8 (shift 8): the bias 300 becomes 76800 inside the plugin: IE's f32tof16
  // saturates it to 65504, an IEEE conversion overflows to inf.
  DeviceGraph g;
  g.add(node(OpType::Input, "in", {}));
  g.add(conv(0, 1, 1, {std::ldexp(1.0f, -8), std::ldexp(1.0f, -8)}, {300.0f}));
  add_output(g, 1);
  const std::vector<float> x = {1.0f, 1.0f};
  EmulatorConfig c = fp16();
  c.nce.prescale = true;
  c.ir_weights = kNumpyHalf;
  c.plugin_constants = kIeHalf;
  const Emulator e(g, c);
  ASSERT_EQ(e.prescale_shift(1), 8);
  EXPECT_EQ(e.graph().nodes[1].bias[0], 65504.0f);
  EXPECT_EQ(e.run(x.data(), {2, 1, 1})[0], h((65504.0f + 2.0f) / 256.0f));
  c.plugin_constants = kNumpyHalf;
  EXPECT_EQ(Emulator(g, c).graph().nodes[1].bias[0], kInf);
}

// --- pre-scaling ---------------------------------------------------------------------

DeviceGraph two_convs(float w_first, float w_later) {
  DeviceGraph g;
  g.add(node(OpType::Input, "in", {}));
  g.add(conv(0, 4, 1, std::vector<float>(16, w_first)));
  g.add(conv(1, 4, 1, std::vector<float>(16, w_later)));
  add_output(g, 2);
  return g;
}

TEST(Pipeline, GrowingOutputLowersTheLaterShifts) {
  // First layer: weights 0.5 (raw shift 1 < 4), 4 input channels; later: 2^-8 (shift 8).
  const DeviceGraph g = two_convs(0.5f, std::ldexp(1.0f, -8));
  EmulatorConfig c = fp16();
  c.nce.prescale = true;
  EXPECT_EQ(Emulator(g, c).prescale_shift(1), 1);
  EXPECT_EQ(Emulator(g, c).prescale_shift(2), 8);
  c.nce.prescale_growing_output = true;
  const Emulator grown(g, c);
  EXPECT_TRUE(grown.growing_output());
  EXPECT_EQ(grown.prescale_shift(1), 0);
  EXPECT_EQ(grown.prescale_shift(2), 3);
  // Normalisation inside the model with a scale below 0.1 (std 1000): not growing.
  DeviceGraph m = g;
  m.norm_mean.assign(4, 500.0f);
  m.norm_std.assign(4, 1000.0f);
  c.input = InputPipeline::Model;
  const Emulator model(m, c);
  EXPECT_FALSE(model.growing_output());
  EXPECT_EQ(model.prescale_shift(2), 8);
  // The same statistics normalised on the host: growing.
  c.input = InputPipeline::Host;
  EXPECT_EQ(Emulator(m, c).prescale_shift(2), 3);
}

TEST(Pipeline, DeconvolutionsArePrescaledOnTheEngine) {
  DeviceGraph g;
  g.add(node(OpType::Input, "in", {}));
  Node t = node(OpType::ConvTranspose, "up", {0});
  t.out_c = 2;
  t.kernel = 2;
  t.stride = 2;
  t.weight.assign(2 * 2 * 2 * 2, std::ldexp(1.0f, -7));
  g.add(t);
  add_output(g, 1);
  EmulatorConfig c = fp16("fp16");
  c.nce.prescale = true;
  EXPECT_EQ(Emulator(g, c).prescale_shift(1), 0);  // on SHAVE: not scaled
  c.deconv_on_nce = true;
  const Emulator e(g, c);
  EXPECT_EQ(e.prescale_shift(1), 7);
  // The accumulator holds 2^7 times the value: 2 · 2^-7 · 1000 · 2^7 = 2000 is fine, but
  // inputs of 40000 overflow the scaled domain (2 · 40000 > 65504).
  const std::vector<float> small = {1000.0f, 1000.0f}, big = {40000.0f, 40000.0f};
  EXPECT_EQ(e.run(small.data(), {2, 1, 1})[0], h(2.0f * 1000.0f * std::ldexp(1.0f, -7)));
  EXPECT_EQ(e.run(big.data(), {2, 1, 1})[0], kInf);
  c.deconv_on_nce = false;
  EXPECT_TRUE(std::isfinite(Emulator(g, c).run(big.data(), {2, 1, 1})[0]));
}

// --- hardware tiling over input channels ------------------------------------------------

EmulatorConfig tiled(int coeff_per_block, int blocks) {
  EmulatorConfig c = fp16();
  c.tiling.enabled = true;
  c.tiling.max_coeff_per_block = coeff_per_block;
  c.tiling.max_blocks = blocks;
  return c;
}

TEST(Pipeline, SplitConvolutionsStorePartialsInFp16AndActivateAfterTheLastSum) {
  // 1×1 conv over 3 channels, one channel per pass: parts stored in FP16 and added in
  // FP16 on SHAVE. 1 + 2^-11 + 2^-11: the parts lose both halves (ties to even), fp32
  // accumulation in one pass keeps them (1 + 2^-10).
  DeviceGraph g;
  g.add(node(OpType::Input, "in", {}));
  g.add(conv(0, 1, 1, {1.0f, std::ldexp(1.0f, -6), std::ldexp(1.0f, -6)}));
  add_output(g, 1);
  const std::vector<float> x = {1.0f, std::ldexp(1.0f, -5), std::ldexp(1.0f, -5)};
  for (KernelIsa isa : isas()) {
    EmulatorConfig whole = fp16(), split = tiled(1, 1);
    whole.isa = split.isa = isa;
    EXPECT_EQ(Emulator(g, whole).run(x.data(), {3, 1, 1})[0], 1.0f + std::ldexp(1.0f, -10));
    const Emulator e(g, split);
    EXPECT_EQ(e.hw_parts(1), 3);
    EXPECT_EQ(e.run(x.data(), {3, 1, 1})[0], 1.0f);
  }
  // ReLU after the last sum, bias with part 0 only: (-1 + 0.25) + 0.5 = -0.25 -> 0. A
  // ReLU per part, or the bias in every part, would give 0.5 or more.
  DeviceGraph r;
  r.add(node(OpType::Input, "in", {}));
  r.add(conv(0, 1, 1, {1.0f, 1.0f}, {0.25f}, 1, ActType::ReLU));
  add_output(r, 1);
  const std::vector<float> y = {-1.0f, 0.5f};
  EXPECT_EQ(Emulator(r, tiled(1, 1)).run(y.data(), {2, 1, 1})[0], 0.0f);
  const std::vector<float> z = {-1.0f, 1.5f};
  EXPECT_EQ(Emulator(r, tiled(1, 1)).run(z.data(), {2, 1, 1})[0], 0.75f);
}

TEST(Pipeline, ChannelsPerPassFollowTheCoefficientBlocks) {
  HwTiling t;  // 256 coefficients per block, 16 blocks, 2048 channels
  EXPECT_EQ(t.channels_per_block(3), 28);
  EXPECT_EQ(t.channels_per_pass(3), 448);
  EXPECT_EQ(t.channels_per_block(1), 256);
  EXPECT_EQ(t.channels_per_pass(1), 2048);
  EXPECT_EQ(t.channels_per_block(17), 1);
  // A dense 3×3 conv over 500 channels is split in two, over 448 it is not.
  DeviceGraph g;
  g.add(node(OpType::Input, "in", {}));
  g.add(conv(0, 1, 3, std::vector<float>(500 * 9, 0.01f)));
  add_output(g, 1);
  EmulatorConfig c = fp16();
  c.tiling.enabled = true;
  EXPECT_EQ(Emulator(g, c).hw_parts(1), 2);
  c.tiling.enabled = false;
  EXPECT_EQ(Emulator(g, c).hw_parts(1), 1);
}

TEST(Pipeline, DepthwiseRunsAsBlockDiagonalDense) {
  // Two channels, one per pass: channel 1 gets its bias from part 0 (stored alone) and
  // its convolution from part 1: h(h(b) + h(w·x)) instead of h(w·x + b).
  // w·x = 1.5 · (1 + 2^-10) = 1.5 + 2^-10 + 2^-11 and b = -2^-11: in one pass the sum is
  // exactly 1.5 + 2^-10; stored first, w·x ties up to 1.5 + 2^-9 and the sum stays there.
  DeviceGraph g;
  g.add(node(OpType::Input, "in", {}));
  const float b = -std::ldexp(1.0f, -11);
  g.add(conv(0, 2, 1, {1.5f, 1.5f}, {b, b}, 2));
  add_output(g, 1);
  const float x1 = 1.0f + std::ldexp(1.0f, -10);
  const std::vector<float> x = {x1, x1};
  for (KernelIsa isa : isas()) {
    EmulatorConfig split_cfg = tiled(1, 1), whole_cfg = fp16();
    split_cfg.isa = whole_cfg.isa = isa;
    const Emulator split(g, split_cfg);
    EXPECT_EQ(split.hw_parts(1), 2);
    const std::vector<float> y = split.run(x.data(), {2, 1, 1});
    const std::vector<float> whole = Emulator(g, whole_cfg).run(x.data(), {2, 1, 1});
    EXPECT_EQ(whole[0], 1.5f + std::ldexp(1.0f, -10));
    EXPECT_EQ(whole[1], 1.5f + std::ldexp(1.0f, -10));
    EXPECT_EQ(y[0], whole[0]);  // channel 0: conv and bias in part 0
    EXPECT_EQ(y[1], h(h(b) + h(1.5f * x1)));
    EXPECT_EQ(y[1], 1.5f + std::ldexp(1.0f, -9));
  }
}

TEST(Pipeline, HardwareBlockAccumulationRoundsPerCoefficientBlock) {
  // A 1×1 conv over 300 channels: blocks of 256 products, then 44.
  DeviceGraph g;
  g.add(node(OpType::Input, "in", {}));
  std::vector<float> w(300);
  for (size_t i = 0; i < w.size(); ++i) w[i] = (i % 7 == 0 ? -1.0f : 1.0f) * (0.1f + 0.001f * i);
  g.add(conv(0, 1, 1, w));
  add_output(g, 1);
  std::vector<float> x(300);
  for (size_t i = 0; i < x.size(); ++i) x[i] = h(1.0f + 0.37f * static_cast<float>(i % 11));
  for (KernelIsa isa : isas()) {
    EmulatorConfig hw = fp16("fp16-blocked:hw"), n256 = fp16("fp16-blocked:256");
    hw.isa = n256.isa = isa;
    EXPECT_EQ(Emulator(g, hw).run(x.data(), {300, 1, 1})[0],
              Emulator(g, n256).run(x.data(), {300, 1, 1})[0]);
  }
  EXPECT_EQ(to_string(parse_accumulation("fp16-blocked:hw")), "fp16-blocked:hw");
}

// --- operator semantics -----------------------------------------------------------------

TEST(Pipeline, HalfPixelResizeRunsAsTheDeviceMode) {
  DeviceGraph g;
  g.add(node(OpType::Input, "in", {}));
  Node r = node(OpType::Resize, "up", {0});
  r.scale = 2.0f;
  g.add(r);
  add_output(g, 1);
  const std::vector<float> x = {0.0f, 1.0f};  // 1 × 1 × 2 -> 1 × 2 × 4
  EmulatorConfig c = fp16();
  auto row = [&](const EmulatorConfig& cfg, ResizeCoord coord) {
    DeviceGraph m = g;
    m.nodes[1].coord = coord;
    const std::vector<float> y = Emulator(m, cfg).run(x.data(), {1, 1, 2});
    return std::vector<float>(y.begin(), y.begin() + 4);
  };
  EXPECT_EQ(row(c, ResizeCoord::HalfPixel), (std::vector<float>{0.0f, 0.25f, 0.75f, 1.0f}));
  EXPECT_EQ(row(c, ResizeCoord::Asymmetric), (std::vector<float>{0.0f, 0.5f, 1.0f, 1.0f}));
  const std::vector<float> ac = row(c, ResizeCoord::AlignCorners);
  EXPECT_EQ(ac[0], 0.0f);
  EXPECT_EQ(ac[1], h(1.0f / 3.0f));
  EXPECT_EQ(ac[3], 1.0f);
  c.half_pixel_resize = ResizeCoord::Asymmetric;  // MYRIAD's Interp
  EXPECT_EQ(row(c, ResizeCoord::HalfPixel), (std::vector<float>{0.0f, 0.5f, 1.0f, 1.0f}));
  EXPECT_EQ(row(c, ResizeCoord::AlignCorners), ac);  // align_corners is kept
}

TEST(Pipeline, HardwareAveragePoolingCountsPaddingOnLargeOutputs) {
  auto pool = [](int side) {
    DeviceGraph g;
    g.add(node(OpType::Input, "in", {}));
    Node p = node(OpType::AvgPool, "pool", {0});
    p.kernel = 2;
    p.stride = 2;
    p.pad = 1;
    g.add(p);
    add_output(g, 1);
    (void)side;
    return g;
  };
  std::vector<float> x12(144, 4.0f), x8(64, 4.0f);
  EmulatorConfig c = fp16();
  EXPECT_EQ(Emulator(pool(12), c).run(x12.data(), {1, 12, 12})[0], 4.0f);  // 7×7 output
  c.hw_avgpool_counts_padding = true;
  EXPECT_EQ(Emulator(pool(12), c).run(x12.data(), {1, 12, 12})[0], 1.0f);  // corner: 4 / 4
  EXPECT_EQ(Emulator(pool(12), c).run(x12.data(), {1, 12, 12})[8], 4.0f);  // inside
  EXPECT_EQ(Emulator(pool(8), c).run(x8.data(), {1, 8, 8})[0], 4.0f);      // 5×5: on SHAVE
}

TEST(Pipeline, ShaveActivationsInFp16Arithmetic) {
  DeviceGraph g;
  g.add(node(OpType::Input, "in", {}));
  Node a = node(OpType::Activation, "act", {0});
  a.act = ActType::Sigmoid;
  g.add(a);
  add_output(g, 1);
  std::vector<float> x;
  for (int i = -400; i <= 400; ++i) x.push_back(h(i * 0.025f));
  const Shape s{1, 1, static_cast<int>(x.size())};
  EmulatorConfig c = fp16();
  const std::vector<float> exact = Emulator(g, c).run(x.data(), s);
  c.shave.fp16_activations = true;
  const std::vector<float> fp16 = Emulator(g, c).run(x.data(), s);
  int differ = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float ref = h(1.0f / h(1.0f + h(std::exp(-x[i]))));
    ASSERT_EQ(fp16[i], ref) << x[i];
    EXPECT_NEAR(fp16[i], exact[i], 2e-3f);  // Intel's Sigmoid test: 1e-3 absolute
    differ += fp16[i] != exact[i];
  }
  EXPECT_GT(differ, 10);
}

TEST(Pipeline, UnfusableActivationsRunOnTheStoredOutput) {
  // Sigmoid after a conv on the engine: the engine stores the FP16 output first, then
  // SHAVE applies the sigmoid. x0 + 2^-12 (x0 in [-4, 4)) is rounded before the sigmoid.
  DeviceGraph g;
  g.add(node(OpType::Input, "in", {}));
  g.add(conv(0, 1, 1, {1.0f, 1.0f}, {}, 1, ActType::Sigmoid));
  add_output(g, 1);
  const int n = 800;
  std::vector<float> x(2 * n);
  for (int i = 0; i < n; ++i) {
    x[i] = h(-4.0f + 0.01f * static_cast<float>(i));
    x[n + i] = std::ldexp(1.0f, -12);
  }
  const Shape s{2, 1, n};
  EmulatorConfig c = fp16();
  const std::vector<float> fused = Emulator(g, c).run(x.data(), s);
  c.nce_fuses_only_relu_clamp = true;
  const std::vector<float> split = Emulator(g, c).run(x.data(), s);
  int differ = 0;
  for (int i = 0; i < n; ++i) {
    const float pre = x[i] + x[n + i];
    ASSERT_EQ(fused[i], h(1.0f / (1.0f + std::exp(-pre)))) << i;
    ASSERT_EQ(split[i], h(1.0f / (1.0f + std::exp(-h(pre))))) << i;
    differ += fused[i] != split[i];
  }
  EXPECT_GT(differ, 0);
}

// --- input pipelines ----------------------------------------------------------------------

TEST(Pipeline, NormalisationInsideTheModelSeesTheRawRange) {
  DeviceGraph g;
  g.add(node(OpType::Input, "in", {}));
  add_output(g, 0);
  g.norm_mean = {1000.0f};
  g.norm_std = {500.0f};
  const std::vector<float> x = {70000.0f, 1234.0f};
  const Shape s{1, 1, 2};
  EmulatorConfig host = fp16();
  host.host_cast = kNumpyHalf;
  const std::vector<float> a = Emulator(g, host).run(x.data(), s);
  EXPECT_EQ(a[0], h((70000.0f - 1000.0f) / 500.0f));
  EmulatorConfig model = host;
  model.input = InputPipeline::Model;
  model.plugin_constants = kIeHalf;
  const std::vector<float> b = Emulator(g, model).run(x.data(), s);
  EXPECT_EQ(b[0], kInf);  // 70000 overflows the FP16 cast before the ScaleShift
  const float sc = h(1.0f / 500.0f, kIeHalf), sh = h(-1000.0f / 500.0f, kIeHalf);
  EXPECT_EQ(b[1], h(h(1234.0f) * sc + sh));
  EXPECT_NE(b[1], a[1]);
}

// --- profiles -------------------------------------------------------------------------------

TEST(Pipeline, MyriadProfileSetsEveryBehaviour) {
  const DeviceProfile p = load_profile("myriadx");
  const EmulatorConfig c = p.emulator_config();
  EXPECT_EQ(c.input, InputPipeline::Host);
  EXPECT_EQ(c.input_precision, InputPrecision::FP16);
  ASSERT_TRUE(c.plugin_constants.has_value());
  EXPECT_EQ(*c.plugin_constants, kIeHalf);
  ASSERT_TRUE(c.ir_weights.has_value());
  EXPECT_EQ(*c.ir_weights, kNumpyHalf);
  EXPECT_EQ(c.half_pixel_resize, ResizeCoord::Asymmetric);
  EXPECT_TRUE(c.tiling.enabled);
  EXPECT_TRUE(c.nce_fuses_only_relu_clamp);
  EXPECT_TRUE(c.hw_avgpool_counts_padding);
  EXPECT_TRUE(c.deconv_on_nce);
  EXPECT_TRUE(c.nce.prescale);
  EXPECT_TRUE(c.nce.prescale_growing_output);
  EXPECT_TRUE(c.shave.fp16_activations);
  // fp16-ideal stays the ideal machine.
  const EmulatorConfig ideal = load_profile("fp16-ideal").emulator_config();
  EXPECT_FALSE(ideal.tiling.enabled);
  EXPECT_EQ(ideal.half_pixel_resize, ResizeCoord::HalfPixel);
  EXPECT_FALSE(ideal.nce.prescale);
}

TEST(Pipeline, ProfileErrorsNameTheKey) {
  auto parse = [](const char* text) {
    return parse_profile(nlohmann::json::parse(text), "p.json");
  };
  auto message = [&](const char* text) {
    try {
      parse(text);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(R"({"name":"x","numerics":{"input":"usb"}})").find("numerics.input"),
            std::string::npos);
  EXPECT_NE(message(R"({"name":"x","numerics":{"conversions":{"host_cast":"round"}}})")
                .find("numerics.conversions.host_cast"),
            std::string::npos);
  EXPECT_NE(message(R"({"name":"x","numerics":{"tiling":{"blocks":3}}})").find("unknown key"),
            std::string::npos);
  EXPECT_NE(message(R"({"name":"x","numerics":{"input_precision":"u16"}})").find("u16"),
            std::string::npos);
  const DeviceProfile p = parse(
      R"({"name":"x","numerics":{"conversions":{"device_convert":"away/saturate/flush"},
          "neural_engine":{"rounding":"away","subnormals":"min-normal"}}})");
  const EmulatorConfig c = p.emulator_config();
  EXPECT_EQ(c.device_convert->rounding, Rounding::NearestAway);
  EXPECT_EQ(c.device_convert->overflow, Overflow::Saturate);
  EXPECT_EQ(c.device_convert->subnormals, Subnormals::Flush);
  EXPECT_EQ(c.nce.half.subnormals, Subnormals::MinNormal);
}

}  // namespace
}  // namespace dalnas
