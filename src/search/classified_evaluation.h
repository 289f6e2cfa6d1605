#pragma once
// One evaluation with what it throws classified (search/evaluator.h), shared by the local
// search loop (search/driver.h) and the workers of a distributed one (dist/job_runner.h):
//   dalnas::TransientError, std::bad_alloc -> Failed, transient (repeated at once up to
//                                            `retries` times);
//   dalnas::Error                          -> Failed;
//   anything else                          -> EvaluationBug: a programming error, which
//                                            stops the search (the driver names the
//                                            candidate; a worker sends it to rank 0).
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "search/evaluator.h"

namespace dalnas {

// A programming error met while evaluating a candidate. what(): the exception's type and
// the first line of its message, e.g. "std::out_of_range: map::at".
class EvaluationBug : public std::logic_error {
 public:
  EvaluationBug(uint64_t candidate_id, const std::string& what)
      : std::logic_error(what), candidate_id(candidate_id) {}
  uint64_t candidate_id;
};

// Classifies the failure `e` (std::current_exception() in a catch block) into `o`: status
// Failed, the first line of its message as the reason, and whether it is transient, for
// dalnas::TransientError, dalnas::Error and std::bad_alloc (the rest of `o` is kept: metrics
// measured before the failure stay). False for anything else, which is the caller's to
// classify or rethrow. The one place that says which failures are a candidate's and which
// are transient, for evaluate_classified and the evaluators that catch their own
// (eval/candidate_evaluator).
bool classify_failure(std::exception_ptr e, EvalOutcome& o);

// Throws EvaluationBug for a programming error; returns every other outcome.
EvalOutcome evaluate_classified(Evaluator& evaluator, const Candidate& c,
                                const std::vector<EvaluationRecord>& history, int retries);

// The one line a search stops with for `bug` (EvaluationBug::what()) on `c`, with the
// number of evaluations the journal keeps before it.
std::string evaluation_bug_message(const Candidate& c, const std::string& bug, size_t journal_rows);

}  // namespace dalnas
