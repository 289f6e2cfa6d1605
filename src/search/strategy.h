#pragma once
// Strategy: a search algorithm that proposes candidate genomes and learns from their results.
//
//   auto s = make_strategy("ga", params, space, seed);
//   while (!s->done()) {
//     for (const Candidate& c : s->propose(free_workers)) dispatch(c);
//     s->observe(finished_results());          // any order, any batch size
//     journal.save_state(step, s->state());    // resumable from here
//   }
//
// propose(n) returns at most n new candidates, possibly none: a generational strategy
// waits until its whole generation is observed. Ids are unique within a run, count from 1
// in order of creation, and every candidate proposed must eventually be observed exactly
// once (a failed evaluation is an Observation with ok = false).
//
// Determinism: everything random comes from one Rng seeded by `seed` and saved in state().
// Given the same sequence of propose/observe calls (same batch sizes and observation order)
// two runs are identical; GA and NSGA-II are moreover independent of batch sizes and of
// the order of observations within a generation. restore(state()) into a fresh strategy
// built with the same name, parameters and space continues exactly where the saved one
// stood; outstanding() then lists the candidates proposed but not observed, which the
// driver dispatches again.
//
// Seed genomes: every strategy takes `seed_genomes` (parameter, default none), a list of
// genomes (named, `pynas:<code>` or canonical strings) that must lie in the search space;
// they are the strategy's first random draws, in order (origin "seed"), so that a search
// starts from known networks (e.g. `reference`, to see it beside what the search finds).
// A genome outside the space is an error naming its index and the gene.
//
// Duplicates: a strategy does not propose a genome it has proposed before (canonical
// string); it redraws up to `max_retries` times (parameter, default 100), then falls back
// to a random genome, and only if that is also taken proposes a repeat (the evaluator's
// journal lookup answers it without training).
//
// Screen: a function of the genome alone that says, before anything is trained, why it
// cannot be feasible (e.g. the cost model's latency above a hard limit), or nothing when it
// may be. A strategy given one (set_screen) treats a genome that fails it like a duplicate:
// it draws again, up to `max_retries` times, so that such genomes take no evaluation, no
// place in its population and no share of its budget; if the random fallback's draws all
// fail too, the first of them not proposed before is proposed anyway (the evaluator then
// rejects it). Seed genomes are proposed whatever the screen says (the user named them).
// The screen is not part of state(); determinism holds for the same screen. screened()
// counts the draws it turned away (saved in state()).
//
// Ranking for single-objective strategies (ga, regularized-evolution): feasible before
// infeasible; feasible by fitness (higher first); infeasible by violation (lower first);
// then by id (older first). A failed evaluation (ok = false) counts as infeasible with
// infinite violation.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/genome.h"
#include "core/search_space.h"

namespace dalnas {

struct Candidate {
  uint64_t id = 0;
  Genome genome;
  int generation = 0;
  std::vector<uint64_t> parents;  // candidate ids
  std::string origin;             // random | crossover | mutation
};

struct Observation {
  uint64_t id = 0;                 // the candidate's id
  bool ok = true;                  // false: the evaluation failed
  double fitness = 0;              // higher is better (search/fitness.h)
  std::vector<double> objectives;  // nsga2: every objective minimised
  bool feasible = true;            // all hard constraints hold
  double violation = 0;            // >= 0; how far outside the constraints (0 when feasible)
};

// A candidate with its result.
struct Evaluated {
  Candidate candidate;
  Observation result;
};

// The single-objective order described above: true when `a` ranks strictly before `b`.
bool ranks_before(const Evaluated& a, const Evaluated& b);

// JSON forms used in strategy states. Non-finite numbers are written as the strings
// "inf", "-inf" and "nan" (JSON has no such numbers).
nlohmann::json to_json(const Candidate& c);
Candidate candidate_from_json(const nlohmann::json& j);
nlohmann::json to_json(const Observation& o);
Observation observation_from_json(const nlohmann::json& j);
nlohmann::json to_json(const Evaluated& e);
Evaluated evaluated_from_json(const nlohmann::json& j);
nlohmann::json number_to_json(double v);
double number_from_json(const nlohmann::json& j);

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // The resolved parameters (every default filled in).
  virtual nlohmann::json params() const = 0;
  // At most max_n new candidates (none when waiting for observations or done).
  virtual std::vector<Candidate> propose(int max_n) = 0;
  // Results of proposed candidates. An id that is not outstanding throws std::logic_error.
  virtual void observe(const std::vector<Observation>& results) = 0;
  // True when the budget is spent and every proposed candidate has been observed.
  virtual bool done() const = 0;
  // Proposed but not yet observed, by id.
  virtual std::vector<Candidate> outstanding() const = 0;
  // Everything needed to continue (parameters, space, random stream, populations, queues).
  virtual nlohmann::json state() const = 0;
  // Continues from state(). Throws dalnas::Error when the state belongs to another
  // strategy, other parameters or another search space, or is malformed.
  virtual void restore(const nlohmann::json& state) = 0;
  // Why a genome cannot be feasible (empty: it may be); see "Screen" above.
  using Screen = std::function<std::string(const Genome&)>;
  virtual void set_screen(Screen screen) = 0;
  // Draws the screen has turned away so far (over restores).
  virtual int64_t screened() const = 0;
};

// name: ga | regularized-evolution | nsga2 | random. params: a JSON object of that
// strategy's parameters (missing ones take their defaults; unknown ones throw
// dalnas::Error "strategy <name>: unknown parameter '<key>' (allowed: ...)").
// The space is copied (with its parameter counter) and checked.
std::unique_ptr<Strategy> make_strategy(const std::string& name, const nlohmann::json& params,
                                        const SearchSpace& space, uint64_t seed);
std::vector<std::string> strategy_names();

}  // namespace dalnas
