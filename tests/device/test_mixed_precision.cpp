// Mixed precision on the integer emulator: the precision rule (device/precision_rule.h),
// weight-only int4 layers and FP16 layers inside an int8 graph (device/int8_emulator.h),
// each checked against a naive reference of the documented semantics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "device/int8_emulator.h"
#include "device/precision_rule.h"
#include "int8_test_graphs.h"
#include "precision/half.h"
#include "quant/quant_params.h"

namespace dalnas {
namespace {

using int8_test::conv;
using int8_test::images;
using int8_test::simple;

// Input -> enc0 (3x3, ReLU) -> enc1 (3x3, ReLU) -> head (1x1) -> Output, with block numbers
// as lower() gives them.
DeviceGraph chain(std::mt19937& rng) {
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  Node a = conv("enc0.conv", 0, 3, 6, 3, 1, ActType::ReLU, rng);
  a.block = 0;
  const int ia = g.add(a);
  Node b = conv("enc1.conv", ia, 6, 5, 3, 1, ActType::ReLU, rng);
  b.block = 1;
  const int ib = g.add(b);
  const int h = g.add(conv("head", ib, 5, 1, 1, 1, ActType::None, rng));
  g.add(simple(OpType::Output, "out", {h}));
  g.norm_mean = {100.0f, 200.0f, 300.0f};
  g.norm_std = {50.0f, 60.0f, 70.0f};
  return g;
}

struct Built {
  DeviceGraph form;
  std::vector<TensorRange> ranges;
};

Built build(const DeviceGraph& g, const Shape& s, const std::vector<float>& calib, int n,
            const Int8Config& c) {
  Built b;
  b.form = int8_form(g, s);
  b.ranges = calibrate_ranges(b.form, calib.data(), n, s, c);
  return b;
}

int node_named(const DeviceGraph& g, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].name == name) return static_cast<int>(i);
  return -1;
}

// The documented FP16 convolution (device/emulator.h): FP16 weights and bias, products in
// fp32, the reduction over input channels, then ky, then kx from +0, then bias, then the
// activation (ReLU or none), then FP16 storage rounding.
std::vector<float> fp16_conv(const Node& n, const std::vector<float>& x, const Shape& is) {
  const int k = n.kernel, pad = n.pad, oc = n.out_c;
  std::vector<float> y(static_cast<size_t>(oc) * is.h * is.w);
  for (int o = 0; o < oc; ++o) {
    for (int yy = 0; yy < is.h; ++yy) {
      for (int xx = 0; xx < is.w; ++xx) {
        float acc = 0.0f;
        for (int c = 0; c < is.c; ++c) {
          for (int ky = 0; ky < k; ++ky) {
            for (int kx = 0; kx < k; ++kx) {
              const int iy = yy + ky - pad, ix = xx + kx - pad;
              const float v = iy < 0 || ix < 0 || iy >= is.h || ix >= is.w
                                  ? 0.0f
                                  : x[static_cast<size_t>((c * is.h + iy) * is.w + ix)];
              const float w =
                  round_to_half(n.weight[static_cast<size_t>(((o * is.c + c) * k + ky) * k + kx)]);
              acc += w * v;
            }
          }
        }
        float r = acc + round_to_half(n.bias[static_cast<size_t>(o)]);
        if (n.act == ActType::ReLU) r = r > 0.0f ? r : 0.0f;
        y[static_cast<size_t>((o * is.h + yy) * is.w + xx)] = round_to_half(r);
      }
    }
  }
  return y;
}

