// dalnas search: evolutionary, hardware-aware NAS with the device's numerics in the loop.
#include <sched.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/commands.h"
#include "cli/output_folder.h"
#include "cli/retraining.h"
#include "cli/run_record.h"
#include "cli/search_baseline.h"
#include "cli/search_rescore.h"
#include "cli/search_winner.h"
#include "core/atomic_file.h"
#include "core/config_file.h"
#include "core/error.h"
#include "core/genome.h"
#include "core/run_lock.h"
#include "data/split.h"
#include "device/profile.h"
#include "dist/mpi_final.h"
#include "dist/mpi_search.h"
#include "dist/mpi_worker.h"
#include "eval/candidate_evaluator.h"
#include "eval/external_device.h"
#include "nn/describe.h"
#include "search/baseline.h"
#include "search/driver.h"
#include "search/finalists.h"
#include "search/rescore.h"
#include "search/results.h"
#include "search/seed_summary.h"
#include "train/config.h"
#include "train/experiment.h"
#include "train/object_metrics.h"

namespace dalnas::cli {

namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_stop{false};
extern "C" void on_sigint(int) {
  g_stop.store(true);
}

struct SearchArgs {
  std::string config_file, out, resume;
  std::map<std::string, std::string> set;  // flag -> value as typed
  std::vector<std::string> overrides;      // --set table.key=value, in order
  bool quiet = false, json = false, compare_pipelines = false;
  int threads = 0;
  std::string evaluator = "local";  // local | mpi
  dist::MpiSession* mpi = nullptr;  // --evaluator mpi, on rank 0
};

int64_t to_int(const std::string& flag, const std::string& v) {
  try {
    size_t pos = 0;
    const long long x = std::stoll(v, &pos);
    if (pos != v.size() || x < 0) throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    throw Error("--" + flag + ": '" + v + "' is not a non-negative integer");
  }
}

// "10.3" or "10.3ms" -> 10.3; a positive, finite number of milliseconds.
double to_ms(const std::string& flag, const std::string& v) {
  std::string t = v;
  if (t.size() > 2 && t.compare(t.size() - 2, 2, "ms") == 0) t.resize(t.size() - 2);
  try {
    size_t pos = 0;
    const double x = std::stod(t, &pos);
    if (pos != t.size() || !std::isfinite(x) || x <= 0) throw std::invalid_argument(v);
    return x;
  } catch (const std::exception&) {
    throw Error("--" + flag + ": '" + v + "' is not a latency in milliseconds (e.g. 10.3)");
  }
}

// Flags over the config file over the built-in default.
SearchConfig resolve(const SearchArgs& a) {
  nlohmann::json j =
      a.config_file.empty() ? nlohmann::json::object() : load_config_file(a.config_file);
  if (!j.is_object()) throw Error(a.config_file + ": top level must be a table");
  // Parameters belong to their strategy: another strategy on the command line starts
  // from its own defaults.
  if (a.set.count("strategy") && j.contains("search") && j["search"].contains("strategy") &&
      j["search"]["strategy"] != a.set.at("strategy"))
    j.erase("strategy");
  // The built-in default run (no config file) has a safety net so that it ends in under
  // 10 minutes on 2 cores: no new candidate after 7 minutes.
  if (a.config_file.empty()) j["search"]["time_budget_s"] = 420;
  // --set table.key=value over the file, the named flags over both.
  for (const auto& o : a.overrides) apply_override(j, o);
  for (const auto& [k, v] : a.set) {
    if (k == "strategy" || k == "device")
      j["search"][k] = v;
    else if (k == "seed")
      j["search"]["seed"] = static_cast<uint64_t>(to_int(k, v));
    else if (k == "evaluations")
      j["search"]["max_evaluations"] = to_int(k, v);
    else if (k == "time-budget")
      j["search"]["time_budget_s"] = parse_duration(v, "--time-budget");
    else if (k == "input-size") {
      int h = 0, w = 0;
      parse_size(v, "--input-size", h, w);
      j["search"]["input_size"] = {h, w};
    } else if (k == "population" || k == "generations")
      j["strategy"][k] = to_int(k, v);
    else if (k == "epochs" || k == "final-epochs")
      j["evaluation"][k == "epochs" ? "epochs" : "final_epochs"] = to_int(k, v);
    else if (k == "final-seeds")
      j["evaluation"]["final_seeds"] = to_int(k, v);
    else if (k == "final-candidates")
      j["evaluation"]["final_candidates"] = to_int(k, v);
    else if (k == "rescore")
      j["evaluation"]["rescore_candidates"] = to_int(k, v);
    else if (k == "rescore-folds")
      j["evaluation"]["rescore_folds"] = to_int(k, v);
    else if (k == "baseline")
      j["evaluation"]["baseline"] = v;
    else if (k == "inheritance" || k == "multi-fidelity")
      j["evaluation"][k == "inheritance" ? "inheritance" : "multi_fidelity"] = false;
    else if (k == "data" || k == "precision")
      j["train"][k] = v;
    else if (k == "schedule")
      j["evaluation"]["schedule"] = v;
    else if (k == "max-latency")  // beside the config's other hard limits
      j["fitness"]["constraints"]["max_latency_ms"] = to_ms(k, v);
  }
  // A few epochs per candidate: low_epochs and inherit_epochs follow --epochs when the
  // config does not set them.
  if (a.set.count("epochs")) {
    auto& e = j["evaluation"];
    const int64_t ep = e["epochs"].get<int64_t>();
    if (!e.contains("low_epochs")) e["low_epochs"] = std::max<int64_t>(1, ep / 2);
    if (!e.contains("inherit_epochs")) e["inherit_epochs"] = std::max<int64_t>(1, ep / 2);
    const bool rungs = e.contains("schedule") && e["schedule"] == "rungs";
    if (ep < 2 && !rungs) e["multi_fidelity"] = false;
    if (rungs && !e.contains("rungs")) e["rungs"] = SearchConfig::defaults().evaluation.rungs;
    if (rungs && e["rungs"].is_array()) {
      // The config's rungs up to --epochs, which becomes the last rung (their chip shares
      // follow).
      nlohmann::json r = nlohmann::json::array(), f = nlohmann::json::array();
      const bool fractions = e.contains("rung_chip_fraction") &&
                             e["rung_chip_fraction"].is_array() &&
                             e["rung_chip_fraction"].size() == e["rungs"].size();
      for (size_t i = 0; i < e["rungs"].size(); ++i) {
        const auto& x = e["rungs"][i];
        if (!x.is_number_integer() || x.get<int64_t>() >= ep) continue;
        r.push_back(x);
        if (fractions) f.push_back(e["rung_chip_fraction"][i]);
      }
      r.push_back(ep);
      if (fractions) f.push_back(e["rung_chip_fraction"].back());
      e["rungs"] = r;
      if (fractions) e["rung_chip_fraction"] = f;
    }
  }
  // Errors name where a key came from: the file, and --set when it was given.
  std::string source = a.config_file.empty() ? "options" : a.config_file;
  if (!a.overrides.empty()) source += a.config_file.empty() ? " (--set)" : " with --set";
  return SearchConfig::from_json(j, source);
}

std::string fmt(double v, int prec = 3) {
  if (!std::isfinite(v)) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

double metric(const EvaluationRecord& r, const char* key) {
  return r.metrics.contains(key) && r.metrics.at(key).is_number() ? r.metrics.at(key).get<double>()
                                                                  : std::nan("");
}

void print_progress(const SearchProgress& p, bool json) {
  const EvaluationRecord& r = *p.record;
  if (json) {
    nlohmann::json j = {{"event", "evaluation"},
                        {"candidate_id", r.candidate_id},
                        {"generation", r.generation},
                        {"genome", r.genome},
                        {"status", to_string(r.status)},
                        {"reason", r.reason},
                        {"reused", p.reused},
                        {"metrics", r.metrics},
                        {"seconds", r.seconds},
                        {"transient", r.transient},
                        {"retry", p.retry},
                        {"done", p.done},
                        {"planned", p.planned},
                        {"eta_s", p.eta_s}};
    j["fitness"] = std::isfinite(r.fitness) ? nlohmann::json(r.fitness) : nlohmann::json();
    j["generation_best"] =
        std::isfinite(p.generation_best) ? nlohmann::json(p.generation_best) : nlohmann::json();
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
    return;
  }
  std::string what;
  if (r.status == EvalStatus::Ok)
    what = "mIoU " + fmt(metric(r, "miou")) + "  lat " + fmt(metric(r, "latency_ms"), 2) +
           " ms  fit " + fmt(r.fitness) + (r.feasible ? "" : " (infeasible)");
  else
    what = to_string(r.status) + (r.transient ? " (transient)" : "") + ": " + r.reason;
  if (r.metrics.contains("fidelity") && r.metrics.at("fidelity").is_string())
    what += "  [" + r.metrics.at("fidelity").get<std::string>() + "]";
  if (p.reused) what += "  [seen: candidate " + r.metrics.at("reused_from").dump() + "]";
  if (p.retry) what += "  [evaluated again: a transient failure before]";
  std::fprintf(stderr, "[%3lld/%lld g%d] %-48s %s  %.1fs | gen best %s | ETA %s\n",
               static_cast<long long>(p.done), static_cast<long long>(p.planned), r.generation,
               r.genome.c_str(), what.c_str(), r.seconds, fmt(p.generation_best).c_str(),
               format_seconds(p.eta_s).c_str());
}

struct PipelineResult {
  std::string genome;
  nlohmann::json final;  // train_final()'s metrics
  bool ok = false;
};

// The body of run_one once the run folder exists and is locked.
PipelineResult run_locked(SearchConfig cfg, const std::string& out, bool resume,
                          const SearchArgs& a, CandidateEvaluator& evaluator);

// The regular files of folder `from` into folder `to` (created; subfolders not copied),
// metrics.json last and atomically: a copy cut short has none, so it counts as not done.
void copy_files(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from))
    if (e.is_regular_file() && e.path().filename() != "metrics.json")
      fs::copy_file(e.path(), fs::path(to) / e.path().filename(),
                    fs::copy_options::overwrite_existing);
  if (fs::exists(from + "/metrics.json"))
    write_file_atomic(to + "/metrics.json", read_file(from + "/metrics.json"));
}

