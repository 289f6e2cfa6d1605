#pragma once
// Rank 0's side of the finalists' retrainings under `dalnas search --evaluator mpi`
// ([evaluation] final_candidates > 1): each retraining (dist/final_jobs.h) goes to whichever
// worker is free first (dist/mpi_farm.h), so K finalists x S seeds train side by side
// instead of one after another on rank 0. Returns train_final's metrics of every job, in
// the jobs' order; throws dalnas::Error naming the first retraining that failed (after the
// others finished, so that a resume reuses them).
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dist/final_jobs.h"
#include "dist/mpi_session.h"

namespace dalnas::dist {

std::vector<nlohmann::json> run_final_mpi(
    MpiSession& session, const std::vector<FinalJob>& jobs,
    const std::function<void(const std::string&)>& progress = {});

}  // namespace dalnas::dist
