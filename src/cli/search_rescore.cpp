#include "cli/search_rescore.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/genome.h"
#include "data/split.h"
#include "dist/mpi_evaluations.h"
#include "eval/candidate_evaluator.h"
#include "search/rescore.h"
#include "train/config.h"

namespace dalnas::cli {

namespace fs = std::filesystem;

namespace {

// What the fold results depend on: the candidates' evaluation (the search's identity) and
// the fold count. Results recorded under other settings are not reused.
nlohmann::json rescore_identity(const SearchConfig& cfg) {
  return {{"evaluation", cfg.evaluation_identity()}, {"folds", cfg.evaluation.rescore_folds}};
}

std::string scene_names(const std::vector<Scene>& scenes, const std::vector<int>& which) {
  std::string s;
  for (int i : which) s += (s.empty() ? "" : ", ") + scenes[static_cast<size_t>(i)].name;
  return s;
}

}  // namespace

RescoreRun rescore_on_folds(const SearchConfig& cfg, const std::string& run_dir, bool resume,
                            const std::vector<EvaluationRecord>& records,
                            std::vector<size_t>& order, const std::vector<Scene>& scenes,
                            dist::MpiSession* mpi, const std::atomic<bool>& stop,
                            const std::function<void(const std::string&)>& log) {
  const auto say = [&](const std::string& line) {
    if (log) log(line);
  };
  RescoreRun run;
  const size_t n = std::min<size_t>(cfg.evaluation.rescore_candidates, order.size());
  const int folds = cfg.evaluation.rescore_folds;
  if (n < 2) {
    say("re-scoring on folds skipped: " + std::to_string(order.size()) +
        " feasible candidate(s), nothing to compare");
    return run;
  }
  const std::string dir = run_dir + "/rescore";
  const std::string results_path = dir + "/results.json";
  const nlohmann::json identity = rescore_identity(cfg);
  // genome -> one entry per fold (null: not yet scored)
  nlohmann::json results = nlohmann::json::object();
  if (resume && fs::exists(results_path)) {
    try {
      const auto prev = nlohmann::json::parse(read_file(results_path));
      if (prev.value("identity", nlohmann::json()) == identity)
        results = prev.at("results");
      else
        say(results_path + ": written for other settings; the candidates are re-scored again");
    } catch (const std::exception& e) {
      throw Error(results_path + ": not a re-scoring results file (" + e.what() +
                  "); remove it to re-score again");
    }
  }
  std::vector<Rescored> cands;
  for (size_t i = 0; i < n; ++i) {
    const auto& r = records[order[i]];
    Rescored c{r.candidate_id, r.genome, r.fitness, r.metrics, {}};
    auto& slot = results[r.genome];
    if (!slot.is_array() || slot.size() != static_cast<size_t>(folds))
      slot = nlohmann::json::array();
    while (slot.size() < static_cast<size_t>(folds)) slot.push_back(nullptr);
    cands.push_back(std::move(c));
  }
  const auto save = [&]() {
    fs::create_directories(dir);
    write_file_atomic(
        results_path,
        nlohmann::json({{"identity", identity}, {"results", results}}).dump(1) + "\n");
  };
  // Fold k's search configuration: the search's, on fold k of the scenes outside test,
  // every candidate from scratch; its run folder keeps the fold's rung states apart from
  // the search's checkpoints.
  const auto fold_config = [&](int k) {
    SearchConfig fc = cfg;
    fc.train["split"]["folds"] = folds;
    fc.train["split"]["fold"] = k;
    fc.evaluation.inheritance = false;
    fc.evaluation.keep_checkpoints = false;
    fc.evaluation.prefilter = "none";
    return fc;
  };
  const auto fold_dir = [&](int k) { return dir + "/fold" + std::to_string(k); };
  struct Todo {
    size_t i;  // into cands
    int k;     // fold, 1-based
  };
  std::vector<Todo> todo;  // fold by fold: a worker (or this process) changes data rarely
  for (int k = 1; k <= folds; ++k)
    for (size_t i = 0; i < n; ++i)
      if (results[cands[i].genome][k - 1].is_null()) todo.push_back({i, k});
  say("re-scoring the best " + std::to_string(n) + " on " + std::to_string(folds) +
      " folds of the scenes outside test (each trained from scratch as a candidate; " +
      std::to_string(todo.size()) + " trainings to go" + (mpi ? ", on the workers)" : ")"));
  if (!todo.empty()) {
    // Which scenes each fold validates on.
    const TrainConfig tc = TrainConfig::from_json(cfg.train, "train");
    for (int k = 1; k <= folds; ++k) {
      SplitOptions so = tc.split;
      so.folds = folds;
      so.fold = k;
      const Split sp = split_scenes(scenes, so);
      say("fold " + std::to_string(k) + " of " + std::to_string(folds) + ": val " +
          scene_names(scenes, sp.val) + "; train " + scene_names(scenes, sp.train));
    }
  }
  // One result in: recorded and saved, except a transient failure (ranked as failed in this
  // run, tried again by a resumed one).
  const auto record = [&](const Todo& t, const EvalOutcome& o, double seconds,
                          const std::string& where) {
    const std::string who = "  candidate " + std::to_string(cands[t.i].candidate_id) + ", fold " +
                            std::to_string(t.k) + where + ": ";
    nlohmann::json r;
    if (o.status == EvalStatus::Ok && o.metrics.contains("miou") &&
        o.metrics.at("miou").is_number()) {
      char line[64];
      std::snprintf(line, sizeof line, "mIoU %.4f (%.0f s)", o.metrics.at("miou").get<double>(),
                    seconds);
      say(who + line);
      r = {{"status", "ok"}, {"miou", o.metrics.at("miou")}, {"seconds", seconds}};
    } else {
      const std::string why = o.reason.empty() ? to_string(o.status) : o.reason;
      say(who + "failed: " + why);
      if (o.transient) return;
      r = {{"status", "failed"}, {"reason", why}, {"seconds", seconds}};
    }
    results[cands[t.i].genome][t.k - 1] = r;
    save();
  };
  const auto candidate = [&](size_t i) {
    Candidate c;
    c.id = cands[i].candidate_id;
    c.genome = Genome::parse(cands[i].genome);
    return c;
  };
  for (int k = 1; k <= folds; ++k) fs::create_directories(fold_dir(k));
  if (mpi && !todo.empty()) {
    std::vector<dist::Job> jobs;
    for (const Todo& t : todo) {
      dist::Job j;
      j.config = fold_config(t.k).to_json();
      j.run_dir = fold_dir(t.k);
      j.candidate = candidate(t.i);
      j.training_seed_salt = static_cast<uint64_t>(t.k);
      jobs.push_back(std::move(j));
    }
    dist::run_evaluations_mpi(
        *mpi, jobs, [&](size_t j, const EvalOutcome& o, int worker, double seconds) {
          record(todo[j], o, seconds, " (worker " + std::to_string(worker) + ")");
        });
  } else {
    for (int k = 1; k <= folds && !stop.load(); ++k) {
      std::unique_ptr<CandidateEvaluator> ev;  // built when fold k has work
      for (const Todo& t : todo) {
        if (t.k != k || stop.load()) continue;
        if (!ev) {
          ev = std::make_unique<CandidateEvaluator>(fold_config(k), fold_dir(k));
          ev->training_seed_salt = static_cast<uint64_t>(k);  // an independent training
        }
        const auto t0 = std::chrono::steady_clock::now();
        const EvalOutcome o = ev->evaluate(candidate(t.i), {});
        record(t, o, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
               "");
      }
    }
  }
  if (stop.load()) return run;
  for (auto& c : cands) {
    const auto& slot = results[c.genome];
    std::vector<nlohmann::json> f(slot.begin(), slot.end());
    // A transient failure of this run (not recorded) counts as failed here.
    for (auto& x : f)
      if (x.is_null()) x = {{"status", "failed"}, {"reason", "transient failure (resume retries)"}};
    c.folds = std::move(f);
  }
  const RescoreRanking ranking = rank_rescored(cfg.fitness, cands);
  std::vector<size_t> head;
  for (size_t r : ranking.order) head.push_back(order[r]);
  std::copy(head.begin(), head.end(), order.begin());
  run.done = true;
  run.table = ranking.table;
  fs::create_directories(dir);
  write_file_atomic(dir + "/rescore.json", ranking.table.dump(2) + "\n");
  return run;
}

}  // namespace dalnas::cli
