// Rank 0's cost per result in a distributed search (docs/scale.md): the asynchronous
// search loop (search/async_driver.h) with workers that answer at once, so that the wall
// time per result is rank 0's own work: propose, journal lookup, submit, Strategy::observe,
// the strategy's state as JSON and the journal commit (SQLite, WAL, synchronous = FULL).
// No MPI and no training: message costs are measured by `dalnas search --evaluator mpi`
// itself (<run>/mpi-stats.json).
//
//   build/bench/rank0_cost [--evaluations N] [--workers W] [--strategy NAME] [--dir DIR]
//
// Prints the mean cost per result in each tenth of the run (the state grows with the
// genomes seen, so the cost grows with the evaluations done) and the split between commit
// (observe + state + journal) and the rest.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_args.h"
#include "core/steady_clock.h"
#include "search/async_driver.h"

namespace {

using namespace dalnas;
namespace fs = std::filesystem;

// W workers that finish in submission order at once; metrics from the genome alone.
class InstantWorkers : public AsyncEvaluator {
 public:
  explicit InstantWorkers(int n) : n_(n) {}
  int workers() const override { return n_; }
  int idle() const override { return n_ - static_cast<int>(flying_.size()); }
  void submit(const Candidate& c, const std::vector<EvaluationRecord>&) override {
    flying_.push_back(c);
  }
  std::pair<uint64_t, EvalOutcome> wait() override {
    const Candidate c = flying_.front();
    flying_.erase(flying_.begin());
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
                 {"energy_mj", width / 10},
                 {"miou", std::min(0.99, 0.4 + std::log1p(width) / 20.0)},
                 {"epochs", 6},
                 {"fidelity", "full"},
                 {"train_s", 12.5},
                 {"eval_s", 1.5}};
    return {c.id, o};
  }

 private:
  int n_;
  std::vector<Candidate> flying_;
};

}  // namespace

int run_bench(int argc, char** argv) {
  int evaluations = 2000, workers = 100;
  std::string strategy = "regularized-evolution", dir = "/tmp/dalnas-rank0-cost";
  bench::parse_pairs(argc, argv,
                     "usage: rank0_cost [--evaluations N] [--workers N] [--strategy S] [--dir D]",
                     [&](const std::string& k, const std::string& v) {
                       if (k == "--evaluations")
                         evaluations = bench::parse_int(k, v, 1);
                       else if (k == "--workers")
                         workers = bench::parse_int(k, v, 1);
                       else if (k == "--strategy")
                         strategy = v;
                       else if (k == "--dir")
                         dir = v;
                       else
                         return false;
                       return true;
                     });
  SearchConfig cfg = SearchConfig::defaults();
  cfg.strategy = strategy;
  cfg.time_budget_s = 0;
  cfg.space.max_params = 0;
  if (strategy == "ga" || strategy == "nsga2")
    cfg.strategy_params = {{"population", workers}, {"generations", 1000000}};
  else if (strategy == "regularized-evolution")
    cfg.strategy_params = {{"population", workers}, {"sample", 10}, {"budget", evaluations}};
  else
    cfg.strategy_params = {{"budget", evaluations}};
  cfg.max_evaluations = evaluations;
  fs::remove_all(dir);
  fs::create_directories(dir);
  Journal journal(dir + "/journal.sqlite");
  InstantWorkers w(workers);
  AsyncStats stats;
  std::vector<double> at;  // wall time of each commit
  DriverOptions opt;
  opt.on_progress = [&](const SearchProgress&) { at.push_back(steady_now_s()); };
  const double t0 = steady_now_s();
  run_search_async(cfg, cfg.space, w, journal, opt, &stats);
  const double total = steady_now_s() - t0;
  std::printf("rank 0 cost per result: %s, %d workers, %d evaluations (journal %s)\n",
              strategy.c_str(), workers, evaluations, dir.c_str());
  std::printf("%-16s %14s\n", "results", "us per result");
  const size_t n = at.size(), tenth = std::max<size_t>(1, n / 10);
  for (size_t a = 0; a < n; a += tenth) {
    const size_t b = std::min(n, a + tenth);
    const double start = a == 0 ? t0 : at[a - 1];
    std::printf("%6zu..%-8zu %14.0f\n", a + 1, b, (at[b - 1] - start) / (b - a) * 1e6);
  }
  const double c = static_cast<double>(stats.committed);
  std::printf(
      "mean %.0f us per result (%.2f s in all); commit %.0f us mean (observe %.0f, "
      "state JSON %.0f, journal %.0f), %.0f us max; submit (propose + lookup) %.0f us "
      "mean\n",
      total / n * 1e6, total, stats.commit_us / c, stats.observe_us / c, stats.state_us / c,
      stats.journal_us / c, stats.max_commit_us,
      stats.submit_us / std::max<int64_t>(1, stats.submitted));
  fs::remove_all(dir);
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run_bench(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank0_cost: %s\n", e.what());
    return 1;
  }
}
