// Proxy fidelity: how well each cheap score a search can use ranks networks the way full
// training does (issue 11 §1).
//
//   build/bench/proxy_fidelity [--config search.toml] [--genomes N] [--seed S]
//                              [--full-epochs E] [--levels 1,2,4,8] [--chip-fraction F]
//                              [--no-small-chips] [--threads T] [--json out.json]
//                              [--resume] [--shard K/S]
//   build/bench/proxy_fidelity --merge a.json,b.json [--json merged.json]
//   build/bench/proxy_fidelity --repeat-full a.json,b.json [--repeat-salt N] [--threads T]
//                              --json repeats.json[,more.json] [--resume]
//   build/bench/proxy_fidelity --inherited a.json,b.json [--repeats r.json,...] [--threads T]
//                              [--shard K/S] --json inherited.json[,more.json] [--resume]
//
// N genomes (default 24) are sampled from the configuration's search space (seeded; the
// built-in `dalnas search` default without --config: synthetic data). Each is trained:
//   full       from scratch for E epochs (default 30, `dalnas train`'s default) with the
//              configuration's [train] table, one learning-rate schedule: the reference,
//              scored as the device mIoU on the val scenes (the search evaluator's device
//              evaluation, CandidateEvaluator with the configuration's device profile);
//   rungs      the search's schedule "rungs" with rungs = the levels: the device mIoU after
//              each level's epochs of one schedule of the last level's length, continuing
//              from the level before (what a candidate stopped at that rung scored), with
//              the weights training keeps (rung_score "kept": the lowest validation loss so
//              far) and, as its own level, with the rung's last weights (rung_score "last");
//   chips xF   the same with rung_chip_fraction = F at every level (default 0.5; 0: skip);
//   small      the same with chips of half the side (tiling size and stride halved);
//   zero-cost  grad_norm, synflow and naswot at initialisation (eval/zero_cost.h).
// It prints Kendall's tau and Spearman's rho of every level's scores against the full
// scores (core/rank_correlation.h) and the mean seconds per genome each level costs (a
// level's seconds include the levels below it, as a candidate pays them).
//
// --inherited a.json,b.json measures inherited weights as a level, as the search uses them:
// for each genome of the files a parent is drawn by the configuration's mutation (the
// [strategy] mutation_rate, redrawn until the genome would inherit at least
// inherit_min_share of its parameters from it), the parent is trained from scratch at the
// configuration's own [evaluation] schedule (a search's from-scratch candidate), and the
// genome then starts from the parent's weights and trains inherit_epochs (a search's
// inherited child, the same CandidateEvaluator code). It prints the level's tau against the
// files' full scores, the parent's score as a level of its own (how much of a child's score
// is its parent's), and the inflation: a child's score minus the genome's own from-scratch
// score at the configuration's level, against the spread between genomes. With --repeats
// r1.json,... (--repeat-full results) each level is also set against the repeat. Resumable
// and shardable like the table; several --json files are read together without training
// (give the --threads they were trained with: the parents' evaluation identity holds it).
//
// The results (every genome's raw row and the table) are rewritten to --json after every
// genome. A run stopped early continues with --resume (the same options; the genomes
// already in the file are kept, the rest trained). --shard K/S trains only the genomes
// whose 0-based index is K-1 modulo S (one process per core: the shards run side by side),
// and --merge combines the shards' files (same options) into one table without training.
// --repeat-full trains the full reference of the files' genomes once more, same data and
// schedule, another training seed (initial weights, chip order, augmentation), and prints
// the tau between the two full scores and the seed-to-seed spread of one score beside the
// spread between genomes: how far one full training can be trusted as the reference. With
// the seed's share taken out (core/repeatability.h) it also prints the genomes' own sd, the
// permutation p-value that they do not differ at all, and the tau two references of k seeds
// each can be expected to reach. --json a.json,b.json (several repeat files of the same
// options, e.g. one per shard) combines them without training.
//
// The lead's measurement on sen2ships (hours on 2 cores: two shards, resumable):
//   build/bench/proxy_fidelity --config configs/search-sen2ships.toml --genomes 24
//       --levels 1,2,4,8 --full-epochs 30 --threads 1 --shard 1/2 --json pf-1.json
//   (the same with --shard 2/2 --json pf-2.json beside it), then
//   build/bench/proxy_fidelity --merge pf-1.json,pf-2.json --json proxy-fidelity.json
// A quick check on synthetic data (a couple of minutes):
//   build/bench/proxy_fidelity --genomes 4 --full-epochs 2 --levels 1,2
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
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
#include "core/csv.h"
#include "core/error.h"
#include "core/mean_sd.h"
#include "core/rank_correlation.h"
#include "core/repeatability.h"
#include "core/rng.h"
#include "eval/candidate_evaluator.h"
#include "eval/zero_cost.h"
#include "nn/describe.h"
#include "nn/inherit.h"
#include "nn/network.h"
#include "search/journal.h"
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
  bool resume = false;
  int shard = 1, shards = 1;       // this process trains genomes i with i % shards == shard - 1
  std::vector<std::string> merge;  // --merge: files to combine (no training)
  std::vector<std::string> repeat_full;  // --repeat-full: files whose full references to repeat
  uint64_t repeat_salt = 0x5eed;         // --repeat-salt: the other training seed's salt
  std::vector<std::string> inherited;    // --inherited: files whose genomes to inherit into
  std::vector<std::string> repeats;      // --repeats: --repeat-full results to rank against

  // What makes two runs' rows comparable (threads and sharding aside).
  nlohmann::json identity() const {
    return {{"config", config.empty() ? "built-in default" : config},
            {"genomes", genomes},
            {"seed", seed},
            {"full_epochs", full_epochs},
            {"levels", levels},
            {"chip_fraction", chip_fraction},
            {"small_chips", small_chips}};
  }
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "proxy_fidelity: %s\nusage: proxy_fidelity [--config search.toml] [--genomes N] "
               "[--seed S] [--full-epochs E] [--levels 1,2,4,8] [--chip-fraction F] "
               "[--no-small-chips] [--threads T] [--json out.json] [--resume] [--shard K/S]\n"
               "       proxy_fidelity --merge a.json,b.json [--json merged.json]\n"
               "       proxy_fidelity --repeat-full a.json,b.json [--repeat-salt N] "
               "[--threads T] --json repeats.json [--resume]\n"
               "       proxy_fidelity --inherited a.json,b.json [--repeats r.json,...] "
               "[--threads T] [--shard K/S] --json inherited.json [--resume]\n",
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

