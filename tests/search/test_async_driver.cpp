// run_search_async: several workers finishing out of order, against run_search.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "core/error.h"
#include "driver_fixtures.h"
#include "search/async_driver.h"
#include "search/classified_evaluation.h"
#include "search/driver.h"

namespace dalnas {
namespace {

// Metrics from the genome alone; a few genomes fail. The same numbers as either evaluator.
EvalOutcome genome_outcome(const Genome& g) {
  double width = g.decoder_width, params = 0;
  for (const auto& b : g.blocks) {
    width += b.width;
    params += b.width * b.width * b.kernel * b.kernel;
  }
  EvalOutcome o;
  o.seed = g.hash() >> 1;
  o.metrics = {{"params", params},
               {"latency_ms", 1.0 + width / 20.0},
               {"peak_memory_bytes", width * 1000},
               {"energy_mj", width / 10}};
  if (g.hash() % 11 == 0) {
    o.status = EvalStatus::Failed;
    o.reason = "training diverged";
    return o;
  }
  o.metrics["miou"] = std::min(0.99, 0.4 + std::log1p(width) / 20.0);
  return o;
}

class SerialEvaluator : public Evaluator {
 public:
  EvalOutcome evaluate(const Candidate& c, const std::vector<EvaluationRecord>&) override {
    return genome_outcome(c.genome);
  }
};

// `n` workers; wait() finishes the in-flight candidate with the largest genome hash (not
// the submission order). Records what was in flight together and how often each genome
// was evaluated; `break_after` > 0 makes wait() throw after that many results (a lost
// worker ending the job).
class FakeWorkers : public AsyncEvaluator {
 public:
  explicit FakeWorkers(int n) : n_(n) {}
  int workers() const override { return n_; }
  int idle() const override { return n_ - static_cast<int>(flying_.size()); }
  void submit(const Candidate& c, const std::vector<EvaluationRecord>& history) override {
    if (idle() <= 0) throw std::logic_error("submit without an idle worker");
    flying_.push_back(c);
    ++calls[c.genome.str()];
    max_in_flight = std::max(max_in_flight, static_cast<int>(flying_.size()));
    std::set<int> gens;
    for (const auto& f : flying_) gens.insert(f.generation);
    max_generations_in_flight = std::max(max_generations_in_flight, static_cast<int>(gens.size()));
    history_sizes.push_back(history.size());
    ++submitted;
  }
  std::pair<uint64_t, EvalOutcome> wait() override {
    if (break_after > 0 && results == break_after) throw Error("worker lost");
    at_wait.push_back({results, submitted, idle()});
    auto it = std::max_element(flying_.begin(), flying_.end(), [](const auto& a, const auto& b) {
      return a.genome.hash() < b.genome.hash();
    });
    const Candidate c = *it;
    flying_.erase(it);
    ++results;
    if (c.id != smallest_in_flight_id(c.id)) ++out_of_order;
    if (c.id == bug_id) throw EvaluationBug(c.id, "std::out_of_range: map::at");
    EvalOutcome o = genome_outcome(c.genome);
    if (down(c.genome)) {  // as a worker reports a device timeout
      o = EvalOutcome{};
      o.status = EvalStatus::Failed;
      o.reason = "device timed out";
      o.transient = true;
    }
    return {c.id, o};
  }

  std::map<std::string, int> calls;
  std::vector<size_t> history_sizes;
  std::vector<std::tuple<int, int, int>> at_wait;  // results, submitted, idle at each wait()
  int max_in_flight = 0, max_generations_in_flight = 0, results = 0, out_of_order = 0;
  int submitted = 0;
  int break_after = 0;
  uint64_t bug_id = 0;  // this candidate meets a bug
  std::function<bool(const Genome&)> down = [](const Genome&) { return false; };

