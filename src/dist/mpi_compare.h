#pragma once
// The comparison's seeds over MPI (`mpirun -np N dalnas compare --seeds K ... --evaluator
// mpi`): rank 0 hands one seed at a time to each free worker (dist/compare_jobs.h); a worker
// runs that seed exactly as the local comparison would (run_compare with first_seed = its
// offset), loading the data itself; rank 0 merges the seeds in seed order. With the same
// --threads on every rank the result equals the local comparison's (tested). A seed that
// fails on a worker fails the comparison, naming the worker and the seed (a comparison with
// a seed missing would not be the experiment asked for).
#include "dist/mpi_session.h"
#include "eval/compare.h"

namespace dalnas::dist {

CompareResult run_compare_mpi(MpiSession& session, const CompareOptions& opt,
                              const CompareProgress& progress = {});

}  // namespace dalnas::dist
