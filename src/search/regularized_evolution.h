#pragma once
// RegularizedEvolution ("regularized-evolution"): aging evolution (Real et al., 2019),
// steady state, suited to asynchronous workers.
//
// The first `population` candidates are random. Observed candidates join the population
// in the order their results arrive; once it holds `population` members, every proposal
// draws `sample` distinct members uniformly, mutates the best of them (ranks_before;
// per-gene mutation at `mutation_rate`, redrawn while the child repeats an earlier genome)
// and proposes the child; when a child's result arrives it joins the population and the
// oldest member leaves. Proposals wait only while the initial population is incomplete.
// The search ends after `budget` candidates.
//
// Parameters: population 50, sample 10, budget 750, mutation_rate 0.2, max_retries 100.
#include <deque>

#include "search/strategy_base.h"

namespace dalnas {

class RegularizedEvolution : public StrategyBase {
 public:
  RegularizedEvolution(const nlohmann::json& params, const SearchSpace& space, uint64_t seed);
  void observe(const std::vector<Observation>& results) override;
  bool done() const override;

  // Oldest first.
  const std::deque<Evaluated>& population() const { return population_; }
  // The best candidate observed so far (including those aged out); false when none yet.
  bool best(Evaluated& out) const;

 private:
  bool refill() override;
  nlohmann::json save_data() const override;
  void load_data(const nlohmann::json& data) override;

  int population_size_, sample_, budget_;
  double mutation_rate_;
  std::deque<Evaluated> population_;
  bool has_best_ = false;
  Evaluated best_;
};

}  // namespace dalnas
