#pragma once
// What a search reports after each commit (SearchProgress), and the bookkeeping behind it
// (ProgressTracker): the best feasible fitness so far and per generation, wall time over
// every invocation, and an ETA from the mean time of this invocation's evaluations. Shared
// by run_search (search/driver.h) and run_search_async (search/async_driver.h).
//
//   ProgressTracker progress(cfg, planned, opened.elapsed_before, t0, opened.records);
//   progress.evaluated(seconds);           // an evaluation of this invocation
//   progress.note(rec);                    // a committed record
//   options.on_progress(progress.report(rec, reused, retry, records.size()));
#include <cstdint>
#include <map>
#include <vector>

#include "core/steady_clock.h"
#include "search/journal.h"
#include "search/search_config.h"

namespace dalnas {

struct SearchProgress {
  const EvaluationRecord* record = nullptr;  // the evaluation just committed
  bool reused = false;                       // answered from the journal
  bool retry = false;          // a transient failure of an earlier invocation, evaluated again
  int64_t done = 0;            // evaluations recorded in this run
  int64_t planned = 0;         // expected in all (budgets applied)
  double elapsed_s = 0;        // all invocations together
  double eta_s = 0;            // from the mean time per evaluation
  double generation_best = 0;  // best fitness in the record's generation
  double best = 0;             // best feasible fitness so far (NaN: none)
};

class ProgressTracker {
 public:
  // `planned`: the evaluations expected in all; `elapsed_before`: seconds spent by earlier
  // invocations; `t0`: when this invocation started (steady_now_s()); `records`: the
  // evaluations found at start (their fitness counts for the best); `workers`: evaluations
  // that run at once (the remaining ones take mean / workers each).
  ProgressTracker(const SearchConfig& cfg, int64_t planned, double elapsed_before, double t0,
                  const std::vector<EvaluationRecord>& records, int workers = 1);

  // Wall time of every invocation together.
  double elapsed() const;
  // An evaluation made by this invocation (not a duplicate answered from the journal).
  void evaluated(double seconds);
  // A committed record: its fitness counts for the best when it is feasible and Ok.
  void note(const EvaluationRecord& r);
  // The report of committed record `rec` with `done` evaluations recorded in the run.
  SearchProgress report(const EvaluationRecord& rec, bool reused, bool retry, int64_t done) const;

 private:
  double time_budget_s_;
  int64_t planned_;
  double elapsed_before_, t0_;
  int workers_;
  std::map<int, double> generation_best_;
  double best_;
  double eval_seconds_ = 0;  // this invocation's
  int64_t evaluated_ = 0;
};

}  // namespace dalnas
