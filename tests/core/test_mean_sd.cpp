#include <gtest/gtest.h>

#include <cmath>

#include "core/mean_sd.h"

namespace dalnas {
namespace {

TEST(MeanSd, MatchesTheDefinitionWithNMinusOne) {
  // 0.60, 0.62, 0.64: mean 0.62, deviations -0.02, 0, 0.02, sd sqrt(0.0008 / 2) = 0.02.
  const auto [m, s] = mean_sd({0.60, 0.62, 0.64});
  EXPECT_NEAR(m, 0.62, 1e-12);
  EXPECT_NEAR(s, 0.02, 1e-12);
  const auto [m2, s2] = mean_sd({1, 2, 3, 4});  // var (2.25+0.25+0.25+2.25)/3 = 5/3
  EXPECT_DOUBLE_EQ(m2, 2.5);
  EXPECT_NEAR(s2, std::sqrt(5.0 / 3.0), 1e-12);
}

TEST(MeanSd, OneValueHasNoSpreadAndNoneIsNaN) {
  const auto [m, s] = mean_sd({0.7});
  EXPECT_DOUBLE_EQ(m, 0.7);
  EXPECT_DOUBLE_EQ(s, 0.0);
  const auto [me, se] = mean_sd({});
  EXPECT_TRUE(std::isnan(me));
  EXPECT_TRUE(std::isnan(se));
}

}  // namespace
}  // namespace dalnas