TEST(PrecisionRule, GeneThenFirstLastThenDefault) {
  std::mt19937 rng(1);
  DeviceGraph g = chain(rng);
  g.nodes[2].precision = LayerPrecision::FP16;  // enc1's gene
  g.infer_shapes({3, 8, 8});
  Int8Config c;
  c.precision = LayerPrecision::Int4W;
  c.first_last = LayerPrecision::Int8;
  const std::vector<LayerPrecision> p = resolve_precision(g, c);
  EXPECT_EQ(p[0], LayerPrecision::Int8);   // input: the host quantizes
  EXPECT_EQ(p[1], LayerPrecision::Int8);   // block 0: first_last
  EXPECT_EQ(p[2], LayerPrecision::FP16);   // the gene wins
  EXPECT_EQ(p[3], LayerPrecision::Int8);   // the head: first_last
  EXPECT_EQ(p[4], LayerPrecision::Int8);   // output
  c.first_last = LayerPrecision::Default;  // no rule for the ends: the default everywhere
  const std::vector<LayerPrecision> q = resolve_precision(g, c);
  EXPECT_EQ(q[1], LayerPrecision::Int4W);
  EXPECT_EQ(q[3], LayerPrecision::Int4W);
  EXPECT_TRUE(is_mixed(q));
  EXPECT_FALSE(is_mixed(resolve_precision(chain(rng), Int8Config{})));
}

TEST(PrecisionRule, FormatsRefuseWhatTheyCannotRun) {
  std::mt19937 rng(2);
  DeviceGraph g = chain(rng);
  g.nodes[2].precision = LayerPrecision::FP16;
  Int8Config ort;
  ort.format = Int8Format::OnnxRuntime;
  try {
    resolve_precision(g, ort);
    FAIL() << "onnxruntime-int8 ran an fp16 layer";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("enc1.conv"), std::string::npos) << e.what();
  }
  g.nodes[2].precision = LayerPrecision::Int4W;
  EXPECT_NO_THROW(resolve_precision(g, ort));
  Int8Config dpu;
  dpu.format = Int8Format::Dpu;
  EXPECT_THROW(resolve_precision(g, dpu), Error);
}

TEST(MixedPrecision, Int4WeightsAreTheInt8PathOnTheFourBitGrid) {
  std::mt19937 rng(3);
  const Shape s{3, 12, 12};
  const std::vector<float> x = images(4, s, rng);
  DeviceGraph g = chain(rng);
  Int8Config c4;
  c4.precision = LayerPrecision::Int4W;
  const Built b4 = build(g, s, x, 4, c4);
  const Int8Emulator e4(b4.form, b4.ranges, c4);
  // The same graph all int8 with the weight range narrowed to 7: the same numbers.
  Int8Config c7;
  c7.weight_max = kInt4WeightMax;
  const Int8Emulator e7(b4.form, b4.ranges, c7);
  const Int8Emulator e8(b4.form, b4.ranges, Int8Config{});
  EXPECT_TRUE(e4.mixed());
  EXPECT_FALSE(e8.mixed());
  const int a = node_named(b4.form, "enc0.conv");
  int distinct = 0;
  for (int8_t w : e4.conv(a).weight) {
    EXPECT_LE(std::abs(int{w}), kInt4WeightMax);
    distinct += std::abs(int{w}) > 7 ? 1 : 0;
  }
  for (int8_t w : e8.conv(a).weight) distinct += std::abs(int{w}) > 7 ? 1 : 0;
  EXPECT_GT(distinct, 0) << "int8 weights should use the wider grid";
  bool differs = false;
  for (int i = 0; i < 4; ++i) {
    const float* xi = x.data() + i * s.numel();
    EXPECT_EQ(e4.run(xi, s), e7.run(xi, s));
    differs = differs || e4.run(xi, s) != e8.run(xi, s);
  }
  EXPECT_TRUE(differs) << "int4 weights should change the output";
}