void parse_shard(const std::string& s, Options& o) {
  int k = 0, n = 0;
  char tail = 0;
  if (std::sscanf(s.c_str(), "%d/%d%c", &k, &n, &tail) != 2 || n < 1 || k < 1 || k > n)
    usage("--shard: '" + s + "' (K/S with 1 <= K <= S, e.g. 1/2)");
  o.shard = k;
  o.shards = n;
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
  std::vector<double> score;    // per genome (NaN: failed or not run)
  std::vector<double> seconds;  // per genome
};

double mean_finite(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v)
    if (std::isfinite(x)) s += x, ++n;
  return n ? s / n : std::nan("");
}

double number_or_nan(const nlohmann::json& v) {
  return v.is_number() ? v.get<double>() : std::nan("");
}

// The seconds an evaluation took: training and device evaluation (a rung schedule's
// last rung_s, which counts both up to the last rung reached).
double outcome_seconds(const nlohmann::json& m) {
  if (m.contains("rung_s") && m.at("rung_s").is_array() && !m.at("rung_s").empty())
    return number_or_nan(m.at("rung_s").back());
  return number_or_nan(m.value("train_s", nlohmann::json())) +
         number_or_nan(m.value("eval_s", nlohmann::json()));
}

// An evaluation's outcome as a row keeps it: status, reason, metrics.
nlohmann::json outcome_json(const EvalOutcome& out) {
  return {{"status", to_string(out.status)}, {"reason", out.reason}, {"metrics", out.metrics}};
}

// The table: every level's scores against the full scores, from the rows (one per genome
// trained, in any order). Rows are what the files keep, so a fresh run, a resumed one and
// a merge of shards compute the table the same way.
class Table {
 public:
  explicit Table(const Options& o)
      : o_(o),
        n_(static_cast<size_t>(o.genomes)),
        full_is_last_rung_(o.levels.back() == o.full_epochs),
        full_score_(n_, std::nan("")),
        full_seconds_(n_, std::nan("")) {}

  bool full_is_last_rung() const { return full_is_last_rung_; }
  double full_score(size_t i) const { return full_score_[i]; }
  size_t rows() const { return rows_.size(); }
  bool has(size_t i) const { return done_.count(i) > 0; }

  void add(const nlohmann::json& row) {
    const size_t i = row.at("index").get<size_t>();
    if (i >= n_ || !done_.insert(i).second) return;
    rows_.push_back(row);
    if (row.contains("full")) {
      const auto& f = row.at("full");
      if (f.at("status") == "ok") {
        const auto& m = f.at("metrics");
        full_score_[i] = number_or_nan(m.at("miou"));
        full_seconds_[i] = number_or_nan(m.at("train_s")) + number_or_nan(m.at("eval_s"));
      }
    }
    absorb_rungs(row, "rungs", "rung ", i);
    char p[48];
    std::snprintf(p, sizeof p, "chips x%.2g, ", o_.chip_fraction);
    absorb_rungs(row, "fewer_chips", p, i);
    absorb_rungs(row, "small_chips", "half-side chips, ", i);
    if (row.contains("zero_cost")) {
      const auto& z = row.at("zero_cost");
      for (const char* name : {"grad_norm", "synflow", "naswot"}) {
        Level& l = level(std::string("zero-cost ") + name);
        l.score[i] = number_or_nan(z.at(name));
        l.seconds[i] = number_or_nan(z.at("seconds")) / 3;  // the three are computed together
      }
    }
  }

