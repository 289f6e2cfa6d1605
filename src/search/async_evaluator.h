#pragma once
// AsyncEvaluator: an evaluator with several workers, each evaluating one candidate at a
// time (e.g. MPI ranks, dist/mpi_evaluator.h). The asynchronous search loop
// (search/async_driver.h) submits a candidate whenever a worker is idle and commits each
// result as it arrives, in whatever order the workers finish. Like Evaluator it only
// measures: the journal, duplicates and the fitness stay with the driver. No transport
// types here: the search module knows nothing of MPI.
#include <cstdint>
#include <utility>
#include <vector>

#include "search/evaluator.h"

namespace dalnas {

class AsyncEvaluator {
 public:
  virtual ~AsyncEvaluator() = default;
  // Candidates that can be in flight at once (the workers).
  virtual int workers() const = 0;
  // Workers without a candidate now; submit() only when this is > 0.
  virtual int idle() const = 0;
  // Starts evaluating `c` on an idle worker. `history`: the run's finished evaluations in
  // commit order when `c` is submitted (as Evaluator::evaluate receives it).
  virtual void submit(const Candidate& c, const std::vector<EvaluationRecord>& history) = 0;
  // Blocks until one submitted candidate is finished; returns its id and outcome. A failed
  // evaluation is an outcome with status Failed (transient where it may not recur, as
  // search/classified_evaluation.h classifies it), never an exception; throws
  // EvaluationBug (with the candidate's id) when the evaluation met a programming error,
  // otherwise only when nothing is in flight or the transport itself breaks.
  virtual std::pair<uint64_t, EvalOutcome> wait() = 0;
};

}  // namespace dalnas
