#pragma once
// The winner's retrainings of `dalnas search`: their folders, how each is saved, and under
// `--evaluator mpi` their run on the workers. After the search
// the winner is retrained with each seed of [evaluation] final_seeds (search.seed + k into
// best/ for k = 0, best/seeds/<seed>/ after) and, with precision aligned and
// final_fp32_twin, each retraining's FP32 twin (<dir>/fp32/). Locally these run one after
// another; under MPI they go to whichever worker is free first (dist/mpi_final.h), so S
// seeds and their twins train side by side instead of on rank 0 while the workers wait.
// Each is saved as it arrives (the seed's metrics.json, with "fp32_twin" once both halves
// are in), so a failed or stopped run keeps the finished ones and a resume trains only what
// is missing; the caller's local loop then finds every retraining done.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "dist/mpi_session.h"
#include "search/search_config.h"

namespace dalnas::cli {

struct WinnerRetraining {
  std::string run_dir;
  std::string genome;
  bool with_twin = false;         // also each retraining's FP32 twin
  bool reuse = false;             // keep retrainings finished before (resume, or the finalists')
  nlohmann::json candidate_id;    // recorded in each metrics.json, as the local loop does
  nlohmann::json search_metrics;  //
};

// The folder of the winner's retraining with seed offset k: best/ or best/seeds/<seed>/.
std::string winner_dir(const std::string& run_dir, uint64_t search_seed, int k);

// Saves the winner's retraining with seed offset k into winner_dir: `m` (train_final's
// metrics, with its twin's under "fp32_twin" once in) gains the search's candidate_id and
// search_metrics; genome.txt for k = 0, then metrics.json (atomically, last: a folder without
// it counts as not retrained).
void save_winner_retraining(const WinnerRetraining& w, uint64_t search_seed, int k,
                            nlohmann::json& m);

// Sends what is missing of the winner's retrainings to the workers and saves each as it
// arrives. Returns how many retrainings ran; 0 when fewer than two were missing (one
// retraining stays on rank 0, which may use every core it has). Throws dalnas::Error
// "retraining over MPI: ..." naming the first that failed, after the others finished.
size_t retrain_winner_on_workers(const SearchConfig& cfg, const WinnerRetraining& w,
                                 dist::MpiSession& mpi,
                                 const std::function<void(const std::string&)>& log);

}  // namespace dalnas::cli
