#include "cli/search_winner.h"

#include <map>

#include "cli/retraining.h"
#include "core/atomic_file.h"
#include "dist/mpi_final.h"

namespace dalnas::cli {

std::string winner_dir(const std::string& run_dir, uint64_t search_seed, int k) {
  return k == 0 ? run_dir + "/best"
                : run_dir + "/best/seeds/" + std::to_string(search_seed + static_cast<uint64_t>(k));
}

void save_winner_retraining(const WinnerRetraining& w, uint64_t search_seed, int k,
                            nlohmann::json& m) {
  const std::string dir = winner_dir(w.run_dir, search_seed, k);
  m["candidate_id"] = w.candidate_id;
  m["search_metrics"] = w.search_metrics;
  if (k == 0) write_file_atomic(dir + "/genome.txt", w.genome + "\n");
  write_file_atomic(dir + "/metrics.json", m.dump(2) + "\n");
}

size_t retrain_winner_on_workers(const SearchConfig& cfg, const WinnerRetraining& w,
                                 dist::MpiSession& mpi,
                                 const std::function<void(const std::string&)>& log) {
  const auto say = [&](const std::string& line) {
    if (log) log(line);
  };
  struct Job {
    int k;
    bool twin;
  };
  std::vector<Job> what;
  std::vector<dist::FinalJob> jobs;
  std::map<int, nlohmann::json> seed_m;  // k -> the seed's metrics, once known
  std::map<int, nlohmann::json> twin_m;  // k -> a twin done before its seed (now or earlier)
  for (int k = 0; k < cfg.evaluation.final_seeds; ++k) {
    const std::string dir = winner_dir(w.run_dir, cfg.seed, k);
    nlohmann::json m;
    const bool before = w.reuse && retrained_before(dir, w.genome, cfg.final_train, m);
    if (before) {
      seed_m[k] = m;
    } else {
      what.push_back({k, false});
      jobs.push_back({cfg.to_json(), w.run_dir, w.genome, dir, k, false});
    }
    nlohmann::json twin;
    if (w.with_twin && w.reuse && twin_retrained_before(dir, w.genome, cfg.final_train, m, twin)) {
      if (!before) twin_m[k] = twin;  // kept for the seed's metrics when they arrive
    } else if (w.with_twin) {
      what.push_back({k, true});
      jobs.push_back({cfg.to_json(), w.run_dir, w.genome, dir + "/fp32", k, true});
    }
  }
  if (jobs.size() < 2) return 0;
  say("\nretraining the winner on the workers: " + std::to_string(jobs.size()) +
      " retraining(s) of " + std::to_string(cfg.evaluation.final_epochs) + " epochs (" +
      std::to_string(cfg.evaluation.final_seeds) + " seed(s)" +
      (w.with_twin ? ", each with its FP32 twin" : "") + "): " + w.genome);
  dist::run_final_mpi(
      mpi, jobs, [&](const std::string& line) { say("  " + line); },
      [&](size_t j, const nlohmann::json& r) {
        const Job& job = what[j];
        if (job.twin) {
          if (!seed_m.count(job.k)) {
            twin_m[job.k] = r;  // saved with its seed's metrics when those arrive
            return;
          }
          seed_m[job.k]["fp32_twin"] = r;
        } else {
          seed_m[job.k] = r;
          if (twin_m.count(job.k)) seed_m[job.k]["fp32_twin"] = twin_m[job.k];
        }
        save_winner_retraining(w, cfg.seed, job.k, seed_m[job.k]);
      });
  return jobs.size();
}

}  // namespace dalnas::cli
