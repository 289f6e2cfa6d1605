#include "cli/search_baseline.h"

#include "cli/retraining.h"
#include "core/atomic_file.h"
#include "core/genome.h"
#include "dist/mpi_final.h"
#include "search/baseline.h"

namespace dalnas::cli {

BaselineRun retrain_baseline(const SearchConfig& cfg, const std::string& run_dir,
                             CandidateEvaluator& evaluator, const std::string& winner_genome,
                             const std::vector<nlohmann::json>& winner, dist::MpiSession* mpi,
                             const std::atomic<bool>& stop,
                             const std::function<void(const std::string&)>& log,
                             const std::function<void(int, int, double)>& on_epoch) {
  const auto say = [&](const std::string& line) {
    if (log) log(line);
  };
  const std::string name = cfg.evaluation.baseline;
  const Genome g = resolve_arch(name, evaluator.bands());
  const std::string genome = g.str();
  BaselineRun run;
  std::vector<nlohmann::json> per_seed(winner.size());
  if (genome == winner_genome) {
    say("the baseline " + name + " is the winner itself: its retrainings are the winner's");
    per_seed = winner;
  } else {
    struct Pending {
      size_t k;
      std::string dir;
    };
    std::vector<Pending> pending;
    for (size_t k = 0; k < winner.size(); ++k) {
      const std::string dir = run_dir + "/baseline/" + std::to_string(cfg.seed + k);
      if (!retrained_before(dir, genome, cfg.final_train, per_seed[k])) pending.push_back({k, dir});
    }
    if (!pending.empty())
      say("\nretraining the baseline " + name + " (" + genome + ") like the winner: " +
          std::to_string(pending.size()) + " of " + std::to_string(winner.size()) + " seed(s), " +
          std::to_string(cfg.evaluation.final_epochs) + " epochs each" +
          (mpi ? ", on the workers" : ""));
    const auto done = [&](const Pending& p, nlohmann::json m) {
      m["baseline"] = name;
      write_file_atomic(p.dir + "/metrics.json", m.dump(2) + "\n");
      per_seed[p.k] = std::move(m);
    };
    if (mpi && !pending.empty()) {
      std::vector<dist::FinalJob> jobs;
      for (const auto& p : pending)
        jobs.push_back({cfg.to_json(), run_dir, genome, p.dir, static_cast<int>(p.k), false});
      dist::run_final_mpi(
          *mpi, jobs, [&](const std::string& line) { say("  " + line); },
          [&](size_t j, const nlohmann::json& m) { done(pending[j], m); });
    } else {
      for (const auto& p : pending) {
        if (stop.load()) return run;
        say("baseline, seed " + std::to_string(cfg.seed + p.k) + ": " + p.dir);
        done(p, evaluator.train_final(g, p.dir, on_epoch, false, static_cast<int>(p.k)));
      }
    }
  }
  if (stop.load()) return run;
  run.comparison = compare_to_baseline(name, genome, winner, per_seed);
  write_file_atomic(run_dir + "/baseline/baseline.json", run.comparison.dump(2) + "\n");
  run.done = true;
  return run;
}

}  // namespace dalnas::cli
