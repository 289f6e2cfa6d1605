// Proxy fidelity: how well each cheap score a search can use ranks networks the way full
// training does (issue 11 §1).
//
//   build/bench/proxy_fidelity [--config search.toml] [--genomes N] [--seed S]
//                              [--full-epochs E] [--levels 1,2,4,8] [--chip-fraction F]
//                              [--no-small-chips] [--threads T] [--json out.json]
//
// N genomes (default 24) are sampled from the configuration's search space (seeded; the
// built-in `dalnas search` default without --config: synthetic data). Each is trained:
//   full       from scratch for E epochs (default 30, `dalnas train`'s default) with the
//              configuration's [train] table, one learning-rate schedule: the reference,
//              scored as the device mIoU on the val scenes (the search evaluator's device
//              evaluation, CandidateEvaluator with the configuration's device profile);
//   rungs      the search's schedule "rungs" with rungs = the levels: the device mIoU after
//              each level's epochs of one schedule of the last level's length, continuing
//              from the level before (what a candidate stopped at that rung scored);
//   chips xF   the same with rung_chip_fraction = F at every level (default 0.5; 0: skip);
//   small      the same with chips of half the side (tiling size and stride halved);
//   zero-cost  grad_norm, synflow and naswot at initialisation (eval/zero_cost.h).
// It prints Kendall's tau and Spearman's rho of every level's scores against the full
// scores (core/rank_correlation.h) and the mean seconds per genome each level costs (a
// level's seconds include the levels below it, as a candidate pays them). Not measured:
// inherited weights as a level (needs a trained parent per genome).
//
// The lead's measurement on sen2ships (hours on 2 cores):
//   build/bench/proxy_fidelity --config configs/search-sen2ships.toml --genomes 24
//       --levels 1,2,4,8 --full-epochs 30 --json proxy-fidelity.json
// A quick check on synthetic data (a couple of minutes):
//   build/bench/proxy_fidelity --genomes 4 --full-epochs 2 --levels 1,2
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "core/atomic_file.h"
#include "core/config_file.h"
#include "core/error.h"
#include "core/rank_correlation.h"
#include "core/rng.h"
#include "eval/candidate_evaluator.h"
#include "eval/zero_cost.h"
#include "nn/describe.h"
#include "train/experiment.h"

namespace {

using namespace dalnas;
namespace fs = std::filesystem;

struct Options {
  std::string config;
  int genomes = 24;
  uint64_t seed = 1;
  int full_epochs = 0;  // 0: TrainConfig's default epochs (`dalnas train`'s)
  std::vector<int> levels = {1, 2, 4, 8};
  double chip_fraction = 0.5;
  bool small_chips = true;
  int threads = 0;
  std::string json;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "proxy_fidelity: %s\nusage: proxy_fidelity [--config search.toml] [--genomes N] "
               "[--seed S] [--full-epochs E] [--levels 1,2,4,8] [--chip-fraction F] "
               "[--no-small-chips] [--threads T] [--json out.json]\n",
               why.c_str());
  std::exit(2);
}

std::vector<int> parse_levels(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1) usage("--levels: '" + s + "' (e.g. 1,2,4,8)");
    if (!out.empty() && v <= out.back()) usage("--levels: must be strictly increasing");
    out.push_back(static_cast<int>(v));
  }
  if (out.empty()) usage("--levels: empty");
  return out;
}

// Settings every evaluator here shares: no inheritance, no checkpoints kept, no constraints
// (accuracy is what is ranked), no time limits.
SearchConfig bench_config(const SearchConfig& base, int threads) {
  SearchConfig c = base;
  c.evaluation.inheritance = false;
  c.evaluation.keep_checkpoints = false;
  c.evaluation.measure_latency = false;
  c.evaluation.split = "val";
  c.fitness.max_params = c.fitness.max_latency_ms = 0;
  c.fitness.max_peak_memory_bytes = c.fitness.max_energy_mj = 0;
  if (threads > 0) c.train["threads"] = threads;
  return c;
}

SearchConfig full_config(const SearchConfig& base, int epochs) {
  SearchConfig c = base;
  c.evaluation.schedule = "two-stage";
  c.evaluation.multi_fidelity = false;
  c.evaluation.epochs = epochs;
  return c;
}

SearchConfig rung_config(const SearchConfig& base, const std::vector<int>& levels,
                         double fraction) {
  SearchConfig c = base;
  c.evaluation.schedule = "rungs";
  c.evaluation.rungs = levels;
  c.evaluation.epochs = levels.back();
  c.evaluation.eta = 100;  // nobody before: every genome climbs every rung
  c.evaluation.rung_chip_fraction.assign(levels.size(), fraction);
  c.evaluation.early_stop = false;
  return c;
}

struct Level {
  std::string name;
  std::vector<double> score;    // per genome (NaN: failed)
  std::vector<double> seconds;  // per genome
};

double mean_finite(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += x, ++n;
  return n ? s / n : std::nan("");
}

}  // namespace

