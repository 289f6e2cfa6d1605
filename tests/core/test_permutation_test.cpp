#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/permutation_test.h"

using namespace dalnas;

// Sign flips counted by hand.
TEST(PermutationTest, PairedCountsEveryFlipAtLeastTheObserved) {
  // Flips of (0.03, 0.01, -0.02): sums 0.02, 0.06, 0.00, 0.04, -0.04, 0.00, -0.06, -0.02;
  // at least 0.02: 0.02, 0.06, 0.04 -> 3 of 8.
  EXPECT_DOUBLE_EQ(paired_permutation_p({0.03, 0.01, -0.02}), 3.0 / 8);
  // All positive: only the observed flip reaches it.
  EXPECT_DOUBLE_EQ(paired_permutation_p({0.01, 0.02, 0.03}), 1.0 / 8);
  // All negative: every flip is at least the observed.
  EXPECT_DOUBLE_EQ(paired_permutation_p({-0.01, -0.02, -0.03}), 1.0);
  // Ties count: a zero difference flips to itself.
  EXPECT_DOUBLE_EQ(paired_permutation_p({0.0}), 1.0);
  EXPECT_DOUBLE_EQ(paired_permutation_p({0.5}), 0.5);
}

TEST(PermutationTest, UnpairedEnumeratesEveryRelabelling) {
  // a = {3, 4}, b = {1, 2}: of C(4, 2) = 6 groups of two, only {3, 4} has a mean difference
  // of at least 2.
  EXPECT_DOUBLE_EQ(permutation_p({3, 4}, {1, 2}), 1.0 / 6);
  EXPECT_DOUBLE_EQ(permutation_p({1, 2}, {3, 4}), 1.0);
  // {2, 3} vs {1, 4}: difference 0. The groups of two and their sums:
  // sums of the group of two: {1,2}=3, {1,3}=4, {1,4}=5, {2,3}=5, {2,4}=6, {3,4}=7; the
  // observed is 5, so 4 of 6 are at least it.
  EXPECT_DOUBLE_EQ(permutation_p({2, 3}, {1, 4}), 4.0 / 6);
}

TEST(PermutationTest, OutOfRangeSizesAreNaN) {
  EXPECT_TRUE(std::isnan(paired_permutation_p({})));
  EXPECT_TRUE(std::isnan(paired_permutation_p(std::vector<double>(21, 1.0))));
  EXPECT_TRUE(std::isnan(permutation_p({}, {1, 2})));
  EXPECT_TRUE(std::isnan(permutation_p({1, 2}, {})));
  EXPECT_TRUE(std::isnan(permutation_p(std::vector<double>(11, 1), std::vector<double>(10, 0))));
}
