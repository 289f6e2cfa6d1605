// The integer parameters of an int8 convolution (quant/conv_params.h), hand-computed, and the
// whole TFLite int8 pipeline (quantize, int8_conv, dequantize) against a float convolution.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"
#include "quant/conv_params.h"
#include "quant/int8_conv.h"

namespace dalnas {
namespace {

TEST(ConvRequant, MultipliersPerChannel) {
  const ConvRequant r = conv_requant(0.5f, {0.25f, 0.0f, 1e-3f}, 0.125f);
  ASSERT_EQ(r.multiplier.size(), 3u);
  EXPECT_EQ(r.multiplier[0], 1 << 30);  // M = 0.5·0.25/0.125 = 1 = 0.5·2^1
  EXPECT_EQ(r.shift[0], 1);
  EXPECT_EQ(r.multiplier[1], 0);  // an all-zero channel
  EXPECT_EQ(r.shift[1], 0);
  // M = double(0.5f)·double(1e-3f)/double(0.125f) = 0.0040000001899898052 = 0.524288... · 2^-7
  const QuantizedMultiplier q = QuantizeMultiplier(0.5 * static_cast<double>(1e-3f) / 0.125);
  EXPECT_EQ(r.multiplier[2], q.multiplier);
  EXPECT_EQ(r.shift[2], -7);
  EXPECT_THROW(conv_requant(0.0f, {1.0f}, 1.0f), Error);
  EXPECT_THROW(conv_requant(1.0f, {-1.0f}, 1.0f), Error);
  EXPECT_THROW(conv_requant(1.0f, {1.0f}, NAN), Error);
}

TEST(ActivationRangeInt8, FusedClamps) {
  const QuantParams out{0.05f, -20};
  ActivationRange r = activation_range_int8(FusedActivation::None, out);
  EXPECT_EQ(r.min, -128);
  EXPECT_EQ(r.max, 127);
  r = activation_range_int8(FusedActivation::Relu, out);
  EXPECT_EQ(r.min, -20);
  EXPECT_EQ(r.max, 127);
  r = activation_range_int8(FusedActivation::Relu6, out);  // 6/0.05 = 120 -> 100
  EXPECT_EQ(r.min, -20);
  EXPECT_EQ(r.max, 100);
  r = activation_range_int8(FusedActivation::ReluN1To1, out);  // ±1/0.05 = ±20
  EXPECT_EQ(r.min, -40);
  EXPECT_EQ(r.max, 0);
  // 6 beyond the int8 range: clamped to 127; zero point below it: min stays -128.
  r = activation_range_int8(FusedActivation::Relu6, QuantParams{0.01f, -128});
  EXPECT_EQ(r.min, -128);
  EXPECT_EQ(r.max, 127);
  EXPECT_THROW(activation_range_int8(FusedActivation::Relu, QuantParams{0.0f, 0}), Error);
}

TEST(QuantizeBiasPerChannel, RoundsAndSaturates) {
  // Bias scales 0.5·{0.25, 0.25, 0, 1e-12, 1e-12}.
  const std::vector<float> ws{0.25f, 0.25f, 0.0f, 1e-12f, 1e-12f};
  const std::vector<int32_t> q =
      quantize_bias_per_channel({1.3f, -0.0625f, 5.0f, 1.0f, -1.0f}, 0.5f, ws);
  const int32_t k = std::numeric_limits<int32_t>::max();
  // 1.3·8 = 10.4 -> 10; -0.0625·8 = -0.5 -> -1 (away from zero); scale 0 -> 0;
  // ±1/(5e-13) = ±2e12 -> saturated to ±(2^31 − 1) (not -2^31).
  EXPECT_EQ(q, (std::vector<int32_t>{10, -1, 0, k, -k}));
  EXPECT_THROW(quantize_bias_per_channel({1.0f}, 1.0f, ws), Error);
  EXPECT_THROW(quantize_bias_per_channel({NAN}, 1.0f, {1.0f}), Error);
}

// Float convolution (double accumulation), NCHW, zero padding, groups.
std::vector<double> float_conv(const std::vector<float>& x, const std::vector<float>& w,
                               const std::vector<float>& b, const Int8ConvArgs& a) {
  const int ho = a.out_h(), wo = a.out_w(), cig = a.c_in / a.groups, cog = a.c_out / a.groups;
  const int k = a.kernel;
  std::vector<double> y(static_cast<size_t>(a.batch) * a.c_out * ho * wo);
  for (int n = 0; n < a.batch; ++n)
    for (int oc = 0; oc < a.c_out; ++oc)
      for (int oy = 0; oy < ho; ++oy)
        for (int ox = 0; ox < wo; ++ox) {
          double s = b[oc];
          for (int ic = 0; ic < cig; ++ic)
            for (int ky = 0; ky < k; ++ky)
              for (int kx = 0; kx < k; ++kx) {
                const int iy = oy * a.stride - a.pad + ky, ix = ox * a.stride - a.pad + kx;
                if (iy < 0 || iy >= a.h || ix < 0 || ix >= a.w) continue;
                const int c = (oc / cog) * cig + ic;
                s += static_cast<double>(w[((oc * cig + ic) * k + ky) * k + kx]) *
                     x[((n * a.c_in + c) * a.h + iy) * a.w + ix];
              }
          y[((n * a.c_out + oc) * ho + oy) * wo + ox] = s;
        }
  return y;
}

// Quantize a float layer as the TFLite converter does, run it in int8 and dequantize: every
// output is within the error bound of the quantization steps (input, weights, bias, the
// two requantization roundings, the output grid) of the float result.
TEST(Int8Pipeline, MatchesFloatConvolutionWithinQuantizationError) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> xs(-2.0f, 3.0f), wsd(-0.5f, 0.5f), bs(-1.0f, 1.0f);
  for (FusedActivation act : {FusedActivation::None, FusedActivation::Relu6}) {
    for (int groups : {1, 4}) {
      Int8ConvArgs a;
      a.batch = 2;
      a.c_in = 8;
      a.c_out = 12;
      a.h = 9;
      a.w = 11;
      a.kernel = 3;
      a.pad = 1;
      a.stride = groups == 1 ? 1 : 2;
      a.groups = groups;
      const int cig = a.c_in / groups, per = cig * 9;
      std::vector<float> x(static_cast<size_t>(a.batch) * a.c_in * a.h * a.w);
      std::vector<float> w(static_cast<size_t>(a.c_out) * per), b(a.c_out);
      for (auto& v : x) v = xs(rng);
      for (auto& v : w) v = wsd(rng);
      for (auto& v : b) v = bs(rng);
      std::vector<double> ref = float_conv(x, w, b, a);
      if (act == FusedActivation::Relu6) {
        for (auto& v : ref) v = std::clamp(v, 0.0, 6.0);
      }
      const auto [lo, hi] = std::minmax_element(ref.begin(), ref.end());
      const QuantParams in_p = asymmetric_int8_params(-2.0f, 3.0f);
      const QuantParams out_p =
          asymmetric_int8_params(static_cast<float>(*lo), static_cast<float>(*hi));
      const PerChannelWeights qw = quantize_weights_per_channel(w.data(), a.c_out, per);
      const std::vector<int32_t> qb = quantize_bias_per_channel(b, in_p.scale, qw.scales);
      const ConvRequant rq = conv_requant(in_p.scale, qw.scales, out_p.scale);
      const ActivationRange ar = activation_range_int8(act, out_p);
      std::vector<int8_t> qx(x.size()), qy(ref.size());
      quantize_int8(x.data(), static_cast<int64_t>(x.size()), in_p, qx.data());
      a.in = qx.data();
      a.in_zero_point = in_p.zero_point;
      a.weight = qw.values.data();
      a.bias = qb.data();
      a.multiplier = rq.multiplier.data();
      a.shift = rq.shift.data();
      a.out_zero_point = out_p.zero_point;
      a.act_min = ar.min;
      a.act_max = ar.max;
      a.out = qy.data();
      int8_conv(a);
      // Bound: per tap |w|·s_in/2 + |x|·s_w/2 + s_in·s_w/4; bias s_in·s_w/2; output grid and
      // clamp s_out/2 each; double rounding s_out.
      const int ho = a.out_h(), wo = a.out_w(), cog = a.c_out / groups;
      double worst = 0.0;
      for (size_t i = 0; i < ref.size(); ++i) {
        const int oc = static_cast<int>((i / (static_cast<size_t>(ho) * wo)) % a.c_out);
        double wabs = 0.0;
        for (int t = 0; t < per; ++t) wabs += std::abs(w[static_cast<size_t>(oc) * per + t]);
        const double sw = qw.scales[oc];
        const double bound = wabs * in_p.scale / 2 + per * 3.0 * sw / 2 +
                             per * in_p.scale * sw / 4 + in_p.scale * sw / 2 + 2.0 * out_p.scale;
        const double got = dequantize_int8(qy[i], out_p);
        const double err = std::abs(got - ref[i]);
        worst = std::max(worst, err / bound);
        ASSERT_LE(err, bound) << "output " << i << " (channel " << oc << ", group size " << cog
                              << "): int8 " << got << " vs float " << ref[i];
      }
      // The bound is loose: the worst output uses under 0.2 of it here (measured: 0.12–0.18).
      EXPECT_LT(worst, 0.5);
    }
  }
}

}  // namespace
}  // namespace dalnas
