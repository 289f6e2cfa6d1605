#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/rank_correlation.h"
#include "core/repeatability.h"
#include "core/rng.h"

namespace dalnas {
namespace {

TEST(Repeatability, MatchesHandComputedAnova) {
  // Genome means 1.5, 3.5, 5.5 (grand 3.5): MS_between = 2 * (4 + 0 + 4) / 2 = 8; each pair
  // differs by 1: MS_within = 3 * 0.5 / 3 = 0.5; genome_var = (8 - 0.5) / 2 = 3.75; F = 16.
  const Repeatability r = repeatability({{1, 2}, {3, 4}, {5, 6}}, 0);
  EXPECT_EQ(r.genomes, 3);
  EXPECT_EQ(r.seeds, 2);
  EXPECT_DOUBLE_EQ(r.mean, 3.5);
  EXPECT_NEAR(r.seed_sd, std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(r.genome_sd, std::sqrt(3.75), 1e-12);
  EXPECT_NEAR(r.f, 16.0, 1e-12);
  EXPECT_NEAR(r.raw_between_sd, 2.0, 1e-12);  // first seeds 1, 3, 5
  EXPECT_DOUBLE_EQ(r.p, 1.0);                 // no deals: only the observed one
  // R_1 = 3.75 / 4.25, R_2 = 3.75 / 4.0.
  EXPECT_NEAR(r.reliability(1), 3.75 / 4.25, 1e-12);
  EXPECT_NEAR(r.reliability(2), 3.75 / 4.0, 1e-12);
  EXPECT_NEAR(r.expected_tau(2), 2.0 / M_PI * std::asin(3.75 / 4.0), 1e-12);
}

TEST(Repeatability, PermutationPValueOfTheHandExample) {
  // 6 scores dealt into 3 pairs: 15 distinct pairings, and only the observed one ({1,2},
  // {3,4}, {5,6}) has F >= 16, so p tends to 1/15 (each deal counts pairs as sets, and every
  // pairing is equally likely under a uniform shuffle).
  const Repeatability r = repeatability({{1, 2}, {3, 4}, {5, 6}}, 30000, 7);
  EXPECT_NEAR(r.p, 1.0 / 15.0, 0.006);
}

TEST(Repeatability, NoGenomeEffectGivesZeroReliability) {
  // Every genome scores the same pair: MS_between = 0.
  const Repeatability r = repeatability({{1, 2}, {1, 2}, {1, 2}}, 200);
  EXPECT_DOUBLE_EQ(r.genome_sd, 0.0);
  EXPECT_DOUBLE_EQ(r.f, 0.0);
  EXPECT_DOUBLE_EQ(r.p, 1.0);
  EXPECT_DOUBLE_EQ(r.reliability(8), 0.0);
  EXPECT_DOUBLE_EQ(r.expected_tau(8), 0.0);
  EXPECT_EQ(r.seeds_for_tau(0.6), -1);
}

TEST(Repeatability, NoSeedNoiseIsFullyReliable) {
  const Repeatability r = repeatability({{1, 1}, {2, 2}, {4, 4}}, 100);
  EXPECT_DOUBLE_EQ(r.seed_sd, 0.0);
  EXPECT_TRUE(std::isinf(r.f));
  EXPECT_DOUBLE_EQ(r.reliability(1), 1.0);
  EXPECT_DOUBLE_EQ(r.expected_tau(1), 1.0);
  EXPECT_EQ(r.seeds_for_tau(0.9), 1);
  // Only deals that keep every genome's pair together reach an infinite F: 1 in 15.
  EXPECT_LT(r.p, 0.2);
}

// Scores drawn from the model the analysis assumes recover its components.
std::vector<std::vector<double>> simulate(int n, int r, double genome_sd, double seed_sd,
                                          uint64_t seed) {
  Rng rng(seed);
  const auto normal = [&]() {  // Box-Muller
    const double u = 1.0 - rng.uniform(), v = rng.uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * v);
  };
  std::vector<std::vector<double>> s(n);
  for (auto& row : s) {
    const double a = genome_sd * normal();
    for (int k = 0; k < r; ++k) row.push_back(0.55 + a + seed_sd * normal());
  }
  return s;
}

TEST(Repeatability, RecoversSimulatedComponents) {
  const Repeatability r = repeatability(simulate(400, 3, 0.010, 0.005, 3), 199);
  EXPECT_NEAR(r.genome_sd, 0.010, 0.0012);
  EXPECT_NEAR(r.seed_sd, 0.005, 0.0003);
  EXPECT_LT(r.p, 0.01);
  // R_1 = 1e-4 / 1.25e-4 = 0.8; k seeds for tau 0.6 (R 0.809): k = 0.809 * 0.25 / 0.191 -> 2.
  EXPECT_NEAR(r.reliability(1), 0.8, 0.05);
  EXPECT_EQ(r.seeds_for_tau(0.6), 2);
  EXPECT_GT(r.expected_tau(4), r.expected_tau(1));
}

TEST(Repeatability, PureSeedNoiseIsNotSignificant) {
  // No genome effect: the p-value is uniform, so across seeds it is mostly above 0.05 and
  // the estimated genome sd is small against the seed sd.
  int significant = 0;
  for (uint64_t s = 1; s <= 20; ++s) {
    const Repeatability r = repeatability(simulate(24, 2, 0.0, 0.01, s), 499, s);
    significant += r.p < 0.05;
    EXPECT_LT(r.genome_sd, r.seed_sd);
  }
  EXPECT_LE(significant, 4);
}

TEST(Repeatability, SimulatedTauMatchesTheExpectedTau) {
  // Two independent 1-seed references of the same 300 genomes (R_1 = 0.5): their Kendall
  // tau is about (2 / pi) asin(0.5) = 1/3.
  const auto s = simulate(300, 2, 0.01, 0.01, 11);
  std::vector<double> first, again;
  for (const auto& row : s) first.push_back(row[0]), again.push_back(row[1]);
  const Repeatability r = repeatability(s, 0);
  EXPECT_NEAR(r.expected_tau(1), 1.0 / 3.0, 0.08);
  EXPECT_NEAR(kendall_tau(first, again), 1.0 / 3.0, 0.08);
  EXPECT_NEAR(kendall_tau(first, again), r.expected_tau(1), 0.1);
}

TEST(Repeatability, BadTablesAreErrors) {
  EXPECT_THROW(repeatability({{1, 2}}), Error);
  EXPECT_THROW(repeatability({{1}, {2}}), Error);
  EXPECT_THROW(repeatability({{1, 2}, {3}}), Error);
  EXPECT_THROW(repeatability({{1, 2}, {3, NAN}}), Error);
  EXPECT_THROW(repeatability({{1, 2}, {3, 4}}, -1), Error);
  EXPECT_THROW(repeatability({{1, 2}, {3, 4}}, 0).seeds_for_tau(1.0), Error);
  try {
    repeatability({{1, 2}, {3, 4, 5}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("genome 2 has 3 scores"), std::string::npos);
  }
}

}  // namespace
}  // namespace dalnas
