#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "precision/prescale.h"

namespace dalnas {
namespace {

TEST(Prescale, ShiftFollowsTheOpenVinoRule) {
  // Exponents -3 (×3) and -6 (×1): max -3, mean -3.75 -> -3 (toward zero);
  // shift = min(15 + 3, 3) = 3.
  std::vector<float> w = {0.125f, -0.15f, 0.2f, std::ldexp(1.0f, -6)};
  EXPECT_EQ(prescale_shift(w.data(), w.size(), 8, false), 3);
  // The cap.
  std::vector<float> tiny = {std::ldexp(1.0f, -12), std::ldexp(1.0f, -11)};  // mean -11.5 -> -11
  EXPECT_EQ(prescale_shift(tiny.data(), tiny.size(), 30, false), 11);
  EXPECT_EQ(prescale_shift(tiny.data(), tiny.size(), 8, false), 8);
  EXPECT_EQ(prescale_shift(tiny.data(), tiny.size(), 9, false), 9);
  // First layer: 11 > 10 -> 3.
  EXPECT_EQ(prescale_shift(tiny.data(), tiny.size(), 8, true), 3);
  // Limited by the largest weight: max exponent 13 -> 15 - 13 = 2, mean far below.
  std::vector<float> wide = {8192.0f, std::ldexp(1.0f, -10), std::ldexp(1.0f, -10),
                             std::ldexp(1.0f, -10)};
  EXPECT_EQ(prescale_shift(wide.data(), wide.size(), 8, false), 2);
  // A shift of 1 is applied (OpenVINO: scaleThreshold = 1, shift >= 1 scales); large
  // weights give negative shifts -> 0.
  std::vector<float> one = {0.5f, 0.75f};  // exponent -1: min(16, 1) = 1
  EXPECT_EQ(prescale_shift(one.data(), one.size(), 8, false), 1);
  std::vector<float> unit = {1.0f, 1.5f};  // exponent 0: shift 0
  EXPECT_EQ(prescale_shift(unit.data(), unit.size(), 8, false), 0);
  std::vector<float> big = {100.0f, -300.0f};
  EXPECT_EQ(prescale_shift(big.data(), big.size(), 8, false), 0);
  // Zeros and subnormals do not count toward the mean; all of them: shift 15 -> cap.
  std::vector<float> sub = {0.0f, std::ldexp(1.0f, -20), -0.0f};
  EXPECT_EQ(prescale_shift(sub.data(), sub.size(), 8, false), 8);
  std::vector<float> mixed = {0.0f, 0.0f, 0.0f, 0.1f};  // -4 only -> 4
  EXPECT_EQ(prescale_shift(mixed.data(), mixed.size(), 8, false), 4);
  // An infinite weight (exponent field 31 -> 16): 15 - 16 < 0 -> 0.
  std::vector<float> inf = {INFINITY, 0.01f};
  EXPECT_EQ(prescale_shift(inf.data(), inf.size(), 8, false), 0);
}

TEST(Prescale, GrowingOutputLowersEveryLaterShiftByFive) {
  // First layer: exponents -1 -> raw shift 1 < 4, growing output, 4 input channels:
  // normalVal = 5, first shift 1 - 5 < 1 -> 0; a later layer with raw shift 8 gets 3.
  std::vector<float> first = {0.5f, -0.75f, 0.6f};
  std::vector<float> later(9, std::ldexp(1.0f, -8));
  PrescalePass p;
  p.growing_output = true;
  EXPECT_EQ(p.next(first.data(), first.size(), 8, 4), 0);
  EXPECT_EQ(p.normal_val, 5);
  EXPECT_EQ(p.next(later.data(), later.size(), 8, 16), 3);
  // The same network with normalisation inside the model (not growing): 1 and 8.
  PrescalePass q;
  EXPECT_EQ(q.next(first.data(), first.size(), 8, 4), 1);
  EXPECT_EQ(q.next(later.data(), later.size(), 8, 16), 8);
  // One input channel, or a first shift of 4 or more: the rule does not fire.
  PrescalePass r;
  r.growing_output = true;
  EXPECT_EQ(r.next(first.data(), first.size(), 8, 1), 1);
  EXPECT_EQ(r.next(later.data(), later.size(), 8, 16), 8);
  PrescalePass t;
  t.growing_output = true;
  std::vector<float> small(4, std::ldexp(1.0f, -4));
  EXPECT_EQ(t.next(small.data(), small.size(), 8, 4), 4);
  EXPECT_EQ(t.normal_val, 0);
}

}  // namespace
}  // namespace dalnas
