// Search strategies and evaluation shortcuts, measured with real candidate training.
//
//   build/bench/search_strategies [--evaluations N] [--seeds S] [--seed-from K]
//                                 [--strategies ga,regularized-evolution,random]
//                                 [--no-throughput] [--json runs.json] [--device NAME]
//                                 [--threads T]
//   build/bench/search_strategies --merge a.json,b.json
//
// 1. Best fitness reached per evaluation spent by ga, regularized-evolution and random over
//    S seeds (K .. K+S-1; mean and standard error of the best-so-far curve), same budget,
//    same data; then, for each strategy against random, how many seeds it ended above
//    random's seed of the same number and one-sided p-values of exact permutation tests on
//    the final best fitness (whether the difference could be the seeds' chance): unpaired
//    (relabelling the pooled values) and paired by seed (sign flips of the per-seed
//    differences; the same seed gives every strategy the same first population).
//    --json keeps every run's curve; --merge prints the table of several such files (seeds
//    run side by side: one process per core with its own --seed-from).
// 2. Candidate evaluations per hour with and without weight inheritance, multi-fidelity and
//    the rung schedule (ga, seed 1), with the best fitness each reached.
// Target: host-cpu (devices/host-cpu.toml) when present, else myriadx. Data: 8 synthetic
// scenes of 128 x 128, 64-px chips, 4 epochs per candidate (2 at low fidelity).
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "core/atomic_file.h"
#include "core/config_file.h"
#include "core/csv.h"
#include "core/error.h"
#include "core/permutation_test.h"
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
  int seed_from = 1;
  std::vector<std::string> strategies = {"ga", "regularized-evolution", "random"};
  bool throughput = true;
  std::string json;
  std::vector<std::string> merge;
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
             {"tiling", {{"size", 64}, {"stride", 32}}},
             // a seed draws its own split of the scenes as well (the runs in the README)
             {"split", {{"seed", seed}}}};
  return c;
}

struct RunResult {
  uint64_t seed = 0;
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

nlohmann::json to_json(const RunResult& r) {
  nlohmann::json curve = nlohmann::json::array();
  for (double x : r.best_so_far)
    curve.push_back(std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr));
  return {
      {"seed", r.seed}, {"best_so_far", curve}, {"seconds", r.seconds}, {"evaluated", r.evaluated}};
}

RunResult run_from_json(const nlohmann::json& j) {
  RunResult r;
  r.seed = j.at("seed").get<uint64_t>();
  for (const auto& x : j.at("best_so_far"))
    r.best_so_far.push_back(x.is_number() ? x.get<double>() : std::nan(""));
  r.seconds = j.at("seconds").get<double>();
  r.evaluated = j.at("evaluated").get<int>();
  return r;
}

using Runs = std::map<std::string, std::vector<RunResult>>;

