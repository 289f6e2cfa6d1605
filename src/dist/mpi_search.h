#pragma once
// Rank 0's side of `dalnas search --evaluator mpi`: the asynchronous search loop
// (search/async_driver.h) over an MpiEvaluator whose workers are ranks 1..N-1. The
// journal and every output stay with rank 0. Writes <run_dir>/mpi-stats.json: workers,
// results, and rank 0's own cost per result (Strategy::observe + state + journal commit)
// and per submission (propose + journal lookup + job message), for docs/scale.md.
#include <string>

#include "core/search_space.h"
#include "dist/mpi_session.h"
#include "search/driver.h"
#include "search/journal.h"
#include "search/search_config.h"

namespace dalnas::dist {

SearchOutcome run_search_mpi(MpiSession& session, const SearchConfig& cfg, const SearchSpace& space,
                             const std::string& run_dir, Journal& journal,
                             const DriverOptions& options = {});

}  // namespace dalnas::dist
