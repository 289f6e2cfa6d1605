#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "device/prescale.h"

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
  // Shifts of 1 or less are not applied; large weights give negative shifts -> 0.
  std::vector<float> one = {0.5f, 0.75f};  // exponent -1: min(16, 1) = 1 -> 0
  EXPECT_EQ(prescale_shift(one.data(), one.size(), 8, false), 0);
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

}  // namespace
}  // namespace dalnas
