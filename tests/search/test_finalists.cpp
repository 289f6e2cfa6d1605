#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "mnasnet_fitness.h"
#include "search/finalists.h"

using namespace dalnas;
using testing_search::mnasnet;

namespace {

// A retraining's metrics as train_final() writes them (the parts choose_finalist reads).
nlohmann::json retrained(uint64_t seed, double val_miou) {
  return {{"seed", seed},
          {"device_val", {{"miou", val_miou}}},
          {"device_test", {{"miou", val_miou - 0.05}}}};
}

Finalist finalist(uint64_t id, double search_fitness, double search_miou, double latency_ms,
                  std::vector<double> val) {
  Finalist f;
  f.candidate_id = id;
  f.genome = "g" + std::to_string(id);
  f.search_fitness = search_fitness;
  f.search_metrics = {{"miou", search_miou}, {"latency_ms", latency_ms}, {"params", 1000.0}};
  for (size_t k = 0; k < val.size(); ++k) f.retrained.push_back(retrained(1 + k, val[k]));
  return f;
}

}  // namespace

// The search's first had a lucky seed: retrained, the second has the higher mean, at the
// same latency, and wins.
TEST(Finalists, TheHigherMeanOverSeedsWinsNotTheSearchsFirst) {
  const std::vector<Finalist> f = {finalist(7, 0.60, 0.60, 10, {0.55, 0.57}),
                                   finalist(3, 0.59, 0.59, 10, {0.58, 0.60})};
  const auto c = choose_finalist(mnasnet(10), "val", f);
  EXPECT_EQ(c.chosen, 1u);
  ASSERT_EQ(c.table.size(), 2u);
  EXPECT_FALSE(c.table[0]["chosen"].get<bool>());
  EXPECT_TRUE(c.table[1]["chosen"].get<bool>());
  EXPECT_EQ(c.table[1]["candidate_id"], 3);
  EXPECT_NEAR(c.table[0]["mean"].get<double>(), 0.56, 1e-12);
  EXPECT_NEAR(c.table[0]["sd"].get<double>(), std::sqrt(2 * 0.01 * 0.01), 1e-12);
  EXPECT_NEAR(c.table[1]["mean"].get<double>(), 0.59, 1e-12);
  // At the target latency MnasNet's reward is the mIoU itself.
  EXPECT_NEAR(c.table[1]["fitness"].get<double>(), 0.59, 1e-12);
  EXPECT_EQ(c.table[0]["search_miou"], 0.60);
  EXPECT_EQ(c.table[0]["seeds"], nlohmann::json({1, 2}));
  EXPECT_EQ(c.table[0]["miou"], nlohmann::json({0.55, 0.57}));
}

// The cost term stays the search's: a slower finalist needs more than an equal mean.
TEST(Finalists, TheLatencyTermStillCounts) {
  // (20 / 10)^-0.07 = 0.9526: 0.60 at 20 ms scores 0.5716, below 0.58 at 10 ms.
  const std::vector<Finalist> f = {finalist(1, 0.6, 0.6, 10, {0.58}),
                                   finalist(2, 0.5, 0.6, 20, {0.60})};
  const auto c = choose_finalist(mnasnet(10), "val", f);
  EXPECT_EQ(c.chosen, 0u);
  EXPECT_NEAR(c.table[1]["fitness"].get<double>(), 0.60 * std::pow(2.0, -0.07), 1e-12);
  // With accuracy alone the faster one's lower mIoU loses.
  FitnessConfig miou;
  miou.form = FitnessForm::Miou;
  EXPECT_EQ(choose_finalist(miou, "val", f).chosen, 1u);
}

TEST(Finalists, ATieKeepsTheSearchsOrderAndTheSplitIsTheSearchs) {
  FitnessConfig miou;
  miou.form = FitnessForm::Miou;
  const std::vector<Finalist> f = {finalist(1, 0.6, 0.6, 10, {0.58, 0.60}),
                                   finalist(2, 0.5, 0.5, 10, {0.60, 0.58})};
  EXPECT_EQ(choose_finalist(miou, "val", f).chosen, 0u);
  // On the test split the means are each 0.05 lower, the choice the same.
  const auto t = choose_finalist(miou, "test", f);
  EXPECT_NEAR(t.table[0]["mean"].get<double>(), 0.54, 1e-12);
}

TEST(Finalists, AnInfeasibleFinalistIsNotChosen) {
  FitnessConfig c = mnasnet(10);
  c.max_latency_ms = 15;
  const std::vector<Finalist> f = {finalist(1, 0.6, 0.6, 10, {0.50}),
                                   finalist(2, 0.5, 0.6, 20, {0.70})};
  const auto r = choose_finalist(c, "val", f);
  EXPECT_EQ(r.chosen, 0u);
  EXPECT_FALSE(r.table[1]["feasible"].get<bool>());
}

TEST(Finalists, MissingMetricsAreErrorsNamingTheFinalistAndField) {
  FitnessConfig miou;
  miou.form = FitnessForm::Miou;
  std::vector<Finalist> f = {finalist(4, 0.6, 0.6, 10, {0.58})};
  f[0].retrained[0].erase("device_val");
  try {
    choose_finalist(miou, "val", f);
    FAIL() << "a retraining without device_val was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("finalist 4: device_val.miou"), std::string::npos)
        << e.what();
  }
  f[0].retrained.clear();
  EXPECT_THROW(choose_finalist(miou, "val", f), Error);
  EXPECT_THROW(choose_finalist(miou, "val", {}), Error);
}

TEST(Finalists, TheTableMarksTheWinner) {
  FitnessConfig miou;
  miou.form = FitnessForm::Miou;
  const std::vector<Finalist> f = {finalist(11, 0.6, 0.6, 10, {0.5}),
                                   finalist(12, 0.5, 0.5, 10, {0.6})};
  const std::string t = finalists_table(choose_finalist(miou, "val", f).table, "myriadx");
  EXPECT_NE(t.find("mIoU on myriadx"), std::string::npos) << t;
  EXPECT_NE(t.find("* 12"), std::string::npos) << t;
  EXPECT_NE(t.find("  11"), std::string::npos) << t;
  EXPECT_NE(t.find("0.6000 +- 0.0000"), std::string::npos) << t;
}