TEST(MixedPrecision, Fp16LayerBetweenInt8LayersFollowsItsReference) {
  std::mt19937 rng(4);
  const Shape s{3, 10, 10};
  const std::vector<float> x = images(3, s, rng);
  DeviceGraph g = chain(rng);
  g.nodes[2].precision = LayerPrecision::FP16;  // enc1 runs in float
  Int8Config c;
  const Built b = build(g, s, x, 3, c);
  const Int8Emulator e(b.form, b.ranges, c);
  const int a = node_named(b.form, "enc0.conv"), m = node_named(b.form, "enc1.conv");
  ASSERT_EQ(e.precision(m), LayerPrecision::FP16);
  for (int i = 0; i < 3; ++i) {
    const float* xi = x.data() + i * s.numel();
    const auto v = e.run_all(xi, s);
    // Reference: DEQUANTIZE enc0's int8 output, round to FP16, the FP16 convolution, then
    // QUANTIZE to enc1's own parameters.
    std::vector<float> xa(v[a].size());
    for (size_t k = 0; k < xa.size(); ++k)
      xa[k] = round_to_half(dequantize_int8(v[a][k], e.params(a)));
    const std::vector<float> f = fp16_conv(b.form.nodes[m], xa, {6, s.h, s.w});
    ASSERT_EQ(v[m].size(), f.size());
    for (size_t k = 0; k < f.size(); ++k) {
      ASSERT_EQ(v[m][k], quantize_int8(f[k], e.params(m))) << "image " << i << " value " << k;
    }
  }
}

TEST(MixedPrecision, Fp16FirstLayerReadsTheInputUnquantized) {
  std::mt19937 rng(5);
  const Shape s{3, 8, 8};
  const std::vector<float> x = images(2, s, rng);
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  Node a = conv("enc0.conv", 0, 3, 2, 3, 1, ActType::None, rng);
  a.block = 0;
  a.precision = LayerPrecision::FP16;
  const int ia = g.add(a);
  g.add(simple(OpType::Output, "out", {ia}));
  g.norm_mean = {100.0f, 200.0f, 300.0f};
  g.norm_std = {50.0f, 60.0f, 70.0f};
  Int8Config c;
  const Built b = build(g, s, x, 2, c);
  const Int8Emulator e(b.form, b.ranges, c);
  for (int i = 0; i < 2; ++i) {
    const float* xi = x.data() + i * s.numel();
    std::vector<float> xn(static_cast<size_t>(s.numel()));
    for (int ch = 0; ch < 3; ++ch)
      for (int k = 0; k < s.h * s.w; ++k) {
        const size_t j = static_cast<size_t>(ch * s.h * s.w + k);
        xn[j] = round_to_half((xi[j] - g.norm_mean[ch]) / g.norm_std[ch]);
      }
    // The last layer in FP16: its FP16 output is the output (no int8 step).
    EXPECT_EQ(e.run(xi, s), fp16_conv(b.form.nodes[1], xn, s)) << "image " << i;
  }
}

TEST(MixedPrecision, Fp16HeadChangesOnlyTheHeadAndItsOutputIsFloat) {
  std::mt19937 rng(6);
  const Shape s{3, 8, 8};
  const std::vector<float> x = images(2, s, rng);
  DeviceGraph g = chain(rng);
  Int8Config c;
  c.first_last = LayerPrecision::FP16;  // first block and head in float
  const Built b = build(g, s, x, 2, c);
  const Int8Emulator e(b.form, b.ranges, c);
  const Int8Emulator q(b.form, b.ranges, Int8Config{});
  const int h = node_named(b.form, "head");
  EXPECT_EQ(e.precision(h), LayerPrecision::FP16);
  EXPECT_EQ(e.precision(node_named(b.form, "enc1.conv")), LayerPrecision::Int8);
  const std::vector<float> ye = e.run(x.data(), s), yq = q.run(x.data(), s);
  // An int8 output takes at most 256 values; the float head's output is not on that grid.
  int off_grid = 0;
  for (float v : ye) {
    const float r = (v / q.params(h).scale) + static_cast<float>(q.params(h).zero_point);
    off_grid += std::fabs(r - std::round(r)) > 1e-3f ? 1 : 0;
  }
  EXPECT_GT(off_grid, 0);
  EXPECT_NE(ye, yq);
}

}  // namespace
}  // namespace dalnas