// Everything that can be checked (configuration, device profile, data) is checked before
// the run folder is created: a command that fails there leaves no folder behind. Once the
// folder exists a failure leaves FAILED.txt in it saying why (removed by a later success).
PipelineResult run_one(SearchConfig cfg, const std::string& out, bool resume, const SearchArgs& a) {
  const std::string journal_path = out + "/journal.sqlite";
  if (!resume && fs::exists(journal_path))
    throw Error(out + ": already holds a search (journal.sqlite); use --resume " + out +
                " or another --out");
  if (fs::exists(out) && !fs::is_directory(out)) throw Error(out + ": is a file, not a run folder");
  CandidateEvaluator evaluator(cfg, out);  // loads the profile and the data; writes nothing
  // Re-scoring on folds must be possible on this data before an hour of search, not after.
  if (cfg.evaluation.rescore_candidates > 1) {
    SplitOptions so = TrainConfig::from_json(evaluator.train_config(), "train").split;
    so.folds = cfg.evaluation.rescore_folds;
    so.fold = 1;
    try {
      split_scenes(prepared_data(*evaluator.data()).scenes, so);
    } catch (const Error& e) {
      throw Error("evaluation.rescore_folds: " + std::to_string(so.folds) +
                  " folds do not fit the data (" + e.what() + ")");
    }
  }

  // A baseline must resolve for this data's bands (a pynas code) before the search.
  if (!cfg.evaluation.baseline.empty()) {
    try {
      resolve_arch(cfg.evaluation.baseline, evaluator.bands());
    } catch (const Error& e) {
      throw Error("evaluation.baseline: " + std::string(e.what()));
    }
  }

  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw Error(out + ": cannot create the run folder (" + ec.message() + ")");
  const RunLock lock(out, "search");        // one process at a time in a run folder
  if (!resume && fs::exists(journal_path))  // written meanwhile by another process
    throw Error(out + ": already holds a search (journal.sqlite); use --resume " + out +
                " or another --out");
  try {
    remove_stale_temp_files(out);  // of a process killed mid-write; the folder is ours now
    PipelineResult pr = run_locked(std::move(cfg), out, resume, a, evaluator);
    fs::remove(fs::path(out) / kFailedNote, ec);
    write_report_after_run(out, a.quiet || a.json);  // a failure here is a warning only
    return pr;
  } catch (const std::exception& e) {
    // The journal is worth keeping (every finished evaluation): the folder stays and says so.
    write_failure_note(out, "search", e.what(),
                       "The journal keeps every finished evaluation: fix the cause, then "
                       "dalnas search --resume " +
                           out);
    throw;
  }
}

