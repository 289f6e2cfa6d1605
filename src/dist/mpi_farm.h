#pragma once
// The task farm of rank 0 (private to dist/mpi_*.cpp): independent jobs (messages, see
// dist/census_jobs.h and dist/compare_jobs.h) handed to ranks 1..N-1 one at a time each, the
// next to whichever worker is free first; `on_result` gets each job's index, its result
// message and the worker's rank in the order the results arrive. The workers answer with
// the search's worker loop (dist/mpi_worker.h, dist/job_runner.h).
#include <functional>
#include <string>
#include <vector>

#include "dist/mpi_session.h"

namespace dalnas::dist {

void farm(MpiSession& session, const std::vector<std::string>& jobs,
          const std::function<void(size_t job, int worker)>& on_sent,
          const std::function<void(size_t job, const std::string& result, int worker)>& on_result);

}  // namespace dalnas::dist