// Part 1's table: the mean best-so-far curve (± standard error) of every strategy, then
// each strategy against random.
void print_curves(const std::vector<std::string>& strategies, const Runs& runs, int evaluations) {
  std::printf("\nbest fitness so far after N evaluations: mean over seeds (standard error)\n%-24s",
              "strategy");
  std::vector<int> marks;
  const int step = evaluations <= 40 ? 5 : evaluations <= 100 ? 10 : 20;
  for (int n = step; n <= evaluations; n += step) marks.push_back(n);
  if (marks.empty() || marks.back() != evaluations) marks.push_back(evaluations);
  for (int n : marks) std::printf(" %16d", n);
  std::printf("  seeds\n");
  const auto final_of = [](const std::vector<RunResult>& rs) {
    std::map<uint64_t, double> out;
    for (const auto& r : rs)
      if (!r.best_so_far.empty()) out[r.seed] = r.best_so_far.back();
    return out;
  };
  for (const auto& s : strategies) {
    if (!runs.count(s)) continue;
    std::printf("%-24s", s.c_str());
    for (int n : marks) {
      std::vector<double> at;
      for (const auto& r : runs.at(s))
        if (static_cast<int>(r.best_so_far.size()) >= n) at.push_back(r.best_so_far[n - 1]);
      const double se = at.size() > 1 ? stdev(at) / std::sqrt(static_cast<double>(at.size())) : 0;
      std::printf("  %7.4f (%.4f)", mean(at), se);
    }
    std::printf("  %5zu\n", runs.at(s).size());
  }
  if (!runs.count("random")) return;
  const auto rnd = final_of(runs.at("random"));
  std::printf("\nfinal best fitness against random (after %d evaluations)\n", evaluations);
  std::printf("%-24s %10s %10s %12s %12s %12s\n", "strategy", "mean", "- random", "seeds above",
              "p (perm.)", "p (paired)");
  for (const auto& s : strategies) {
    if (s == "random" || !runs.count(s)) continue;
    const auto mine = final_of(runs.at(s));
    std::vector<double> a, b, d;
    int above = 0, paired = 0;
    for (const auto& [seed, v] : mine) {
      a.push_back(v);
      if (rnd.count(seed)) ++paired, above += v > rnd.at(seed), d.push_back(v - rnd.at(seed));
    }
    for (const auto& [seed, v] : rnd) b.push_back(v);
    std::printf("%-24s %10.4f %+10.4f %8d/%-3d %12.3f %12.3f\n", s.c_str(), mean(a),
                mean(a) - mean(b), above, paired, permutation_p(a, b), paired_permutation_p(d));
  }
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
    else if (a == "--seed-from")
      o.seed_from = std::stoi(next());
    else if (a == "--strategies")
      o.strategies = split_csv_line(next());
    else if (a == "--no-throughput")
      o.throughput = false;
    else if (a == "--json")
      o.json = next();
    else if (a == "--merge")
      o.merge = split_csv_line(next());
    else if (a == "--device")
      o.device = next();
    else if (a == "--threads")
      o.threads = std::stoi(next());
    else {
      std::fprintf(stderr,
                   "usage: search_strategies [--evaluations N] [--seeds S] [--seed-from K] "
                   "[--strategies a,b] [--no-throughput] [--json runs.json] [--device NAME] "
                   "[--threads T]\n       search_strategies --merge a.json,b.json\n");
      return 2;
    }
  }
  if (o.evaluations < 1 || o.seeds < 1 || o.seed_from < 1) {
    std::fprintf(stderr, "search_strategies: --evaluations, --seeds and --seed-from: at least 1\n");
    return 2;
  }
  if (!o.merge.empty()) {  // the curves of several --json files, one table
    try {
      Runs runs;
      std::vector<std::string> order;
      int evaluations = 0;
      for (const auto& path : o.merge) {
        const nlohmann::json in = load_config_file(path);
        if (!in.is_object() || !in.contains("runs") || !in.contains("evaluations"))
          throw Error(path + ": not a search_strategies --json file (no 'runs')");
        const int e = in.at("evaluations").get<int>();
        if (evaluations && e != evaluations)
          throw Error(path + ": " + std::to_string(e) + " evaluations per run, the first file " +
                      std::to_string(evaluations));
        evaluations = e;
        for (const auto& [s, list] : in.at("runs").items()) {
          if (!runs.count(s)) order.push_back(s);
          for (const auto& r : list) runs[s].push_back(run_from_json(r));
        }
      }
      print_curves(order, runs, evaluations);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "search_strategies: error: %s\n", e.what());
      return 1;
    }
    return 0;
  }
  if (o.device.empty())
    o.device = fs::exists(devices_dir() + "/host-cpu.toml") ? "host-cpu" : "myriadx";
  if (o.threads > 0) torch::set_num_threads(o.threads);
  const std::string tmp =
      (fs::temp_directory_path() / ("dalnas-bench-search-" + std::to_string(::getpid()))).string();
  std::printf("search strategies on %s: %d evaluations per run, seeds %d..%d, %d threads\n",
              o.device.c_str(), o.evaluations, o.seed_from, o.seed_from + o.seeds - 1,
              torch::get_num_threads());

  // 1. Best fitness per evaluation spent.
  Runs runs;
  for (const auto& s : o.strategies)
    for (int seed = o.seed_from; seed < o.seed_from + o.seeds; ++seed) {
      RunResult r = run(base_config(o, s, static_cast<uint64_t>(seed)), tmp);
      r.seed = static_cast<uint64_t>(seed);
      runs[s].push_back(r);
      std::fprintf(stderr, "  %s seed %d: best %.4f in %.0f s\n", s.c_str(), seed,
                   r.best_so_far.back(), r.seconds);
      if (!o.json.empty()) {  // after every run: a long benchmark stopped early keeps them
        nlohmann::json all = nlohmann::json::object();
        for (const auto& [name, list] : runs)
          for (const auto& x : list) all[name].push_back(to_json(x));
        write_file_atomic(
            o.json,
            nlohmann::json({{"evaluations", o.evaluations}, {"device", o.device}, {"runs", all}})
                    .dump(1) +
                "\n");
      }
    }
  print_curves(o.strategies, runs, o.evaluations);
  if (!o.throughput) return 0;

  // 2. Throughput with and without the shortcuts.
  std::printf("\nga, seed 1, %d evaluations: evaluations per hour\n", o.evaluations);
  std::printf("%-34s %12s %10s %10s\n", "setting", "evals/hour", "seconds", "best");
  struct Setting {
    const char* name;
    bool inherit, multi, rungs;
  };
  for (const Setting& st : {Setting{"from scratch, full epochs", false, false, false},
                            Setting{"weight inheritance", true, false, false},
                            Setting{"multi-fidelity", false, true, false},
                            Setting{"inheritance + multi-fidelity", true, true, false},
                            Setting{"rungs 1,2,4 (eta 3)", false, false, true},
                            Setting{"inheritance + rungs", true, false, true}}) {
    SearchConfig c = base_config(o, "ga", 1);
    c.evaluation.inheritance = st.inherit;
    c.evaluation.multi_fidelity = st.multi;
    if (st.rungs) {
      c.evaluation.schedule = "rungs";
      c.evaluation.rungs = {1, 2, 4};
      c.evaluation.eta = 3;
      c.evaluation.rung_chip_fraction = {1, 1, 1};
    }
    const RunResult r = run(c, tmp);
    std::printf("%-34s %12.0f %10.1f %10.4f\n", st.name, 3600.0 * r.evaluated / r.seconds,
                r.seconds, r.best_so_far.back());
  }
  return 0;
}
