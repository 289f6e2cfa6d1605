#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "mnasnet_fitness.h"
#include "search/rescore.h"

using namespace dalnas;
using testing_search::mnasnet;

namespace {

nlohmann::json ok(double miou) {
  return {{"status", "ok"}, {"miou", miou}};
}

Rescored cand(uint64_t id, double search_fitness, double search_miou, double latency_ms,
              std::vector<nlohmann::json> folds) {
  Rescored c;
  c.candidate_id = id;
  c.genome = "g" + std::to_string(id);
  c.search_fitness = search_fitness;
  c.search_metrics = {{"miou", search_miou}, {"latency_ms", latency_ms}, {"params", 1000.0}};
  c.folds = std::move(folds);
  return c;
}

std::string error_of(const std::vector<Rescored>& c) {
  try {
    rank_rescored(mnasnet(10), c);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// The search's first scored high on its own val scenes; over the folds the third has the
// highest mean and ranks first, the first last.
TEST(Rescore, TheMeanOverFoldsRanksNotTheSearchsScore) {
  const std::vector<Rescored> c = {cand(7, 0.66, 0.66, 10, {ok(0.66), ok(0.55), ok(0.56)}),
                                   cand(3, 0.63, 0.63, 10, {ok(0.60), ok(0.60), ok(0.60)}),
                                   cand(9, 0.62, 0.62, 10, {ok(0.61), ok(0.62), ok(0.63)})};
  const auto r = rank_rescored(mnasnet(10), c);
  EXPECT_EQ(r.order, (std::vector<size_t>{2, 1, 0}));
  ASSERT_EQ(r.table.size(), 3u);
  EXPECT_EQ(r.table[2]["rank"], 1);
  EXPECT_EQ(r.table[0]["rank"], 3);
  EXPECT_NEAR(r.table[0]["mean"].get<double>(), (0.66 + 0.55 + 0.56) / 3, 1e-12);
  EXPECT_NEAR(r.table[2]["sd"].get<double>(), 0.01, 1e-12);
  EXPECT_NEAR(r.table[2]["fitness"].get<double>(), 0.62, 1e-12);  // at the target latency
  EXPECT_EQ(r.table[1]["fold_miou"], nlohmann::json({0.60, 0.60, 0.60}));
  EXPECT_EQ(r.table[0]["search_miou"], 0.66);
  EXPECT_TRUE(r.table[0]["failed"].is_null());
}

// The cost term stays the search's: a slower candidate needs more than an equal mean; equal
// fitness keeps the search's order.
TEST(Rescore, LatencyStaysInTheFitnessAndTiesKeepTheSearchOrder) {
  auto r = rank_rescored(mnasnet(10), {cand(1, 0.6, 0.6, 20, {ok(0.60), ok(0.60)}),
                                       cand(2, 0.6, 0.6, 10, {ok(0.60), ok(0.60)})});
  EXPECT_EQ(r.order, (std::vector<size_t>{1, 0}));
  EXPECT_LT(r.table[0]["fitness"].get<double>(), 0.6);
  r = rank_rescored(mnasnet(10), {cand(4, 0.6, 0.6, 10, {ok(0.58), ok(0.62)}),
                                  cand(5, 0.7, 0.7, 10, {ok(0.58), ok(0.62)})});
  EXPECT_EQ(r.order, (std::vector<size_t>{0, 1}));
}

// A failed fold leaves the candidate unranked (after the ranked ones, in the search's
// order) with the fold and reason; so does an infeasible mean fitness.
TEST(Rescore, AFailedFoldOrAnInfeasibleCandidateRanksLast) {
  FitnessConfig f = mnasnet(10);
  f.max_latency_ms = 15;
  const auto r = rank_rescored(
      f, {cand(1, 0.7, 0.7, 10, {ok(0.7), {{"status", "failed"}, {"reason", "diverged"}}}),
          cand(2, 0.6, 0.6, 16, {ok(0.9), ok(0.9)}),  // above the latency limit
          cand(3, 0.5, 0.5, 10, {ok(0.5), ok(0.5)})});
  EXPECT_EQ(r.order, (std::vector<size_t>{2, 0, 1}));
  EXPECT_EQ(r.table[0]["failed"], "fold 2: diverged");
  EXPECT_EQ(r.table[0]["fold_miou"], nlohmann::json({0.7, nullptr}));
  EXPECT_TRUE(r.table[0]["fitness"].is_null());
  EXPECT_FALSE(r.table[1]["feasible"].get<bool>());
  EXPECT_EQ(r.table[2]["rank"], 1);
}

TEST(Rescore, MalformedResultsNameTheCandidateAndFold) {
  EXPECT_EQ(error_of({}), "rank_rescored: no candidate");
  EXPECT_EQ(error_of({cand(1, 0, 0, 10, {ok(0.5)}), cand(2, 0, 0, 10, {ok(0.5), ok(0.5)})}),
            "candidate 2: 2 fold results, candidate 1 has 1");
  EXPECT_EQ(error_of({cand(4, 0, 0, 10, {ok(0.5), {{"status", "ok"}}})}),
            "candidate 4, fold 2: miou: expected a number");
  EXPECT_EQ(error_of({cand(4, 0, 0, 10, {{{"status", "maybe"}}})}),
            "candidate 4, fold 1: status: expected \"ok\" or \"failed\", got 'maybe'");
  EXPECT_EQ(error_of({cand(4, 0, 0, 10, {nlohmann::json(3)})}),
            "candidate 4, fold 1: status: expected \"ok\" or \"failed\"");
  EXPECT_EQ(error_of({cand(5, 0, 0, 10, {})}), "candidate 5: no fold result");
}

// The terminal table lists the candidates in rank order, the winner marked.
TEST(Rescore, TheTableListsTheRankOrder) {
  const auto r = rank_rescored(mnasnet(10), {cand(1, 0.6, 0.6, 10, {ok(0.50), ok(0.52)}),
                                             cand(2, 0.5, 0.5, 10, {ok(0.61), ok(0.63)})});
  const std::string t = rescored_table(r.table, "myriadx");
  const size_t first = t.find("* 2 "), second = t.find("  1 ");
  ASSERT_NE(first, std::string::npos) << t;
  ASSERT_NE(second, std::string::npos) << t;
  EXPECT_LT(first, second) << t;
  EXPECT_NE(t.find("0.610 0.630"), std::string::npos) << t;
  EXPECT_NE(t.find("0.6200 +- 0.0141"), std::string::npos) << t;
}
