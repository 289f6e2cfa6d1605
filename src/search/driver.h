#pragma once
// The search loop: strategy -> evaluator -> journal -> strategy, with budgets, duplicate
// lookup, resume and progress.
//
//   Journal journal(run_dir + "/journal.sqlite");
//   SearchOutcome out = run_search(config, space, evaluator, journal, options);
//
// Candidates are evaluated one at a time: propose(1), evaluate, observe, and commit the
// evaluation together with the strategy's state in one transaction. A killed search
// therefore loses at most the evaluation in flight, and a resumed one (same journal)
// restores the strategy from the last commit, random stream included, and continues
// exactly as an uninterrupted run would: same candidates, none evaluated twice.
//
// Duplicates: a genome already in the journal under the same evaluation identity
// (SearchConfig::evaluation_identity()) is not evaluated again; its earlier result is
// recorded for the new candidate (metrics.reused_from = the earlier candidate's id).
// A transient failure (device timeout, unmeasured latency, out of memory; see
// search/evaluator.h) is not such a result: it is evaluated again when proposed again.
//
// Failures: what the evaluator throws is classified (search/evaluator.h): dalnas::Error is
// a failed candidate; dalnas::TransientError and std::bad_alloc a transient failure (tried
// again at once up to SearchConfig::transient_retries times); anything else is a
// programming error: run_search throws std::logic_error naming the candidate, with every
// evaluation before it committed.
//
// Resume and transient failures: a resumed search first evaluates again every transient
// failure of this run (in commit order; a new journal row with metrics.retry_of = the old
// row, which it replaces in `records`); the strategy is not rewound (it observed a failure
// and went on), so a resumed run with transient failures may differ from an uninterrupted
// one in its results, not in the candidates the strategy proposes.
//
// Budgets: the strategy's own (generations, budget), `max_evaluations` (evaluations
// recorded in this run, resumed ones included) and `time_budget_s` (wall time of every
// invocation together; checked before each new evaluation).
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/search_space.h"
#include "search/evaluator.h"
#include "search/journal.h"
#include "search/progress.h"
#include "search/search_config.h"
#include "search/strategy.h"

namespace dalnas {

struct DriverOptions {
  std::function<void(const SearchProgress&)> on_progress;
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by SIGINT) to stop after the current one
  // Fingerprints of what the configuration names but does not hold, e.g. {"device profile":
  // hash of the profile file's content}: recorded with a new run; resuming a run whose
  // recorded fingerprint for a key differs is an error naming the key (its earlier
  // evaluations were made against other content). Runs recorded without a key are not
  // checked for it.
  std::map<std::string, std::string> fingerprints;
  // Why a genome cannot be feasible before training (the cost model against the hard
  // constraints; empty: it may be). With SearchConfig::screen the strategy does not propose
  // genomes that fail it (search/strategy.h "Screen"); `dalnas search` builds it from the
  // evaluator's cost model (screen_by_cost()). Empty: no screen.
  Strategy::Screen screen;
};

struct SearchOutcome {
  std::vector<EvaluationRecord> records;  // this run's evaluations, commit order
  bool finished = false;                  // the strategy's budget is spent
  std::string stop_reason;                // "finished", "max_evaluations", "time budget", ...
  double elapsed_s = 0;
  int64_t resumed_from = 0;  // evaluations found in the journal at start
  int64_t reused = 0;        // duplicates answered from the journal in this invocation
  int64_t retried = 0;       // transient failures of earlier invocations evaluated again
  int64_t screened = 0;      // draws the strategy's screen turned away (the run's, all told)
};

// Evaluations a strategy plans (ga: population + (generations - 1) * (population -
// elites); nsga2: population * generations; others: budget), capped by max_evaluations.
int64_t planned_evaluations(const SearchConfig& cfg, const nlohmann::json& strategy_params);

// The journal's run of this configuration (started when the journal has none) and its
// strategy, restored to the journal's latest committed state. Shared by run_search and
// run_search_async, so that a journal moves between them. Throws dalnas::Error when the
// journal belongs to another configuration, its saved state has no strategy, or its
// evaluations do not match the saved step. The strategy gets options.screen when
// cfg.screen is on.
struct OpenedRun {
  int64_t run_id = 0;
  std::unique_ptr<Strategy> strategy;
  int64_t step = 0;                       // steps committed before
  double elapsed_before = 0.0;            // seconds spent by earlier invocations
  std::vector<EvaluationRecord> records;  // the run's evaluations (load_run_records)
};
OpenedRun open_run(const SearchConfig& cfg, const SearchSpace& space, Journal& journal,
                   const DriverOptions& options = {});

// The run's evaluations in commit order, a row with metrics.retry_of (a transient failure
// evaluated again) in place of the row it retried. Throws dalnas::Error naming the journal
// when a retry names a row that is not in the run.
std::vector<EvaluationRecord> load_run_records(Journal& journal, int64_t run_id);

// The candidate a journal record was the evaluation of (to evaluate it again).
Candidate candidate_of(const EvaluationRecord& r);

// The journal's run must match `cfg` (evaluation identity, strategy, space, seed) when it
// has one: resuming with another configuration throws dalnas::Error naming the journal.
// `space` is cfg.space with its parameter counter installed.
SearchOutcome run_search(const SearchConfig& cfg, const SearchSpace& space, Evaluator& evaluator,
                         Journal& journal, const DriverOptions& options = {});

// The strategy's observation of a journal record under `fitness`.
Observation observation_of(const EvaluationRecord& r, const FitnessConfig& fitness);

// The journal record of candidate `c`'s evaluation in run `run_id` under evaluation identity
// `eval_hash` (row and step not yet set): its result is `outcome`'s, or, when `prev` is
// given, that of an earlier evaluation of the same genome (a duplicate: metrics.reused_from
// names the candidate first evaluated; seconds 0), scored under `fitness` into `obs`, the
// strategy's observation. A result without a metric the fitness needs becomes a failure
// that names it. Shared by run_search and run_search_async.
EvaluationRecord settled_record(const Candidate& c, int64_t run_id, const std::string& eval_hash,
                                const EvalOutcome* outcome, const EvaluationRecord* prev,
                                double seconds, const FitnessConfig& fitness, Observation& obs);

}  // namespace dalnas