 private:
  uint64_t smallest_in_flight_id(uint64_t finished) const {
    uint64_t m = finished;
    for (const auto& f : flying_) m = std::min(m, f.id);
    return m;
  }
  int n_;
  std::vector<Candidate> flying_;
};

// A space of one genome: every proposal after the first repeats it.
void one_genome_space(SearchSpace& space) {
  space.block_types = {BlockType::ConvBnAct};
  space.widths = {16};
  space.kernels = {3};
  space.activations = {Activation::ReLU};
  space.poolings = {Pooling::Max};
  space.min_stages = space.max_stages = 3;
  space.decoder_widths = {8};
}

// (id, genome, status, fitness, generation), sorted: the set of evaluations.
std::vector<std::string> as_set(const std::vector<EvaluationRecord>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(testing_search::record_line(r, false));
  std::sort(out.begin(), out.end());
  return out;
}

using testing_search::small_config;

class AsyncDriverTest : public testing_search::JournalDirTest {
 protected:
  std::vector<EvaluationRecord> serial(const SearchConfig& cfg, const std::string& name) {
    SerialEvaluator ev;
    Journal j(journal(name));
    return run_search(cfg, cfg.space, ev, j).records;
  }
};

TEST_F(AsyncDriverTest, GenerationalStrategiesCommitTheSerialDriversEvaluations) {
  for (const char* strategy : {"ga", "nsga2"}) {
    const SearchConfig cfg = small_config(strategy);
    const auto expected = serial(cfg, std::string("serial-") + strategy);
    FakeWorkers w(4);
    AsyncStats stats;
    Journal j(journal(std::string("async-") + strategy));
    const SearchOutcome out = run_search_async(cfg, cfg.space, w, j, {}, &stats);
    EXPECT_TRUE(out.finished) << strategy;
    EXPECT_EQ(out.stop_reason, "finished");
    EXPECT_EQ(as_set(out.records), as_set(expected)) << strategy;
    EXPECT_EQ(as_set(j.all_evaluations()), as_set(expected)) << strategy;
    EXPECT_EQ(w.max_in_flight, 4) << strategy;
    EXPECT_GT(w.out_of_order, 0) << strategy << ": results should arrive out of order";
    EXPECT_EQ(w.max_generations_in_flight, 1) << strategy << ": generation-synchronous";
    for (const auto& [g, n] : w.calls) EXPECT_EQ(n, 1) << g;
    EXPECT_EQ(stats.committed, static_cast<int64_t>(expected.size()));
    EXPECT_GT(stats.commit_us, 0.0);
  }
}

// The screen reaches the strategy through the asynchronous driver as through the serial one:
// no committed genome fails it, and a generational strategy commits the same evaluations.
TEST_F(AsyncDriverTest, TheScreenAppliesAsInTheSerialDriver) {
  SearchConfig cfg = small_config("ga");
  cfg.fitness.max_latency_ms = 5.0;
  DriverOptions opt;
  const auto latency = [](const Genome& g) {
    double width = g.decoder_width;
    for (const auto& b : g.blocks) width += b.width;
    return 1.0 + width / 20.0;  // genome_outcome's
  };
  opt.screen = [&](const Genome& g) {
    return latency(g) > 5.0 ? std::string("latency_ms > max_latency_ms 5") : std::string();
  };
  SerialEvaluator se;
  Journal js(journal("screen-serial"));
  const SearchOutcome serial_out = run_search(cfg, cfg.space, se, js, opt);
  FakeWorkers w(3);
  Journal ja(journal("screen-async"));
  const SearchOutcome out = run_search_async(cfg, cfg.space, w, ja, opt);
  EXPECT_TRUE(out.finished);
  EXPECT_GT(out.screened, 0);
  EXPECT_EQ(out.screened, serial_out.screened);
  EXPECT_EQ(as_set(out.records), as_set(serial_out.records));
  for (const auto& r : out.records) EXPECT_LE(latency(Genome::parse(r.genome)), 5.0) << r.genome;
}

TEST_F(AsyncDriverTest, AsynchronousStrategiesKeepEveryWorkerBusy) {
  for (const char* strategy : {"regularized-evolution", "random"}) {
    const SearchConfig cfg = small_config(strategy);
    FakeWorkers w(3);
    Journal j(journal(std::string("busy-") + strategy));
    const SearchOutcome out = run_search_async(cfg, cfg.space, w, j);
    EXPECT_TRUE(out.finished);
    const int64_t budget = cfg.strategy_params.at("budget").get<int64_t>();
    EXPECT_EQ(static_cast<int64_t>(out.records.size()), budget) << strategy;
    std::set<uint64_t> ids;
    for (const auto& r : out.records) ids.insert(r.candidate_id);
    EXPECT_EQ(ids.size(), out.records.size()) << "each candidate once";
    EXPECT_EQ(w.max_in_flight, 3) << strategy;
    // Once the first population (4) is in, no worker waits idle while the budget lasts:
    // a freed worker gets the next candidate while the others are still busy.
    int checked = 0;
    for (const auto& [results, submitted, idle] : w.at_wait) {
      if (results < 4 || submitted >= budget) continue;
      EXPECT_EQ(idle, 0) << strategy << " after " << results << " results";
      ++checked;
    }
    EXPECT_GE(checked, 5) << strategy;
  }
}

TEST_F(AsyncDriverTest, AJournalMovesBetweenTheSerialAndTheAsyncDriver) {
  const SearchConfig full = small_config("ga");
  const auto expected = serial(full, "ref");
  SearchConfig part = full;
  part.max_evaluations = 7;  // stops within the second generation
  {
    FakeWorkers w(4);
    Journal j(journal("moves"));
    const SearchOutcome out = run_search_async(part, part.space, w, j);
    EXPECT_EQ(out.stop_reason, "max_evaluations");
    EXPECT_EQ(out.records.size(), 7u);
  }
  {
    SerialEvaluator ev;
    Journal j(journal("moves"));
    part.max_evaluations = 12;
    const SearchOutcome out = run_search(part, part.space, ev, j);
    EXPECT_EQ(out.resumed_from, 7);
    EXPECT_EQ(out.records.size(), 12u);
  }
  {
    FakeWorkers w(2);
    Journal j(journal("moves"));
    const SearchOutcome out = run_search_async(full, full.space, w, j);
    EXPECT_TRUE(out.finished);
    EXPECT_EQ(out.resumed_from, 12);
    EXPECT_EQ(as_set(out.records), as_set(expected));
  }
}

TEST_F(AsyncDriverTest, AJobEndedByALostWorkerResumesWithoutLosingACandidate) {
  for (const char* strategy : {"ga", "regularized-evolution"}) {
    const SearchConfig cfg = small_config(strategy);
    const std::string path = journal(std::string("lost-") + strategy);
    size_t committed = 0;
    {
      FakeWorkers w(4);
      w.break_after = 5;  // the 6th wait() finds the job ended
      Journal j(path);
      EXPECT_THROW(run_search_async(cfg, cfg.space, w, j), Error);
      committed = j.all_evaluations().size();
      EXPECT_EQ(committed, 5u);
      const auto state = j.load_latest_state();
      ASSERT_TRUE(state);
      EXPECT_FALSE(state->second.at("strategy").at("outstanding").empty())
          << "the candidates in flight are saved as outstanding";
    }
    FakeWorkers w(4);
    Journal j(path);
    const SearchOutcome out = run_search_async(cfg, cfg.space, w, j);
    EXPECT_TRUE(out.finished) << strategy;
    EXPECT_EQ(out.resumed_from, static_cast<int64_t>(committed));
    std::set<uint64_t> ids;
    for (const auto& r : out.records) ids.insert(r.candidate_id);
    EXPECT_EQ(ids.size(), out.records.size()) << strategy << ": no candidate twice";
    EXPECT_EQ(*ids.rbegin(), ids.size()) << strategy << ": ids 1..n, none lost";
    if (std::string(strategy) == "ga")
      EXPECT_EQ(as_set(out.records), as_set(serial(cfg, "lost-ref")));
    else
      EXPECT_EQ(static_cast<int64_t>(ids.size()), cfg.strategy_params.at("budget").get<int64_t>());
  }
}

TEST_F(AsyncDriverTest, AGenomeProposedWhileInFlightWaitsAndIsReused) {
  // A space of one genome: every proposal after the first repeats it.
  SearchConfig cfg = small_config("random");
  cfg.strategy_params = {{"budget", 5}, {"max_retries", 2}};
  one_genome_space(cfg.space);
  FakeWorkers w(3);
  Journal j(journal("dup"));
  const SearchOutcome out = run_search_async(cfg, cfg.space, w, j);
  ASSERT_EQ(out.records.size(), 5u);
  ASSERT_EQ(w.calls.size(), 1u);
  EXPECT_EQ(w.calls.begin()->second, 1) << "evaluated once, although 3 workers were free";
  EXPECT_EQ(out.reused, 4);
  for (size_t i = 1; i < out.records.size(); ++i)
    EXPECT_EQ(out.records[i].metrics.at("reused_from"), 1);
}

TEST_F(AsyncDriverTest, AStopFinishesTheCandidatesInFlight) {
  const SearchConfig cfg = small_config("random");
  FakeWorkers w(3);
  std::atomic<bool> stop{false};
  DriverOptions opt;
  opt.stop = &stop;
  opt.on_progress = [&](const SearchProgress& p) {
    if (p.done == 2) stop.store(true);
  };
  Journal j(journal("stop"));
  const SearchOutcome out = run_search_async(cfg, cfg.space, w, j, opt);
  EXPECT_EQ(out.stop_reason, "interrupted");
  EXPECT_FALSE(out.finished);
  // 3 submitted at first, one more after the first result; the stop comes at the second:
  // the two still in flight are finished and committed, nothing new is submitted.
  EXPECT_EQ(out.records.size(), 4u);
  EXPECT_EQ(j.all_evaluations().size(), 4u);
  EXPECT_EQ(w.results, 4);
}

// The serial driver's transient-failure handling (search/driver.h), under several workers:
// recorded as transient, answering no duplicate, evaluated again on resume in place of
// the old row; a journal with retries moves between the two drivers.
TEST_F(AsyncDriverTest, TransientFailuresAreRecordedAndEvaluatedAgainOnResume) {
  SearchConfig cfg = small_config("random");
  cfg.strategy_params = {{"budget", 24}};
  const auto flaky = [](const Genome& g) { return g.hash() % 4 == 1; };
  const std::string path = journal("transient");
  std::vector<EvaluationRecord> first;
  {
    FakeWorkers w(3);
    w.down = flaky;
    Journal j(path);
    first = run_search_async(cfg, cfg.space, w, j).records;
  }
  std::map<std::string, int> transient_genomes;
  for (const auto& r : first)
    if (r.transient) {
      EXPECT_EQ(r.status, EvalStatus::Failed);
      EXPECT_EQ(r.reason, "device timed out");
      EXPECT_FALSE(r.metrics.contains("reused_from")) << "a transient failure answers nothing";
      ++transient_genomes[r.genome];
    }
  ASSERT_FALSE(transient_genomes.empty()) << "the fixture should have flaky genomes";
  int transient = 0;
  for (const auto& r : first) {
    transient += r.transient;
    EXPECT_EQ(r.transient, flaky(Genome::parse(r.genome)) && !r.metrics.contains("reused_from"))
        << r.genome;
  }
  // The device is back: the resume evaluates each transient failure again (its genome
  // once, however many rows failed with it), before anything new.
  FakeWorkers w(3);
  SearchOutcome again;
  {
    Journal j(path);
    again = run_search_async(cfg, cfg.space, w, j);
    EXPECT_EQ(j.all_evaluations().size(), first.size() + static_cast<size_t>(transient))
        << "the retries are new rows; nothing is overwritten";
  }
  EXPECT_EQ(again.retried, transient);
  ASSERT_EQ(again.records.size(), first.size());
  for (const auto& [g, n] : transient_genomes) EXPECT_EQ(w.calls[g], 1) << g;
  EXPECT_EQ(w.calls.size(), transient_genomes.size()) << "nothing but the retries";
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(again.records[i].candidate_id, first[i].candidate_id);
    EXPECT_FALSE(again.records[i].transient);
    if (!first[i].transient) continue;
    EXPECT_EQ(again.records[i].status, genome_outcome(Genome::parse(first[i].genome)).status);
    EXPECT_EQ(again.records[i].metrics.at("retry_of"), first[i].row);
  }
  // The serial driver reads the retried run back and finds nothing left to retry.
  SerialEvaluator ev;
  Journal j(path);
  const SearchOutcome third = run_search(cfg, cfg.space, ev, j);
  EXPECT_EQ(third.retried, 0);
  EXPECT_EQ(as_set(third.records), as_set(again.records));
  EXPECT_EQ(as_set(third.records), as_set(serial(cfg, "transient-ref")));
}

TEST_F(AsyncDriverTest, ADuplicateWaitingOnATransientFailureIsEvaluatedItself) {
  // A space of one genome, always down: nothing may be answered from a transient failure.
  SearchConfig cfg = small_config("random");
  cfg.strategy_params = {{"budget", 4}, {"max_retries", 2}};
  one_genome_space(cfg.space);
  FakeWorkers w(3);
  w.down = [](const Genome&) { return true; };
  Journal j(journal("dup-down"));
  const SearchOutcome out = run_search_async(cfg, cfg.space, w, j);
  ASSERT_EQ(out.records.size(), 4u);
  EXPECT_EQ(w.calls.begin()->second, 4) << "each candidate evaluated, none answered";
  EXPECT_EQ(out.reused, 0);
  for (const auto& r : out.records) EXPECT_TRUE(r.transient);
}

TEST_F(AsyncDriverTest, AProgrammingErrorOnAWorkerStopsTheSearchNamingTheCandidate) {
  const SearchConfig cfg = small_config("random");
  FakeWorkers w(3);
  w.bug_id = 5;
  const std::string path = journal("bug");
  std::string message;
  size_t committed = 0;
  {
    Journal j(path);
    try {
      run_search_async(cfg, cfg.space, w, j);
      ADD_FAILURE() << "no error";
    } catch (const std::logic_error& e) {
      message = e.what();
    }
    committed = j.all_evaluations().size();
  }
  EXPECT_NE(message.find("search: candidate 5 ("), std::string::npos) << message;
  EXPECT_NE(message.find("): internal error std::out_of_range: map::at; this is a bug in dalnas"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("the journal keeps the " + std::to_string(committed) + " evaluations"),
            std::string::npos)
      << message;
  // Fixed, it resumes from there and evaluates candidate 5.
  FakeWorkers fixed(3);
  Journal j(path);
  const SearchOutcome out = run_search_async(cfg, cfg.space, fixed, j);
  EXPECT_TRUE(out.finished);
  EXPECT_EQ(out.resumed_from, static_cast<int64_t>(committed));
  bool five = false;
  for (const auto& r : out.records) five = five || r.candidate_id == 5;
  EXPECT_TRUE(five);
}

}  // namespace
}  // namespace dalnas
