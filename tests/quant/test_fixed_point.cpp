// TFLite's fixed-point requantization (quant/fixed_point.h) on hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "core/error.h"
#include "quant/fixed_point.h"

namespace dalnas {
namespace {

constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();

void expect_qm(double m, int32_t multiplier, int shift,
               RequantRounding r = RequantRounding::Double) {
  const QuantizedMultiplier q = QuantizeMultiplier(m, r);
  EXPECT_EQ(q.multiplier, multiplier) << "M = " << m;
  EXPECT_EQ(q.shift, shift) << "M = " << m;
}

TEST(QuantizeMultiplier, HandComputed) {
  expect_qm(0.0, 0, 0);
  expect_qm(0.5, 1 << 30, 0);     // frexp(0.5) = 0.5 · 2^0
  expect_qm(1.0, 1 << 30, 1);     // frexp(1.0) = 0.5 · 2^1
  expect_qm(3.0, 1610612736, 2);  // 0.75 · 2^31
  // 0.0003 = 0.6144 · 2^-11; 0.6144 · 2^31 = 1319413953.3312 -> 1319413953.
  expect_qm(0.0003, 1319413953, -11);
  // 2^-32 = 0.5 · 2^-31: the smallest exponent kept.
  expect_qm(std::ldexp(1.0, -32), 1 << 30, -31);
  // 2^-33 and 2^-40: exponent < -31 -> flushed to {0, 0}.
  expect_qm(std::ldexp(1.0, -33), 0, 0);
  expect_qm(std::ldexp(1.0, -40), 0, 0);
}

// The q_fixed == 2^31 case: q = 1 − 2^-33 (frexp exponent 0), q · 2^31 = 2^31 − 0.25 rounds
// to 2^31, which TFLite halves and compensates with ++shift. (1.0 itself does not reach it:
// frexp(1.0) is 0.5 · 2^1.)
TEST(QuantizeMultiplier, RoundsUpToTwoToThe31) {
  expect_qm(1.0 - std::ldexp(1.0, -33), 1 << 30, 1);
  expect_qm(std::ldexp(1.0 - std::ldexp(1.0, -33), -5), 1 << 30, -4);
  // Just below the rounding point: 2^31 − 0.75 -> 2^31 − 1, exponent kept.
  expect_qm(1.0 - 3.0 * std::ldexp(1.0, -33), kMax, 0);
}

TEST(QuantizeMultiplier, RoundingTiesAwayFromZero) {
  // q · 2^31 = 2^30 + 0.5 exactly: std::round -> 2^30 + 1 (ties to even would give 2^30).
  expect_qm(0.5 + std::ldexp(1.0, -32), (1 << 30) + 1, 0);
  // Negative multipliers round symmetrically (TFLite only DCHECKs M >= 0 in single rounding).
  expect_qm(-0.5 - std::ldexp(1.0, -32), -((1 << 30) + 1), 0);
}

TEST(QuantizeMultiplier, SingleRoundingCapsTheShift) {
  // 2^31 = 0.5 · 2^32: double rounding keeps shift 32; single rounding saturates to
  // {2^31 − 1, 30} (quantization_util.cc, #if TFLITE_SINGLE_ROUNDING).
  expect_qm(std::ldexp(1.0, 31), 1 << 30, 32, RequantRounding::Double);
  expect_qm(std::ldexp(1.0, 31), kMax, 30, RequantRounding::Single);
  expect_qm(0.0003, 1319413953, -11, RequantRounding::Single);
}

TEST(QuantizeMultiplier, RejectsNonFinite) {
  EXPECT_THROW(QuantizeMultiplier(std::nan("")), Error);
  EXPECT_THROW(QuantizeMultiplier(INFINITY), Error);
}

TEST(SaturatingRoundingDoublingHighMul, TiesGoTowardPlusInfinity) {
  // a·b / 2^31 with b = 2^30: a / 2.
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(1, 1 << 30), 1);    // 0.5 -> 1
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-1, 1 << 30), 0);   // -0.5 -> 0
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(3, 1 << 30), 2);    // 1.5 -> 2
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-3, 1 << 30), -1);  // -1.5 -> -1
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-5, 1 << 30), -2);  // -2.5 -> -2
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-4, 1 << 30), -2);  // exact
  // Not a tie: -1.25 -> -1, -1.75 -> -2.
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-5, 1 << 29), -1);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-7, 1 << 29), -2);
}

TEST(SaturatingRoundingDoublingHighMul, Saturation) {
  // The one product that does not fit: (-1)·(-1) in Q0.31.
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kMin), kMax);
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kMax), -kMax);  // -2^31 + 1, exact
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMax, kMax),
            kMax - 1);  // (2^31-1)^2/2^31 = 2^31 - 2 + 2^-31
}

