#pragma once
// Nsga2 ("nsga2"): multi-objective search (Deb et al., 2002) with constraint domination.
//
// Every objective in Observation::objectives is minimised (pass -mIoU for mIoU; see
// search/fitness.h objective_vector()). Constraint domination: a feasible candidate
// dominates an infeasible one; of two infeasible ones the smaller violation dominates; of
// two feasible ones Pareto dominance decides (no worse in every objective, better in one).
// A failed evaluation is infeasible with infinite violation.
//
// Generation 0 is `population` random genomes. When a generation is fully observed, the
// parents and the new members are merged, sorted into fronts (fast non-dominated sort) and
// the next parents are the best fronts, the last one cut by crowding distance (larger
// first, then lower id). Offspring: `population` children, each from two binary
// tournaments (lower front, then larger crowding distance, then lower id), single-point
// crossover with probability `crossover_rate` (else a copy of the first parent) and
// per-gene mutation at `mutation_rate`. Like ga, a whole generation is created at once.
// `generations` counts generation 0.
//
// Parameters: population 50, generations 15, crossover_rate 0.9, mutation_rate 0.2,
// max_retries 100.
#include <cstddef>

#include "search/strategy_base.h"

namespace dalnas {

// True when `a` constraint-dominates `b` (see above). Feasible observations must have the
// same number of objectives (std::logic_error otherwise).
bool constraint_dominates(const Observation& a, const Observation& b);
// Fronts of indices into `obs`: front 0 is dominated by none, front k by some in fronts
// < k only. Indices within a front ascend.
std::vector<std::vector<size_t>> non_dominated_sort(const std::vector<Observation>& obs);
// Crowding distance of each member of `front` (same order). Per objective, the extreme
// members (first and last after a stable sort by value) get infinity and the others add
// (next - previous) / (max - min); an objective with max == min adds nothing. Fronts of
// infeasible members get 0 throughout.
std::vector<double> crowding_distance(const std::vector<Observation>& obs,
                                      const std::vector<size_t>& front);

class Nsga2 : public StrategyBase {
 public:
  Nsga2(const nlohmann::json& params, const SearchSpace& space, uint64_t seed);
  void observe(const std::vector<Observation>& results) override;
  bool done() const override;

  int generation() const { return generation_; }
  // The current parents (after the last completed generation's selection).
  const std::vector<Evaluated>& population() const { return parents_; }
  // The non-dominated set of every feasible candidate observed so far, by id; empty when
  // none was feasible.
  std::vector<Evaluated> pareto_front() const;

 private:
  bool refill() override;
  nlohmann::json save_data() const override;
  void load_data(const nlohmann::json& data) override;
  void end_generation();

  int population_, generations_;
  double crossover_rate_, mutation_rate_;
  int generation_ = -1;
  std::vector<Evaluated> parents_;    // selected population P_t
  std::vector<Evaluated> offspring_;  // observed members of the generation being evaluated
  std::vector<Evaluated> archive_;    // every observation, in arrival order
};

}  // namespace dalnas
