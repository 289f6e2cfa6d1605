#include "cli/search_rescore.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/genome.h"
#include "eval/candidate_evaluator.h"
#include "search/rescore.h"
#include "train/experiment.h"

namespace dalnas::cli {

namespace fs = std::filesystem;

namespace {

// What the fold results depend on: the candidates' evaluation (the search's identity) and
// the fold count. Results recorded under other settings are not reused.
nlohmann::json rescore_identity(const SearchConfig& cfg) {
  return {{"evaluation", cfg.evaluation_identity()}, {"folds", cfg.evaluation.rescore_folds}};
}

std::string scene_names(const PreparedData& d, const std::vector<int>& which) {
  std::string s;
  for (int i : which) s += (s.empty() ? "" : ", ") + d.scenes[static_cast<size_t>(i)].name;
  return s;
}

}  // namespace

RescoreRun rescore_on_folds(const SearchConfig& cfg, const std::string& run_dir, bool resume,
                            const std::vector<EvaluationRecord>& records,
                            std::vector<size_t>& order, const std::atomic<bool>& stop,
                            const std::function<void(const std::string&)>& log) {
  const auto say = [&](const std::string& line) {
    if (log) log(line);
  };
  RescoreRun run;
  const size_t n = std::min<size_t>(cfg.evaluation.rescore_candidates, order.size());
  const int folds = cfg.evaluation.rescore_folds;
  if (n < 2) {
    run.skipped = true;
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
  say("re-scoring the best " + std::to_string(n) + " on " + std::to_string(folds) +
      " folds of the scenes outside test (each trained from scratch as a candidate)");
  for (int k = 1; k <= folds && !stop.load(); ++k) {
    bool all_done = true;
    for (const auto& c : cands) all_done = all_done && !results[c.genome][k - 1].is_null();
    if (all_done) continue;
    SearchConfig fc = cfg;
    fc.train["split"]["folds"] = folds;
    fc.train["split"]["fold"] = k;
    fc.evaluation.inheritance = false;  // from scratch; the search's checkpoints stay apart
    fc.evaluation.keep_checkpoints = false;
    fc.evaluation.prefilter = "none";
    const std::string fold_dir = dir + "/fold" + std::to_string(k);
    fs::create_directories(fold_dir);
    CandidateEvaluator ev(fc, fold_dir);
    ev.training_seed_salt = static_cast<uint64_t>(k);  // an independent training per fold
    const PreparedData& d = prepared_data(*ev.data());
    say("fold " + std::to_string(k) + " of " + std::to_string(folds) + ": val " +
        scene_names(d, d.split.val) + "; train " + scene_names(d, d.split.train));
    for (size_t i = 0; i < n && !stop.load(); ++i) {
      auto& slot = results[cands[i].genome][k - 1];
      if (!slot.is_null()) continue;
      Candidate c;
      c.id = cands[i].candidate_id;
      c.genome = Genome::parse(cands[i].genome);
      const auto t0 = std::chrono::steady_clock::now();
      const EvalOutcome o = ev.evaluate(c, {});
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      nlohmann::json r;
      if (o.status == EvalStatus::Ok && o.metrics.contains("miou") &&
          o.metrics.at("miou").is_number()) {
        r = {{"status", "ok"}, {"miou", o.metrics.at("miou")}, {"seconds", s}};
        say("  candidate " + std::to_string(c.id) + ": mIoU " +
            std::to_string(o.metrics.at("miou").get<double>()).substr(0, 6) + " (" +
            std::to_string(static_cast<int>(s)) + " s)");
      } else {
        const std::string why = o.reason.empty() ? to_string(o.status) : o.reason;
        r = {{"status", "failed"}, {"reason", why}, {"seconds", s}};
        say("  candidate " + std::to_string(c.id) + ": failed: " + why);
        // A transient failure is not recorded: ranked as failed in this run, tried again
        // by a resumed one.
        if (o.transient) continue;
      }
      slot = r;
      save();
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
