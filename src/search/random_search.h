#pragma once
// RandomSearch ("random"): the baseline. Proposes `budget` genomes drawn uniformly from the
// space (no repeats while the space allows), as fast as they are asked for.
//
// Parameters: budget (750), max_retries (100).
#include "search/strategy_base.h"

namespace dalnas {

class RandomSearch : public StrategyBase {
 public:
  RandomSearch(const nlohmann::json& params, const SearchSpace& space, uint64_t seed);
  void observe(const std::vector<Observation>& results) override;
  bool done() const override;
  // The best candidate observed so far (ranks_before order); false when none yet.
  bool best(Evaluated& out) const;

 private:
  bool refill() override;
  nlohmann::json save_data() const override;
  void load_data(const nlohmann::json& data) override;

  int budget_;
  uint64_t observed_ = 0;
  bool has_best_ = false;
  Evaluated best_;
};

}  // namespace dalnas
