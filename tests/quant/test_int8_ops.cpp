// The int8 kernels other than the convolution (quant/int8_ops.h): hand-computed TFLite
// cases (rounding ties, saturation, both rounding builds) and, over random inputs, the
// integer result against the float operation it stands for (within one unit).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "quant/int8_ops.h"

namespace dalnas {
namespace {

constexpr RequantRounding kDouble = RequantRounding::Double;
constexpr RequantRounding kSingle = RequantRounding::Single;

TEST(Int8Requantize, HandComputedAndTheTwoRoundings) {
  // s_in 0.5 -> s_out 0.25, z_out 10: M = 2; 3 -> 1.5 real -> 6 + 10.
  int8_t x[] = {3, -128, 127};
  int8_t y[3];
  int8_requantize(x, 3, {0.5f, 0}, {0.25f, 10}, kDouble, y);
  EXPECT_EQ(y[0], 16);
  EXPECT_EQ(y[1], -128);  // -256 + 10 saturates
  EXPECT_EQ(y[2], 127);   // 254 + 10 saturates
  // M = 0.25 = 2^30 · 2^(-1-31): x = 1 is 0.25. Double rounding rounds twice (0.5 up, then
  // 0.5 away from zero) and gives 1; single rounding gives 0. x = -1: 0 in both.
  int8_t one[] = {1, -1, 2};
  int8_requantize(one, 3, {0.25f, 0}, {1.0f, 0}, kDouble, y);
  EXPECT_EQ(y[0], 1);
  EXPECT_EQ(y[1], 0);
  EXPECT_EQ(y[2], 1);  // 0.5: ties away from zero
  int8_requantize(one, 3, {0.25f, 0}, {1.0f, 0}, kSingle, y);
  EXPECT_EQ(y[0], 0);
  EXPECT_EQ(y[1], 0);
  EXPECT_EQ(y[2], 1);  // 0.5: ties up
  // Equal parameters copy.
  int8_requantize(x, 3, {0.3f, -5}, {0.3f, -5}, kDouble, y);
  EXPECT_EQ(y[0], 3);
  EXPECT_THROW(int8_requantize(x, 3, {0.0f, 0}, {1.0f, 0}, kDouble, y), Error);
  EXPECT_THROW(int8_requantize(x, 3, {1.0f, 200}, {1.0f, 0}, kDouble, y), Error);
}

TEST(Int8Add, HandComputedAndClamps) {
  // 0.1·3 + 0.1·5 = 0.8 = 4 · 0.2.
  int8_t a[] = {3, -50, 127};
  int8_t b[] = {5, 10, 127};
  int8_t y[3];
  int8_add(a, {0.1f, 0}, b, {0.1f, 0}, 3, {0.2f, 0}, -128, 127, kDouble, y);
  EXPECT_EQ(y[0], 4);
  EXPECT_EQ(y[1], -20);
  EXPECT_EQ(y[2], 127);
  // A fused ReLU: act_min = z_out.
  int8_add(a, {0.1f, 0}, b, {0.1f, 0}, 3, {0.2f, -7}, -7, 127, kDouble, y);
  EXPECT_EQ(y[0], -3);
  EXPECT_EQ(y[1], -7);
  EXPECT_THROW(int8_add(a, {0.1f, 0}, b, {0.1f, 0}, 3, {0.2f, 0}, 10, 0, kDouble, y), Error);
}

TEST(Int8Add, WithinOneUnitOfTheRealSum) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> q(-128, 127);
  std::uniform_real_distribution<float> s(0.01f, 0.2f);
  for (int trial = 0; trial < 50; ++trial) {
    const QuantParams pa{s(rng), q(rng)}, pb{s(rng), q(rng)}, po{s(rng) * 2, q(rng)};
    std::vector<int8_t> a(64), b(64), y(64);
    for (auto& v : a) v = static_cast<int8_t>(q(rng));
    for (auto& v : b) v = static_cast<int8_t>(q(rng));
    int8_add(a.data(), pa, b.data(), pb, 64, po, -128, 127, kDouble, y.data());
    for (int i = 0; i < 64; ++i) {
      const double real = pa.scale * (a[i] - pa.zero_point) + pb.scale * (b[i] - pb.zero_point);
      const double want = std::clamp(std::round(real / po.scale) + po.zero_point, -128.0, 127.0);
      EXPECT_LE(std::abs(y[i] - want), 1.0) << trial << " " << i;
    }
  }
}

TEST(Int8Mul, HandComputedAndPerChannelBroadcast) {
  // (5 - 1)·0.5 · (2 + 2)·0.25 = 2.0 = 16 · 0.125, + 3.
  int8_t a[] = {5, 1, 5, 1};
  int8_t b[] = {2, 2};  // per channel
  int8_t y[4];
  int8_mul(a, {0.5f, 1}, b, {0.25f, -2}, 2, 1, 2, true, {0.125f, 3}, -128, 127, kDouble, y);
  EXPECT_EQ(y[0], 19);
  EXPECT_EQ(y[1], 3);  // (1 - 1) = 0
  EXPECT_EQ(y[2], 19);
  int8_t b_full[] = {2, 2, -2, -2};
  int8_mul(a, {0.5f, 1}, b_full, {0.25f, -2}, 2, 1, 2, false, {0.125f, 3}, -128, 127, kDouble, y);
  EXPECT_EQ(y[0], 19);
  EXPECT_EQ(y[2], 3);  // b - z = 0
}

TEST(Int8Pool, AverageRoundsTiesAwayFromZeroAndSkipsPadding) {
  // One channel 2×4: windows {1,2,2,2} (1.75 -> 2), {1,1,0,0} (0.5 -> 1).
  int8_t x[] = {1, 2, 1, 1, 2, 2, 0, 0};
  int8_t y[2];
  Int8PoolArgs p;
  p.in = x;
  p.h = 2;
  p.w = 4;
  p.out = y;
  int8_average_pool(p);
  EXPECT_EQ(y[0], 2);
  EXPECT_EQ(y[1], 1);
  int8_t n[] = {-1, -2, -1, -1, -2, -2, 0, 0};  // -1.75 -> -2, -0.5 -> -1
  p.in = n;
  int8_average_pool(p);
  EXPECT_EQ(y[0], -2);
  EXPECT_EQ(y[1], -1);
  // 3×3 with pad 1: the corner window holds one pixel (divisor 1, not 4).
  int8_t z[] = {8, 0, 0, 0, 0, 0, 0, 0, 100};
  int8_t o[4];
  Int8PoolArgs q;
  q.in = z;
  q.h = q.w = 3;
  q.pad = 1;
  q.out = o;
  int8_average_pool(q);
  EXPECT_EQ(o[0], 8);
  EXPECT_EQ(o[3], 25);  // (0 + 0 + 0 + 100) / 4
  int8_max_pool(q);
  EXPECT_EQ(o[0], 8);
  EXPECT_EQ(o[3], 100);
  q.act_max = 50;  // a clamp
  int8_max_pool(q);
  EXPECT_EQ(o[3], 50);
  q.pad = 2;  // padding as large as the window
  EXPECT_THROW(int8_max_pool(q), Error);
}

TEST(Int8Mean, HandComputedPowerOfTwoAndNot) {
  int8_t x[] = {1, 2, 3, 4};
  int8_t y[1];
  int8_mean_hw(x, 1, 2, 2, {1.0f, 0}, {1.0f, 0}, kDouble, y);
  EXPECT_EQ(y[0], 3);  // 2.5: ties away from zero
  int8_mean_hw(x, 1, 2, 2, {1.0f, 1}, {1.0f, 0}, kDouble, y);
  EXPECT_EQ(y[0], 2);  // (10 - 4) / 4 = 1.5 -> 2
  int8_t t[] = {1, 1, 2};
  int8_mean_hw(t, 1, 1, 3, {1.0f, 0}, {1.0f, 0}, kDouble, y);
  EXPECT_EQ(y[0], 1);  // 4/3
  // Against the float mean on random data, two channels, different scales.
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> q(-128, 127);
  std::vector<int8_t> big(2 * 7 * 9);
  for (auto& v : big) v = static_cast<int8_t>(q(rng));
  int8_t m[2];
  const QuantParams pi{0.05f, 7}, po{0.02f, -3};
  int8_mean_hw(big.data(), 2, 7, 9, pi, po, kDouble, m);
  for (int c = 0; c < 2; ++c) {
    double s = 0;
    for (int i = 0; i < 63; ++i) s += pi.scale * (big[c * 63 + i] - pi.zero_point);
    const double want = std::clamp(std::round(s / 63 / po.scale) + po.zero_point, -128.0, 127.0);
    EXPECT_LE(std::abs(m[c] - want), 1.0);
  }
}

TEST(Int8ResizeBilinear, HalfPixelQ10Coordinates) {
  // 1×2 -> 1×4, half-pixel: sources 0 (clamped), 0.25, 0.75, 1 (clamped).
  int8_t x[] = {0, 100};
  int8_t y[4];
  int8_resize_bilinear(x, 1, 1, 2, 1, 4, false, true, kDouble, y);
  EXPECT_EQ(y[0], 0);
  EXPECT_EQ(y[1], 25);
  EXPECT_EQ(y[2], 75);
  EXPECT_EQ(y[3], 100);
  int8_t u[] = {0, 1};
  int8_resize_bilinear(u, 1, 1, 2, 1, 4, false, true, kDouble, y);
  EXPECT_EQ(y[1], 0);  // 0.25
  EXPECT_EQ(y[2], 1);  // 0.75
}

TEST(Int8ResizeBilinear, TiesDependOnTheRoundingBuild) {
  // align_corners 2 -> 3: the middle output is the exact mean, a tie for {0, -1}.
  int8_t x[] = {0, -1};
  int8_t y[3];
  int8_resize_bilinear(x, 1, 1, 2, 1, 3, true, false, kDouble, y);
  EXPECT_EQ(y[1], -1);  // -0.5: away from zero
  int8_resize_bilinear(x, 1, 1, 2, 1, 3, true, false, kSingle, y);
  EXPECT_EQ(y[1], 0);  // -0.5: up
  int8_t p[] = {0, 1};
  int8_resize_bilinear(p, 1, 1, 2, 1, 3, true, false, kDouble, y);
  EXPECT_EQ(y[1], 1);
  EXPECT_THROW(int8_resize_bilinear(p, 1, 1, 2, 1, 3, true, true, kDouble, y), Error);
}

TEST(Int8ResizeBilinear, WithinOneUnitOfTheFloatResize) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> q(-128, 127);
  const int ih = 5, iw = 6, oh = 10, ow = 12;
  std::vector<int8_t> x(ih * iw), y(oh * ow);
  for (auto& v : x) v = static_cast<int8_t>(q(rng));
  int8_resize_bilinear(x.data(), 1, ih, iw, oh, ow, false, true, kDouble, y.data());
  auto src = [](int d, int in, int out) { return std::max(0.0, (d + 0.5) * in / out - 0.5); };
  for (int oy = 0; oy < oh; ++oy) {
    for (int ox = 0; ox < ow; ++ox) {
      const double sy = src(oy, ih, oh), sx = src(ox, iw, ow);
      const int y0 = static_cast<int>(sy), x0 = static_cast<int>(sx);
      const int y1 = std::min(y0 + 1, ih - 1), x1 = std::min(x0 + 1, iw - 1);
      const double fy = sy - y0, fx = sx - x0;
      const double v = (1 - fy) * ((1 - fx) * x[y0 * iw + x0] + fx * x[y0 * iw + x1]) +
                       fy * ((1 - fx) * x[y1 * iw + x0] + fx * x[y1 * iw + x1]);
      EXPECT_LE(std::abs(y[oy * ow + ox] - v), 1.0) << oy << " " << ox;
    }
  }
}