  // Prints the table (when `print`) and writes every row with it to `path` (when given).
  void report(bool print, const std::string& path) const {
    if (print) {
      std::printf("\n%-34s %8s %8s %10s %6s\n", "level", "tau", "rho", "s/genome", "pairs");
      std::printf("%-34s %8s %8s %10.1f %6zu\n",
                  ("full (" + std::to_string(o_.full_epochs) + " ep)").c_str(), "1", "1",
                  mean_finite(full_seconds_), rows_.size());
    }
    nlohmann::json table = nlohmann::json::array();
    for (const Level& l : levels_) {
      std::vector<double> a, b;
      for (size_t i = 0; i < n_; ++i)
        if (std::isfinite(l.score[i]) && std::isfinite(full_score_[i])) {
          a.push_back(l.score[i]);
          b.push_back(full_score_[i]);
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
    if (path.empty()) return;
    std::vector<nlohmann::json> rows = rows_;
    std::sort(rows.begin(), rows.end(), [](const nlohmann::json& x, const nlohmann::json& y) {
      return x.at("index").get<size_t>() < y.at("index").get<size_t>();
    });
    const nlohmann::json id = o_.identity();
    nlohmann::json out = {{"genomes", rows},
                          {"done", rows_.size()},
                          {"table", table},
                          {"options", id},
                          {"full_is_last_rung", full_is_last_rung_}};
    if (o_.shards > 1) out["shard"] = std::to_string(o_.shard) + "/" + std::to_string(o_.shards);
    write_file_atomic(path, out.dump(2) + "\n");
    if (print) std::printf("\nraw results: %s\n", path.c_str());
  }

  // An --inherited row: the genome's score as a parent's child (level `child_level`) and
  // the parent's own score (level `parent_level`), each with what its evaluation cost. A
  // child that did not inherit (too little matched) has no score at the level.
  void absorb_inherited(const nlohmann::json& row, const std::string& child_level,
                        const std::string& parent_level) {
    const size_t i = row.at("index").get<size_t>();
    if (i >= n_) return;
    const auto& p = row.at("parent_eval");
    if (p.at("status") == "ok") {
      Level& l = level(parent_level);
      l.score[i] = number_or_nan(p.at("metrics").at("miou"));
      l.seconds[i] = outcome_seconds(p.at("metrics"));
    }
    const auto& c = row.at("child");
    if (c.at("status") == "ok" && c.at("metrics").contains("inherited_from")) {
      Level& l = level(child_level);
      l.score[i] = number_or_nan(c.at("metrics").at("miou"));
      l.seconds[i] = outcome_seconds(c.at("metrics"));
    }
  }

  // Genome i's score at a level (NaN: no such level or no score).
  double score(const std::string& name, size_t i) const {
    for (const Level& l : levels_)
      if (l.name == name) return i < n_ ? l.score[i] : std::nan("");
    return std::nan("");
  }

  // Each level's Kendall tau over the genomes `ref` scores, against `ref` and against the
  // first full score of the same genomes (so that the two columns compare like with like).
  // Each level's tau against the first full training, against the repeat alone (a training
  // that shares nothing with the levels' runs: other initial weights, chip order and
  // augmentation) and against the mean of the two; then the first full training itself
  // against the repeat, the fidelity a level would need to equal full training's.
  void report_against(const std::map<size_t, double>& again,
                      const std::map<size_t, double>& mean_of_two) const {
    std::printf("\n%-34s %10s %11s %14s %6s\n", "level", "tau first", "tau repeat", "tau mean of 2",
                "pairs");
    for (const Level& l : levels_) {
      std::vector<double> s, f, r, m;
      for (const auto& [i, v] : again)
        if (i < n_ && std::isfinite(l.score[i]) && std::isfinite(full_score_[i]) &&
            std::isfinite(v) && mean_of_two.count(i)) {
          s.push_back(l.score[i]);
          f.push_back(full_score_[i]);
          r.push_back(v);
          m.push_back(mean_of_two.at(i));
        }
      if (s.size() < 2) continue;
      std::printf("%-34s %10.3f %11.3f %14.3f %6zu\n", l.name.c_str(), kendall_tau(s, f),
                  kendall_tau(s, r), kendall_tau(s, m), s.size());
    }
    std::vector<double> f, r;
    for (const auto& [i, v] : again)
      if (i < n_ && std::isfinite(full_score_[i]) && std::isfinite(v))
        f.push_back(full_score_[i]), r.push_back(v);
    if (f.size() >= 2)
      std::printf("%-34s %10.3f %11.3f %14s %6zu\n", "full (first training itself)", 1.0,
                  kendall_tau(f, r), "-", f.size());
  }

 private:
  Level& level(const std::string& name) {
    for (auto& l : levels_)
      if (l.name == name) return l;
    levels_.push_back(
        Level{name, std::vector<double>(n_, std::nan("")), std::vector<double>(n_, std::nan(""))});
    return levels_.back();
  }

  // A rung run's scores: the device mIoU after each level (the full score's level skipped
  // when the full score is the last rung of "rungs").
  void absorb_rungs(const nlohmann::json& row, const char* key, const std::string& prefix,
                    size_t i) {
    if (!row.contains(key) || row.at(key).at("status") != "ok") return;
    const auto& m = row.at(key).at("metrics");
    const auto& miou = m.at("rung_miou");
    const auto& secs = m.at("rung_s");
    for (size_t k = 0; k < miou.size() && k < o_.levels.size(); ++k) {
      if (full_is_last_rung_ && prefix == "rung " && k + 1 == o_.levels.size()) {
        full_score_[i] = number_or_nan(miou[k]);
        full_seconds_[i] = number_or_nan(secs[k]);
        continue;
      }
      Level& l = level(prefix + std::to_string(o_.levels[k]) + " ep");
      l.score[i] = number_or_nan(miou[k]);
      l.seconds[i] = number_or_nan(secs[k]);
    }
    // The same run scored with each rung's last weights instead of the kept ones
    // (evaluation.rung_score "last"; CandidateEvaluator::also_score_last).
    if (!m.contains("rung_miou_last")) return;
    const auto& last = m.at("rung_miou_last");
    for (size_t k = 0; k < last.size() && k < o_.levels.size() && k < secs.size(); ++k) {
      Level& l = level(prefix + std::to_string(o_.levels[k]) + " ep, last weights");
      l.score[i] = number_or_nan(last[k]);
      l.seconds[i] = number_or_nan(secs[k]);
    }
  }

  const Options& o_;
  size_t n_;
  bool full_is_last_rung_;
  std::vector<double> full_score_, full_seconds_;
  std::vector<Level> levels_;
  std::vector<nlohmann::json> rows_;
  std::set<size_t> done_;
};

// The rows of a results file written with the same options (threads and shards aside);
// anything else is an error naming the file and the first option that differs.
std::vector<nlohmann::json> load_rows(const nlohmann::json& in, const std::string& path,
                                      const Options& o) {
  if (!in.is_object() || !in.contains("options") || !in.contains("genomes"))
    throw Error(path + ": not a proxy_fidelity results file (no 'options' and 'genomes')");
  const nlohmann::json want = o.identity(), have = in.at("options");
  for (const auto& [key, value] : want.items())
    if (!have.contains(key) || have.at(key) != value)
      throw Error(path + ": option '" + key + "' is " +
                  (have.contains(key) ? have.at(key).dump() : std::string("missing")) +
                  ", this run's is " + value.dump());
  std::vector<nlohmann::json> rows;
  for (const auto& row : in.at("genomes")) {
    if (!row.is_object() || !row.contains("index") || !row.at("index").is_number_unsigned() ||
        row.at("index").get<size_t>() >= static_cast<size_t>(o.genomes) ||
        !row.contains("genome") || !row.at("genome").is_string())
      throw Error(path + ": a row without a valid 'index' and 'genome'");
    rows.push_back(row);
  }
  return rows;
}

// The options of a results file (for --merge: the first file's options are the run's).
Options options_of(const nlohmann::json& in, const std::string& path, Options o) {
  if (!in.is_object() || !in.contains("options"))
    throw Error(path + ": not a proxy_fidelity results file (no 'options')");
  const auto& id = in.at("options");
  try {
    const std::string config = id.at("config").get<std::string>();
    o.config = config == "built-in default" ? "" : config;
    o.genomes = id.at("genomes").get<int>();
    o.seed = id.at("seed").get<uint64_t>();
    o.full_epochs = id.at("full_epochs").get<int>();
    o.levels = id.at("levels").get<std::vector<int>>();
    o.chip_fraction = id.at("chip_fraction").get<double>();
    o.small_chips = id.at("small_chips").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": options: " + e.what());
  }
  if (o.genomes < 2 || o.levels.empty())
    throw Error(path + ": options: 'genomes' below 2 or no 'levels'");
  return o;
}

// The repeatability analysis of paired scores (first, again) of the same genomes
// (core/repeatability.h; a fixed permutation seed, so a table prints the same each time).
Repeatability analyse_pairs(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<std::vector<double>> t;
  for (size_t k = 0; k < a.size(); ++k) t.push_back({a[k], b[k]});
  return repeatability(t, 9999, 1);
}

// The results files of --repeat-full and --inherited: {"options": id, key: [rows]}, one
// row per genome index. The rows already there: several --json files (a,b,c) are combined,
// read only; one file is continued with --resume; an existing file without --resume is an
// error (nothing is overwritten). `mode` names the option in errors.
std::map<size_t, nlohmann::json> load_results(const Options& o, const nlohmann::json& id,
                                              const std::string& key, const std::string& mode) {
  std::map<size_t, nlohmann::json> done;  // index -> row
  const auto absorb = [&](const std::string& path) {
    const nlohmann::json in = load_config_file(path);
    if (!in.is_object() || !in.contains("options") || !in.contains(key))
      throw Error(path + ": not a " + mode + " results file (no 'options' and '" + key + "')");
    if (in.at("options") != id)
      throw Error(path + ": written with other options " + in.at("options").dump() +
                  ", this run's are " + id.dump());
    size_t added = 0;
    for (const auto& r : in.at(key)) {
      const size_t i = r.at("index").get<size_t>();
      if (done.count(i)) throw Error(path + ": genome " + std::to_string(i + 1) + " twice");
      done[i] = r, ++added;
    }
    std::printf("resumed: %zu %s rows already in %s\n", added, key.c_str(), path.c_str());
  };
  const std::vector<std::string> outs = split_csv_line(o.json);
  if (outs.size() > 1) {
    for (const std::string& path : outs) absorb(path);
  } else if (o.resume && fs::exists(o.json)) {
    absorb(o.json);
  } else if (fs::exists(o.json)) {
    throw Error(o.json + ": exists (continue it with --resume, or choose another --json)");
  }
  return done;
}

// Several --json files are read together, never written.
bool read_only(const Options& o) {
  return split_csv_line(o.json).size() > 1;
}

void write_results(const Options& o, const nlohmann::json& id, const std::string& key,
                   const std::map<size_t, nlohmann::json>& done) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [i, r] : done) list.push_back(r);
  write_file_atomic(o.json, nlohmann::json{{"options", id}, {key, list}}.dump(2) + "\n");
}