int main(int argc, char** argv) {
  tune_allocator();
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--config")
      o.config = next();
    else if (a == "--genomes")
      o.genomes = std::stoi(next());
    else if (a == "--seed")
      o.seed = std::stoull(next());
    else if (a == "--full-epochs")
      o.full_epochs = std::stoi(next());
    else if (a == "--levels")
      o.levels = parse_levels(next());
    else if (a == "--chip-fraction")
      o.chip_fraction = std::stod(next());
    else if (a == "--no-small-chips")
      o.small_chips = false;
    else if (a == "--threads")
      o.threads = std::stoi(next());
    else if (a == "--json")
      o.json = next();
    else
      usage("unknown argument " + a);
  }
  if (o.genomes < 2) usage("--genomes: at least 2 (a rank correlation needs pairs)");
  if (o.full_epochs == 0) {
    const TrainConfig train_defaults;
    o.full_epochs = train_defaults.epochs;
  }
  if (o.full_epochs < 1) usage("--full-epochs: at least 1");
  if (o.chip_fraction < 0 || o.chip_fraction > 1) usage("--chip-fraction: within 0..1");
  try {
    SearchConfig base = o.config.empty()
                            ? SearchConfig::defaults()
                            : SearchConfig::from_json(load_config_file(o.config), o.config);
    base.seed = o.seed;
    base = bench_config(base, o.threads);
    if (o.threads > 0) torch::set_num_threads(o.threads);
    const std::string dir =
        (fs::temp_directory_path() / ("dalnas-proxy-fidelity-" + std::to_string(::getpid())))
            .string();
    fs::create_directories(dir);

    // The data once, shared by every evaluator of the same data settings.
    const auto data = prepare_search_data(full_config(base, o.full_epochs));
    const PreparedData& pd = prepared_data(*data);
    CandidateEvaluator full(full_config(base, o.full_epochs), dir + "/full", {}, data);
    CandidateEvaluator rungs(rung_config(base, o.levels, 1.0), dir + "/rungs", {}, data);
    std::unique_ptr<CandidateEvaluator> fewer, small;
    if (o.chip_fraction > 0 && o.chip_fraction < 1)
      fewer = std::make_unique<CandidateEvaluator>(rung_config(base, o.levels, o.chip_fraction),
                                                   dir + "/fewer", nullptr, data);
    if (o.small_chips) {
      SearchConfig sc = rung_config(base, o.levels, 1.0);
      const nlohmann::json tiling = full.train_config().at("tiling");
      sc.train["tiling"] = tiling;
      sc.train["tiling"]["size"] = std::max(8, tiling.at("size").get<int>() / 2);
      sc.train["tiling"]["stride"] = std::max(8, tiling.at("stride").get<int>() / 2);
      small = std::make_unique<CandidateEvaluator>(sc, dir + "/small");
    }

    // The genomes.
    SearchSpace space = base.space;
    const int bands = pd.bands;
    space.in_bands = bands;
    space.param_counter = [bands](const Genome& g) { return describe(g, bands, 64, 64).params; };
    Rng rng(o.seed);
    std::vector<Genome> genomes;
    std::set<std::string> seen;
    for (int tries = 0; static_cast<int>(genomes.size()) < o.genomes && tries < 100 * o.genomes;
         ++tries) {
      const Genome g = space.sample(rng);
      if (seen.insert(g.str()).second) genomes.push_back(g);
    }
    const size_t n = genomes.size();
    std::printf("proxy_fidelity: %zu genomes (seed %llu), full = %d epochs, levels", n,
                static_cast<unsigned long long>(o.seed), o.full_epochs);
    for (int l : o.levels) std::printf(" %d", l);
    std::printf(", data %s, device %s\n", full.train_config().at("data").dump().c_str(),
                base.device.c_str());

    // With the last level equal to the full epochs, the rungs' last score is the full score
    // (one schedule, continued exactly: train/train_state.h), so it is not trained twice.
    const bool full_is_last_rung = o.levels.back() == o.full_epochs;
    std::vector<Level> levels;
    const auto level = [&](const std::string& name) -> Level& {
      for (auto& l : levels)
        if (l.name == name) return l;
      levels.push_back(
          Level{name, std::vector<double>(n, std::nan("")), std::vector<double>(n, std::nan(""))});
      return levels.back();
    };
    std::vector<double> full_score(n, std::nan("")), full_seconds(n, std::nan(""));
    nlohmann::json raw = nlohmann::json::array();
    const auto record_rungs = [&](const EvalOutcome& out, const std::string& prefix, size_t i) {
      if (out.status != EvalStatus::Ok) return;
      const auto& miou = out.metrics.at("rung_miou");
      const auto& secs = out.metrics.at("rung_s");
      for (size_t k = 0; k < miou.size(); ++k) {
        if (full_is_last_rung && prefix == "rung " && k + 1 == o.levels.size()) continue;
        Level& l = level(prefix + std::to_string(o.levels[k]) + " ep");
        l.score[i] = miou[k].is_number() ? miou[k].get<double>() : std::nan("");
        l.seconds[i] = secs[k].get<double>();
      }
    };
    const auto evaluate_genome = [&](size_t i) {
      const auto t0 = std::chrono::steady_clock::now();
      Candidate c;
      c.id = i + 1;
      c.genome = genomes[i];
      nlohmann::json row = {{"genome", c.genome.str()}};
      if (!full_is_last_rung) {
        const EvalOutcome f = full.evaluate(c, {});
        row["full"] = {
            {"status", to_string(f.status)}, {"reason", f.reason}, {"metrics", f.metrics}};
        if (f.status == EvalStatus::Ok) {
          full_score[i] = f.metrics.at("miou").get<double>();
          full_seconds[i] =
              f.metrics.at("train_s").get<double>() + f.metrics.at("eval_s").get<double>();
        }
      }
      const EvalOutcome r = rungs.evaluate(c, {});
      row["rungs"] = r.metrics;
      record_rungs(r, "rung ", i);
      if (full_is_last_rung && r.status == EvalStatus::Ok) {
        full_score[i] = r.metrics.at("miou").get<double>();
        full_seconds[i] = r.metrics.at("rung_s").back().get<double>();
      } else if (full_is_last_rung) {
        row["full"] = {{"status", to_string(r.status)}, {"reason", r.reason}};
      }
      if (fewer) {
        const EvalOutcome x = fewer.get()->evaluate(c, {});
        row["fewer_chips"] = x.metrics;
        char p[48];
        std::snprintf(p, sizeof p, "chips x%.2g, ", o.chip_fraction);
        record_rungs(x, p, i);
      }
      if (small) {
        const EvalOutcome x = small->evaluate(c, {});
        row["small_chips"] = x.metrics;
        record_rungs(x, "half-side chips, ", i);
      }
      ZeroCostScores z;
      z.grad_norm = z.synflow = z.naswot = std::nan("");
      try {
        z = zero_cost_scores(c.genome, bands, pd.train, o.seed);
      } catch (const c10::Error& e) {
        std::printf("  zero-cost scores of %s failed: %s\n", c.genome.str().c_str(),
                    e.what_without_backtrace());
      }
      for (const auto& [name, v] :
           std::vector<std::pair<std::string, double>>{{"zero-cost grad_norm", z.grad_norm},
                                                       {"zero-cost synflow", z.synflow},
                                                       {"zero-cost naswot", z.naswot}}) {
        Level& l = level(name);
        l.score[i] = v;
        l.seconds[i] = z.seconds / 3;  // the three are computed together
      }
      row["zero_cost"] = {{"grad_norm", z.grad_norm},
                          {"synflow", z.synflow},
                          {"naswot", z.naswot},
                          {"seconds", z.seconds}};
      raw.push_back(row);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("  %2zu/%zu %-70s full mIoU %.4f  (%.0f s)\n", i + 1, n, c.genome.str().c_str(),
                  full_score[i], s);
      std::fflush(stdout);
    };

    // The table of every level against the full scores so far; printed at the end, and
    // written with the raw results after every genome (a long run stopped early keeps them).
    const auto report = [&](bool print, size_t done) {
      if (print) {
        std::printf("\n%-34s %8s %8s %10s %6s\n", "level", "tau", "rho", "s/genome", "pairs");
        std::printf("%-34s %8s %8s %10.1f %6zu\n",
                    ("full (" + std::to_string(o.full_epochs) + " ep)").c_str(), "1", "1",
                    mean_finite(full_seconds), done);
      }
      nlohmann::json table = nlohmann::json::array();
      for (const Level& l : levels) {
        std::vector<double> a, b;
        for (size_t i = 0; i < done; ++i)
          if (std::isfinite(l.score[i]) && std::isfinite(full_score[i])) {
            a.push_back(l.score[i]);
            b.push_back(full_score[i]);
          }
        const double tau = a.size() >= 2 ? kendall_tau(a, b) : std::nan("");
        const double rho = a.size() >= 2 ? spearman_rho(a, b) : std::nan("");
        const double secs = mean_finite(l.seconds);
        if (print)
          std::printf("%-34s %8.3f %8.3f %10.2f %6zu\n", l.name.c_str(), tau, rho, secs, a.size());
        table.push_back({{"level", l.name},
                         {"kendall_tau", std::isfinite(tau) ? nlohmann::json(tau) : nullptr},
                         {"spearman_rho", std::isfinite(rho) ? nlohmann::json(rho) : nullptr},
                         {"seconds_per_genome", secs},
                         {"pairs", a.size()}});
      }
      if (!o.json.empty()) {
        const nlohmann::json out = {{"genomes", raw},
                                    {"done", done},
                                    {"table", table},
                                    {"full_epochs", o.full_epochs},
                                    {"full_is_last_rung", full_is_last_rung},
                                    {"levels", o.levels},
                                    {"seed", o.seed},
                                    {"config", o.config.empty() ? "built-in default" : o.config}};
        write_file_atomic(o.json, out.dump(2) + "\n");
        if (print) std::printf("\nraw results: %s\n", o.json.c_str());
      }
    };
    for (size_t i = 0; i < n; ++i) evaluate_genome(i), report(false, i + 1);
    report(true, n);
    fs::remove_all(dir);
  } catch (const Error& e) {
    std::fprintf(stderr, "proxy_fidelity: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
