#include "search/regularized_evolution.h"

#include "core/error.h"

namespace dalnas {

RegularizedEvolution::RegularizedEvolution(const nlohmann::json& params, const SearchSpace& space,
                                           uint64_t seed)
    : StrategyBase("regularized-evolution", nlohmann::json(), space, seed, 0) {
  ParamReader r("regularized-evolution", params);
  population_size_ = r.get_int("population", 50, 1, 1000000);
  sample_ = r.get_int("sample", 10, 1, population_size_);
  budget_ = r.get_int("budget", 750, 1, 100000000);
  mutation_rate_ = r.get_double("mutation_rate", 0.2, 0.0, 1.0);
  max_retries_ = r.get_int("max_retries", 100, 0, 1000000);
  set_seeds(r.get_genomes("seed_genomes", space.in_bands), r.where());
  params_ = r.finish();
}

bool RegularizedEvolution::refill() {
  const uint64_t n = created();
  if (n >= static_cast<uint64_t>(budget_)) return false;
  const int generation = static_cast<int>(n / static_cast<uint64_t>(population_size_));
  if (n < static_cast<uint64_t>(population_size_)) {
    queue_.push_back(make(unique_random(), generation, {}, "random"));
    return true;
  }
  if (population_.size() < static_cast<size_t>(population_size_)) return false;

  // Tournament: `sample_` distinct members (partial Fisher–Yates), the best wins.
  std::vector<size_t> idx(population_.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  const Evaluated* winner = nullptr;
  for (size_t i = 0; i < static_cast<size_t>(sample_); ++i) {
    const size_t j = i + static_cast<size_t>(rng_.below(idx.size() - i));
    std::swap(idx[i], idx[j]);
    const Evaluated& e = population_[idx[i]];
    if (!winner || ranks_before(e, *winner)) winner = &e;
  }
  Genome g;
  const Genome parent = winner->candidate.genome;
  if (unique([&]() { return space_.mutate(parent, mutation_rate_, rng_); }, g))
    queue_.push_back(make(g, generation, {winner->candidate.id}, "mutation"));
  else
    queue_.push_back(make(g, generation, {}, "random"));
  return true;
}

void RegularizedEvolution::observe(const std::vector<Observation>& results) {
  for (const Observation& o : results) {
    Evaluated e{take_outstanding(o.id), normalised(o)};
    if (!has_best_ || ranks_before(e, best_)) {
      best_ = e;
      has_best_ = true;
    }
    population_.push_back(std::move(e));
    while (population_.size() > static_cast<size_t>(population_size_)) population_.pop_front();
  }
}

bool RegularizedEvolution::done() const {
  return created() >= static_cast<uint64_t>(budget_) && queue_.empty() && outstanding_.empty();
}

bool RegularizedEvolution::best(Evaluated& out) const {
  if (has_best_) out = best_;
  return has_best_;
}

nlohmann::json RegularizedEvolution::save_data() const {
  nlohmann::json p = nlohmann::json::array();
  for (const Evaluated& e : population_) p.push_back(to_json(e));
  nlohmann::json j = {{"population", p}};
  if (has_best_) j["best"] = to_json(best_);
  return j;
}

void RegularizedEvolution::load_data(const nlohmann::json& data) {
  population_.clear();
  for (const auto& e : data.at("population")) population_.push_back(evaluated_from_json(e));
  has_best_ = data.contains("best");
  if (has_best_) best_ = evaluated_from_json(data.at("best"));
}

}  // namespace dalnas
