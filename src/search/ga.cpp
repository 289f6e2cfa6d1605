#include "search/ga.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace dalnas {

GeneticAlgorithm::GeneticAlgorithm(const nlohmann::json& params, const SearchSpace& space,
                                   uint64_t seed)
    : StrategyBase("ga", nlohmann::json(), space, seed, 0) {
  ParamReader r("ga", params);
  population_ = r.get_int("population", 50, 2, 1000000);
  generations_ = r.get_int("generations", 15, 1, 1000000);
  mating_fraction_ = r.get_double("mating_fraction", 0.5, 0.0, 1.0);
  mutation_rate_ = r.get_double("mutation_rate", 0.2, 0.0, 1.0);
  crossover_rate_ = r.get_double("crossover_rate", 1.0, 0.0, 1.0);
  newcomers_ = r.get_int("newcomers", 10, 0, population_);
  elites_ = r.get_int("elites", 1, 0, population_ - 1);
  max_retries_ = r.get_int("max_retries", 100, 0, 1000000);
  set_seeds(r.get_genomes("seed_genomes", space.in_bands), r.where());
  params_ = r.finish();
  if (elites_ + newcomers_ > population_)
    throw Error(r.where() + "elites (" + std::to_string(elites_) + ") + newcomers (" +
                std::to_string(newcomers_) + ") exceed the population (" +
                std::to_string(population_) + ")");
  if (mating_fraction_ <= 0) throw Error(r.where() + "mating_fraction must be greater than 0");
}

bool GeneticAlgorithm::refill() {
  if (generation_ >= 0) return false;
  generation_ = 0;
  for (int i = 0; i < population_; ++i) queue_.push_back(make(unique_random(), 0, {}, "random"));
  return true;
}

void GeneticAlgorithm::observe(const std::vector<Observation>& results) {
  for (const Observation& o : results) {
    Evaluated e{take_outstanding(o.id), normalised(o)};
    if (!has_best_ || ranks_before(e, best_)) {
      best_ = e;
      has_best_ = true;
    }
    members_.push_back(std::move(e));
  }
  if (generation_ >= 0 && queue_.empty() && outstanding_.empty() && generation_ < generations_ - 1)
    next_generation();
}

void GeneticAlgorithm::next_generation() {
  std::vector<Evaluated> ranked = members_;
  std::sort(ranked.begin(), ranked.end(), ranks_before);
  const int n = static_cast<int>(ranked.size());
  const int pool_size =
      std::max(1, std::min(n, static_cast<int>(std::ceil(mating_fraction_ * n - 1e-9))));
  const int gen = generation_ + 1;
  const int offspring = population_ - elites_ - newcomers_;

  std::vector<Candidate> created_now;
  for (int k = 0; k < offspring; ++k) {
    std::vector<uint64_t> parents;
    std::string origin;
    Genome g;
    const bool from_parents = unique(
        [&]() {
          const size_t i = static_cast<size_t>(rng_.below(pool_size));
          size_t j = i;
          if (pool_size > 1) {  // a second parent, distinct from the first
            j = static_cast<size_t>(rng_.below(pool_size - 1));
            if (j >= i) ++j;
          }
          const Evaluated& p1 = ranked[i];
          const Evaluated& p2 = ranked[j];
          Genome child = p1.candidate.genome;
          parents = {p1.candidate.id};
          origin = "mutation";
          if (rng_.bernoulli(crossover_rate_) && j != i) {
            child = space_.crossover(p1.candidate.genome, p2.candidate.genome, rng_);
            parents.push_back(p2.candidate.id);
            origin = "crossover";
          }
          return space_.mutate(child, mutation_rate_, rng_);
        },
        g);
    if (!from_parents) {
      parents.clear();
      origin = "random";
    }
    created_now.push_back(make(g, gen, parents, origin));
  }
  for (int k = 0; k < newcomers_; ++k)
    created_now.push_back(make(unique_random(), gen, {}, "random"));

  members_.assign(ranked.begin(), ranked.begin() + std::min(elites_, n));
  for (Candidate& c : created_now) queue_.push_back(std::move(c));
  generation_ = gen;
}

bool GeneticAlgorithm::done() const {
  return generation_ == generations_ - 1 && queue_.empty() && outstanding_.empty();
}

bool GeneticAlgorithm::best(Evaluated& out) const {
  if (has_best_) out = best_;
  return has_best_;
}

nlohmann::json GeneticAlgorithm::save_data() const {
  nlohmann::json m = nlohmann::json::array();
  for (const Evaluated& e : members_) m.push_back(to_json(e));
  nlohmann::json j = {{"generation", generation_}, {"members", m}};
  if (has_best_) j["best"] = to_json(best_);
  return j;
}

void GeneticAlgorithm::load_data(const nlohmann::json& data) {
  generation_ = data.at("generation").get<int>();
  members_.clear();
  for (const auto& e : data.at("members")) members_.push_back(evaluated_from_json(e));
  has_best_ = data.contains("best");
  if (has_best_) best_ = evaluated_from_json(data.at("best"));
}

}  // namespace dalnas
