#pragma once
// Rank 0's side of the search's retrainings under `dalnas search --evaluator mpi` (the
// finalists' with [evaluation] final_candidates > 1, the baseline's with [evaluation]
// baseline): each retraining (dist/final_jobs.h) goes to whichever worker is free first
// (dist/mpi_farm.h), so K finalists x S seeds train side by side instead of one after
// another on rank 0. `done(job, metrics)` is called on rank 0 as each retraining finishes,
// in arrival order, so that the caller saves it at once (its metrics.json): a retraining
// that failed, or a run stopped meanwhile, loses none of the finished ones, and a resume
// reuses them. Returns train_final's metrics of every job, in the jobs' order; throws
// dalnas::Error naming the first retraining that failed (after the others finished).
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dist/final_jobs.h"
#include "dist/mpi_session.h"

namespace dalnas::dist {

std::vector<nlohmann::json> run_final_mpi(
    MpiSession& session, const std::vector<FinalJob>& jobs,
    const std::function<void(const std::string&)>& progress = {},
    const std::function<void(size_t job, const nlohmann::json& metrics)>& done = {});

}  // namespace dalnas::dist
