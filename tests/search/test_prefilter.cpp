#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "search/prefilter.h"

namespace dalnas {
namespace {

EvaluationRecord with_metrics(nlohmann::json m) {
  EvaluationRecord r;
  r.metrics = std::move(m);
  return r;
}

TEST(Prefilter, ScoresComeFromTheHistoryWithoutDuplicatesOrNonFiniteOnes) {
  const std::vector<EvaluationRecord> history = {
      with_metrics({{"zero_cost", {{"naswot", 10.0}}}}),
      with_metrics({{"zero_cost", {{"synflow", 3.0}}}}),                      // another kind
      with_metrics({{"zero_cost", {{"naswot", 20.0}}}, {"reused_from", 1}}),  // a duplicate
      with_metrics({{"zero_cost", {{"naswot", nullptr}}}}),                   // -inf, stored null
      with_metrics({{"miou", 0.5}}),                                          // no score
      with_metrics({{"zero_cost", {{"naswot", 30.0}}}}),
  };
  EXPECT_EQ(prefilter_scores(history, "naswot"), (std::vector<double>{10.0, 30.0}));
  EXPECT_EQ(prefilter_scores(history, "synflow"), (std::vector<double>{3.0}));
  EXPECT_TRUE(prefilter_scores(history, "grad_norm").empty());
}

TEST(Prefilter, TheWarmUpPassesThenTheTopShareOfTheScoresSoFar) {
  // keep 0.5, warm-up 2: passed while fewer than (n + 1) / 2 earlier scores are better.
  const std::vector<double> scores = {1.0, 0.0, 0.5, 0.2, 2.0, 0.9, 0.95};
  //  1.0: warm-up (0 scores)                     -> passes
  //  0.0: warm-up (1 score)                      -> passes
  //  0.5: 1 better of 2, 1 < 1.5                 -> passes
  //  0.2: 2 better of 3, 2 < 2 false             -> rejected
  //  2.0: none better                            -> passes
  //  0.9: 2 better of 5 (1.0, 2.0), 2 < 3        -> passes
  //  0.95: 2 better of 6, 2 < 3.5                -> passes
  const std::vector<bool> expected = {true, true, true, false, true, true, true};
  std::vector<double> seen;
  for (size_t i = 0; i < scores.size(); ++i) {
    EXPECT_EQ(prefilter_passes(scores[i], seen, 0.5, 2), expected[i]) << "score " << i;
    if (seen.size() >= 2) {
      EXPECT_EQ(scores[i] >= prefilter_cutoff(seen, 0.5), expected[i]) << "cutoff at " << i;
    }
    seen.push_back(scores[i]);
  }
  // A quarter kept: of 7 earlier scores at most one may be better.
  EXPECT_TRUE(prefilter_passes(1.5, seen, 0.25, 0));
  EXPECT_FALSE(prefilter_passes(0.97, seen, 0.25, 0));
  // A non-finite score (a singular NASWOT kernel) passes only in the warm-up.
  const double ninf = -std::numeric_limits<double>::infinity();
  EXPECT_TRUE(prefilter_passes(ninf, {}, 0.5, 1));
  EXPECT_FALSE(prefilter_passes(ninf, {1.0}, 0.5, 1));
  EXPECT_FALSE(prefilter_passes(std::nan(""), {1.0}, 0.5, 0));
}

TEST(Prefilter, NamesAreTheZeroCostScoresOrNone) {
  for (const char* n : {"none", "naswot", "synflow", "grad_norm"})
    EXPECT_TRUE(is_prefilter_name(n));
  EXPECT_FALSE(is_prefilter_name("jacov"));
  EXPECT_FALSE(is_prefilter_name(""));
}

}  // namespace
}  // namespace dalnas
