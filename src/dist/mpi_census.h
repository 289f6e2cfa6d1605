#pragma once
// The census over MPI (`mpirun -np N dalnas compare --genomes K ... --evaluator mpi`):
// rank 0 hands the census's units (eval/census.h: a genome and the pipelines that share
// its trained networks) to the workers, one at a time each, as soon as a worker is free,
// and gathers their cells; the workers run the unit exactly as the local census would
// (dist/census_jobs.h), loading the data themselves from the path in the options.
//
// The result equals the local census's (cells in the same order, the same numbers when
// every rank trains with the same --threads), except the seconds. A unit that fails on a
// worker (an exception, data the worker cannot read) becomes failed cells naming the
// worker, and the census goes on. A worker that dies ends the job (as for the search,
// docs/scale.md); the cells finished by then are in census.json (written after every
// result), and `--resume` runs the units left (eval/census.h: census_cells_kept).
#include "dist/mpi_session.h"
#include "eval/census.h"

namespace dalnas::dist {

// On rank 0 of a session with at least 2 ranks. `on_cell` is called after every result
// with the cells gathered so far (in census order); `progress` with one line per event.
// With `previous` (a resumed census) only the units it lacks are handed out.
CensusResult run_census_mpi(MpiSession& session, const CensusOptions& opt,
                            const CensusProgress& progress = {},
                            const std::function<void(const CensusResult&)>& on_cell = {},
                            const CensusResult* previous = nullptr);

}  // namespace dalnas::dist
