#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "search/rungs.h"

namespace dalnas {
namespace {

EvaluationRecord with_metrics(nlohmann::json m) {
  EvaluationRecord r;
  r.metrics = std::move(m);
  return r;
}

TEST(Rungs, PromotionFollowsTheTopShareOfTheRungSoFar) {
  // A hand-made sequence of scores at one rung, each decided against those before it
  // (eta 2: promoted when fewer than (n + 1) / 2 earlier scores are strictly better).
  const std::vector<double> scores = {0.5, 0.3, 0.7, 0.4, 0.6, 0.2, 0.55};
  //  0.5: nobody before                      -> promoted
  //  0.3: 1 better of 1,  1 < 1   false      -> stopped
  //  0.7: 0 better of 2                      -> promoted
  //  0.4: 2 better of 3,  2 < 2   false      -> stopped
  //  0.6: 1 better of 4,  1 < 2.5            -> promoted
  //  0.2: 5 better of 5,  5 < 3   false      -> stopped
  //  0.55: 2 better of 6 (0.7, 0.6), 2 < 3.5 -> promoted
  const std::vector<bool> expected = {true, false, true, false, true, false, true};
  std::vector<double> seen;
  for (size_t i = 0; i < scores.size(); ++i) {
    EXPECT_EQ(rung_promotes(scores[i], seen, 2.0), expected[i]) << "score " << i;
    // The cutoff says the same: promoted exactly when at or above it.
    EXPECT_EQ(scores[i] >= rung_cutoff(seen, 2.0), expected[i]) << "cutoff at " << i;
    seen.push_back(scores[i]);
  }
}

TEST(Rungs, EtaThreeKeepsAThird) {
  const std::vector<double> before = {0.9, 0.8, 0.7, 0.6, 0.5};  // 5 earlier scores
  // (5 + 1) / 3 = 2: at most one earlier score may be better.
  EXPECT_TRUE(rung_promotes(0.85, before, 3.0));
  EXPECT_FALSE(rung_promotes(0.75, before, 3.0));
  EXPECT_DOUBLE_EQ(rung_cutoff(before, 3.0), 0.8);
  EXPECT_TRUE(rung_promotes(0.8, before, 3.0)) << "a tie with the cutoff is promoted";
  EXPECT_EQ(rung_cutoff({}, 3.0), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(rung_promotes(-1e9, {}, 3.0)) << "the first of a rung is always promoted";
}

TEST(Rungs, AshaPromotesNobodyUntilTheRungHoldsEtaScoresThenTheTopFloorShare) {
  const RungPromotion asha = RungPromotion::Asha;
  // eta 3, the same hand-made sequence decided against those before it: promoted when
  // fewer than floor((n + 1) / 3) earlier scores are strictly better.
  const std::vector<double> scores = {0.9, 0.5, 0.6, 0.4, 0.7, 0.95, 0.8, 0.3, 0.85};
  //  0.9:  n=0, floor(1/3)=0                 -> stopped (the rung is too small)
  //  0.5:  n=1, floor(2/3)=0                 -> stopped
  //  0.6:  n=2, floor(3/3)=1, 1 better (0.9) -> stopped (1 < 1 false)
  //  0.4:  n=3, floor(4/3)=1, 3 better       -> stopped
  //  0.7:  n=4, floor(5/3)=1, 1 better       -> stopped
  //  0.95: n=5, floor(6/3)=2, 0 better       -> promoted
  //  0.8:  n=6, floor(7/3)=2, 2 better       -> stopped (2 < 2 false)
  //  0.3:  n=7, floor(8/3)=2, 7 better       -> stopped
  //  0.85: n=8, floor(9/3)=3, 2 better       -> promoted
  const std::vector<bool> expected = {false, false, false, false, false, true, false, false, true};
  std::vector<double> seen;
  for (size_t i = 0; i < scores.size(); ++i) {
    EXPECT_EQ(rung_promotes(scores[i], seen, 3.0, asha), expected[i]) << "score " << i;
    EXPECT_EQ(scores[i] >= rung_cutoff(seen, 3.0, asha), expected[i]) << "cutoff at " << i;
    seen.push_back(scores[i]);
  }
  EXPECT_EQ(rung_cutoff({}, 3.0, asha), std::numeric_limits<double>::infinity())
      << "nobody is promoted from an empty rung, whatever the score";
  EXPECT_FALSE(rung_promotes(1e9, {}, 3.0, asha));
  EXPECT_TRUE(rung_promotes(1e9, {0.1, 0.2}, 3.0, asha)) << "the third of three, the best";
  // The eager rule on the same sequence promotes the first and most of the early ones.
  seen.clear();
  int eager = 0, asha_count = 0;
  for (double x : scores) {
    eager += rung_promotes(x, seen, 3.0) ? 1 : 0;
    asha_count += rung_promotes(x, seen, 3.0, asha) ? 1 : 0;
    seen.push_back(x);
  }
  EXPECT_EQ(eager, 5);  // 0.9, 0.7, 0.95, 0.8 and 0.85
  EXPECT_EQ(asha_count, 2);
}

TEST(Rungs, PromotionRulesParseByName) {
  EXPECT_EQ(parse_rung_promotion("eager", "e"), RungPromotion::Eager);
  EXPECT_EQ(parse_rung_promotion("asha", "e"), RungPromotion::Asha);
  EXPECT_STREQ(to_string(RungPromotion::Asha), "asha");
  try {
    parse_rung_promotion("lazy", "evaluation.promotion");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "evaluation.promotion: 'lazy' is not a promotion rule (allowed: eager, asha)");
  }
}

TEST(Rungs, ScoresOfARungComeFromTheHistoryWithoutDuplicates) {
  const std::vector<EvaluationRecord> history = {
      with_metrics({{"rung_fitness", {0.1, 0.2, 0.3}}}),
      with_metrics({{"rung_fitness", {0.4}}}),                           // stopped at rung 0
      with_metrics({{"rung_fitness", {0.1, 0.2}}, {"reused_from", 1}}),  // a duplicate
      with_metrics({{"fitness_low", 0.9}}),                              // two-stage record
      with_metrics({{"rung_fitness", {0.5, 0.6}}}),
  };
  EXPECT_EQ(rung_scores(history, 0), (std::vector<double>{0.1, 0.4, 0.5}));
  EXPECT_EQ(rung_scores(history, 1), (std::vector<double>{0.2, 0.6}));
  EXPECT_EQ(rung_scores(history, 2), (std::vector<double>{0.3}));
  EXPECT_TRUE(rung_scores(history, 3).empty());
}

}  // namespace
}  // namespace dalnas
