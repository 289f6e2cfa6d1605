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
//
// Budgets: the strategy's own (generations, budget), `max_evaluations` (evaluations
// recorded in this run, resumed ones included) and `time_budget_s` (wall time of every
// invocation together; checked before each new evaluation).
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/search_space.h"
#include "search/evaluator.h"
#include "search/journal.h"
#include "search/search_config.h"

namespace dalnas {

struct SearchProgress {
  const EvaluationRecord* record = nullptr;  // the evaluation just committed
  bool reused = false;                       // answered from the journal
  int64_t done = 0;                          // evaluations recorded in this run
  int64_t planned = 0;                       // expected in all (budgets applied)
  double elapsed_s = 0;                      // all invocations together
  double eta_s = 0;                          // from the mean time per evaluation
  double generation_best = 0;                // best fitness in the record's generation
  double best = 0;                           // best feasible fitness so far (NaN: none)
};

struct DriverOptions {
  std::function<void(const SearchProgress&)> on_progress;
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by SIGINT) to stop after the current one
};

struct SearchOutcome {
  std::vector<EvaluationRecord> records;  // this run's evaluations, commit order
  bool finished = false;                  // the strategy's budget is spent
  std::string stop_reason;                // "finished", "max_evaluations", "time budget", ...
  double elapsed_s = 0;
  int64_t resumed_from = 0;  // evaluations found in the journal at start
  int64_t reused = 0;        // duplicates answered from the journal in this invocation
};

// Evaluations a strategy plans (ga: population + (generations - 1) * (population -
// elites); nsga2: population * generations; others: budget), capped by max_evaluations.
int64_t planned_evaluations(const SearchConfig& cfg, const nlohmann::json& strategy_params);

// The journal's run must match `cfg` (evaluation identity, strategy, space, seed) when it
// has one: resuming with another configuration throws dalnas::Error naming the journal.
// `space` is cfg.space with its parameter counter installed.
SearchOutcome run_search(const SearchConfig& cfg, const SearchSpace& space, Evaluator& evaluator,
                         Journal& journal, const DriverOptions& options = {});

// The strategy's observation of a journal record under `fitness`.
Observation observation_of(const EvaluationRecord& r, const FitnessConfig& fitness);

}  // namespace dalnas