// The (index, genome) pairs of table rows, by index, each once.
std::vector<std::pair<size_t, std::string>> genomes_of(const std::vector<nlohmann::json>& rows) {
  std::vector<std::pair<size_t, std::string>> todo;
  for (const auto& row : rows)
    todo.emplace_back(row.at("index").get<size_t>(), row.at("genome").get<std::string>());
  std::sort(todo.begin(), todo.end());
  todo.erase(std::unique(todo.begin(), todo.end()), todo.end());
  return todo;
}

// The repeat's device mIoU in one --repeat-full row (NaN where that training failed).
double repeat_score(const nlohmann::json& row) {
  const auto& ag = row.at("again");
  return ag.at("status") == "ok" ? number_or_nan(ag.at("metrics").at("miou")) : std::nan("");
}

// Genome i's two full scores (`first`, the first training's; `again`, the repeat's) into
// the two maps the level reports read, when both are numbers; returns whether they were.
bool record_repeat(size_t i, double first, double again_score, std::map<size_t, double>& again,
                   std::map<size_t, double>& mean_of_two) {
  if (!std::isfinite(first) || !std::isfinite(again_score)) return false;
  again[i] = again_score;
  mean_of_two[i] = (first + again_score) / 2;
  return true;
}

// --repeat-full: how repeatable the reference itself is. The full training of each genome
// in the files is run again on the same data and schedule with another training seed
// (initial weights, chip order, augmentation: CandidateEvaluator::training_seed_salt), and
// the two full scores are compared: their Kendall tau is the most any cheap level can be
// expected to reach against one full training. Rows written after every genome; --resume
// continues the file.
int repeat_full_references(const Options& o, const SearchConfig& base,
                           const std::shared_ptr<const SearchData>& data, const std::string& dir,
                           const std::vector<nlohmann::json>& rows) {
  Table first(o);
  for (const auto& row : rows) first.add(row);
  nlohmann::json id = o.identity();
  id["repeat_salt"] = o.repeat_salt;
  std::map<size_t, nlohmann::json> done = load_results(o, id, "repeats", "--repeat-full");
  const bool reading = read_only(o);
  CandidateEvaluator again(full_config(base, o.full_epochs), dir + "/again", {}, data);
  again.training_seed_salt = o.repeat_salt;

  const auto todo = genomes_of(rows);
  std::printf("proxy_fidelity: repeating the %d-epoch reference of %zu genomes (salt %llu)\n",
              o.full_epochs, todo.size(), static_cast<unsigned long long>(o.repeat_salt));

  size_t missing = 0;
  for (const auto& [i, genome] : todo) {
    if (done.count(i)) continue;
    if (reading) {
      ++missing;
      continue;
    }
    Candidate c;
    c.id = i + 1;
    c.genome = Genome::parse(genome);
    const EvalOutcome out = again.evaluate(c, {});
    const double s =
        out.status == EvalStatus::Ok ? number_or_nan(out.metrics.at("miou")) : std::nan("");
    done[i] = {{"index", i},
               {"genome", genome},
               {"first", first.full_score(i)},
               {"again", outcome_json(out)}};
    std::printf("  %2zu %-70s full mIoU %.4f, again %.4f\n", i + 1, genome.c_str(),
                first.full_score(i), s);
    write_results(o, id, "repeats", done);
  }

  // The table: both scores per genome, their rank correlation, and the seed-to-seed spread
  // of one score against the spread between genomes.
  std::vector<double> a, b;
  std::map<size_t, double> mean_of_two;  // index -> the mean of the two full scores
  std::map<size_t, double> again_score;  // index -> the repeat's score
  std::printf("\n%6s %10s %10s %10s\n", "genome", "first", "again", "diff");
  for (const auto& [i, r] : done) {
    const double x = number_or_nan(r.at("first"));
    const double y = repeat_score(r);
    std::printf("%6zu %10.4f %10.4f %+10.4f\n", i + 1, x, y, y - x);
    if (record_repeat(i, x, y, again_score, mean_of_two)) a.push_back(x), b.push_back(y);
  }
  if (missing > 0)
    std::printf("(%zu genomes of the files have no repeat in %s yet)\n", missing, o.json.c_str());
  if (a.size() >= 2) {
    const Repeatability rep = analyse_pairs(a, b);
    std::printf("\nfull vs full with another seed: tau %.3f, rho %.3f over %zu genomes\n",
                kendall_tau(a, b), spearman_rho(a, b), a.size());
    std::printf("sd of one score across seeds %.4f; sd between the genomes' first scores %.4f\n",
                rep.seed_sd, rep.raw_between_sd);
    // How much of the spread is the genomes (core/repeatability.h): the genomes' own sd
    // once the seed's share is taken out, the permutation p-value of "no genome differs",
    // and what a reference averaging k seeds would be worth.
    std::printf(
        "genomes' own sd (seed noise removed) %.4f; F %.2f, permutation p %.3f that the "
        "genomes do not differ\n",
        rep.genome_sd, rep.f, rep.p);
    std::printf("%14s %12s %26s\n", "seeds/genome", "reliability", "tau expected between two");
    for (int k : {1, 2, 4, 8, 16})
      std::printf("%14d %12.3f %26.3f\n", k, rep.reliability(k), rep.expected_tau(k));
    const int need = rep.seeds_for_tau(0.6);
    if (need > 0)
      std::printf("seeds per genome for two references to agree at tau >= 0.6: %d\n", need);
    else
      std::printf(
          "seeds per genome for two references to agree at tau >= 0.6: none (the estimated "
          "genome variance is 0)\n");
  }

  // The same for each metric the full training records: a reference score that separates
  // networks needs a between-genome spread well above its seed-to-seed one (ratio > 1).
  std::map<size_t, const nlohmann::json*> first_metrics;  // index -> the first full metrics
  for (const auto& row : rows) {
    const auto& f = row.at("full");
    if (f.value("status", "") == "ok" && f.contains("metrics"))
      first_metrics[row.at("index").get<size_t>()] = &f.at("metrics");
  }
  std::printf("\n%-18s %8s %10s %12s %10s %7s %7s\n", "metric", "genomes", "seed sd", "between sd",
              "genome sd", "p", "tau");
  for (const char* metric :
       {"miou", "vessel_iou", "boundary_f1", "object_precision", "object_recall"}) {
    std::vector<double> x, y;
    for (const auto& [i, r] : done) {
      const auto it = first_metrics.find(i);
      const auto& ag = r.at("again");
      if (it == first_metrics.end() || ag.at("status") != "ok") continue;
      if (!it->second->contains(metric) || !ag.at("metrics").contains(metric)) continue;
      const double u = number_or_nan(it->second->at(metric));
      const double w = number_or_nan(ag.at("metrics").at(metric));
      if (std::isfinite(u) && std::isfinite(w)) x.push_back(u), y.push_back(w);
    }
    if (x.size() < 2) continue;
    const Repeatability rep = analyse_pairs(x, y);
    std::printf("%-18s %8zu %10.4f %12.4f %10.4f %7.3f %7.3f\n", metric, x.size(), rep.seed_sd,
                rep.raw_between_sd, rep.genome_sd, rep.p, kendall_tau(x, y));
  }
  // The cheap levels against a lower-variance reference: the mean of the two full
  // trainings (its seed-to-seed sd is 1/sqrt(2) of one training's).
  if (mean_of_two.size() >= 2) {
    std::printf(
        "\neach level against the first full training, the repeat alone and the mean of "
        "the two (the repeated genomes only)");
    first.report_against(again_score, mean_of_two);
  }
  std::printf("\nraw results: %s\n", o.json.c_str());
  return 0;
}

