// TFLite int8 quantization parameters and conversions (quant/quant_params.h), hand-computed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "quant/quant_params.h"

namespace dalnas {
namespace {

TEST(AsymmetricInt8Params, HandComputed) {
  // [-1, 3]: scale 4/255; zp = -128 + 1/(4/255) = -128 + 63.75 = -64.25 -> -64.
  QuantParams p = asymmetric_int8_params(-1.0f, 3.0f);
  EXPECT_FLOAT_EQ(p.scale, 4.0f / 255.0f);
  EXPECT_EQ(p.zero_point, -64);
}

TEST(AsymmetricInt8Params, NudgesZeroIntoTheRange) {
  // min > 0 -> min = 0: zero point -128.
  QuantParams p = asymmetric_int8_params(0.5f, 2.0f);
  EXPECT_FLOAT_EQ(p.scale, 2.0f / 255.0f);
  EXPECT_EQ(p.zero_point, -128);
  // max < 0 -> max = 0: zero point 127.
  p = asymmetric_int8_params(-3.0f, -1.0f);
  EXPECT_FLOAT_EQ(p.scale, 3.0f / 255.0f);
  EXPECT_EQ(p.zero_point, 127);
  // [0, 0]: scale 0, zero point from min = -128.
  p = asymmetric_int8_params(0.0f, 0.0f);
  EXPECT_EQ(p.scale, 0.0f);
  EXPECT_EQ(p.zero_point, -128);
}

TEST(AsymmetricInt8Params, ZeroPointTiesRoundAwayFromZero) {
  // scale = 15.9375 / 255 = 1/16 exactly; -min/scale = 11.5 exactly; zp_from_min = -116.5:
  // std::round -> -117 (round half to even would give -116).
  const QuantParams p = asymmetric_int8_params(-0.71875f, 15.21875f);
  EXPECT_EQ(p.scale, 0.0625f);
  EXPECT_EQ(p.zero_point, -117);
  // And 10.5 -> -117.5 -> -118.
  EXPECT_EQ(asymmetric_int8_params(-0.65625f, 15.28125f).zero_point, -118);
}

TEST(AsymmetricInt8Params, RejectsBadRanges) {
  EXPECT_THROW(asymmetric_int8_params(1.0f, -1.0f), Error);
  EXPECT_THROW(asymmetric_int8_params(NAN, 1.0f), Error);
  EXPECT_THROW(asymmetric_int8_params(-1.0f, INFINITY), Error);
}

TEST(QuantizeInt8, RoundsHalfAwayFromZeroAndClamps) {
  const QuantParams p{0.5f, 3};
  EXPECT_EQ(quantize_int8(1.25f, p), 6);   // 2.5 -> 3, + 3
  EXPECT_EQ(quantize_int8(-1.25f, p), 0);  // -2.5 -> -3, + 3
  EXPECT_EQ(quantize_int8(0.75f, p), 5);   // 1.5 -> 2
  EXPECT_EQ(quantize_int8(-0.75f, p), 1);  // -1.5 -> -2
  EXPECT_EQ(quantize_int8(0.2f, p), 3);    // 0.4 -> 0
  EXPECT_EQ(quantize_int8(100.0f, p), 127);
  EXPECT_EQ(quantize_int8(-100.0f, p), -128);
  EXPECT_EQ(quantize_int8(INFINITY, p), 127);
  EXPECT_EQ(quantize_int8(-INFINITY, p), -128);
  std::vector<float> x{1.25f, -1.25f, 62.0f};
  std::vector<int8_t> q(3);
  quantize_int8(x.data(), 3, p, q.data());
  EXPECT_EQ(q, (std::vector<int8_t>{6, 0, 127}));
}

TEST(DequantizeInt8, ScaleTimesOffset) {
  const QuantParams p{0.5f, 3};
  EXPECT_EQ(dequantize_int8(6, p), 1.5f);
  EXPECT_EQ(dequantize_int8(-128, p), -65.5f);
  std::vector<int8_t> q{3, 127};
  std::vector<float> x(2);
  dequantize_int8(q.data(), 2, p, x.data());
  EXPECT_EQ(x, (std::vector<float>{0.0f, 62.0f}));
  // A round trip through the grid is exact for grid values.
  const QuantParams r = asymmetric_int8_params(-1.0f, 3.0f);
  for (int v = -128; v <= 127; ++v) {
    EXPECT_EQ(quantize_int8(dequantize_int8(static_cast<int8_t>(v), r), r), v);
  }
}

TEST(QuantizeWeightsPerChannel, SymmetricNarrowRange) {
  // Channel 0: max|w| = 127 -> scale 1; ties 2.5 -> 3, -2.5 -> -3, -0.5 -> -1.
  // Channel 1: all zero -> scale 0, values 0.
  // Channel 2: max|w| = 2.54 -> scale 0.02; -2.54 -> -127 (never -128),
  // 1.111 -> 55.55 -> 56, 0.013 -> 0.65 -> 1, 2 -> 100.
  const std::vector<float> w{127.0f, 2.5f,   -2.5f,  -0.5f,  //
                             0.0f,   0.0f,   0.0f,   0.0f,   //
                             -2.54f, 1.111f, 0.013f, 2.0f};
  const PerChannelWeights q = quantize_weights_per_channel(w.data(), 3, 4);
  ASSERT_EQ(q.scales.size(), 3u);
  EXPECT_EQ(q.scales[0], 1.0f);
  EXPECT_EQ(q.scales[1], 0.0f);
  EXPECT_FLOAT_EQ(q.scales[2], 0.02f);
  EXPECT_EQ(q.values, (std::vector<int8_t>{127, 3, -3, -1, 0, 0, 0, 0, -127, 56, 1, 100}));
}

TEST(QuantizeWeightsPerTensor, OneScaleForTheTensorAndScaleOneWhenAllZero) {
  // The same tensor per tensor: range 127 -> scale 1 for all three channels; channel 2's
  // values now on that grid: -2.54 -> -3 (ties and rounding away from zero as before),
  // 1.111 -> 1, 0.013 -> 0, 2 -> 2.
  const std::vector<float> w{127.0f, 2.5f,   -2.5f,  -0.5f,  //
                             0.0f,   0.0f,   0.0f,   0.0f,   //
                             -2.54f, 1.111f, 0.013f, 2.0f};
  const PerChannelWeights q = quantize_weights_per_tensor(w.data(), 3, 4);
  EXPECT_EQ(q.scales, (std::vector<float>{1.0f, 1.0f, 1.0f}));
  EXPECT_EQ(q.values, (std::vector<int8_t>{127, 3, -3, -1, 0, 0, 0, 0, -3, 1, 0, 2}));
  // The negative extreme sets the range: 4 -> 127 / 4 = 31.75 (exact); 2 -> 63.5, a tie,
  // -> 64; 0.5 -> 15.875 -> 16; -0.125 -> -3.97 -> -4.
  const std::vector<float> v{-4.0f, 2.0f, 0.5f, -0.125f};
  const PerChannelWeights r = quantize_weights_per_tensor(v.data(), 2, 2);
  EXPECT_EQ(r.scales, (std::vector<float>{4.0f / 127.0f, 4.0f / 127.0f}));
  EXPECT_EQ(r.values, (std::vector<int8_t>{-127, 64, 16, -4}));
  // reduce_range's narrower grid: range / 64 (inverse 16).
  const PerChannelWeights n = quantize_weights_per_tensor(v.data(), 2, 2, 64);
  EXPECT_EQ(n.scales[0], 0.0625f);
  EXPECT_EQ(n.values, (std::vector<int8_t>{-64, 32, 8, -2}));
  // All zero: TFLite's scaling factor 1 (a per-channel all-zero channel gets 0).
  const std::vector<float> z(6, 0.0f);
  const PerChannelWeights zq = quantize_weights_per_tensor(z.data(), 2, 3);
  EXPECT_EQ(zq.scales, (std::vector<float>{1.0f, 1.0f}));
  EXPECT_EQ(zq.values, std::vector<int8_t>(6, 0));
  const std::vector<float> bad{1.0f, INFINITY};
  EXPECT_THROW(quantize_weights_per_tensor(bad.data(), 1, 2), Error);
  EXPECT_THROW(quantize_weights_per_tensor(v.data(), 2, 2, 128), Error);
}

// Given scales (a quantization-aware network's learned steps): w / scale rounded half away
// from zero, clamped to [−qmax, qmax]; a channel of scale 0 holds zeros.
TEST(QuantizeWeightsAtScales, RoundsAtTheGivenScaleAndClamps) {
  // Channel 0, scale 0.5: 1.25 -> 2.5 -> 3 (tie away), -1.25 -> -3, 0.2 -> 0.4 -> 0,
  // 100 -> 200 -> 127 (clamped). Channel 1, scale 0: zeros. Channel 2, scale 0.25 at
  // qmax 7 in the second call: 1.0 -> 4, -3 -> -12 -> -7, 0.375 -> 1.5 -> 2, 0.1 -> 0.
  const std::vector<float> w{1.25f, -1.25f, 0.2f,   100.0f,  //
                             0.0f,  0.0f,   0.0f,   0.0f,    //
                             1.0f,  -3.0f,  0.375f, 0.1f};
  const std::vector<float> scales{0.5f, 0.0f, 0.25f};
  const PerChannelWeights q = quantize_weights_at_scales(w.data(), 3, 4, scales);
  EXPECT_EQ(q.scales, scales);
  EXPECT_EQ(q.values, (std::vector<int8_t>{3, -3, 0, 127, 0, 0, 0, 0, 4, -12, 2, 0}));
  const PerChannelWeights q7 = quantize_weights_at_scales(w.data(), 3, 4, scales, 7);
  EXPECT_EQ(q7.values, (std::vector<int8_t>{3, -3, 0, 7, 0, 0, 0, 0, 4, -7, 2, 0}));
  // At max |w_c| / 127 the grid is the per-channel one (these values hold no near-tie).
  const std::vector<float> v{127.0f, 2.5f, -2.5f, -0.5f, -2.54f, 1.111f, 0.013f, 2.0f};
  const PerChannelWeights pc = quantize_weights_per_channel(v.data(), 2, 4);
  EXPECT_EQ(quantize_weights_at_scales(v.data(), 2, 4, pc.scales).values, pc.values);
  EXPECT_THROW(quantize_weights_at_scales(w.data(), 3, 4, {0.5f, 0.5f}), Error);
  EXPECT_THROW(quantize_weights_at_scales(w.data(), 3, 4, {0.5f, -1.0f, 0.5f}), Error);
  EXPECT_THROW(quantize_weights_at_scales(w.data(), 3, 4, {0.5f, NAN, 0.5f}), Error);
  const std::vector<float> bad{1.0f, INFINITY};
  EXPECT_THROW(quantize_weights_at_scales(bad.data(), 1, 2, {1.0f}), Error);
}

TEST(QuantizeWeightsPerChannel, RejectsNonFinite) {
  const std::vector<float> w{1.0f, NAN};
  EXPECT_THROW(quantize_weights_per_channel(w.data(), 1, 2), Error);
}

// ONNX Runtime's QuantizeLinear: ties to even, where TFLite's rounds them away from zero.
TEST(QuantizeInt8Even, RoundsHalfToEvenAndClamps) {
  const QuantParams p{0.5f, 3};
  EXPECT_EQ(quantize_int8_even(1.25f, p), 2 + 3);    // 2.5 -> 2
  EXPECT_EQ(quantize_int8(1.25f, p), 3 + 3);         // TFLite: 2.5 -> 3
  EXPECT_EQ(quantize_int8_even(1.75f, p), 4 + 3);    // 3.5 -> 4
  EXPECT_EQ(quantize_int8_even(-1.25f, p), -2 + 3);  // -2.5 -> -2
  EXPECT_EQ(quantize_int8(-1.25f, p), -3 + 3);
  EXPECT_EQ(quantize_int8_even(1000.0f, p), 127);
  EXPECT_EQ(quantize_int8_even(-1000.0f, p), -128);
  EXPECT_EQ(quantize_int8_even(std::nanf(""), p), 3);
}

// reduce_range: weights in [−64, 64], scale max|w| / 64.
TEST(QuantizeWeightsPerChannel, ReducedRange) {
  const float w[] = {-2.0f, 1.0f, 0.5f, 0.0f, 0.25f, -0.125f};
  const PerChannelWeights q = quantize_weights_per_channel(w, 2, 3, 64);
  EXPECT_FLOAT_EQ(q.scales[0], 2.0f / 64.0f);
  EXPECT_FLOAT_EQ(q.scales[1], 0.25f / 64.0f);
  EXPECT_EQ(q.values, (std::vector<int8_t>{-64, 32, 16, 0, 64, -32}));
  EXPECT_THROW(quantize_weights_per_channel(w, 2, 3, 128), Error);
  EXPECT_THROW(quantize_weights_per_channel(w, 2, 3, 0), Error);
}

// k + 0.5 for k in [−300, 300] and the float just above and below each: the values whose
// rounding the inline rounders must get exactly right.
std::vector<float> ties_and_neighbours() {
  std::vector<float> xs;
  for (int k = -300; k <= 300; ++k) {
    const float tie = static_cast<float>(k) + 0.5f;
    xs.push_back(tie);
    xs.push_back(std::nextafter(tie, 1e9f));
    xs.push_back(std::nextafter(tie, -1e9f));
  }
  return xs;
}

// quantize_int8's inline rounding (|x / scale| < 2^22) against std::round over ties, the
// float neighbours of ties, the edge of the fast range and random values.
TEST(QuantizeInt8, InlineRoundingIsStdRoundBitForBit) {
  const auto reference = [](float x, const QuantParams& p) {
    const float r = std::round(x / p.scale);
    const double u = static_cast<double>(r) + p.zero_point;
    return static_cast<int8_t>(std::min(std::max(u, -128.0), 127.0));
  };
  std::vector<float> xs = ties_and_neighbours();
  for (int k = -300; k <= 300; ++k) xs.push_back(static_cast<float>(k));
  for (float e : {4194303.5f, 4194304.0f, -4194303.5f, -4194304.0f, 1e30f, -1e30f, 0.49999997f,
                  -0.49999997f, 0.0f, -0.0f}) {
    xs.push_back(e);
  }
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-500.0f, 500.0f);
  for (int i = 0; i < 100000; ++i) xs.push_back(u(rng));
  int checked = 0;
  for (const QuantParams p : {QuantParams{1.0f, 0}, QuantParams{1.0f, -17}, QuantParams{0.37f, 5},
                              QuantParams{3.0f, 127}}) {
    for (float x : xs) {
      ASSERT_EQ(int(quantize_int8(x, p)), int(reference(x, p)))
          << "x " << x << " scale " << p.scale << " zp " << p.zero_point;
      ++checked;
    }
  }
  EXPECT_GT(checked, 400000);
}

// dequantize_int8 on long tensors (its 256-entry table) equals the element function.
TEST(DequantizeInt8, LongTensorsEqualTheElementFunction) {
  std::vector<int8_t> q(5000);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>((i * 37) % 256 - 128);
  const QuantParams p{0.0123f, -7};
  std::vector<float> out(q.size());
  dequantize_int8(q.data(), static_cast<int64_t>(q.size()), p, out.data());
  for (size_t i = 0; i < q.size(); ++i) ASSERT_EQ(out[i], dequantize_int8(q[i], p)) << i;
}

// quantize_int8_even's inline rounding against std::nearbyint (ties to even) over ties,
// their float neighbours and random values.
TEST(QuantizeInt8Even, InlineRoundingIsNearbyintBitForBit) {
  const auto reference = [](float x, const QuantParams& p) {
    const float lo = static_cast<float>(-128 - p.zero_point);
    const float hi = static_cast<float>(127 - p.zero_point);
    const float q = x / p.scale;
    return static_cast<int8_t>(static_cast<int32_t>(std::nearbyint(std::min(std::max(q, lo), hi))) +
                               p.zero_point);
  };
  std::vector<float> xs = ties_and_neighbours();
  std::mt19937 rng(12);
  std::uniform_real_distribution<float> u(-400.0f, 400.0f);
  for (int i = 0; i < 100000; ++i) xs.push_back(u(rng));
  for (const QuantParams p : {QuantParams{1.0f, 0}, QuantParams{1.0f, 9}, QuantParams{0.37f, -5}}) {
    for (float x : xs) {
      ASSERT_EQ(int(quantize_int8_even(x, p)), int(reference(x, p)))
          << "x " << x << " scale " << p.scale << " zp " << p.zero_point;
    }
  }
}

// The batch forms (branch-free loops that vectorise) equal the one-value forms over ties,
// their neighbours, the edge of the fast range, infinities, NaN and random values.
TEST(QuantizeInt8, BatchFormsEqualTheOneValueForms) {
  std::vector<float> xs = ties_and_neighbours();
  for (float e : {4194303.5f, 4194304.0f, -4194303.5f, -4194304.0f, 4194305.0f, 1e30f, -1e30f,
                  INFINITY, -INFINITY, NAN, -NAN, 0.0f, -0.0f, 1e-40f}) {
    xs.push_back(e);
  }
  std::mt19937 rng(13);
  std::uniform_real_distribution<float> u(-600.0f, 600.0f);
  for (int i = 0; i < 20000; ++i) xs.push_back(u(rng));
  std::vector<int8_t> got(xs.size());
  for (const QuantParams p : {QuantParams{1.0f, 0}, QuantParams{1.0f, -128}, QuantParams{0.37f, 5},
                              QuantParams{3.0f, 127}, QuantParams{0.5f, 200}}) {
    quantize_int8(xs.data(), static_cast<int64_t>(xs.size()), p, got.data());
    for (size_t i = 0; i < xs.size(); ++i) {
      ASSERT_EQ(int(got[i]), int(quantize_int8(xs[i], p)))
          << "x " << xs[i] << " scale " << p.scale << " zp " << p.zero_point;
    }
    quantize_int8_even(xs.data(), static_cast<int64_t>(xs.size()), p, got.data());
    for (size_t i = 0; i < xs.size(); ++i) {
      ASSERT_EQ(int(got[i]), int(quantize_int8_even(xs[i], p)))
          << "x " << xs[i] << " scale " << p.scale << " zp " << p.zero_point;
    }
  }
}

}  // namespace
}  // namespace dalnas
