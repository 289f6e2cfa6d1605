#pragma once
// GeneticAlgorithm ("ga"): the generational algorithm of pynas.
//
// Generation 0 is `population` random genomes. When a generation is fully observed, its
// members (the carried elites and the new candidates) are ranked (ranks_before); the best
// `elites` are carried into the next generation unchanged (not evaluated again); the top
// `mating_fraction` of the ranking forms the mating pool; the next generation's new
// candidates are `population - elites - newcomers` offspring (two distinct parents drawn
// uniformly from the pool, single-point crossover with probability `crossover_rate` (else
// a copy of the first parent), then per-gene mutation at `mutation_rate`) followed by
// `newcomers` random genomes. The whole generation is created at once, so the search does
// not depend on how proposals are batched or in which order results arrive. `generations`
// counts generation 0: the search evaluates population + (generations - 1) *
// (population - elites) candidates.
//
// Parameters (defaults as pynas): population 50, generations 15, mating_fraction 0.5,
// mutation_rate 0.2, crossover_rate 1.0, newcomers 10, elites 1, max_retries 100.
// The parameter cap (400,000 in pynas) is the search space's max_params.
#include "search/strategy_base.h"

namespace dalnas {

class GeneticAlgorithm : public StrategyBase {
 public:
  GeneticAlgorithm(const nlohmann::json& params, const SearchSpace& space, uint64_t seed);
  void observe(const std::vector<Observation>& results) override;
  bool done() const override;

  // The generation being evaluated (-1 before the first proposal).
  int generation() const { return generation_; }
  // The current generation's observed members (carried elites first), unranked.
  const std::vector<Evaluated>& members() const { return members_; }
  // The best candidate observed so far; false when none yet.
  bool best(Evaluated& out) const;

 private:
  bool refill() override;
  nlohmann::json save_data() const override;
  void load_data(const nlohmann::json& data) override;
  void next_generation();

  int population_, generations_, newcomers_, elites_;
  double mating_fraction_, mutation_rate_, crossover_rate_;
  int generation_ = -1;
  std::vector<Evaluated> members_;
  bool has_best_ = false;
  Evaluated best_;
};

}  // namespace dalnas