// --repeat-full results (several files, one per shard, say) as two maps: the repeat's score
// of each genome and the mean of its two full scores (the first from `first`). The files
// must be one repeat: the same salt (another salt is another independent training, not
// more genomes of this one), and each genome in one file only.
void read_repeats(const Options& o, const Table& first, std::map<size_t, double>& again,
                  std::map<size_t, double>& mean_of_two) {
  nlohmann::json salt;                 // the first file's repeat salt
  std::string salt_file;               // ... and that file
  std::map<size_t, std::string> from;  // genome index -> the file it was read from
  for (const std::string& path : o.repeats) {
    const nlohmann::json in = load_config_file(path);
    if (!in.is_object() || !in.contains("options") || !in.contains("repeats"))
      throw Error(path + ": not a --repeat-full results file (no 'options' and 'repeats')");
    nlohmann::json id = in.at("options");
    const nlohmann::json s = id.value("repeat_salt", nlohmann::json());
    id.erase("repeat_salt");
    if (id != o.identity())
      throw Error(path + ": written for other options " + id.dump() + ", the genomes' are " +
                  o.identity().dump());
    if (salt_file.empty()) {
      salt = s, salt_file = path;
    } else if (s != salt) {
      throw Error(path + ": repeat salt " + s.dump() + ", but " + salt_file + "'s is " +
                  salt.dump() + " (repeats with other salts are other trainings: read them apart)");
    }
    for (const auto& r : in.at("repeats")) {
      const size_t i = r.at("index").get<size_t>();
      if (const auto seen = from.find(i); seen != from.end() && seen->second != path)
        throw Error(path + ": genome " + std::to_string(i + 1) + " is also in " + seen->second +
                    " (the files overlap)");
      from[i] = path;
      record_repeat(i, first.full_score(i), repeat_score(r), again, mean_of_two);
    }
  }
}

