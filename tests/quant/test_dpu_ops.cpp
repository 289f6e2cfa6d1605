// The Vitis AI DPU's fixed-point arithmetic (quant/dpu_ops.h) against hand-computed cases:
// the half-up rounding and its ties, fix positions and the "diffs" choice, the compiler's
// shift bounds, the convolution's requantization through every int8 convolution path, the
// add's truncated alignment, the hardware's pooling divisors, hard-swish, resize.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "quant/dpu_ops.h"
#include "quant/int8_conv.h"

namespace dalnas {
namespace {

TEST(DpuRound, RoundsHalfUpAndSaturates) {
  EXPECT_EQ(dpu_round(2.5), 3);
  EXPECT_EQ(dpu_round(-2.5), -2);  // ties toward +infinity, not away from zero
  EXPECT_EQ(dpu_round(-2.6), -3);
  EXPECT_EQ(dpu_round(-0.5), 0);
  EXPECT_EQ(dpu_round(0.49), 0);
  EXPECT_EQ(dpu_round(127.4), 127);
  EXPECT_EQ(dpu_round(127.6), 127);
  EXPECT_EQ(dpu_round(1e9), 127);
  EXPECT_EQ(dpu_round(-128.4), -128);
  EXPECT_EQ(dpu_round(-1e9), -128);
  EXPECT_EQ(dpu_round(std::numeric_limits<double>::quiet_NaN()), 0);
  EXPECT_EQ(std_round_int8(-2.5), -3);  // the constants' rounding: away from zero
  EXPECT_EQ(std_round_int8(2.5), 3);
  EXPECT_EQ(std_round_int8(-200.0), -128);
}

TEST(FixPosition, QuantizesAtAPowerOfTwo) {
  EXPECT_EQ(fix_quantize(0.3f, 4, FixRound::HalfUp), 5);        // 4.8
  EXPECT_EQ(fix_quantize(-0.15625f, 4, FixRound::HalfUp), -2);  // −2.5
  EXPECT_EQ(fix_quantize(-0.15625f, 4, FixRound::Std), -3);     // −2.5
  EXPECT_EQ(fix_quantize(100.0f, -1, FixRound::HalfUp), 50);    // negative position
  EXPECT_EQ(fix_quantize(1000.0f, 0, FixRound::HalfUp), 127);   // saturates
  EXPECT_FLOAT_EQ(fix_dequantize(-3, 2), -0.75f);
  EXPECT_FLOAT_EQ(fix_dequantize(5, -2), 20.0f);
}

TEST(FixPosition, TheOverflowFreePositionOfARange) {
  EXPECT_EQ(max_fix_pos(-1.0f, 1.0f), 6);  // 1 · 2^7 = 128 would overflow
  EXPECT_EQ(max_fix_pos(0.0f, 0.99f), 7);  // 0.99 · 128 = 126.7
  EXPECT_EQ(max_fix_pos(-8.0f, 8.0f), 3);
  EXPECT_EQ(max_fix_pos(-1000.0f, 3.0f), -3);
  EXPECT_EQ(max_fix_pos(0.0f, 0.0f), 18);  // an all-zero tensor
  EXPECT_THROW(max_fix_pos(0.0f, std::numeric_limits<float>::infinity()), Error);
}

TEST(FixPosition, DiffsTradesAnOutlierForResolution) {
  // 100 values of 0.1 and one of 1.0: at the overflow-free position 6 the 0.1s err by
  // 0.4/64 each; at 7 they err by 0.2/128 and 1.0 saturates to 127/128: less in total;
  // at 8 the 1.0 saturates to 127/256.
  std::vector<float> x(100, 0.1f);
  x.push_back(1.0f);
  EXPECT_EQ(max_fix_pos(0.1f, 1.0f), 6);
  EXPECT_EQ(diffs_fix_pos(x.data(), static_cast<int64_t>(x.size()), FixRound::HalfUp), 7);
  // Without the 0.1s the exact position wins.
  const std::vector<float> one = {1.0f, 0.5f};
  EXPECT_EQ(diffs_fix_pos(one.data(), 2, FixRound::HalfUp), 6);
  // range 1: only the overflow-free position.
  EXPECT_EQ(diffs_fix_pos(x.data(), static_cast<int64_t>(x.size()), FixRound::HalfUp, 1), 6);
  EXPECT_THROW(diffs_fix_pos(x.data(), 0, FixRound::HalfUp), Error);
}

TEST(FixPosition, ModalIsTheMostFrequentSmallestOnTies) {
  EXPECT_EQ(modal_fix_pos({3, 4, 4, 5}), 4);
  EXPECT_EQ(modal_fix_pos({5, 3}), 3);
  EXPECT_EQ(modal_fix_pos({7}), 7);
  EXPECT_THROW(modal_fix_pos({}), Error);
}

TEST(DpuConvShifts, TheCompilersBoundsMoveWeightAndBiasPositions) {
  DpuConvShifts s = dpu_conv_shifts(5, 3, 7, 4);  // inside the bounds: unchanged
  EXPECT_EQ(s.shift_cut, 9);
  EXPECT_EQ(s.pos_w, 7);
  EXPECT_EQ(s.shift_bias, 8);
  EXPECT_EQ(s.pos_b, 4);
  s = dpu_conv_shifts(7, 0, 12, -2);  // shift_cut 19 > 16: weights to 16 + 0 − 7 = 9
  EXPECT_EQ(s.shift_cut, 16);
  EXPECT_EQ(s.pos_w, 9);
  EXPECT_EQ(s.shift_bias, 16);  // 9 + 7 − (−2) = 18 > 16: bias to position 0
  EXPECT_EQ(s.pos_b, 0);
  s = dpu_conv_shifts(0, 8, 3, 20);  // shift_cut −5 < 0: weights to 8
  EXPECT_EQ(s.shift_cut, 0);
  EXPECT_EQ(s.pos_w, 8);
  EXPECT_EQ(s.shift_bias, 0);  // 8 − 20 < 0: the bias at the accumulator's position
  EXPECT_EQ(s.pos_b, 8);
  EXPECT_EQ(dpu_relu6_max(4), 96);  // the hardware's 6 << 4
  EXPECT_EQ(dpu_relu6_max(5), 127);
  EXPECT_EQ(dpu_relu6_max(2), 24);
}

// The DPU's convolution in double, as the simulator computes it: y = dpu_round((Σ w·x +
// bias) / 2^shift_cut), clamped.
std::vector<int8_t> naive_dpu_conv(const std::vector<int8_t>& x, int cin, int h, int w,
                                   const std::vector<int8_t>& wt, const std::vector<int32_t>& b,
                                   int cout, int k, int pad, int sc, int32_t lo, int32_t hi) {
  const int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
  std::vector<int8_t> y(static_cast<size_t>(cout) * oh * ow);
  for (int o = 0; o < cout; ++o) {
    for (int yy = 0; yy < oh; ++yy) {
      for (int xx = 0; xx < ow; ++xx) {
        int64_t acc = b[static_cast<size_t>(o)];
        for (int c = 0; c < cin; ++c) {
          for (int ky = 0; ky < k; ++ky) {
            for (int kx = 0; kx < k; ++kx) {
              const int iy = yy - pad + ky, ix = xx - pad + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              acc += int64_t{wt[((static_cast<size_t>(o) * cin + c) * k + ky) * k + kx]} *
                     x[(static_cast<size_t>(c) * h + iy) * w + ix];
            }
          }
        }
        const int8_t q = dpu_round(std::ldexp(static_cast<double>(acc), -sc));
        y[(static_cast<size_t>(o) * oh + yy) * ow + xx] =
            static_cast<int8_t>(std::min<int32_t>(std::max<int32_t>(q, lo), hi));
      }
    }
  }
  return y;
}

Int8ConvArgs dpu_args(const std::vector<int8_t>& x, int cin, int h, int w,
                      const std::vector<int8_t>& wt, const std::vector<int32_t>& b, int cout, int k,
                      int pad, const std::vector<int32_t>& mult, const std::vector<int>& shift,
                      int32_t lo, int32_t hi, int8_t* out) {
  Int8ConvArgs a;
  a.in = x.data();
  a.c_in = cin;
  a.h = h;
  a.w = w;
  a.weight = wt.data();
  a.bias = b.data();
  a.c_out = cout;
  a.kernel = k;
  a.pad = pad;
  a.multiplier = mult.data();
  a.shift = shift.data();
  a.rounding = RequantRounding::Single;
  a.act_min = lo;
  a.act_max = hi;
  a.out = out;
  return a;
}

std::vector<Int8Isa> isas() {
  std::vector<Int8Isa> v = {Int8Isa::Scalar};
  for (Int8Isa i : {Int8Isa::AVX2, Int8Isa::AVX512VNNI}) {
    if (int8_isa_supported(i)) v.push_back(i);
  }
  return v;
}

TEST(DpuConv, HandCasesOfTheHalfUpShiftThroughEveryPath) {
  // 1×1 convolution, 2 input channels, weights {2, 3}, bias 1 at shift_bias 2 (= 4 in
  // accumulator units), shift_cut 2: y = round_half_up((2a + 3b + 4) / 4).
  const std::vector<int8_t> x = {5,  3, -3, -9, -7,  // channel 0 at five pixels
                                 -3, 0, 1,  1,  0};  // channel 1
  const std::vector<int8_t> wt = {2, 3};
  const std::vector<int32_t> b = {1 << 2};
  const std::vector<int32_t> mult = {kDpuMultiplier};
  const std::vector<int> shift = {1 - 2};
  // acc: 5, 10, 1, −11, −10 → 1.25, 2.5, 0.25, −2.75, −2.5
  const std::vector<int8_t> want = {1, 3, 0, -3, -2};
  for (Int8Isa isa : isas()) {
    std::vector<int8_t> y(5);
    int8_conv(dpu_args(x, 2, 1, 5, wt, b, 1, 1, 0, mult, shift, -128, 127, y.data()), isa);
    EXPECT_EQ(y, want) << to_string(isa);
  }
}

TEST(DpuConv, TheInt8KernelsComputeTheDpuFormulaForEveryShiftCut) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> q(-128, 127), small(-20, 20);
  const int cin = 5, h = 7, w = 9, cout = 6, k = 3, pad = 1;
  std::vector<int8_t> x(static_cast<size_t>(cin) * h * w),
      wt(static_cast<size_t>(cout) * cin * k * k);
  for (int8_t& v : x) v = static_cast<int8_t>(q(rng));
  for (int8_t& v : wt) v = static_cast<int8_t>(q(rng));
  for (int sc = 0; sc <= 16; ++sc) {
    std::vector<int32_t> b(cout);
    for (int32_t& v : b) v = small(rng) * (1 << std::min(sc, 12));  // 8-bit bias · 2^sb
    const std::vector<int32_t> mult(cout, kDpuMultiplier);
    const std::vector<int> shift(cout, 1 - sc);
    for (const auto& [lo, hi] : {std::pair<int32_t, int32_t>{-128, 127}, {0, 96}}) {
      const auto want = naive_dpu_conv(x, cin, h, w, wt, b, cout, k, pad, sc, lo, hi);
      for (Int8Isa isa : isas()) {
        std::vector<int8_t> y(want.size());
        int8_conv(dpu_args(x, cin, h, w, wt, b, cout, k, pad, mult, shift, lo, hi, y.data()), isa);
        ASSERT_EQ(y, want) << "shift_cut " << sc << " " << to_string(isa);
      }
    }
  }
}

TEST(DpuAdd, AlignsToTheCoarserPositionTruncatingTwoExtraBits) {
  int8_t y = 0;
  const int8_t a1 = 10, b1 = 3;  // 10/16 + 3/4 = 1.375 → at position 3: 11
  dpu_add(&a1, 4, &b1, 2, 1, 3, -128, 127, &y);
  EXPECT_EQ(y, 11);
  const int8_t a2 = 6, z = 0;  // 6/16 = 0.375 → at position 2: 1.5 → 2 (half up)
  dpu_add(&a2, 4, &z, 2, 1, 2, -128, 127, &y);
  EXPECT_EQ(y, 2);
  const int8_t a3 = -6;  // −1.5 → −1
  dpu_add(&a3, 4, &z, 2, 1, 2, -128, 127, &y);
  EXPECT_EQ(y, -1);
  // The truncation: −1/32 read at position 2 with two extra bits is floor(−0.5) = −1
  // quarter, so at position 4 the sum is −1, where the exact −0.5 would round to 0.
  const int8_t a4 = -1;
  dpu_add(&a4, 5, &z, 2, 1, 4, -128, 127, &y);
  EXPECT_EQ(y, -1);
  // A fused ReLU clamps; the order of the inputs does not matter.
  dpu_add(&z, 2, &a3, 4, 1, 2, 0, 127, &y);
  EXPECT_EQ(y, 0);
  // The census's switch (truncate = false): the exact sum rounded once, −0.5 → 0; the
  // first case is the same either way.
  dpu_add(&a4, 5, &z, 2, 1, 4, -128, 127, &y, false);
  EXPECT_EQ(y, 0);
  dpu_add(&a1, 4, &b1, 2, 1, 3, -128, 127, &y, false);
  EXPECT_EQ(y, 11);
  const int8_t a5 = 127, b5 = 127;  // 127/16 + 127/4 at position 4: 635 → saturates
  dpu_add(&a5, 4, &b5, 2, 1, 4, -128, 127, &y, false);
  EXPECT_EQ(y, 127);
  EXPECT_EQ(dpu_add_out_pos(4, 2, 30), 17);  // shift_write bounded to [−15, 15]
  EXPECT_EQ(dpu_add_out_pos(4, 2, -20), -13);
  EXPECT_EQ(dpu_add_out_pos(4, 2, 3), 3);
}

TEST(DpuMul, TheExactProductRoundedOnce) {
  // 10/16 · 20/32 = 0.390625 → at position 3: 3.125 → 3; per-channel broadcast.
  const std::vector<int8_t> a = {10, 10, -12, -12}, b = {20, 1};
  std::vector<int8_t> y(4);
  dpu_mul(a.data(), 4, b.data(), 5, 2, 1, 2, true, 3, -128, 127, y.data());
  EXPECT_EQ(y, (std::vector<int8_t>{3, 3, 0, 0}));  // −12/16 · 1/32 · 8 = −0.1875 → 0
  dpu_mul(a.data(), 4, b.data(), 5, 2, 1, 2, true, 8, -128, 127, y.data());
  EXPECT_EQ(y, (std::vector<int8_t>{100, 100, -6, -6}));
}

TEST(DpuPool, TheHardwaresDivisors) {
  auto eq = [](DpuDivisor d, int64_t m, int s) { return d.m == m && d.s == s; };
  EXPECT_TRUE(eq(dpu_pool_divisor(2), 1, 2));
  EXPECT_TRUE(eq(dpu_pool_divisor(3), 7, 6));
  EXPECT_TRUE(eq(dpu_pool_divisor(4), 1, 4));
  EXPECT_TRUE(eq(dpu_pool_divisor(5), 10, 8));
  EXPECT_TRUE(eq(dpu_pool_divisor(6), 7, 8));
  EXPECT_TRUE(eq(dpu_pool_divisor(7), 21, 10));
  EXPECT_TRUE(eq(dpu_pool_divisor(14), 21, 12));
  // The global mean searches: 9 values → 57/512 (not the 3×3 pool's 7/64).
  EXPECT_TRUE(eq(dpu_mean_divisor(9), 57, 9));
  EXPECT_TRUE(eq(dpu_mean_divisor(16384), 1, 14));
  EXPECT_TRUE(eq(dpu_mean_divisor(1), 1, 0));
  EXPECT_THROW(dpu_mean_divisor(0), Error);
  EXPECT_TRUE(dpu_divisor_exact(dpu_pool_divisor(2), 4));
  EXPECT_TRUE(dpu_divisor_exact(dpu_mean_divisor(16384), 16384));
  EXPECT_FALSE(dpu_divisor_exact(dpu_pool_divisor(3), 9));
  EXPECT_FALSE(dpu_divisor_exact(dpu_mean_divisor(9), 9));
}

// exact = true (the census's switch): the window's sum divided by the count, rounded once
// half up, where the hardware's m / 2^s rounds the other way.
TEST(DpuPool, ExactDivisionWhereTheHardwaresDivisorRoundsOtherwise) {
  // A 3×3 window summing to 41: 41 · 7/64 = 4.48 → 4, 41 / 9 = 4.56 → 5.
  std::vector<int8_t> x(9, 5);
  x[4] = 1;
  std::vector<int8_t> y(1);
  Int8PoolArgs a;
  a.in = x.data();
  a.h = a.w = 3;
  a.kernel = 3;
  a.stride = 1;
  a.out = y.data();
  dpu_average_pool(a, 0, 0);
  EXPECT_EQ(y[0], 4);
  dpu_average_pool(a, 0, 0, true);
  EXPECT_EQ(y[0], 5);
  // A global mean of 9 values summing to 256: 256 · 57/512 = 28.5 → 29 (half up), 256 / 9 =
  // 28.4 → 28.
  std::vector<int8_t> m(9, 28);
  m[0] = 32;
  dpu_mean_hw(m.data(), 1, 3, 3, 0, 0, y.data());
  EXPECT_EQ(y[0], 29);
  dpu_mean_hw(m.data(), 1, 3, 3, 0, 0, y.data(), true);
  EXPECT_EQ(y[0], 28);
  // Half up on an exact tie of the division.
  const std::vector<int8_t> four = {1, 1, 1, 2};
  dpu_mean_hw(four.data(), 1, 2, 2, 0, 1, y.data(), true);
  EXPECT_EQ(y[0], 3);  // 2 · 5 / 4 = 2.5 → 3
  dpu_mean_hw(four.data(), 1, 2, 2, 0, 0, y.data(), true);
  EXPECT_EQ(y[0], 1);  // 5 / 4 = 1.25 → 1
}

TEST(DpuPool, AverageCountsPaddingAsZeroAndRoundsOnce) {
  const std::vector<int8_t> x = {1, 2, 3, 5};  // one 2×2 window: 11 / 4 = 2.75
  std::vector<int8_t> y(1);
  Int8PoolArgs a;
  a.in = x.data();
  a.h = a.w = 2;
  a.kernel = a.stride = 2;
  a.out = y.data();
  dpu_average_pool(a, 3, 3);
  EXPECT_EQ(y[0], 3);
  dpu_average_pool(a, 3, 2);  // one position coarser: 1.375
  EXPECT_EQ(y[0], 1);
  // 3×3 of 10s: 90 · 7/64 = 9.84 → 10; a 1×1 input of 9 padded to 3×3: 9 · 7/64 → 1.
  const std::vector<int8_t> tens(9, 10);
  a.in = tens.data();
  a.h = a.w = 3;
  a.kernel = 3;
  a.stride = 1;
  dpu_average_pool(a, 0, 0);
  EXPECT_EQ(y[0], 10);
  const int8_t nine = 9;
  a.in = &nine;
  a.h = a.w = 1;
  a.pad = 1;
  dpu_average_pool(a, 0, 0);
  EXPECT_EQ(y[0], 1);
  // The global mean of 3×3 nines: 81 · 57/512 = 9.02 → 9.
  const std::vector<int8_t> nines(9, 9);
  dpu_mean_hw(nines.data(), 1, 3, 3, 2, 2, y.data());
  EXPECT_EQ(y[0], 9);
  // A window that does not fit is refused, naming the operation.
  a.pad = 3;
  try {
    dpu_average_pool(a, 0, 0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dpu average pool"), std::string::npos) << e.what();
  }
}

TEST(DpuHardSwish, TheHardwaresFormula) {
  const Int8Table t = dpu_hardswish_table(4, 4);
  auto at = [&](int q) { return t[static_cast<size_t>(q + 128)]; };
  EXPECT_EQ(at(16), 11);   // x = 1: hs = round(64·2731/2^11 = 85.3) = 85, 16·85/128 = 10.6
  EXPECT_EQ(at(-48), 0);   // x = −3
  EXPECT_EQ(at(64), 64);   // x = 4: hs saturates at 127, 64·127/128 = 63.5 → 64
  EXPECT_EQ(at(-8), -3);   // x = −0.5: hs = 53, −8·53/128 = −3.3
  EXPECT_EQ(at(-128), 0);  // x = −8
}

TEST(DpuTable, AFunctionBetweenPositionsRoundedHalfUp) {
  const Int8Table id = dpu_table(5, 4);              // a requantization one position coarser
  EXPECT_EQ(id[static_cast<size_t>(3 + 128)], 2);    // 1.5 → 2
  EXPECT_EQ(id[static_cast<size_t>(-3 + 128)], -1);  // −1.5 → −1
  const Int8Table sig = dpu_table(4, 7, [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
  EXPECT_EQ(sig[static_cast<size_t>(0 + 128)], 64);
  EXPECT_EQ(sig[static_cast<size_t>(127 + 128)], 127);  // 0.9996 · 128 saturates
}

TEST(DpuResize, BilinearInterpolatesTheIntegersRoundingHalfUp) {
  const std::vector<int8_t> x = {-1, -2, 1, 2};  // two channels of 1×2
  std::vector<int8_t> y(6);
  // align_corners 1×2 → 1×3: the middle is the mean of the two: −1.5 → −1, 1.5 → 2.
  dpu_resize_bilinear(x.data(), 2, 1, 2, 1, 3, OrtCoord::AlignCorners, 0, y.data());
  EXPECT_EQ(y, (std::vector<int8_t>{-1, -1, -2, 1, 2, 2}));
  const std::vector<int8_t> z = {0, 3};  // half-pixel 1×2 → 1×4: 0, 0.75, 2.25, 3
  std::vector<int8_t> y4(4);
  dpu_resize_bilinear(z.data(), 1, 1, 2, 1, 4, OrtCoord::HalfPixel, 0, y4.data());
  EXPECT_EQ(y4, (std::vector<int8_t>{0, 1, 2, 3}));
}

}  // namespace
}  // namespace dalnas
