#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/rank_correlation.h"

namespace dalnas {
namespace {

TEST(RankCorrelation, MatchesHandComputedValues) {
  // 10 pairs: 7 concordant, 3 discordant -> tau = 4 / 10. Rank differences -2, 1, 1, -1, 1:
  // rho = 1 - 6 * 8 / (5 * 24) = 0.6.
  const std::vector<double> a = {1, 2, 3, 4, 5}, b = {3, 1, 2, 5, 4};
  EXPECT_DOUBLE_EQ(kendall_tau(a, b), 0.4);
  EXPECT_NEAR(spearman_rho(a, b), 0.6, 1e-12);
  // Only ranks matter.
  EXPECT_DOUBLE_EQ(kendall_tau({10, 20, 30, 40, 50}, {0.3, 0.1, 0.2, 9, 0.5}), 0.4);
  EXPECT_DOUBLE_EQ(kendall_tau(a, {5, 4, 3, 2, 1}), -1.0);
  EXPECT_NEAR(spearman_rho(a, {5, 4, 3, 2, 1}), -1.0, 1e-12);
  EXPECT_DOUBLE_EQ(kendall_tau(a, a), 1.0);
}

TEST(RankCorrelation, TiesAreCorrected) {
  // a ties one pair: C - D = 5 of 6 pairs, n1 = 1, n2 = 0 -> tau-b = 5 / sqrt(5 * 6).
  const std::vector<double> a = {1, 2, 2, 3}, b = {1, 3, 2, 4};
  EXPECT_NEAR(kendall_tau(a, b), 5.0 / std::sqrt(30.0), 1e-12);
  // Average ranks 1, 2.5, 2.5, 4 against 1, 3, 2, 4: rho = 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10).
  EXPECT_EQ(average_ranks(a), (std::vector<double>{1, 2.5, 2.5, 4}));
  EXPECT_NEAR(spearman_rho(a, b), 3.0 / std::sqrt(10.0), 1e-12);
}

TEST(RankCorrelation, UndefinedIsNaNAndBadInputIsAnError) {
  EXPECT_TRUE(std::isnan(kendall_tau({1, 1, 1}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(spearman_rho({1, 2, 3}, {4, 4, 4})));
  EXPECT_TRUE(std::isnan(kendall_tau({1, NAN, 3}, {1, 2, 3})));
  EXPECT_THROW(kendall_tau({1, 2}, {1, 2, 3}), Error);
  EXPECT_THROW(spearman_rho({1}, {1}), Error);
}

}  // namespace
}  // namespace dalnas