// The table's level that scores a genome as the configuration's from-scratch candidates
// are scored (one rung schedule whose last rung is a table level at the table's chip
// share or all the chips), or "" when no level of the table matches.
std::string scratch_level_name(const Options& o, const EvaluationConfig& ev) {
  if (!ev.uses_rungs() || ev.rungs.empty()) return "";
  const int last = ev.rungs.back();
  if (std::find(o.levels.begin(), o.levels.end(), last) == o.levels.end()) return "";
  const double f = ev.rung_chip_fraction.empty() ? 1.0 : ev.rung_chip_fraction.back();
  const std::string weights = ev.rung_score == "last" ? ", last weights" : "";
  if (f == 1.0) return "rung " + std::to_string(last) + " ep" + weights;
  if (f != o.chip_fraction) return "";
  char p[48];
  std::snprintf(p, sizeof p, "chips x%.2g, ", o.chip_fraction);
  return p + std::to_string(last) + " ep" + weights;
}

// --inherited: inherited weights as a level. For each genome of the files a parent is drawn
// by mutation (seeded per genome, so shards and resumes draw the same) until the genome
// inherits at least inherit_min_share of its parameters from it; the parent is trained as
// the configuration's from-scratch candidates are, and the genome as its child (the
// search's CandidateEvaluator with inheritance on). Rows written after every genome.
int inherited_level(const Options& o, const SearchConfig& base,
                    const std::shared_ptr<const SearchData>& data, const std::string& dir,
                    const std::vector<nlohmann::json>& rows) {
  Table table(o);
  for (const auto& row : rows) table.add(row);
  SearchConfig pc = base;  // bench_config: accuracy only, no constraints
  pc.evaluation.inheritance = true;
  pc.evaluation.keep_checkpoints = true;  // the parent's weights, for its child
  pc.evaluation.early_stop = false;       // a parent competes with nobody
  pc.evaluation.prefilter = "none";
  const EvaluationConfig& ev = pc.evaluation;
  const double rate = pc.strategy_params.value("mutation_rate", 0.2);
  nlohmann::json id = o.identity();
  id["parent_evaluation"] = pc.evaluation_identity();
  id["mutation_rate"] = rate;

  char child_name[96];
  std::snprintf(child_name, sizeof child_name, "inherited, %d ep (share >= %.2g)",
                ev.inherit_epochs, ev.inherit_min_share);
  const std::string child_level = child_name, parent_level = "its parent's score";
  const std::string scratch_level = scratch_level_name(o, ev);

  std::map<size_t, nlohmann::json> done = load_results(o, id, "inherited", "--inherited");
  const bool reading = read_only(o);

  const PreparedData& pd = prepared_data(*data);
  const int bands = pd.bands;
  SearchSpace space = base.space;
  space.in_bands = bands;
  space.param_counter = [bands](const Genome& g) { return describe(g, bands, 64, 64).params; };
  CandidateEvaluator evaluator(pc, dir + "/inherited", {}, data);

  const auto todo = genomes_of(rows);
  std::printf(
      "proxy_fidelity: inherited weights for %zu genomes: a parent by mutation (rate %.2g), "
      "trained at the configuration's [evaluation] (%s), then the genome from its weights "
      "for %d epochs%s\n",
      todo.size(), rate, ev.uses_rungs() ? "rungs" : "two-stage", ev.inherit_epochs,
      o.shards > 1 ? (", shard " + std::to_string(o.shard) + "/" + std::to_string(o.shards)).c_str()
                   : "");
  size_t missing = 0;
  for (const auto& [i, text] : todo) {
    if (done.count(i) || static_cast<int>(i % o.shards) != o.shard - 1) continue;
    if (reading) {
      ++missing;
      continue;
    }
    const Genome g = Genome::parse(text);
    // The parent: the first mutation (of up to 1000 draws) the genome inherits enough from.
    Rng rng(o.seed * 0x9e3779b97f4a7c15ULL + 0x1f1e5 + i);
    Genome parent;
    double share = 0;
    bool found = false;
    for (int draw = 0; draw < 1000 && !found; ++draw) {
      const Genome p = space.mutate(g, rate, rng);
      if (p.str() == g.str()) continue;
      Network child_net = build_network(g, bands), parent_net = build_network(p, bands);
      const double s = inherit_weights(child_net, parent_net).share();
      if (s >= ev.inherit_min_share && s > 0) parent = p, share = s, found = true;  // the first
    }
    nlohmann::json row = {{"index", i}, {"genome", text}};
    if (!found) {
      row["parent"] = nullptr;
      row["parent_eval"] = {{"status", "failed"}, {"reason", "no mutation shares enough"}};
      row["child"] = {{"status", "failed"}, {"reason", "no parent"}};
    } else {
      Candidate pcand;
      pcand.id = 100000 + i + 1;
      pcand.genome = parent;
      const EvalOutcome po = evaluator.evaluate(pcand, {});
      EvaluationRecord rec;
      rec.candidate_id = pcand.id;
      rec.genome = parent.str();
      rec.status = po.status;
      rec.metrics = po.metrics;
      Candidate child;
      child.id = i + 1;
      child.genome = g;
      child.parents = {pcand.id};
      child.origin = "mutation";
      const EvalOutcome co = evaluator.evaluate(child, {rec});
      row["parent"] = parent.str();
      row["share"] = share;
      row["parent_eval"] = outcome_json(po);
      row["child"] = outcome_json(co);
      const auto miou = [](const EvalOutcome& out) {
        return out.status == EvalStatus::Ok ? number_or_nan(out.metrics.at("miou")) : std::nan("");
      };
      std::printf("  %2zu %-62s share %.2f: parent %.4f, child %.4f, full %.4f\n", i + 1,
                  text.c_str(), share, miou(po), miou(co), table.full_score(i));
    }
    fs::remove_all(dir + "/inherited/checkpoints");  // the parent's weights served their child
    done[i] = row;
    write_results(o, id, "inherited", done);
  }
  if (missing > 0)
    std::printf("(%zu genomes of this shard have no inherited row in the files yet)\n", missing);

  for (const auto& [i, r] : done) table.absorb_inherited(r, child_level, parent_level);
  std::printf("\nevery level against the full scores, with the inherited level and its parents:");
  table.report(true, "");

  // The inflation: a child's score against the genome's own from-scratch score at the
  // configuration's level, and how the children would place among from-scratch rivals.
  if (!scratch_level.empty()) {
    std::vector<double> diff, scratch_all, beats;
    for (size_t i = 0; i < static_cast<size_t>(o.genomes); ++i) {
      const double s = table.score(scratch_level, i);
      if (std::isfinite(s)) scratch_all.push_back(s);
    }
    for (size_t i = 0; i < static_cast<size_t>(o.genomes); ++i) {
      const double c = table.score(child_level, i), s = table.score(scratch_level, i);
      if (!std::isfinite(c)) continue;
      if (std::isfinite(s)) diff.push_back(c - s);
      double above = 0;
      for (double x : scratch_all) above += c > x ? 1.0 : (c == x ? 0.5 : 0.0);
      if (!scratch_all.empty()) beats.push_back(above / scratch_all.size());
    }
    const auto [dm, dsd] = mean_sd(diff);
    const auto [sm, ssd] = mean_sd(scratch_all);
    const auto [bm, bsd] = mean_sd(beats);
    size_t up = 0;
    for (double d : diff) up += d > 0;
    std::printf(
        "\ninflation against '%s' (the configuration's from-scratch level):\n"
        "  child minus the genome's own from-scratch score: %+.4f +- %.4f over %zu genomes "
        "(%zu higher)\n"
        "  sd between the genomes' from-scratch scores: %.4f (mean %.4f)\n"
        "  a child scores above %.0f %% of the from-scratch scores on average (50 %% if "
        "inheritance kept the scale)\n",
        scratch_level.c_str(), dm, dsd, diff.size(), up, ssd, sm, 100 * bm);
  } else {
    std::printf(
        "\n(no level of the table matches the configuration's from-scratch schedule: "
        "no inflation figures)\n");
  }
  {
    std::vector<double> c, p;
    for (size_t i = 0; i < static_cast<size_t>(o.genomes); ++i) {
      const double x = table.score(child_level, i), y = table.score(parent_level, i);
      if (std::isfinite(x) && std::isfinite(y)) c.push_back(x), p.push_back(y);
    }
    if (c.size() >= 2)
      std::printf("child's score against its parent's: tau %.3f, rho %.3f over %zu pairs\n",
                  kendall_tau(c, p), spearman_rho(c, p), c.size());
  }
  if (!o.repeats.empty()) {
    std::map<size_t, double> again, mean_of_two;
    read_repeats(o, table, again, mean_of_two);
    std::printf(
        "\neach level against the first full training, the repeat alone and the mean "
        "of the two");
    table.report_against(again, mean_of_two);
  }
  std::printf("\nraw results: %s\n", o.json.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  tune_allocator();
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a log of a run of hours shows each line at once
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
    else if (a == "--resume")
      o.resume = true;
    else if (a == "--shard")
      parse_shard(next(), o);
    else if (a == "--merge")
      o.merge = split_csv_line(next());
    else if (a == "--repeat-full")
      o.repeat_full = split_csv_line(next());
    else if (a == "--repeat-salt")
      o.repeat_salt = std::stoull(next());
    else if (a == "--inherited")
      o.inherited = split_csv_line(next());
    else if (a == "--repeats")
      o.repeats = split_csv_line(next());
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
  if (o.resume && o.json.empty()) usage("--resume: needs --json (the file to continue)");
  if (!o.merge.empty() && (o.resume || o.shards > 1))
    usage("--merge: combines finished files; --resume and --shard do not apply");
  if (!o.repeat_full.empty() && (!o.merge.empty() || o.shards > 1 || o.json.empty()))
    usage("--repeat-full: needs --json (its results); --merge and --shard do not apply");
  if (!o.inherited.empty() && (!o.merge.empty() || !o.repeat_full.empty() || o.json.empty()))
    usage("--inherited: needs --json (its results); --merge and --repeat-full do not apply");
  if (!o.repeats.empty() && o.inherited.empty())
    usage("--repeats: only with --inherited (--repeat-full prints its own comparison)");
  if (!o.repeat_full.empty() && o.repeat_salt == 0)
    usage("--repeat-salt: not 0 (0 is the first training's seed)");
  try {
    if (!o.merge.empty()) {               // no training: the files' rows, one table
      std::vector<nlohmann::json> files;  // each read once
      for (const std::string& path : o.merge) files.push_back(load_config_file(path));
      o = options_of(files.front(), o.merge.front(), o);
      Table table(o);
      for (size_t f = 0; f < files.size(); ++f)
        for (const auto& row : load_rows(files[f], o.merge[f], o)) table.add(row);
      std::printf("proxy_fidelity: merged %zu genomes of %d from %zu files\n", table.rows(),
                  o.genomes, o.merge.size());
      table.report(true, o.json);
      return 0;
    }

    // --repeat-full and --inherited: the options are the first file's; the rows are every
    // file's.
    std::vector<nlohmann::json> repeat_rows;
    const std::vector<std::string>& sources = o.repeat_full.empty() ? o.inherited : o.repeat_full;
    if (!sources.empty()) {
      std::vector<nlohmann::json> files;
      for (const std::string& path : sources) files.push_back(load_config_file(path));
      o = options_of(files.front(), sources.front(), o);
      for (size_t f = 0; f < files.size(); ++f)
        for (auto& row : load_rows(files[f], sources[f], o)) repeat_rows.push_back(std::move(row));
    }

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
    if (!o.repeat_full.empty() || !o.inherited.empty()) {
      const int rc = o.repeat_full.empty()
                         ? inherited_level(o, base, data, dir, repeat_rows)
                         : repeat_full_references(o, base, data, dir, repeat_rows);
      fs::remove_all(dir);
      return rc;
    }
    CandidateEvaluator full(full_config(base, o.full_epochs), dir + "/full", {}, data);
    CandidateEvaluator rungs(rung_config(base, o.levels, 1.0), dir + "/rungs", {}, data);
    rungs.also_score_last = true;  // both rung scores of one run (kept and last weights)
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
    if (n < static_cast<size_t>(o.genomes))
      throw Error("the search space holds only " + std::to_string(n) +
                  " distinct genomes under its limits; use --genomes " + std::to_string(n));
    std::printf("proxy_fidelity: %zu genomes (seed %llu), full = %d epochs, levels", n,
                static_cast<unsigned long long>(o.seed), o.full_epochs);
    for (int l : o.levels) std::printf(" %d", l);
    std::printf(", data %s, device %s", full.train_config().at("data").dump().c_str(),
                base.device.c_str());
    if (o.shards > 1) std::printf(", shard %d/%d", o.shard, o.shards);
    std::printf("\n");

    Table table(o);
    if (o.resume && fs::exists(o.json)) {
      for (const auto& row : load_rows(load_config_file(o.json), o.json, o)) {
        const size_t i = row.at("index").get<size_t>();
        if (row.at("genome").get<std::string>() != genomes[i].str())
          throw Error(o.json + ": genome " + std::to_string(i) + " is " +
                      row.at("genome").get<std::string>() + ", this run samples " +
                      genomes[i].str());
        table.add(row);
      }
      std::printf("resumed: %zu genomes already in %s\n", table.rows(), o.json.c_str());
    } else if (!o.json.empty() && fs::exists(o.json)) {
      throw Error(o.json + ": exists (continue it with --resume, or choose another --json)");
    }

    // With the last level equal to the full epochs, the rungs' last score is the full score
    // (one schedule, continued exactly: train/train_state.h), so it is not trained twice.
    const auto evaluate_genome = [&](size_t i) {
      const auto t0 = std::chrono::steady_clock::now();
      Candidate c;
      c.id = i + 1;
      c.genome = genomes[i];
      nlohmann::json row = {{"index", i}, {"genome", c.genome.str()}};
      if (!table.full_is_last_rung()) row["full"] = outcome_json(full.evaluate(c, {}));
      row["rungs"] = outcome_json(rungs.evaluate(c, {}));
      if (fewer) row["fewer_chips"] = outcome_json(fewer->evaluate(c, {}));
      if (small) row["small_chips"] = outcome_json(small->evaluate(c, {}));
      ZeroCostScores z;
      z.grad_norm = z.synflow = z.naswot = std::nan("");
      try {
        z = zero_cost_scores(c.genome, bands, pd.train, o.seed);
      } catch (const c10::Error& e) {
        std::printf("  zero-cost scores of %s failed: %s\n", c.genome.str().c_str(),
                    e.what_without_backtrace());
      }
      const auto finite_or_null = [](double v) {
        return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
      };
      row["zero_cost"] = {{"grad_norm", finite_or_null(z.grad_norm)},
                          {"synflow", finite_or_null(z.synflow)},
                          {"naswot", finite_or_null(z.naswot)},
                          {"seconds", z.seconds}};
      table.add(row);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("  %2zu/%zu %-70s full mIoU %.4f  (%.0f s)\n", i + 1, n, c.genome.str().c_str(),
                  table.full_score(i), s);
      std::fflush(stdout);
    };

    // The table is written with the rows after every genome (a long run stopped early keeps
    // them, and --resume continues from them); printed at the end.
    for (size_t i = 0; i < n; ++i) {
      if (static_cast<int>(i % o.shards) != o.shard - 1 || table.has(i)) continue;
      evaluate_genome(i);
      table.report(false, o.json);
    }
    table.report(true, o.json);
    fs::remove_all(dir);
  } catch (const Error& e) {
    std::fprintf(stderr, "proxy_fidelity: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
