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
#include "quant/naive_pool.h"

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

// TFLite's ResizeBilinearInteger written out as the reference kernel has it: Q10
// coordinates (ComputeInterpolationValuesInteger) and the four-tap int64 sum per output.
std::vector<int8_t> naive_resize_bilinear(const std::vector<int8_t>& x, int c, int ih, int iw,
                                          int oh, int ow, bool align, bool half,
                                          RequantRounding rounding) {
  auto scale10 = [&](int64_t in, int64_t out) {
    if (align && out > 1) {
      --in;
      --out;
    }
    return static_cast<int32_t>(((int64_t{1} << 10) * in + out / 2) / out);
  };
  auto coord = [&](int32_t i, int32_t sc, int32_t in, int32_t& i0, int32_t& i1) {
    const int32_t v = half ? i * sc + sc / 2 - (1 << 9) : i * sc;
    i0 = std::max(v / (1 << 10), 0);
    i1 = std::min((v + (1 << 10) - 1) / (1 << 10), in - 1);
    return v;
  };
  std::vector<int8_t> y(static_cast<size_t>(c) * oh * ow);
  const int32_t sy = scale10(ih, oh), sx = scale10(iw, ow);
  for (int ch = 0; ch < c; ++ch) {
    const int8_t* xc = x.data() + static_cast<size_t>(ch) * ih * iw;
    for (int oy = 0; oy < oh; ++oy) {
      int32_t y0, y1;
      const int64_t fy = coord(oy, sy, ih, y0, y1) - (int64_t{1} << 10) * y0;
      for (int ox = 0; ox < ow; ++ox) {
        int32_t x0, x1;
        const int64_t fx = coord(ox, sx, iw, x0, x1) - (int64_t{1} << 10) * x0;
        const int64_t s = xc[y0 * iw + x0] * (1024 - fy) * (1024 - fx) +
                          xc[y1 * iw + x0] * fy * (1024 - fx) +
                          xc[y0 * iw + x1] * (1024 - fy) * fx + xc[y1 * iw + x1] * fy * fx;
        int64_t v;
        if (rounding == RequantRounding::Single) {
          v = (s + (int64_t{1} << 19)) >> 20;
        } else {
          v = (s + (s > 0 ? (int64_t{1} << 19) : -(int64_t{1} << 19))) / (int64_t{1} << 20);
        }
        y[(static_cast<size_t>(ch) * oh + oy) * ow + ox] = static_cast<int8_t>(v);
      }
    }
  }
  return y;
}

TEST(Int8ResizeBilinear, EqualsTheReferenceKernelOverATableOfShapes) {
  // The kernel sums one row blend per input column in int32; the reference sums the four
  // taps in int64. Extreme values (−128, 127) and every coordinate mode, up and down.
  struct Case {
    int c, ih, iw, oh, ow;
  };
  const Case cases[] = {{2, 5, 6, 10, 12}, {1, 1, 2, 1, 4}, {3, 7, 9, 14, 18},  {1, 8, 8, 3, 5},
                        {2, 4, 33, 9, 70}, {1, 2, 1, 5, 1}, {1, 16, 16, 32, 32}};
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> q(-128, 127), coin(0, 3);
  int compared = 0;
  for (const Case& k : cases) {
    std::vector<int8_t> x(static_cast<size_t>(k.c) * k.ih * k.iw);
    for (auto& v : x) {
      const int r = coin(rng);
      v = static_cast<int8_t>(r == 0 ? -128 : r == 1 ? 127 : q(rng));
    }
    for (int mode = 0; mode < 3; ++mode) {  // asymmetric, align corners, half-pixel
      for (RequantRounding rounding : {kDouble, kSingle}) {
        std::vector<int8_t> y(static_cast<size_t>(k.c) * k.oh * k.ow, 0x55);
        int8_resize_bilinear(x.data(), k.c, k.ih, k.iw, k.oh, k.ow, mode == 1, mode == 2, rounding,
                             y.data());
        EXPECT_EQ(y, naive_resize_bilinear(x, k.c, k.ih, k.iw, k.oh, k.ow, mode == 1, mode == 2,
                                           rounding))
            << k.ih << "x" << k.iw << " -> " << k.oh << "x" << k.ow << " mode " << mode;
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 42);
}

TEST(Int8Pool, EqualsTheClippedWindowLoopOverATableOfShapes) {
  // The kernel takes the windows wholly inside the image without clipping (and 2×2 / 2
  // max pooling in a loop of its own); the border ones as the reference does.
  struct Case {
    int c, h, w, k, s, pad;
  };
  const Case cases[] = {{2, 8, 8, 2, 2, 0},  {1, 7, 9, 2, 2, 0},  {3, 9, 11, 3, 2, 1},
                        {1, 5, 5, 3, 1, 1},  {2, 6, 33, 2, 2, 0}, {1, 4, 4, 4, 4, 0},
                        {1, 10, 7, 3, 3, 2}, {1, 3, 3, 3, 1, 2},  {2, 12, 12, 5, 2, 2},
                        {1, 2, 40, 2, 1, 1}, {1, 1, 1, 1, 1, 0},  {1, 6, 6, 2, 2, 1}};
  std::mt19937 rng(12);
  std::uniform_int_distribution<int> q(-128, 127);
  for (const Case& k : cases) {
    std::vector<int8_t> x(static_cast<size_t>(k.c) * k.h * k.w);
    for (auto& v : x) v = static_cast<int8_t>(q(rng));
    for (int clamp = 0; clamp < 2; ++clamp) {
      Int8PoolArgs a;
      a.in = x.data();
      a.c = k.c;
      a.h = k.h;
      a.w = k.w;
      a.kernel = k.k;
      a.stride = k.s;
      a.pad = k.pad;
      if (clamp == 1) {
        a.act_min = -20;
        a.act_max = 90;
      }
      std::vector<int8_t> y(static_cast<size_t>(k.c) * a.out_h() * a.out_w(), 0x55);
      a.out = y.data();
      int8_max_pool(a);
      EXPECT_EQ(y, naive::pool<int8_t>(true, x, a, -128))
          << "max " << k.h << "x" << k.w << " k" << k.k;
      std::fill(y.begin(), y.end(), 0x55);
      int8_average_pool(a);
      EXPECT_EQ(y, naive::pool<int8_t>(false, x, a, -128))
          << "avg " << k.h << "x" << k.w << " k" << k.k;
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
