#pragma once
// `dalnas search`'s baseline ([evaluation] baseline; the comparison itself:
// search/baseline.h). After the winner's retrainings the baseline network is retrained with
// the same recipe (final_epochs, [final_train]), the same seeds (search.seed + k for k <
// final_seeds) and the same scenes into <run>/baseline/<seed>/ (model.ckpt, metrics.json):
// in this process one after another, or under MPI on the workers side by side
// (dist/mpi_final.h). A retraining finished before with the same genome and recipe is kept,
// so a killed or resumed run trains only what is missing. The comparison is written to
// <run>/baseline/baseline.json.
#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dist/mpi_session.h"
#include "eval/candidate_evaluator.h"
#include "search/search_config.h"

namespace dalnas::cli {

struct BaselineRun {
  bool done = false;          // false: cut off by `stop` (a resume continues)
  nlohmann::json comparison;  // compare_to_baseline()'s result when done
};

// `winner` holds the winner's retrainings in seed order (best/, best/seeds/<seed>/), one per
// seed of final_seeds; `winner_genome` its genome. The baseline is cfg.evaluation.baseline
// resolved for the data's bands (the evaluator's). When it is the winner's own genome its
// retrainings are the winner's (nothing is trained). `log` receives progress lines (may be
// empty); `on_epoch` each local training's epochs.
BaselineRun retrain_baseline(const SearchConfig& cfg, const std::string& run_dir,
                             CandidateEvaluator& evaluator, const std::string& winner_genome,
                             const std::vector<nlohmann::json>& winner, dist::MpiSession* mpi,
                             const std::atomic<bool>& stop,
                             const std::function<void(const std::string&)>& log,
                             const std::function<void(int, int, double)>& on_epoch);

}  // namespace dalnas::cli
