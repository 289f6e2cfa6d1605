#pragma once
// `dalnas search`'s re-scoring of its best few on cross-validation folds ([evaluation]
// rescore_candidates, rescore_folds; the ranking itself: search/rescore.h). Runs after the
// search: in its process one training after another, or under MPI on the workers side by
// side (each a search evaluation message with the fold's configuration). Files under
// <run>/rescore/: results.json (every fold result so far, written after each one, so a killed run
// resumes where it stopped; a candidate killed mid-training continues from its rung state in
// fold<k>/checkpoints/) and rescore.json (the ranking table).
#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/scene.h"
#include "dist/mpi_session.h"
#include "search/journal.h"
#include "search/search_config.h"

namespace dalnas::cli {

struct RescoreRun {
  bool done = false;     // false: cut off by `stop`, or fewer than two feasible candidates
                         // (the order is unchanged)
  nlohmann::json table;  // the ranking table (RescoreRanking::table) when done
};

// Re-scores records[order[0 .. N)] (N = min(rescore_candidates, order.size())) and, when
// done, puts those N in the order of their re-scored ranking (the rest of `order` after
// them as it was). `cfg` is the search's configuration as run (its resolved [train]);
// `resume`: reuse <run>/rescore/results.json when it was written for the same settings.
// `mpi`: the search's MPI session (rank 0): the trainings run on its workers side by side
// (dist/mpi_evaluations.h); null: here, one after another. `log` receives progress lines
// (may be empty).
RescoreRun rescore_on_folds(const SearchConfig& cfg, const std::string& run_dir, bool resume,
                            const std::vector<EvaluationRecord>& records,
                            std::vector<size_t>& order, const std::vector<Scene>& scenes,
                            dist::MpiSession* mpi, const std::atomic<bool>& stop,
                            const std::function<void(const std::string&)>& log);

}  // namespace dalnas::cli
