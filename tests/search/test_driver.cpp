#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <new>
#include <stdexcept>
#include <thread>

#include "core/error.h"
#include "core/transient_error.h"
#include "driver_fixtures.h"
#include "search/driver.h"

namespace dalnas {
namespace {

// Metrics from the genome alone (no training): wider networks score higher and are
// slower; a few genomes fail. Counts how often each genome is evaluated.
class GenomeEvaluator : public Evaluator {
 public:
  std::map<std::string, int> calls;
  int sleep_ms = 0;
  bool throw_some = false;
  int64_t reject_above_params = 0;
  // Genomes with hash % 11 == 0 fail transiently while the "device" is down: by throwing
  // TransientError, or by returning a transient outcome, or by running out of memory.
  enum class Down { No, Throws, Returns, BadAlloc } device_down = Down::No;
  int transient_calls_left = -1;  // >= 0: the device comes back after this many failures
  bool lasting_failures = true;   // false: those genomes succeed once the device is back
  uint64_t logic_error_at = 0;    // candidate id whose evaluation hits a bug

  EvalOutcome evaluate(const Candidate& c, const std::vector<EvaluationRecord>&) override {
    ++calls[c.genome.str()];
    if (sleep_ms) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    double width = c.genome.decoder_width, params = 0;
    for (const auto& b : c.genome.blocks) {
      width += b.width;
      params += b.width * b.width * b.kernel * b.kernel;
    }
    EvalOutcome o;
    o.seed = c.genome.hash() >> 1;
    o.metrics = {{"params", params},
                 {"latency_ms", 1.0 + width / 20.0},
                 {"peak_memory_bytes", width * 1000},
                 {"energy_mj", width / 10}};
    if (reject_above_params && params > reject_above_params) {
      o.status = EvalStatus::Rejected;
      o.reason = "rejected before training";
      return o;
    }
    if (c.id == logic_error_at) throw std::out_of_range("vector::_M_range_check: __n is 7");
    if (c.genome.hash() % 11 == 0 && device_down != Down::No && transient_calls_left != 0) {
      if (transient_calls_left > 0) --transient_calls_left;
      if (device_down == Down::Throws)
        throw TransientError("device 'stick': the command timed out after 5 s");
      if (device_down == Down::BadAlloc) throw std::bad_alloc();
      o.status = EvalStatus::Failed;
      o.transient = true;
      o.reason = "unmeasured: the measure command timed out after 5 s";
      return o;
    }
    if (c.genome.hash() % 11 == 0 && device_down == Down::No && lasting_failures) {
      if (throw_some) throw Error("evaluator exploded");
      o.status = EvalStatus::Failed;
      o.reason = "training diverged";
      return o;
    }
    o.metrics["miou"] = std::min(0.99, 0.4 + std::log1p(width) / 20.0);
    return o;
  }
};

using testing_search::small_config;
using DriverTest = testing_search::JournalDirTest;

std::vector<std::string> summary(const std::vector<EvaluationRecord>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(testing_search::record_line(r, true));
  return out;
}

TEST_F(DriverTest, GaRunsItsPlannedEvaluationsWithFitnessFromMetrics) {
  const SearchConfig cfg = small_config("ga");
  GenomeEvaluator ev;
  Journal j(journal("a"));
  const SearchOutcome out = run_search(cfg, cfg.space, ev, j);
  EXPECT_TRUE(out.finished);
  EXPECT_EQ(out.stop_reason, "finished");
  EXPECT_EQ(static_cast<int64_t>(out.records.size()),
            planned_evaluations(cfg, {{"population", 6}, {"generations", 3}}));
  EXPECT_EQ(out.records.size(), 6u + 2u * 5u);
  for (size_t i = 0; i < out.records.size(); ++i) {
    const auto& r = out.records[i];
    EXPECT_EQ(r.candidate_id, i + 1) << "ids count from 1 in proposal order";
    if (r.status == EvalStatus::Ok) {
      const FitnessResult f = compute_fitness(cfg.fitness, EvalMetrics::from_json(r.metrics));
      EXPECT_DOUBLE_EQ(r.fitness, f.value);
      EXPECT_EQ(r.feasible, f.feasible);
    } else {
      EXPECT_TRUE(std::isnan(r.fitness));
      EXPECT_FALSE(r.feasible);
    }
  }
  // Everything was committed: the journal holds the same records.
  EXPECT_EQ(summary(j.all_evaluations()), summary(out.records));
  for (const auto& [g, n] : ev.calls) EXPECT_EQ(n, 1) << g;
}

TEST_F(DriverTest, AGenomeSeenBeforeIsAnsweredFromTheJournal) {
  // A space of one genome: every proposal after the first is a repeat.
  SearchConfig cfg = small_config("random");
  cfg.strategy_params = {{"budget", 5}, {"max_retries", 2}};
  cfg.space.block_types = {BlockType::ConvBnAct};
  cfg.space.widths = {16};
  cfg.space.kernels = {3};
  cfg.space.activations = {Activation::ReLU};
  cfg.space.poolings = {Pooling::Max};
  cfg.space.min_stages = cfg.space.max_stages = 3;
  cfg.space.decoder_widths = {8};
  GenomeEvaluator ev;
  Journal j(journal("dup"));
  const SearchOutcome out = run_search(cfg, cfg.space, ev, j);
  ASSERT_EQ(out.records.size(), 5u);
  ASSERT_EQ(ev.calls.size(), 1u);
  EXPECT_EQ(ev.calls.begin()->second, 1) << "trained once";
  EXPECT_EQ(out.reused, 4);
  for (size_t i = 1; i < out.records.size(); ++i) {
    EXPECT_EQ(out.records[i].metrics.at("reused_from"), 1);
    EXPECT_EQ(out.records[i].fitness, out.records[0].fitness);
    EXPECT_EQ(out.records[i].seconds, 0.0);
  }
}

// Stopping after k evaluations and resuming from the journal gives the uninterrupted run.
void check_resume(const std::string& strategy, const std::string& dir) {
  const SearchConfig cfg = small_config(strategy);
  GenomeEvaluator ev_full;
  Journal jf(dir + "/" + strategy + "-full.sqlite");
  const auto full = run_search(cfg, cfg.space, ev_full, jf);
  ASSERT_TRUE(full.finished);

  const std::string path = dir + "/" + strategy + "-parts.sqlite";
  GenomeEvaluator ev;
  int64_t k = 0;
  for (int64_t stop : {1, 2, 5, 6, 9}) {
    SearchConfig part = cfg;
    part.max_evaluations = stop;
    Journal j(path);  // a fresh process would reopen the file
    const auto out = run_search(part, part.space, ev, j);
    EXPECT_EQ(out.stop_reason, "max_evaluations");
    EXPECT_EQ(out.resumed_from, k);
    k = static_cast<int64_t>(out.records.size());
    EXPECT_EQ(k, stop);
  }
  Journal j(path);
  const auto rest = run_search(cfg, cfg.space, ev, j);
  EXPECT_TRUE(rest.finished);
  EXPECT_EQ(summary(rest.records), summary(full.records)) << strategy;
  for (const auto& [g, n] : ev.calls)
    EXPECT_EQ(n, 1) << strategy << ": " << g << " evaluated twice";
}

TEST_F(DriverTest, ResumedRunsEndWhereUninterruptedOnesDo) {
  for (const char* s : {"ga", "regularized-evolution", "nsga2", "random"}) check_resume(s, dir_);
}

TEST_F(DriverTest, AnEvaluatorThatThrowsIsRecordedAsFailedAndTheSearchGoesOn) {
  SearchConfig cfg = small_config("random");
  cfg.strategy_params = {{"budget", 40}};
  GenomeEvaluator ev;
  ev.throw_some = true;
  Journal j(journal("throw"));
  const auto out = run_search(cfg, cfg.space, ev, j);
  ASSERT_EQ(out.records.size(), 40u);
  int failed = 0;
  for (const auto& r : out.records)
    if (r.status == EvalStatus::Failed) {
      ++failed;
      EXPECT_EQ(r.reason, "evaluator exploded");
    }
  EXPECT_GT(failed, 0) << "the fixture should include failing genomes";
}

TEST_F(DriverTest, RejectedCandidatesAreInfeasibleAndRankLast) {
  SearchConfig cfg = small_config("random");
  cfg.fitness.max_params = 20000;
  GenomeEvaluator ev;
  ev.reject_above_params = 20000;
  Journal j(journal("reject"));
  const auto out = run_search(cfg, cfg.space, ev, j);
  int rejected = 0;
  for (const auto& r : out.records) {
    if (r.status != EvalStatus::Rejected) continue;
    ++rejected;
    EXPECT_FALSE(r.feasible);
    const Observation o = observation_of(r, cfg.fitness);
    EXPECT_FALSE(o.feasible);
    EXPECT_GT(o.violation, 0.0);
  }
  EXPECT_GT(rejected, 0);
}

// The screen (DriverOptions::screen, SearchConfig::screen): genomes the cost model rules out
// are not proposed, so the journal holds no rejected candidate and the budget buys as many
// evaluations as without the constraint; screen = false proposes and rejects them as before;
// a journal started one way is not resumed the other.
TEST_F(DriverTest, ScreenedGenomesAreNotProposedAndTheBudgetBuysEvaluations) {
  SearchConfig cfg = small_config("regularized-evolution");
  cfg.fitness.max_params = 20000;
  DriverOptions opt;
  int asked = 0;
  opt.screen = [&asked](const Genome& g) {
    ++asked;
    double params = 0;
    for (const auto& b : g.blocks) params += b.width * b.width * b.kernel * b.kernel;
    return params > 20000 ? std::string("params > 20000") : std::string();
  };
  GenomeEvaluator ev;
  ev.reject_above_params = 20000;
  Journal j(journal("screened"));
  const auto out = run_search(cfg, cfg.space, ev, j, opt);
  EXPECT_TRUE(out.finished);
  EXPECT_EQ(out.records.size(), 14u);
  EXPECT_GT(asked, 0);
  EXPECT_GT(out.screened, 0);
  for (const auto& r : out.records) EXPECT_NE(r.status, EvalStatus::Rejected) << r.genome;

  cfg.screen = false;
  GenomeEvaluator ev2;
  ev2.reject_above_params = 20000;
  Journal j2(journal("unscreened"));
  const auto out2 = run_search(cfg, cfg.space, ev2, j2, opt);
  EXPECT_EQ(out2.screened, 0);
  int rejected = 0;
  for (const auto& r : out2.records) rejected += r.status == EvalStatus::Rejected;
  EXPECT_GT(rejected, 0);
  SearchConfig screened_cfg = cfg;
  screened_cfg.screen = true;
  EXPECT_EQ(cfg.evaluation_identity(), screened_cfg.evaluation_identity())
      << "the screen changes no candidate's result";

  // The other setting on the same journal: refused, naming the journal.
  cfg.screen = true;
  GenomeEvaluator ev3;
  try {
    run_search(cfg, cfg.space, ev3, j2, opt);
    ADD_FAILURE() << "resumed a screen = false journal with the screen on";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unscreened.sqlite"), std::string::npos) << e.what();
  }
}

TEST_F(DriverTest, TimeBudgetStopsBeforeTheStrategyIsDone) {
  SearchConfig cfg = small_config("random");
  cfg.strategy_params = {{"budget", 1000}};
  cfg.time_budget_s = 0.15;
  GenomeEvaluator ev;
  ev.sleep_ms = 30;
  Journal j(journal("time"));
  const auto out = run_search(cfg, cfg.space, ev, j);
  EXPECT_EQ(out.stop_reason, "time budget");
  EXPECT_FALSE(out.finished);
  EXPECT_GE(out.records.size(), 2u);
  EXPECT_LE(out.records.size(), 20u);
}

TEST_F(DriverTest, ProgressReportsEveryEvaluationWithAnEta) {
  const SearchConfig cfg = small_config("ga");
  GenomeEvaluator ev;
  Journal j(journal("progress"));
  std::vector<int64_t> done;
  DriverOptions opt;
  opt.on_progress = [&](const SearchProgress& p) {
    done.push_back(p.done);
    EXPECT_EQ(p.planned, 16);
    EXPECT_GE(p.eta_s, 0.0);
    if (p.record->status == EvalStatus::Ok && p.record->feasible) {
      EXPECT_GE(p.generation_best, p.record->fitness);
      EXPECT_GE(p.best, p.generation_best);
    }
  };
  run_search(cfg, cfg.space, ev, j, opt);
  ASSERT_EQ(done.size(), 16u);
  for (size_t i = 0; i < done.size(); ++i) EXPECT_EQ(done[i], static_cast<int64_t>(i + 1));
}

TEST_F(DriverTest, AJournalOfAnotherSearchIsRefused) {
  SearchConfig cfg = small_config("random");
  GenomeEvaluator ev;
  Journal j(journal("other"));
  cfg.max_evaluations = 2;
  run_search(cfg, cfg.space, ev, j);
  cfg.seed = 99;
  try {
    run_search(cfg, cfg.space, ev, j);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another configuration"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("other.sqlite"), std::string::npos) << e.what();
  }
  // A budget change is not another search.
  cfg.seed = 1;
  cfg.max_evaluations = 4;
  EXPECT_EQ(run_search(cfg, cfg.space, ev, j).records.size(), 4u);
}

// What the configuration names but does not hold (the device profile's content): a
// resume against another fingerprint is refused naming it; journals recorded without one
// resume as before.
TEST_F(DriverTest, AResumeAgainstAChangedFingerprintIsRefused) {
  SearchConfig cfg = small_config("random");
  GenomeEvaluator ev;
  DriverOptions opt;
  opt.fingerprints["device profile"] = "myriadx 0123";
  {
    Journal j(journal("fp"));
    cfg.max_evaluations = 2;
    run_search(cfg, cfg.space, ev, j, opt);
    cfg.max_evaluations = 3;
    EXPECT_EQ(run_search(cfg, cfg.space, ev, j, opt).records.size(), 3u);  // same: resumes
    opt.fingerprints["device profile"] = "myriadx 4567";
    cfg.max_evaluations = 4;
    try {
      run_search(cfg, cfg.space, ev, j, opt);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("device profile changed"), std::string::npos) << m;
      EXPECT_NE(m.find("0123"), std::string::npos) << m;
      EXPECT_NE(m.find("fp.sqlite"), std::string::npos) << m;
    }
  }
  // A journal whose run recorded no fingerprint (made before them) is not checked.
  Journal old(journal("old"));
  cfg.max_evaluations = 2;
  run_search(cfg, cfg.space, ev, old);
  cfg.max_evaluations = 3;
  EXPECT_EQ(run_search(cfg, cfg.space, ev, old, opt).records.size(), 3u);
}

TEST_F(DriverTest, StopFlagEndsAfterTheCurrentEvaluation) {
  const SearchConfig cfg = small_config("ga");
  std::atomic<bool> stop{false};
  GenomeEvaluator ev;
  Journal j(journal("stop"));
  DriverOptions opt;
  opt.stop = &stop;
  opt.on_progress = [&](const SearchProgress& p) {
    if (p.done == 3) stop = true;
  };
  const auto out = run_search(cfg, cfg.space, ev, j, opt);
  EXPECT_EQ(out.stop_reason, "interrupted");
  EXPECT_EQ(out.records.size(), 3u);
}

int count_transient(const std::vector<EvaluationRecord>& rs) {
  int n = 0;
  for (const auto& r : rs) n += r.transient;
  return n;
}

TEST_F(DriverTest, TransientFailuresAreRecordedAsSuchAndEvaluatedAgainOnResume) {
  for (auto down : {GenomeEvaluator::Down::Throws, GenomeEvaluator::Down::Returns,
                    GenomeEvaluator::Down::BadAlloc}) {
    SearchConfig cfg = small_config("random");
    cfg.strategy_params = {{"budget", 40}};
    GenomeEvaluator ev;
    ev.device_down = down;
    ev.lasting_failures = false;
    const std::string path = journal("transient-" + std::to_string(static_cast<int>(down)));
    std::vector<EvaluationRecord> first;
    {
      Journal j(path);
      first = run_search(cfg, cfg.space, ev, j).records;
    }
    const int transient = count_transient(first);
    ASSERT_GT(transient, 0) << "the fixture should include genomes that fail transiently";
    for (const auto& r : first) {
      if (!r.transient) continue;
      EXPECT_EQ(r.status, EvalStatus::Failed);
      EXPECT_FALSE(r.reason.empty());
      if (down == GenomeEvaluator::Down::BadAlloc) {
        EXPECT_EQ(r.reason, "out of memory (std::bad_alloc)");
      }
    }
    // The device is back: the resumed search (nothing left for the strategy) evaluates every
    // transient failure again, once, and the results replace them.
    ev.device_down = GenomeEvaluator::Down::No;
    SearchOutcome again;
    {
      Journal j(path);
      again = run_search(cfg, cfg.space, ev, j);
      EXPECT_EQ(j.all_evaluations().size(), first.size() + static_cast<size_t>(transient))
          << "the retries are new rows; nothing is overwritten";
    }
    EXPECT_EQ(again.retried, transient);
    ASSERT_EQ(again.records.size(), first.size());
    EXPECT_EQ(count_transient(again.records), 0);
    for (size_t i = 0; i < first.size(); ++i) {
      EXPECT_EQ(again.records[i].candidate_id, first[i].candidate_id);
      if (first[i].transient) {
        EXPECT_EQ(again.records[i].status, EvalStatus::Ok) << again.records[i].reason;
        EXPECT_TRUE(std::isfinite(again.records[i].fitness));
        EXPECT_EQ(again.records[i].metrics.at("retry_of"), first[i].row);
        EXPECT_EQ(ev.calls[first[i].genome], 2) << first[i].genome;
      }
    }
    // A further resume finds nothing to retry and reads the same records back.
    Journal j(path);
    const auto third = run_search(cfg, cfg.space, ev, j);
    EXPECT_EQ(third.retried, 0);
    EXPECT_EQ(summary(third.records), summary(again.records));
  }
}

TEST_F(DriverTest, ATransientFailureIsNotReusedForALaterDuplicate) {
  // A space of one genome (hash % 11 == 0 is not needed: every call is "down").
  SearchConfig cfg = small_config("random");
  cfg.strategy_params = {{"budget", 4}, {"max_retries", 2}};
  cfg.space.block_types = {BlockType::ConvBnAct};
  cfg.space.widths = {16};
  cfg.space.kernels = {3};
  cfg.space.activations = {Activation::ReLU};
  cfg.space.poolings = {Pooling::Max};
  cfg.space.min_stages = cfg.space.max_stages = 3;
  cfg.space.decoder_widths = {8};
  struct Flaky : Evaluator {
    int calls = 0;
    EvalOutcome evaluate(const Candidate&, const std::vector<EvaluationRecord>&) override {
      if (++calls <= 2) throw TransientError("device 'stick': the command timed out");
      EvalOutcome o;
      o.metrics = {{"params", 1000}, {"latency_ms", 2.0}, {"miou", 0.5}};
      return o;
    }
  } ev;
  Journal j(journal("dup-transient"));
  const auto out = run_search(cfg, cfg.space, ev, j);
  ASSERT_EQ(out.records.size(), 4u);
  EXPECT_EQ(ev.calls, 3) << "two transient failures, one success, then reuse";
  EXPECT_TRUE(out.records[0].transient);
  EXPECT_TRUE(out.records[1].transient);
  EXPECT_EQ(out.records[2].status, EvalStatus::Ok);
  EXPECT_EQ(out.records[3].metrics.at("reused_from"), out.records[2].candidate_id);
}

TEST_F(DriverTest, TransientRetriesSettingRepeatsAtOnce) {
  SearchConfig cfg = small_config("random");
  cfg.strategy_params = {{"budget", 40}};
  cfg.transient_retries = 2;
  GenomeEvaluator ev;
  ev.device_down = GenomeEvaluator::Down::Throws;
  ev.lasting_failures = false;
  ev.transient_calls_left = 2;  // the first failing genome fails twice, then works
  Journal j(journal("retries"));
  const auto out = run_search(cfg, cfg.space, ev, j);
  const auto it =
      std::find_if(out.records.begin(), out.records.end(), [](const EvaluationRecord& r) {
        return r.genome.size() && Genome::parse(r.genome).hash() % 11 == 0;
      });
  ASSERT_NE(it, out.records.end());
  EXPECT_EQ(it->status, EvalStatus::Ok);
  EXPECT_EQ(ev.calls[it->genome], 3) << "evaluated, then retried twice";
  EXPECT_EQ(count_transient(out.records), 0);
}

TEST_F(DriverTest, AProgrammingErrorStopsTheSearchNamingTheCandidate) {
  SearchConfig cfg = small_config("random");
  GenomeEvaluator ev;
  ev.logic_error_at = 4;
  Journal j(journal("bug"));
  try {
    run_search(cfg, cfg.space, ev, j);
    FAIL() << "expected the search to stop";
  } catch (const std::logic_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("candidate 4 ("), std::string::npos) << m;
    EXPECT_NE(m.find("std::out_of_range"), std::string::npos) << m;
    EXPECT_NE(m.find("_M_range_check"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  EXPECT_EQ(j.all_evaluations().size(), 3u) << "everything before it is committed";
  // Fixed, the search resumes from there.
  ev.logic_error_at = 0;
  const auto out = run_search(cfg, cfg.space, ev, j);
  EXPECT_TRUE(out.finished);
  EXPECT_EQ(out.resumed_from, 3);
}

TEST(PlannedEvaluations, FollowTheStrategyAndTheCap) {
  SearchConfig c = SearchConfig::defaults();
  c.strategy = "ga";
  EXPECT_EQ(planned_evaluations(c, {{"population", 50}, {"generations", 15}, {"elites", 1}}),
            50 + 14 * 49);
  c.strategy = "nsga2";
  EXPECT_EQ(planned_evaluations(c, {{"population", 10}, {"generations", 4}}), 40);
  c.strategy = "random";
  EXPECT_EQ(planned_evaluations(c, {{"budget", 30}}), 30);
  c.max_evaluations = 7;
  EXPECT_EQ(planned_evaluations(c, {{"budget", 30}}), 7);
}

}  // namespace
}  // namespace dalnas