TEST(RoundingDivideByPOT, TiesAwayFromZero) {
  EXPECT_EQ(RoundingDivideByPOT(5, 1), 3);    // 2.5
  EXPECT_EQ(RoundingDivideByPOT(-5, 1), -3);  // -2.5
  EXPECT_EQ(RoundingDivideByPOT(6, 2), 2);    // 1.5
  EXPECT_EQ(RoundingDivideByPOT(-6, 2), -2);  // -1.5
  EXPECT_EQ(RoundingDivideByPOT(-5, 2), -1);  // -1.25
  EXPECT_EQ(RoundingDivideByPOT(-7, 2), -2);  // -1.75
  EXPECT_EQ(RoundingDivideByPOT(7, 0), 7);
  EXPECT_EQ(RoundingDivideByPOT(kMin, 31), -1);
  EXPECT_EQ(RoundingDivideByPOT(kMax, 31), 1);
  EXPECT_EQ(RoundingDivideByPOT(1 << 30, 31), 1);      // 0.5 -> 1
  EXPECT_EQ(RoundingDivideByPOT(-(1 << 30), 31), -1);  // -0.5 -> -1
  EXPECT_EQ(RoundingDivideByPOT(-(1 << 30) + 1, 31), 0);
}

// M = 0.25 as {2^30, -1}: the double-rounding path rounds twice (x/2 ties up, then /2 ties
// away from zero), the single-rounding path once (ties up).
TEST(MultiplyByQuantizedMultiplier, DoubleVersusSingleRounding) {
  const int32_t m = 1 << 30;
  const int shift = -1;
  struct Case {
    int32_t x, dbl, sgl;
  };
  const Case cases[] = {
      {1, 1, 0},      // 0.25: SRDHM 0.5 -> 1, RDBPOT 0.5 -> 1; single: 0
      {-1, 0, 0},     // -0.25: SRDHM -0.5 -> 0
      {2, 1, 1},      // 0.5 tie: both 1
      {-2, -1, 0},    // -0.5 tie: double away from zero -> -1, single up -> 0
      {-3, -1, -1},   // -0.75
      {6, 2, 2},      // 1.5
      {-6, -2, -1},   // -1.5
      {-10, -3, -2},  // -2.5
      {100, 25, 25},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MultiplyByQuantizedMultiplier(c.x, m, shift, RequantRounding::Double), c.dbl) << c.x;
    EXPECT_EQ(MultiplyByQuantizedMultiplier(c.x, m, shift, RequantRounding::Single), c.sgl) << c.x;
  }
}

TEST(MultiplyByQuantizedMultiplier, LeftShiftAndWrap) {
  const QuantizedMultiplier three = QuantizeMultiplier(3.0);  // {0.75·2^31, 2}
  for (RequantRounding r : {RequantRounding::Double, RequantRounding::Single}) {
    EXPECT_EQ(MultiplyByQuantizedMultiplier(5, three, r), 15);
    EXPECT_EQ(MultiplyByQuantizedMultiplier(-7, three, r), -21);
  }
  // Double rounding shifts x left first: 2^30 · 4 wraps to 0 (TFLite's unsanitised x * (1 <<
  // left_shift)); single rounding keeps the 64-bit product: 3·2^30, whose low 32 bits are
  // 0xC0000000.
  EXPECT_EQ(MultiplyByQuantizedMultiplier(1 << 30, three, RequantRounding::Double), 0);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(1 << 30, three, RequantRounding::Single),
            static_cast<int32_t>(0xC0000000u));
}

TEST(MultiplyByQuantizedMultiplier, SaturatesAtIntMin) {
  // multiplier INT32_MIN (= -1.0 in Q0.31) times x = INT32_MIN saturates to INT32_MAX.
  EXPECT_EQ(MultiplyByQuantizedMultiplier(kMin, kMin, 0, RequantRounding::Double), kMax);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(kMin, kMin, -1, RequantRounding::Double), 1 << 30);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(kMin, kMax, 0, RequantRounding::Double), -kMax);
}

// Against exact rational arithmetic: single rounding is round-half-up of x·M exactly;
// double rounding is within one unit of it.
TEST(MultiplyByQuantizedMultiplier, AgreesWithExactProduct) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> xs(-(1 << 24), 1 << 24);
  std::uniform_real_distribution<double> exps(-20.0, 0.0);
  for (int i = 0; i < 20000; ++i) {
    const QuantizedMultiplier q = QuantizeMultiplier(std::exp2(exps(rng)));
    const int32_t x = xs(rng);
    // x·m / 2^(31 − shift), as an exact floor of (x·m·2 + 2^(31−shift)) / 2^(32−shift).
    const __int128 num = static_cast<__int128>(x) * q.multiplier;
    const int total = 31 - q.shift;
    const __int128 up = (num + (static_cast<__int128>(1) << (total - 1))) >> total;
    EXPECT_EQ(MultiplyByQuantizedMultiplier(x, q, RequantRounding::Single),
              static_cast<int32_t>(up));
    const int32_t d = MultiplyByQuantizedMultiplier(x, q, RequantRounding::Double);
    EXPECT_LE(std::abs(static_cast<int64_t>(d) - static_cast<int64_t>(up)), 1);
  }
}

}  // namespace
}  // namespace dalnas
