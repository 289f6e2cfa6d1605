#pragma once
// The search loop over several workers: strategy -> AsyncEvaluator -> journal -> strategy.
//
//   Journal journal(run_dir + "/journal.sqlite");
//   SearchOutcome out = run_search_async(config, space, workers, journal, options);
//
// Whenever a worker is idle the strategy is asked for one more candidate (propose(1)) and
// it is submitted; whenever a worker finishes, its result is observed and committed with
// the strategy's state in one transaction, exactly as run_search (search/driver.h) commits
// it. Strategies decide the rhythm: ga and nsga2 propose nothing until their generation
// is observed (generation-synchronous: a generation's candidates run in parallel, the next
// one starts when the last result is in); regularized-evolution and random propose
// whenever asked (asynchronous: a free worker gets the next candidate at once).
//
// The journal is the same as run_search's and moves between the two: a search started by
// one resumes under the other. A killed search loses only the evaluations in flight; the
// strategy's last saved state lists them as outstanding and a resumed search submits them
// first. With ga and nsga2 (independent of the order of observations within a generation)
// the set of candidates and, for deterministic training, their results equal run_search's;
// with the asynchronous strategies they depend on the order in which workers finish.
//
// Duplicates: a genome in the journal is answered from it (no submission); a genome
// proposed while the same genome is in flight waits for that result and reuses it.
// Budgets as in run_search: max_evaluations counts committed and in-flight candidates;
// time_budget_s and options.stop stop new submissions, and the candidates in flight are
// finished and committed before it returns.
#include <cstdint>

#include "core/search_space.h"
#include "search/async_evaluator.h"
#include "search/driver.h"
#include "search/journal.h"
#include "search/search_config.h"

namespace dalnas {

// Rank 0's own cost, for scaling estimates (docs/scale.md).
struct AsyncStats {
  int64_t committed = 0;     // results committed (evaluated and reused)
  double commit_us = 0;      // all commits: Strategy::observe + state() + journal write
  double max_commit_us = 0;  // the slowest commit
  double observe_us = 0;     // of commit_us: Strategy::observe,
  double state_us = 0;       //   the strategy's state as JSON (grows with the run),
  double journal_us = 0;     //   Journal::record_evaluation (SQLite transaction, fsync)
  int64_t submitted = 0;     // candidates submitted to workers
  double submit_us = 0;      // all submissions: propose + journal lookup + submit()
  int max_in_flight = 0;     // most candidates in flight at once
};

SearchOutcome run_search_async(const SearchConfig& cfg, const SearchSpace& space,
                               AsyncEvaluator& evaluator, Journal& journal,
                               const DriverOptions& options = {}, AsyncStats* stats = nullptr);

}  // namespace dalnas