// The cores this process may run on (0: unknown).
int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

PipelineResult run_locked(SearchConfig cfg, const std::string& out, bool resume,
                          const SearchArgs& a, CandidateEvaluator& evaluator) {
  const std::string journal_path = out + "/journal.sqlite";
  const bool talk = !a.quiet && !a.json;
  if (talk)
    std::fprintf(stderr, "dalnas search: %s, device %s, precision %s, seed %llu -> %s\n",
                 cfg.strategy.c_str(), cfg.device.c_str(),
                 cfg.train.value("precision", std::string("fp32")).c_str(),
                 static_cast<unsigned long long>(cfg.seed), out.c_str());
  if (talk && a.mpi)
    std::fprintf(stderr, "candidates evaluated by %d MPI workers (ranks 1..%d)\n", a.mpi->workers(),
                 a.mpi->workers());
  // The resolved training configuration is part of the record (and of the resume check).
  nlohmann::json resolved_train = evaluator.train_config();
  resolved_train.erase("seed");
  resolved_train.erase("epochs");
  resolved_train.erase("threads");
  cfg.train = resolved_train;
  if (!resume) write_file_atomic(out + "/config.toml", to_toml(cfg.to_json()));
  write_command_file(out, resume);  // a resumed run adds its command line

  SearchSpace space = cfg.space;
  const int bands = evaluator.bands();
  space.in_bands = bands;
  space.param_counter = [bands](const Genome& g) { return describe(g, bands, 64, 64).params; };

  Journal journal(journal_path);
  DriverOptions opt;
  opt.stop = &g_stop;
  // A resumed search refuses a device profile whose content changed since it started.
  opt.fingerprints["device profile"] =
      cfg.device + " " + profile_fingerprint(external_profile_name(cfg.device));
  if (!a.quiet) opt.on_progress = [&](const SearchProgress& p) { print_progress(p, a.json); };
  // Genomes the cost model rules out are not proposed (SearchConfig::screen).
  opt.screen = [&evaluator](const Genome& g) { return evaluator.cost_rejection(g); };
  const SearchOutcome res = a.mpi ? dist::run_search_mpi(*a.mpi, cfg, space, out, journal, opt)
                                  : run_search(cfg, space, evaluator, journal, opt);
  if (talk && res.resumed_from > 0)
    std::fprintf(stderr, "resumed: %lld evaluations were in the journal\n",
                 static_cast<long long>(res.resumed_from));
  if (talk && res.retried > 0)
    std::fprintf(stderr, "evaluated again: %lld transient failures of the earlier run\n",
                 static_cast<long long>(res.retried));

  write_file_atomic(out + "/candidates.csv", candidates_csv(res.records));
  write_file_atomic(out + "/pareto.csv",
                    candidates_csv(res.records, pareto_front(res.records, cfg.fitness.objectives)));

  PipelineResult pr;
  nlohmann::json summary = {{"stop_reason", res.stop_reason},
                            {"finished", res.finished},
                            {"evaluations", res.records.size()},
                            {"reused", res.reused},
                            {"elapsed_s", res.elapsed_s}};
  int64_t failed = 0, rejected = 0, transient = 0;
  for (const auto& r : res.records) {
    failed += r.status == EvalStatus::Failed;
    rejected += r.status == EvalStatus::Rejected;
    transient += r.transient;
  }
  summary["failed"] = failed;
  summary["transient"] = transient;
  summary["retried"] = res.retried;
  summary["rejected"] = rejected;
  summary["screened"] = res.screened;

  // The best candidates, then the winner retrained into best/.
  std::vector<size_t> order;
  for (size_t i = 0; i < res.records.size(); ++i)
    if (res.records[i].status == EvalStatus::Ok && res.records[i].feasible) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return res.records[x].fitness > res.records[y].fitness;
  });
  if (talk) {
    std::fprintf(stderr, "\n%s after %lld evaluations (%lld failed, %lld rejected) in %s\n",
                 res.stop_reason.c_str(), static_cast<long long>(res.records.size()),
                 static_cast<long long>(failed), static_cast<long long>(rejected),
                 format_seconds(res.elapsed_s).c_str());
    if (res.screened > 0)
      std::fprintf(stderr,
                   "%lld draws of the strategy were not proposed: the cost model put them "
                   "outside the hard constraints\n",
                   static_cast<long long>(res.screened));
    std::fprintf(stderr, "%-4s %-52s %9s %8s %9s %8s %8s\n", "id", "genome", "params", "mIoU",
                 "lat (ms)", "FPS", "fitness");
    for (size_t k = 0; k < std::min<size_t>(5, order.size()); ++k) {
      const auto& r = res.records[order[k]];
      std::fprintf(stderr, "%-4llu %-52s %9.0f %8s %9s %8s %8s\n",
                   static_cast<unsigned long long>(r.candidate_id), r.genome.c_str(),
                   metric(r, "params"), fmt(metric(r, "miou")).c_str(),
                   fmt(metric(r, "latency_ms"), 2).c_str(), fmt(metric(r, "fps"), 1).c_str(),
                   fmt(r.fitness).c_str());
    }
  }
  nlohmann::json top = nlohmann::json::array();
  for (size_t k = 0; k < std::min<size_t>(10, order.size()); ++k) {
    const auto& r = res.records[order[k]];
    top.push_back({{"candidate_id", r.candidate_id},
                   {"genome", r.genome},
                   {"fitness", r.fitness},
                   {"metrics", r.metrics}});
  }
  summary["top"] = top;

  // The run's last files: summary.json (and the JSON line), then the result.
  const auto finish = [&]() {
    write_file_atomic(out + "/summary.json", summary.dump(2) + "\n");
    if (a.json)
      std::printf("%s\n",
                  nlohmann::json({{"event", "summary"}, {"summary", summary}}).dump().c_str());
    if (talk) std::fprintf(stderr, "outputs in %s/\n", out.c_str());
    return pr;
  };
  auto best = best_record(res.records);
  // [evaluation] rescore_candidates: the best few trained again on folds of the scenes
  // outside test; the winner and the finalists come from that ranking (search/rescore.h).
  if (best && cfg.evaluation.rescore_candidates > 1 && !g_stop.load()) {
    const auto say = [&](const std::string& line) {
      if (talk) std::fprintf(stderr, "%s\n", line.c_str());
    };
    if (talk) std::fprintf(stderr, "\n");
    const RescoreRun rs =
        rescore_on_folds(cfg, out, resume, res.records, order,
                         prepared_data(*evaluator.data()).scenes, a.mpi, g_stop, say);
    if (rs.done) {
      best = order.front();
      summary["rescore"] = rs.table;
      if (talk)
        std::fprintf(stderr,
                     "\nthe best %zu re-scored on %d folds (mean device mIoU on each fold's val "
                     "scenes; * the winner):\n%s",
                     rs.table.size(), cfg.evaluation.rescore_folds,
                     rescored_table(rs.table, cfg.device).c_str());
    }
  }
  if (!best && !g_stop.load()) {
    // Nothing to retrain or deploy: say why and fail (FAILED.txt repeats it).
    const std::string why = no_winner_message(res.records);
    summary["no_winner"] = why;
    write_file_atomic(out + "/summary.json", summary.dump(2) + "\n");
    if (a.json)
      std::printf("%s\n",
                  nlohmann::json({{"event", "summary"}, {"summary", summary}}).dump().c_str());
    throw Error(out + ": " + why);
  }
  if (best && cfg.evaluation.final_epochs > 0 && !g_stop.load()) {
    // Under MPI --threads is each worker's; two or more retrainings of the winner go to the
    // workers, but a single one is rank 0's while the workers wait, so it uses every core
    // rank 0 may run on (its affinity: the node's cores, or a batch system's allocation).
    if (a.mpi) set_threads(usable_cores());
    const std::string precision = cfg.train.value("precision", std::string("fp32"));
    const bool with_twin = cfg.evaluation.final_fp32_twin && precision == "aligned";
    const auto on_epoch = [&](int e, int total, double eta) {
      if (talk && (e == total || e % 5 == 0))
        std::fprintf(stderr, "  epoch %d/%d  ETA %s\n", e, total, format_seconds(eta).c_str());
    };
    const uint64_t seed0 = cfg.seed;  // the retrainings' seed (candidate_evaluator: train.seed)
    // A retraining of `genome` finished before in `dir` (a resumed run, or a finalist's
    // retraining that became the winner's) with the current recipe: its metrics in `m`.
    const auto finished_before = [&](const std::string& dir, const std::string& genome,
                                     nlohmann::json& m) {
      return retrained_before(dir, genome, cfg.final_train, m);
    };
    // [evaluation] final_candidates: the search's best few are retrained like the winner
    // (final_seeds seeds each) into finalists/<id>/<seed>/, and the winner is the one whose
    // fitness with its mean mIoU over the seeds is highest (search/finalists.h).
    size_t win = *best;
    bool from_finalists = false;
    const size_t n_final = std::min<size_t>(cfg.evaluation.final_candidates, order.size());
    if (n_final > 1) {
      // First what is done (a resumed run's, or the winner's retrainings in best/), then
      // the rest: side by side on the workers under MPI, else one after another here.
      std::vector<Finalist> finalists;
      struct Pending {
        size_t i;
        int k;
        std::string dir;
      };
      std::vector<Pending> pending;
      for (size_t i = 0; i < n_final; ++i) {
        const auto& rec = res.records[order[i]];
        const Genome fg = Genome::parse(rec.genome);
        Finalist f{rec.candidate_id, fg.str(), rec.fitness, rec.metrics, {}};
        for (int k = 0; k < cfg.evaluation.final_seeds; ++k) {
          const std::string dir = out + "/finalists/" + std::to_string(rec.candidate_id) + "/" +
                                  std::to_string(seed0 + k);
          // A finished run resumed with final_candidates raised: the winner's retrainings
          // in best/ (and best/seeds/) are its finalist's, copied rather than trained again.
          const std::string as_best =
              k == 0 ? out + "/best" : out + "/best/seeds/" + std::to_string(seed0 + k);
          nlohmann::json m;
          bool have = resume && finished_before(dir, f.genome, m);
          if (!have && resume && finished_before(as_best, f.genome, m)) {
            copy_files(as_best, dir);
            have = true;
            if (talk)
              std::fprintf(stderr, "finalist %zu of %zu, seed %llu: the winner's retraining %s\n",
                           i + 1, n_final, static_cast<unsigned long long>(seed0 + k),
                           as_best.c_str());
          }
          if (!have) {
            m = nullptr;
            pending.push_back({i, k, dir});
          }
          f.retrained.push_back(m);
        }
        finalists.push_back(std::move(f));
      }
      const auto done = [&](const Pending& p, nlohmann::json m) {
        const auto& rec = res.records[order[p.i]];
        m["candidate_id"] = rec.candidate_id;
        m["search_metrics"] = rec.metrics;
        write_file_atomic(p.dir + "/metrics.json", m.dump(2) + "\n");
        finalists[p.i].retrained[p.k] = m;
      };
      if (a.mpi && !pending.empty()) {
        std::vector<dist::FinalJob> jobs;
        for (const auto& p : pending)
          jobs.push_back({cfg.to_json(), out, finalists[p.i].genome, p.dir, p.k, false});
        if (talk)
          std::fprintf(stderr, "\nretraining %zu finalists' seeds for %d epochs on the workers\n",
                       jobs.size(), cfg.evaluation.final_epochs);
        const auto say = [&](const std::string& line) {
          if (talk) std::fprintf(stderr, "  %s\n", line.c_str());
        };
        dist::run_final_mpi(*a.mpi, jobs, say,
                            [&](size_t j, const nlohmann::json& m) { done(pending[j], m); });
      } else {
        for (const auto& p : pending) {
          if (g_stop.load()) break;
          const Finalist& f = finalists[p.i];
          if (talk)
            std::fprintf(stderr,
                         "\nretraining finalist %zu of %zu (candidate %llu, seed %llu) for %d "
                         "epochs: %s\n",
                         p.i + 1, n_final, static_cast<unsigned long long>(f.candidate_id),
                         static_cast<unsigned long long>(seed0 + p.k), cfg.evaluation.final_epochs,
                         f.genome.c_str());
          done(p, evaluator.train_final(Genome::parse(f.genome), p.dir, on_epoch, false, p.k));
        }
      }
      if (!g_stop.load()) {
        const FinalistsChoice choice =
            choose_finalist(cfg.fitness, cfg.evaluation.split, finalists);
        win = order[choice.chosen];
        from_finalists = true;
        summary["finalists"] = choice.table;
        write_file_atomic(out + "/finalists/finalists.json", choice.table.dump(2) + "\n");
        if (talk)
          std::fprintf(stderr,
                       "\nthe finalists, retrained with %d seed(s) each (mean device mIoU on "
                       "%s; * the winner):\n%s",
                       cfg.evaluation.final_seeds, cfg.evaluation.split.c_str(),
                       finalists_table(choice.table, cfg.device).c_str());
        // The winner's retrainings are its finalist's: best/ and best/seeds/<seed>/ (the
        // twin, when asked for, is trained below).
        const auto& rec = res.records[win];
        for (int k = 0; k < cfg.evaluation.final_seeds; ++k) {
          const std::string src = out + "/finalists/" + std::to_string(rec.candidate_id) + "/" +
                                  std::to_string(seed0 + k);
          const std::string dst =
              k == 0 ? out + "/best" : out + "/best/seeds/" + std::to_string(seed0 + k);
          nlohmann::json m;
          if (finished_before(dst, rec.genome, m)) continue;
          if (fs::exists(dst)) fs::remove_all(dst);  // another winner's files
          copy_files(src, dst);
          if (k == 0) write_file_atomic(dst + "/genome.txt", rec.genome + "\n");
        }
      }
    }
    if (g_stop.load()) {  // cut off among the finalists: --resume continues them
      pr.genome = res.records[*best].genome;
      return finish();
    }
    const Genome g = Genome::parse(res.records[win].genome);
    // One retraining of the winner (and its FP32 twin) with the search seed + k: k = 0 into
    // best/ (deployed: ONNX files), k > 0 into best/seeds/<seed>/ (evaluation.final_seeds).
    // A resumed run keeps a retraining it finished, unless the retraining's recipe
    // ([final_train] in the run's config.toml) changed since.
    // Under MPI, two or more of them go to the workers first, side by side
    // (cli/search_winner.h); the loop below then finds them done.
    WinnerRetraining w;
    w.run_dir = out;
    w.genome = g.str();
    w.with_twin = with_twin;
    w.reuse = resume || from_finalists;
    w.candidate_id = res.records[win].candidate_id;
    w.search_metrics = res.records[win].metrics;
    bool on_workers = false;
    if (a.mpi) {
      on_workers = retrain_winner_on_workers(cfg, w, *a.mpi, [&](const std::string& line) {
                     if (talk) std::fprintf(stderr, "%s\n", line.c_str());
                   }) > 0;
    }
    const bool reuse = w.reuse || on_workers;
    const auto retrain = [&](int k) -> nlohmann::json {
      const std::string dir = winner_dir(out, seed0, k);
      nlohmann::json m;
      const bool done_before = reuse && finished_before(dir, g.str(), m);
      if (done_before && !m.contains("seed")) m["seed"] = seed0 + k;  // an older run's
      if (done_before) {
        if (talk && !on_workers)
          std::fprintf(stderr, "\nthe best genome was retrained before%s: %s\n",
                       from_finalists ? " (as a finalist)" : "", dir.c_str());
      } else {
        if (talk)
          std::fprintf(stderr, "\nretraining the best genome for %d epochs%s%s%s: %s\n",
                       cfg.evaluation.final_epochs,
                       k == 0 ? "" : (" (seed " + std::to_string(seed0 + k) + ")").c_str(),
                       cfg.final_train.empty() ? "" : " with [final_train] ",
                       cfg.final_train.empty() ? "" : cfg.final_train.dump().c_str(),
                       g.str().c_str());
        m = evaluator.train_final(g, dir, on_epoch, false, k);
      }
      // The FP32 twin: the same genome, epochs and seed trained in FP32 and converted after
      // training, so that best/ holds the headline comparison for the winner. A resumed run
      // keeps the twin it has, also one that finished while its seed's retraining did not.
      const std::string twin_dir = dir + "/fp32";
      nlohmann::json twin;
      const bool twin_before =
          with_twin && reuse && twin_retrained_before(dir, g.str(), cfg.final_train, m, twin);
      bool changed = !done_before;  // a seed retrained now, or a twin found beside it
      if (twin_before && !m.contains("fp32_twin")) {
        if (talk) std::fprintf(stderr, "its FP32 twin was trained before: %s\n", twin_dir.c_str());
        m["fp32_twin"] = twin;
        changed = true;
      }
      if (changed) save_winner_retraining(w, seed0, k, m);
      if (with_twin && !twin_before && !g_stop.load()) {
        if (talk)
          std::fprintf(stderr,
                       "training its FP32 twin (%d epochs) for post-training conversion: %s\n",
                       cfg.evaluation.final_epochs, twin_dir.c_str());
        m["fp32_twin"] = evaluator.train_final(g, twin_dir, on_epoch, true, k);
        save_winner_retraining(w, seed0, k, m);
      }
      return m;
    };
    pr.final = retrain(0);
    std::vector<nlohmann::json> per_seed = {pr.final};
    for (int k = 1; k < cfg.evaluation.final_seeds && !g_stop.load(); ++k)
      per_seed.push_back(retrain(k));
    if (cfg.evaluation.final_seeds > 1) {
      if (!g_stop.load()) {
        pr.final["over_seeds"] = summarize_seeds(per_seed);
        write_file_atomic(out + "/best/metrics.json", pr.final.dump(2) + "\n");
      }
    } else if (pr.final.contains("over_seeds")) {
      // A run resumed with final_seeds lowered to 1: the summary of the earlier, larger
      // setting no longer describes this run (its best/seeds/ folders stay on disk).
      pr.final.erase("over_seeds");
      write_file_atomic(out + "/best/metrics.json", pr.final.dump(2) + "\n");
    }
    // [evaluation] baseline: the network to beat, retrained alike (search/baseline.h).
    if (!cfg.evaluation.baseline.empty() && !g_stop.load()) {
      const auto say = [&](const std::string& line) {
        if (talk) std::fprintf(stderr, "%s\n", line.c_str());
      };
      const BaselineRun br =
          retrain_baseline(cfg, out, evaluator, g.str(), per_seed, a.mpi, g_stop, say, on_epoch);
      if (br.done) summary["baseline"] = br.comparison;
    }
    pr.genome = g.str();
    pr.ok = true;
    summary["best"] = pr.final;
    if (talk) {
      // The test mIoU recorded under `k` of `j`, or "-".
      const auto miou = [](const nlohmann::json& j, const char* k) {
        return j.contains(k) ? fmt(j[k].value("miou", std::nan(""))) : "-";
      };
      const auto t = [&](const char* k) { return miou(pr.final, k); };
      std::fprintf(stderr,
                   "best: %s\n  params %lld, latency %.2f ms (%.1f FPS), test mIoU host FP32 %s, "
                   "on %s %s\n",
                   g.str().c_str(), pr.final.value("params", 0LL),
                   pr.final.value("latency_ms", 0.0), pr.final.value("fps", 0.0),
                   t("host_test").c_str(), cfg.device.c_str(), t("device_test").c_str());
      if (pr.final.contains("fp32_twin")) {
        const auto& tw = pr.final["fp32_twin"];
        std::fprintf(stderr,
                     "  its FP32 twin: test mIoU host FP32 %s, after conversion on %s %s "
                     "(aligned: %s)\n",
                     miou(tw, "host_test").c_str(), cfg.device.c_str(),
                     miou(tw, "device_test").c_str(), t("device_test").c_str());
      }
      if (pr.final.contains("over_seeds")) {
        const std::string line = seed_summary_line(pr.final["over_seeds"], cfg.device);
        if (!line.empty()) std::fprintf(stderr, "  %s\n", line.c_str());
      }
      if (summary.contains("baseline"))
        std::fprintf(stderr, "  %s\n", baseline_line(summary["baseline"], cfg.device).c_str());
      // Vessel-level metrics (train/object_metrics.h) of the test scenes on the device; a run
      // retrained before they existed has none.
      if (pr.final.contains("device_test") && pr.final["device_test"].contains("objects"))
        std::fprintf(
            stderr, "  test on %s: %s\n", cfg.device.c_str(),
            ObjectMetrics::from_json(pr.final["device_test"]["objects"]).summary().c_str());
    }
  } else if (best) {
    pr.genome = res.records[*best].genome;  // not retrained: the search's own best
  }
  return finish();
}

}  // namespace

