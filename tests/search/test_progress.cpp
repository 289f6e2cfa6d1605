// ProgressTracker (search/progress.h) and settled_record (search/driver.h): the
// bookkeeping run_search and run_search_async share.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "search/driver.h"
#include "search/progress.h"

namespace dalnas {
namespace {

EvaluationRecord scored(int generation, double fitness, bool feasible = true,
                        EvalStatus status = EvalStatus::Ok) {
  EvaluationRecord r;
  r.generation = generation;
  r.fitness = fitness;
  r.feasible = feasible;
  r.status = status;
  return r;
}

TEST(ProgressTracker, BestCountsOnlyFeasibleSuccessesAndKeepsOnePerGeneration) {
  SearchConfig cfg;
  // Found at start: generation 0 holds 0.4 and an infeasible 0.9 (which does not count).
  const std::vector<EvaluationRecord> found = {scored(0, 0.4), scored(0, 0.9, false)};
  ProgressTracker p(cfg, 10, 0.0, steady_now_s(), found);
  const EvaluationRecord failed = scored(1, 0.95, true, EvalStatus::Failed);
  p.note(failed);
  SearchProgress r = p.report(failed, false, false, 3);
  EXPECT_DOUBLE_EQ(r.best, 0.4);
  EXPECT_TRUE(std::isnan(r.generation_best));  // nothing of generation 1 counts yet
  const EvaluationRecord g1 = scored(1, 0.3);
  p.note(g1);
  r = p.report(g1, false, false, 4);
  EXPECT_DOUBLE_EQ(r.best, 0.4);
  EXPECT_DOUBLE_EQ(r.generation_best, 0.3);
  const EvaluationRecord nan_fitness = scored(1, std::nan(""));
  p.note(nan_fitness);
  const EvaluationRecord g1b = scored(1, 0.7);
  p.note(g1b);
  r = p.report(g1, false, false, 6);
  EXPECT_DOUBLE_EQ(r.best, 0.7);
  EXPECT_DOUBLE_EQ(r.generation_best, 0.7);
  EXPECT_EQ(r.record, &g1);
}

TEST(ProgressTracker, BestIsNaNUntilAFeasibleResult) {
  SearchConfig cfg;
  ProgressTracker p(cfg, 5, 0.0, steady_now_s(), {});
  const EvaluationRecord r = scored(0, 0.5, false);
  p.note(r);
  EXPECT_TRUE(std::isnan(p.report(r, false, false, 1).best));
}

TEST(ProgressTracker, EtaIsTheMeanEvaluationTimesWhatRemainsOverTheWorkers) {
  SearchConfig cfg;
  const double now = steady_now_s();
  ProgressTracker one(cfg, 10, 0.0, now, {}, 1), four(cfg, 10, 0.0, now, {}, 4);
  for (ProgressTracker* p : {&one, &four}) {
    p->evaluated(2.0);
    p->evaluated(4.0);  // mean 3 s
  }
  const EvaluationRecord r = scored(0, 0.5);
  EXPECT_NEAR(one.report(r, false, false, 4).eta_s, 3.0 * 6, 1e-9);
  EXPECT_NEAR(four.report(r, false, false, 4).eta_s, 3.0 * 6 / 4, 1e-9);
  // More done than planned (a resumed run beyond its plan): planned follows, no ETA.
  const SearchProgress over = one.report(r, true, true, 12);
  EXPECT_EQ(over.planned, 12);
  EXPECT_EQ(over.eta_s, 0.0);
  EXPECT_TRUE(over.reused);
  EXPECT_TRUE(over.retry);
}

TEST(ProgressTracker, ElapsedCountsEarlierInvocationsAndTheBudgetCapsTheEta) {
  SearchConfig cfg;
  cfg.time_budget_s = 100;
  // Started 10 s ago, after 85 s spent by earlier invocations: 5 s of budget left.
  ProgressTracker p(cfg, 100, 85.0, steady_now_s() - 10.0, {});
  p.evaluated(30.0);
  const SearchProgress r = p.report(scored(0, 0.5), false, false, 1);
  EXPECT_GE(r.elapsed_s, 95.0);
  EXPECT_LT(r.elapsed_s, 95.0 + 5.0);
  EXPECT_GT(r.eta_s, 0.0);
  EXPECT_LE(r.eta_s, 5.0);
  cfg.time_budget_s = 50;  // spent already: no ETA below zero
  ProgressTracker spent(cfg, 100, 85.0, steady_now_s(), {});
  spent.evaluated(30.0);
  EXPECT_EQ(spent.report(scored(0, 0.5), false, false, 1).eta_s, 0.0);
}

Candidate candidate(uint64_t id) {
  Candidate c;
  c.id = id;
  c.genome =
      Genome::parse("ConvAct-12-k3-relu_max_ConvAct-12-k3-relu_max_ConvAct-12-k3-relu_dec-12");
  c.generation = 2;
  c.origin = "mutation";
  c.parents = {3};
  return c;
}

FitnessConfig mnas(double max_latency_ms = 0) {
  FitnessConfig f;
  f.form = FitnessForm::MnasNet;
  f.target_latency_ms = 10.0;
  f.max_latency_ms = max_latency_ms;
  return f;
}

EvalOutcome ok_outcome(double latency_ms) {
  EvalOutcome o;
  o.status = EvalStatus::Ok;
  o.metrics = {{"miou", 0.6}, {"latency_ms", latency_ms}, {"params", 1000}};
  o.seed = 7;
  return o;
}

TEST(SettledRecord, AnOutcomeIsScoredAndTakesTheCandidatesPlace) {
  Observation obs;
  const EvalOutcome o = ok_outcome(10.0);
  const EvaluationRecord r =
      settled_record(candidate(9), 4, "hash", &o, nullptr, 12.5, mnas(), obs);
  EXPECT_EQ(r.run_id, 4);
  EXPECT_EQ(r.candidate_id, 9u);
  EXPECT_EQ(r.genome, candidate(9).genome.str());
  EXPECT_EQ(r.config_hash, "hash");
  EXPECT_EQ(r.generation, 2);
  EXPECT_EQ(r.origin, "mutation");
  EXPECT_EQ(r.parents, std::vector<uint64_t>{3});
  EXPECT_EQ(r.seed, 7u);
  EXPECT_EQ(r.seconds, 12.5);
  EXPECT_TRUE(r.feasible);
  EXPECT_NEAR(r.fitness, 0.6, 1e-12);  // at the target latency the reward is the mIoU
  EXPECT_EQ(obs.id, 9u);
  EXPECT_TRUE(obs.ok);
  EXPECT_NEAR(obs.fitness, r.fitness, 1e-12);
}

TEST(SettledRecord, AViolatedConstraintIsInfeasibleAndSaysWhich) {
  Observation obs;
  const EvalOutcome o = ok_outcome(20.0);
  const EvaluationRecord r = settled_record(candidate(9), 1, "h", &o, nullptr, 1, mnas(15), obs);
  EXPECT_EQ(r.status, EvalStatus::Ok);
  EXPECT_FALSE(r.feasible);
  EXPECT_FALSE(obs.feasible);
  EXPECT_NE(r.reason.find("latency_ms"), std::string::npos) << r.reason;
}

TEST(SettledRecord, AMissingMetricBecomesAFailureThatNamesIt) {
  Observation obs;
  EvalOutcome o = ok_outcome(10.0);
  o.metrics.erase("latency_ms");
  const EvaluationRecord r = settled_record(candidate(9), 1, "h", &o, nullptr, 1, mnas(), obs);
  EXPECT_EQ(r.status, EvalStatus::Failed);
  EXPECT_FALSE(r.transient);
  EXPECT_FALSE(r.feasible);
  EXPECT_TRUE(std::isnan(r.fitness));
  EXPECT_FALSE(obs.ok);
  EXPECT_NE(r.reason.find("latency_ms"), std::string::npos) << r.reason;
}

TEST(SettledRecord, ADuplicateTakesTheFirstEvaluationsResultAndNamesIt) {
  Observation obs;
  EvaluationRecord prev;
  prev.candidate_id = 2;
  prev.status = EvalStatus::Ok;
  prev.metrics = {{"miou", 0.5}, {"latency_ms", 10.0}, {"params", 1000}, {"retry_of", 17}};
  prev.costs = {{"energy_mj", 1.5}};
  prev.seed = 11;
  EvaluationRecord r = settled_record(candidate(9), 1, "h", nullptr, &prev, 30, mnas(), obs);
  EXPECT_EQ(r.candidate_id, 9u);
  EXPECT_EQ(r.metrics.at("reused_from"), 2);
  EXPECT_FALSE(r.metrics.contains("retry_of"));
  EXPECT_EQ(r.costs, prev.costs);
  EXPECT_EQ(r.seed, 11u);
  EXPECT_EQ(r.seconds, 0.0);  // nothing was evaluated
  EXPECT_NEAR(r.fitness, 0.5, 1e-12);
  // A duplicate of a duplicate names the candidate first evaluated.
  prev.metrics["reused_from"] = 1;
  r = settled_record(candidate(10), 1, "h", nullptr, &prev, 0, mnas(), obs);
  EXPECT_EQ(r.metrics.at("reused_from"), 1);
}

TEST(SettledRecord, OnlyAFailureIsTransient) {
  Observation obs;
  EvalOutcome o = ok_outcome(10.0);
  o.transient = true;  // meaningless on a success
  EXPECT_FALSE(settled_record(candidate(1), 1, "h", &o, nullptr, 1, mnas(), obs).transient);
  o.status = EvalStatus::Failed;
  o.reason = "device timeout";
  const EvaluationRecord r = settled_record(candidate(1), 1, "h", &o, nullptr, 1, mnas(), obs);
  EXPECT_TRUE(r.transient);
  EXPECT_EQ(r.reason, "device timeout");
  EXPECT_FALSE(obs.feasible);
}

}  // namespace
}  // namespace dalnas
