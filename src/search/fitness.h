#pragma once
// Fitness: one number (higher is better) for single-objective strategies, an objective
// vector (each minimised) for nsga2, and hard constraints, all from the [fitness] config.
//
// Forms (m = device mIoU in [0, 1], LAT = device latency in ms, FPS = 1000 / LAT):
//   pynas    F = alpha * min(FPS / fps_target, 1) + beta * m * exp(gamma * m)
//            (pynas's weighted-sum-exponential; defaults alpha = beta = gamma = 1,
//            fps_target = 120). The default form.
//   mnasnet  F = m * (LAT / target_latency_ms)^w, w = alpha if LAT <= target else beta
//            (MnasNet's soft-constraint reward; defaults alpha = beta = -0.07; the target
//            has no default and must be given).
//            With mnasnet.target_energy_mj (> 0), the three-objective form:
//            F = m * (LAT / target_latency_ms)^w * (E / target_energy_mj)^v, v = alpha if
//            E <= target_energy_mj else beta (E = energy per inference in mJ), so that
//            accuracy, latency and energy trade at the same exponents.
//   miou     F = m (accuracy alone; combine with hard constraints).
//
// Hard constraints (each optional; absent or 0 = none): max_params, max_latency_ms,
// max_peak_memory_bytes, max_energy_mj. A candidate over any limit is infeasible: its
// `value` is still the formula, but score() is -infinity, and `violation` = the sum over
// violated limits of (measured / limit - 1) ranks infeasible candidates among themselves
// (strategies rank every feasible candidate before every infeasible one).
//
// Configuration (JSON; every key optional, unknown keys rejected):
//   form = "pynas" | "mnasnet" | "miou"
//   pynas = {alpha = 1, beta = 1, gamma = 1, fps_target = 120}
//   mnasnet = {target_latency_ms = <ms>, target_energy_mj = <mJ> (optional), alpha = -0.07,
//              beta = -0.07}
//   constraints = {max_params, max_latency_ms, max_peak_memory_bytes, max_energy_mj}
//   objectives = ["miou", "latency_ms", "params"]   (nsga2; also peak_memory_bytes,
//                 energy_mj, fitness; "miou" and "fitness" are negated so all are minimised)
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "search/strategy.h"

namespace dalnas {

// What an evaluation measured; NaN = not reported.
struct EvalMetrics {
  double miou = std::numeric_limits<double>::quiet_NaN();        // on the device
  double latency_ms = std::numeric_limits<double>::quiet_NaN();  // one inference on the device
  double params = std::numeric_limits<double>::quiet_NaN();      // trainable parameters
  double peak_memory_bytes = std::numeric_limits<double>::quiet_NaN();
  double energy_mj = std::numeric_limits<double>::quiet_NaN();  // one inference

  // Keys as the field names; missing or null = NaN; other keys are ignored (a metrics
  // record may hold more). Throws dalnas::Error naming a key whose value is not a number.
  static EvalMetrics from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;  // reported fields only
  // The named field ("miou", "latency_ms", ...); std::logic_error for other names.
  double get(const std::string& name) const;
};

enum class FitnessForm { Pynas, MnasNet, Miou };

struct FitnessConfig {
  FitnessForm form = FitnessForm::Pynas;
  double alpha = 1.0, beta = 1.0, gamma = 1.0, fps_target = 120.0;  // pynas
  double target_latency_ms = 0.0;                                   // mnasnet (required)
  double target_energy_mj = 0.0;                 // mnasnet, optional: > 0 adds the energy factor
  double mnas_alpha = -0.07, mnas_beta = -0.07;  // mnasnet
  double max_params = 0, max_latency_ms = 0, max_peak_memory_bytes = 0, max_energy_mj = 0;
  bool has_constraints() const {
    return max_params > 0 || max_latency_ms > 0 || max_peak_memory_bytes > 0 || max_energy_mj > 0;
  }
  std::vector<std::string> objectives = {"miou", "latency_ms", "params"};

  // Throws dalnas::Error "<where>.<key>: <problem>".
  static FitnessConfig from_json(const nlohmann::json& j, const std::string& where = "fitness");
  nlohmann::json to_json() const;
};

struct FitnessResult {
  double value = 0;                   // the form's formula
  bool feasible = true;               // every hard constraint holds
  double violation = 0;               // see above; 0 when feasible
  std::vector<std::string> violated;  // e.g. "latency_ms 12.5 > max_latency_ms 10"
  std::vector<double> objectives;     // per config.objectives, each minimised
  double score() const { return feasible ? value : -std::numeric_limits<double>::infinity(); }
  std::string reason() const;  // `violated` joined by "; " (empty when feasible)
};

double pynas_fitness(double fps, double miou, double alpha, double beta, double gamma,
                     double fps_target);
double mnasnet_reward(double miou, double latency_ms, double target_ms, double alpha, double beta);
// (energy_mj / target_mj)^w, w = alpha if energy_mj <= target_mj else beta.
double energy_factor(double energy_mj, double target_mj, double alpha, double beta);

// Throws dalnas::Error naming a metric that the form, a constraint or an objective needs
// but the evaluation did not report (or that is negative).
FitnessResult compute_fitness(const FitnessConfig& config, const EvalMetrics& m);
// The hard constraints alone, before the candidate is trained (cheap rejection): `value`
// is NaN and `objectives` empty; throws like compute_fitness() when a constrained metric
// is missing.
FitnessResult check_constraints(const FitnessConfig& config, const EvalMetrics& m);

// The strategy's view of a finished evaluation.
Observation make_observation(uint64_t id, const FitnessResult& r);
// A failed evaluation (training diverged, an error): ok = false.
Observation failed_observation(uint64_t id);

}  // namespace dalnas
