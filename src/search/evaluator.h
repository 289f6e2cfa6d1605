#pragma once
// Evaluator: turns a candidate genome into measured metrics. The search driver
// (search/driver.h) owns the journal, duplicates and the fitness; an evaluator only
// measures. The local evaluator (eval/candidate_evaluator.h) trains with libtorch, lowers
// and emulates the device; tests use cheap ones.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "search/journal.h"
#include "search/strategy.h"

namespace dalnas {

struct EvalOutcome {
  // Ok: measured. Rejected: a hard constraint failed before training (metrics hold what
  // was measured, e.g. params and latency). Failed: an error or divergence (`reason`).
  EvalStatus status = EvalStatus::Ok;
  std::string reason;
  // With Failed: the failure may not recur (device timeout, unmeasured latency, out of
  // memory); the driver records it as transient, so that it is evaluated again.
  bool transient = false;
  // EvalMetrics' keys (miou, latency_ms, params, peak_memory_bytes, energy_mj) and any
  // other numbers or strings worth keeping (fidelity, epochs, inherited_from, ...).
  nlohmann::json metrics = nlohmann::json::object();
  nlohmann::json costs = nlohmann::json::object();
  uint64_t seed = 0;  // the training seed used
};

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // `history`: this run's finished evaluations in commit order (for weight inheritance and
  // multi-fidelity decisions). A bad candidate returns Failed (transient when worth
  // repeating). The driver turns what is thrown into: dalnas::TransientError and
  // std::bad_alloc -> a transient failure; dalnas::Error -> a failure; anything else (a
  // programming error: std::logic_error, std::out_of_range, ...) stops the search.
  virtual EvalOutcome evaluate(const Candidate& c,
                               const std::vector<EvaluationRecord>& history) = 0;
};

}  // namespace dalnas
