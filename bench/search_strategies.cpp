// Search strategies and evaluation shortcuts, measured with real candidate training.
//
//   build/bench/search_strategies [--evaluations N] [--seeds S] [--device NAME] [--threads T]
//
// 1. Best fitness reached per evaluation spent by ga, regularized-evolution and random over
//    S seeds (mean and spread of the best-so-far curve), same budget, same data.
// 2. Candidate evaluations per hour with and without weight inheritance and multi-fidelity
//    (ga, seed 1), with the best fitness each reached.
// Target: host-cpu (devices/host-cpu.toml) when present, else myriadx. Data: 8 synthetic
// scenes of 128 x 128, 64-px chips, 4 epochs per candidate (2 at low fidelity).
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "device/profile.h"
#include "eval/candidate_evaluator.h"
#include "nn/describe.h"
#include "search/driver.h"

namespace {

using namespace dalnas;
namespace fs = std::filesystem;

struct Options {
  int evaluations = 30;
  int seeds = 3;
  std::string device;
  int threads = 0;
};

SearchConfig base_config(const Options& o, const std::string& strategy, uint64_t seed) {
  SearchConfig c = SearchConfig::defaults();
  c.strategy = strategy;
  c.seed = seed;
  c.device = o.device;
  c.time_budget_s = 0;
  c.max_evaluations = o.evaluations;
  c.input_h = c.input_w = 128;
  if (strategy == "ga")
    c.strategy_params = {{"population", 10}, {"generations", 100}, {"newcomers", 2}};
  else if (strategy == "regularized-evolution")
    c.strategy_params = {{"population", 10}, {"sample", 3}, {"budget", 100000}};
  else
    c.strategy_params = {{"budget", 100000}};
  c.evaluation.epochs = 4;
  c.evaluation.low_epochs = 2;
  c.evaluation.inherit_epochs = 2;
  c.evaluation.final_epochs = 0;
  c.train = {{"data", "synthetic"},
             {"synthetic", {{"scenes", 8}, {"height", 128}, {"width", 128}}},
             {"precision", "fp16-aligned"},
             {"patience", 0},
             {"lr", 0.01},
             {"eval_tile", 128},
             {"eval_overlap", 0},
             {"tiling", {{"size", 64}, {"stride", 32}}}};
  return c;
}

struct RunResult {
  std::vector<double> best_so_far;  // after each evaluation (NaN until a feasible one)
  double seconds = 0;
  int evaluated = 0;  // trained (not answered from the journal)
};

RunResult run(const SearchConfig& cfg, const std::string& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  CandidateEvaluator ev(cfg, dir);
  SearchSpace space = cfg.space;
  const int bands = ev.bands();
  space.param_counter = [bands](const Genome& g) { return describe(g, bands, 64, 64).params; };
  Journal journal(dir + "/journal.sqlite");
  const auto t0 = std::chrono::steady_clock::now();
  const SearchOutcome out = run_search(cfg, space, ev, journal);
  RunResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double best = std::nan("");
  for (const auto& rec : out.records) {
    if (rec.status == EvalStatus::Ok && rec.feasible && (std::isnan(best) || rec.fitness > best))
      best = rec.fitness;
    r.best_so_far.push_back(best);
    r.evaluated += rec.metrics.contains("reused_from") ? 0 : 1;
  }
  fs::remove_all(dir);
  return r;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += x, ++n;
  return n ? s / n : std::nan("");
}

double stdev(const std::vector<double>& v) {
  const double m = mean(v);
  double s = 0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += (x - m) * (x - m), ++n;
  return n > 1 ? std::sqrt(s / (n - 1)) : 0.0;
}

}  // namespace

int main(int argc, char** argv) {
  tune_allocator();
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "search_strategies: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--evaluations")
      o.evaluations = std::stoi(next());
    else if (a == "--seeds")
      o.seeds = std::stoi(next());
    else if (a == "--device")
      o.device = next();
    else if (a == "--threads")
      o.threads = std::stoi(next());
    else {
      std::fprintf(stderr,
                   "usage: search_strategies [--evaluations N] [--seeds S] [--device NAME] "
                   "[--threads T]\n");
      return 2;
    }
  }
  if (o.device.empty())
    o.device = fs::exists(devices_dir() + "/host-cpu.toml") ? "host-cpu" : "myriadx";
  if (o.threads > 0) torch::set_num_threads(o.threads);
  const std::string tmp = (fs::temp_directory_path() / "dalnas-bench-search").string();
  std::printf("search strategies on %s: %d evaluations per run, %d seeds, %d threads\n",
              o.device.c_str(), o.evaluations, o.seeds, torch::get_num_threads());

  // 1. Best fitness per evaluation spent.
  const std::vector<std::string> strategies = {"ga", "regularized-evolution", "random"};
  std::map<std::string, std::vector<RunResult>> runs;
  for (const auto& s : strategies)
    for (int seed = 1; seed <= o.seeds; ++seed) {
      runs[s].push_back(run(base_config(o, s, static_cast<uint64_t>(seed)), tmp));
      std::fprintf(stderr, "  %s seed %d: best %.4f in %.0f s\n", s.c_str(), seed,
                   runs[s].back().best_so_far.back(), runs[s].back().seconds);
    }
  std::printf("\nbest fitness so far (mean over seeds) after N evaluations\n%-24s", "strategy");
  std::vector<int> marks;
  for (int n = 5; n <= o.evaluations; n += 5) marks.push_back(n);
  if (marks.empty() || marks.back() != o.evaluations) marks.push_back(o.evaluations);
  for (int n : marks) std::printf(" %7d", n);
  std::printf("   final (mean ± std)\n");
  for (const auto& s : strategies) {
    std::printf("%-24s", s.c_str());
    for (int n : marks) {
      std::vector<double> at;
      for (const auto& r : runs[s])
        if (static_cast<int>(r.best_so_far.size()) >= n) at.push_back(r.best_so_far[n - 1]);
      std::printf(" %7.4f", mean(at));
    }
    std::vector<double> fin;
    for (const auto& r : runs[s]) fin.push_back(r.best_so_far.back());
    std::printf("   %.4f ± %.4f\n", mean(fin), stdev(fin));
  }

  // 2. Throughput with and without the shortcuts.
  std::printf("\nga, seed 1, %d evaluations: evaluations per hour\n", o.evaluations);
  std::printf("%-34s %12s %10s %10s\n", "setting", "evals/hour", "seconds", "best");
  struct Setting {
    const char* name;
    bool inherit, multi;
  };
  for (const Setting& st :
       {Setting{"from scratch, full epochs", false, false},
        Setting{"weight inheritance", true, false}, Setting{"multi-fidelity", false, true},
        Setting{"inheritance + multi-fidelity", true, true}}) {
    SearchConfig c = base_config(o, "ga", 1);
    c.evaluation.inheritance = st.inherit;
    c.evaluation.multi_fidelity = st.multi;
    const RunResult r = run(c, tmp);
    std::printf("%-34s %12.0f %10.1f %10.4f\n", st.name, 3600.0 * r.evaluated / r.seconds,
                r.seconds, r.best_so_far.back());
  }
  return 0;
}