void add_search(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "search",
      "Evolutionary, hardware-aware architecture search with device numerics in the loop");
  auto a = std::make_shared<SearchArgs>();
  auto opt = [&](const char* flag, const char* key, const char* help) {
    cmd->add_option_function<std::string>(
        flag, [a, key](const std::string& v) { a->set[key] = v; }, help);
  };
  cmd->add_option("--config", a->config_file, "Search config (TOML or JSON); flags override it");
  cmd->add_option("--out", a->out, "Run folder (default runs/search-<timestamp>)");
  cmd->add_option("--resume", a->resume, "Continue the search in this run folder");
  cmd->add_option("--set", a->overrides,
                  "Any config key as table.key=value with a TOML value, over the config "
                  "file (repeatable), e.g. --set 'evaluation.rungs=[8]' --set "
                  "evaluation.rung_score=last")
      ->take_all()
      ->allow_extra_args(false);
  opt("--strategy", "strategy", "ga (default), regularized-evolution, nsga2 or random");
  opt("--seed", "seed",
      "Seed of the strategy and every candidate's training (a split by fractions has its own: "
      "--set train.split.seed=N)");
  opt("--device", "device", "Target device profile (default myriadx)");
  opt("--precision", "precision",
      "aligned (default: the target profile's pipeline), fp16-aligned (plain FP16 "
      "projection) or fp32 (convert after training)");
  opt("--data", "data", "Dataset: synthetic (default), synthetic:N, a COCO .json, or a folder");
  opt("--population", "population", "Population size (ga, nsga2, regularized-evolution)");
  opt("--generations", "generations", "Generations (ga, nsga2)");
  opt("--evaluations", "evaluations", "Stop after this many evaluations");
  opt("--time-budget", "time-budget", "Stop starting evaluations after this long (90s, 30m, 2h)");
  opt("--epochs", "epochs", "Training epochs per candidate (with rungs: the last rung)");
  opt("--schedule", "schedule",
      "two-stage (default: low_epochs, then the rest when promising) or rungs (successive "
      "halving over [evaluation] rungs)");
  opt("--max-latency", "max-latency",
      "Hard latency limit in ms on the target (fitness.constraints.max_latency_ms): "
      "candidates estimated above it are rejected before training");
  opt("--final-epochs", "final-epochs", "Epochs to retrain the best genome (0: no retraining)");
  opt("--final-seeds", "final-seeds",
      "Training seeds the best genome is retrained with (mean and sd in best/metrics.json)");
  opt("--final-candidates", "final-candidates",
      "Retrain the search's best K (each with --final-seeds seeds) and choose the winner by "
      "its mean mIoU over the seeds (finalists/)");
  opt("--rescore", "rescore",
      "Re-score the search's best N on cross-validation folds of the scenes outside test "
      "and choose the winner (and finalists) by the mean over the folds (rescore/)");
  opt("--rescore-folds", "rescore-folds", "Folds for --rescore (default 3)");
  opt("--baseline", "baseline",
      "Retrain this network (e.g. reference) like the winner, with the same seeds, and "
      "compare: mIoU difference per seed, latency and parameter ratios (baseline/)");
  opt("--input-size", "input-size", "Inference input S or HxW for the cost model (default 256)");
  cmd->add_flag_function(
      "--no-inheritance", [a](int64_t) { a->set["inheritance"] = "false"; },
      "Train every candidate from scratch");
  cmd->add_flag_function(
      "--no-multi-fidelity", [a](int64_t) { a->set["multi-fidelity"] = "false"; },
      "Train every candidate for the full epochs");
  cmd->add_option("--threads", a->threads, "CPU threads (default: all cores)");
  cmd->add_option("--evaluator", a->evaluator,
                  "local (default) or mpi: under mpirun rank 0 searches and ranks 1..N-1 "
                  "evaluate, each with --threads threads (default: the node's cores shared)")
      ->check(CLI::IsMember({"local", "mpi"}));
  cmd->add_flag("--quiet,-q", a->quiet, "No progress lines");
  cmd->add_flag("--json", a->json, "Progress and summary as JSON lines on stdout");
  cmd->add_flag("--compare-pipelines", a->compare_pipelines,
                "Run the search with fp32 and with aligned training on the same seed and "
                "compare the winners");

  cmd->callback([a]() {
    std::unique_ptr<dist::MpiSession> mpi;  // docs/scale.md
    if (a->evaluator == "mpi") {
      mpi = std::make_unique<dist::MpiSession>();
      if (!mpi->root() && a->threads == 0) a->threads = mpi->default_threads();
      if (mpi->root()) a->mpi = mpi.get();
    }
    set_threads(a->threads);
    if (mpi && !mpi->root()) {
      dist::run_worker(*mpi);
      return;
    }
    std::signal(SIGINT, on_sigint);
    std::signal(SIGTERM, on_sigint);
    if (!a->resume.empty()) {
      if (!a->config_file.empty())
        throw Error("--resume: the run folder's config.toml applies; drop --config");
      if (!a->overrides.empty())
        throw Error(
            "--resume: --set would change the search; the run folder's config.toml "
            "applies");
      for (const auto& [k, v] : a->set)
        // --final-seeds, --final-candidates, --rescore(-folds) and --baseline only say how
        // the winner is chosen, retrained and compared after the search.
        if (k != "evaluations" && k != "time-budget" && k != "final-seeds" &&
            k != "final-candidates" && k != "rescore" && k != "rescore-folds" && k != "baseline")
          throw Error("--resume: --" + k +
                      " would change the search; only --evaluations, --time-budget, "
                      "--final-seeds, --final-candidates, --rescore, --rescore-folds and "
                      "--baseline may be given");
      const std::string cfg_path = a->resume + "/config.toml";
      if (!fs::exists(cfg_path))
        throw Error(a->resume + ": not a search run folder (no config.toml)");
      SearchArgs r = *a;
      r.config_file = cfg_path;
      run_one(resolve(r), a->resume, true, *a);
      return;
    }
    SearchConfig cfg = resolve(*a);
    const std::string out = a->out.empty() ? "runs/search-" + timestamp() : a->out;
    if (!a->compare_pipelines) {
      run_one(cfg, out, false, *a);
      return;
    }
    if (a->set.count("precision"))
      throw Error("--compare-pipelines runs both precisions; drop --precision");
    std::vector<std::pair<std::string, PipelineResult>> results;
    for (const char* p : {"fp32", "aligned"}) {
      SearchConfig c = cfg;
      c.train["precision"] = p;
      results.emplace_back(p, run_one(c, out + "/" + p, false, *a));
      if (g_stop.load()) break;
    }
    std::ostringstream t;
    t << "\npipeline       winner                                              params  host FP32 "
         "test mIoU  "
      << cfg.device << " test mIoU  latency (ms)\n";
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [p, r] : results) {
      if (!r.ok) {
        t << p << ": no retrained winner\n";
        continue;
      }
      const auto miou = [&](const char* k) {
        return r.final.contains(k) ? r.final[k].value("miou", std::nan("")) : std::nan("");
      };
      char line[512];
      std::snprintf(line, sizeof line, "%-14s %-50s %8lld  %19s  %16s  %12s\n", p.c_str(),
                    r.genome.c_str(), r.final.value("params", 0LL), fmt(miou("host_test")).c_str(),
                    fmt(miou("device_test")).c_str(),
                    fmt(r.final.value("latency_ms", 0.0), 2).c_str());
      t << line;
      j[p] = r.final;
    }
    std::fprintf(stderr, "%s", t.str().c_str());
    write_file_atomic(out + "/compare-pipelines.json", j.dump(2) + "\n");
    write_file_atomic(out + "/compare-pipelines.txt", t.str());
  });
}

}  // namespace dalnas::cli
