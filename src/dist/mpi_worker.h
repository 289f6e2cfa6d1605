#pragma once
// The loop of a worker rank (1..N-1) of `dalnas search --evaluator mpi`: receive a job
// from rank 0, evaluate it (dist/job_runner.h), send the result back; until rank 0 says
// stop. A failing evaluation is a result, not the end of the worker.
#include "dist/mpi_session.h"

namespace dalnas::dist {

void run_worker(MpiSession& session);

}  // namespace dalnas::dist