TEST(Int8ResizeNearest, CopiesTheSourcePixel) {
  int8_t x[] = {1, 2, 3, 4};
  int8_t y[16];
  int8_resize_nearest(x, 1, 2, 2, 4, 4, y);
  EXPECT_EQ(y[0], 1);
  EXPECT_EQ(y[1], 1);
  EXPECT_EQ(y[2], 2);
  EXPECT_EQ(y[15], 4);
  EXPECT_EQ(y[8], 3);
}

float sigmoid(float v) {
  return 1.0f / (1.0f + std::exp(-v));
}

TEST(Int8Table, LogisticAsTfliteBuildsIt) {
  const QuantParams in{0.1f, 0};
  const Int8Table t = int8_table(in, logistic_output_params(), sigmoid);
  ASSERT_EQ(t.size(), 256u);
  EXPECT_EQ(t[0 + 128], 0);      // σ(0)·256 = 128 -> 0
  EXPECT_EQ(t[127 + 128], 127);  // 256 saturates
  EXPECT_EQ(t[0], -128);         // σ(-12.8)·256 rounds to 0
  // q = 10: σ(1)·256 = 187.14 -> 187 - 128 = 59.
  EXPECT_EQ(t[10 + 128], 59);
  int8_t x[] = {0, 10, -128};
  int8_t y[3];
  int8_apply_table(x, 3, t, y);
  EXPECT_EQ(y[1], 59);
  EXPECT_EQ(y[2], -128);
}

// Long tensors take int8_requantize's 256-entry table; it equals the formula element by
// element (short calls), in both rounding builds.
TEST(Int8Requantize, LongTensorsEqualShortCalls) {
  std::vector<int8_t> x(4096);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int8_t>((i * 101) % 256 - 128);
  for (RequantRounding r : {RequantRounding::Double, RequantRounding::Single}) {
    const QuantParams in{0.05f, 3}, out{0.0217f, -20};
    std::vector<int8_t> got(x.size()), want(x.size());
    int8_requantize(x.data(), static_cast<int64_t>(x.size()), in, out, r, got.data());
    for (size_t i = 0; i < x.size(); ++i) int8_requantize(&x[i], 1, in, out, r, &want[i]);
    EXPECT_EQ(got, want) << to_string(r);
    EXPECT_NE(got, x);  // the parameters differ: not a copy
  }
}

}  // namespace
}  // namespace dalnas
