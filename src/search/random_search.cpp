#include "search/random_search.h"

namespace dalnas {

RandomSearch::RandomSearch(const nlohmann::json& params, const SearchSpace& space, uint64_t seed)
    : StrategyBase("random", nlohmann::json(), space, seed, 0) {
  ParamReader r("random", params);
  budget_ = r.get_int("budget", 750, 1, 100000000);
  max_retries_ = r.get_int("max_retries", 100, 0, 1000000);
  set_seeds(r.get_genomes("seed_genomes", space.in_bands), r.where());
  params_ = r.finish();
}

bool RandomSearch::refill() {
  if (created() >= static_cast<uint64_t>(budget_)) return false;
  queue_.push_back(make(unique_random(), 0, {}, "random"));
  return true;
}

void RandomSearch::observe(const std::vector<Observation>& results) {
  for (const Observation& o : results) {
    Evaluated e{take_outstanding(o.id), normalised(o)};
    ++observed_;
    if (!has_best_ || ranks_before(e, best_)) {
      best_ = e;
      has_best_ = true;
    }
  }
}

bool RandomSearch::done() const {
  return created() >= static_cast<uint64_t>(budget_) && queue_.empty() && outstanding_.empty();
}

bool RandomSearch::best(Evaluated& out) const {
  if (has_best_) out = best_;
  return has_best_;
}

nlohmann::json RandomSearch::save_data() const {
  nlohmann::json j = {{"observed", observed_}};
  if (has_best_) j["best"] = to_json(best_);
  return j;
}

void RandomSearch::load_data(const nlohmann::json& data) {
  observed_ = data.at("observed").get<uint64_t>();
  has_best_ = data.contains("best");
  if (has_best_) best_ = evaluated_from_json(data.at("best"));
}

}  // namespace dalnas
