#pragma once
// Candidate evaluations given in advance (not a search's: no journal, no strategy) run on
// the workers of an MPI session: `dalnas search`'s re-scoring on folds (cli/
// search_rescore.h). Each job is the search's evaluation message (dist/messages.h), so a
// worker evaluates it as it evaluates a search's candidate (the same CandidateEvaluator,
// seeds and classification of failures). Jobs go to whichever worker is free first, in
// the given order; `on_result` gets each job's index, outcome, worker and seconds as they
// arrive (on rank 0, one at a time). Throws dalnas::Error naming the candidate when a
// worker met a programming error (after the other jobs in flight have returned).
#include <functional>
#include <string>
#include <vector>

#include "dist/messages.h"
#include "dist/mpi_session.h"

namespace dalnas::dist {

void run_evaluations_mpi(MpiSession& session, const std::vector<Job>& jobs,
                         const std::function<void(size_t job, const EvalOutcome& outcome,
                                                  int worker, double seconds)>& on_result);

}  // namespace dalnas::dist
