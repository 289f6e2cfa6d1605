#include "search/nsga2.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <stdexcept>

#include "core/error.h"

namespace dalnas {

namespace {

bool is_feasible(const Observation& o) {
  return o.ok && o.feasible;
}
double violation_of(const Observation& o) {
  return (!o.ok || std::isnan(o.violation)) ? std::numeric_limits<double>::infinity() : o.violation;
}

}  // namespace

bool constraint_dominates(const Observation& a, const Observation& b) {
  const bool fa = is_feasible(a), fb = is_feasible(b);
  if (fa != fb) return fa;
  if (!fa) return violation_of(a) < violation_of(b);
  if (a.objectives.size() != b.objectives.size())
    throw std::logic_error("nsga2: candidates " + std::to_string(a.id) + " and " +
                           std::to_string(b.id) + " have different numbers of objectives");
  bool better = false;
  for (size_t k = 0; k < a.objectives.size(); ++k) {
    if (a.objectives[k] > b.objectives[k]) return false;
    if (a.objectives[k] < b.objectives[k]) better = true;
  }
  return better;
}

std::vector<std::vector<size_t>> non_dominated_sort(const std::vector<Observation>& obs) {
  const size_t n = obs.size();
  std::vector<std::vector<size_t>> dominated(n);  // S_p: indices p dominates
  std::vector<size_t> count(n, 0);                // n_p: how many dominate p
  std::vector<std::vector<size_t>> fronts(1);
  for (size_t p = 0; p < n; ++p) {
    for (size_t q = 0; q < n; ++q) {
      if (p == q) continue;
      if (constraint_dominates(obs[p], obs[q]))
        dominated[p].push_back(q);
      else if (constraint_dominates(obs[q], obs[p]))
        ++count[p];
    }
    if (count[p] == 0) fronts[0].push_back(p);
  }
  for (size_t i = 0; i < fronts.size() && !fronts[i].empty(); ++i) {
    std::vector<size_t> next;
    for (size_t p : fronts[i])
      for (size_t q : dominated[p])
        if (--count[q] == 0) next.push_back(q);
    std::sort(next.begin(), next.end());
    if (!next.empty()) fronts.push_back(std::move(next));
  }
  if (fronts[0].empty()) fronts.clear();
  return fronts;
}

std::vector<double> crowding_distance(const std::vector<Observation>& obs,
                                      const std::vector<size_t>& front) {
  const size_t n = front.size();
  std::vector<double> d(n, 0.0);
  if (n == 0 || !is_feasible(obs[front[0]])) return d;
  const double inf = std::numeric_limits<double>::infinity();
  const size_t m = obs[front[0]].objectives.size();
  for (size_t k = 0; k < m; ++k) {
    std::vector<size_t> order(n);  // positions in `front`
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return obs[front[a]].objectives[k] < obs[front[b]].objectives[k];
    });
    const double lo = obs[front[order.front()]].objectives[k];
    const double hi = obs[front[order.back()]].objectives[k];
    if (!(hi > lo)) continue;  // a constant objective says nothing about crowding
    d[order.front()] = inf;
    d[order.back()] = inf;
    for (size_t i = 1; i + 1 < n; ++i) {
      const double gap =
          obs[front[order[i + 1]]].objectives[k] - obs[front[order[i - 1]]].objectives[k];
      d[order[i]] += gap / (hi - lo);
    }
  }
  return d;
}

Nsga2::Nsga2(const nlohmann::json& params, const SearchSpace& space, uint64_t seed)
    : StrategyBase("nsga2", nlohmann::json(), space, seed, 0) {
  ParamReader r("nsga2", params);
  population_ = r.get_int("population", 50, 2, 1000000);
  generations_ = r.get_int("generations", 15, 1, 1000000);
  crossover_rate_ = r.get_double("crossover_rate", 0.9, 0.0, 1.0);
  mutation_rate_ = r.get_double("mutation_rate", 0.2, 0.0, 1.0);
  max_retries_ = r.get_int("max_retries", 100, 0, 1000000);
  set_seeds(r.get_genomes("seed_genomes", space.in_bands), r.where());
  params_ = r.finish();
}

bool Nsga2::refill() {
  if (generation_ >= 0) return false;
  generation_ = 0;
  for (int i = 0; i < population_; ++i) queue_.push_back(make(unique_random(), 0, {}, "random"));
  return true;
}

void Nsga2::observe(const std::vector<Observation>& results) {
  // Check the whole batch before changing anything.
  size_t count = 0;  // objectives of feasible results so far (0: none yet)
  for (const Evaluated& e : archive_)
    if (is_feasible(e.result)) {
      count = e.result.objectives.size();
      break;
    }
  std::set<uint64_t> ids;
  for (const Observation& o : results) {
    if (!outstanding_.count(o.id) || !ids.insert(o.id).second)
      throw std::logic_error("strategy nsga2: observation for candidate " + std::to_string(o.id) +
                             ", which is not outstanding");
    const Observation r = normalised(o);
    if (!is_feasible(r)) continue;
    const std::string which = "nsga2: the result of candidate " + std::to_string(r.id);
    if (r.objectives.empty()) throw Error(which + " has no objectives");
    if (count && r.objectives.size() != count)
      throw Error(which + " has " + std::to_string(r.objectives.size()) +
                  " objectives, earlier ones " + std::to_string(count));
    count = r.objectives.size();
    for (double v : r.objectives)
      if (std::isnan(v)) throw Error(which + " has a NaN objective");
  }
  for (const Observation& o : results) {
    Evaluated e{take_outstanding(o.id), normalised(o)};
    archive_.push_back(e);
    offspring_.push_back(std::move(e));
  }
  if (generation_ >= 0 && queue_.empty() && outstanding_.empty() && !offspring_.empty())
    end_generation();
}

void Nsga2::end_generation() {
  // Environmental selection from parents ∪ offspring.
  std::vector<Evaluated> merged = parents_;
  merged.insert(merged.end(), offspring_.begin(), offspring_.end());
  offspring_.clear();
  std::sort(merged.begin(), merged.end(),
            [](const Evaluated& a, const Evaluated& b) { return a.candidate.id < b.candidate.id; });
  std::vector<Observation> obs;
  for (const Evaluated& e : merged) obs.push_back(e.result);
  const auto fronts = non_dominated_sort(obs);
  parents_.clear();
  for (const auto& front : fronts) {
    if (parents_.size() >= static_cast<size_t>(population_)) break;
    std::vector<size_t> order(front.size());
    std::iota(order.begin(), order.end(), size_t{0});
    if (parents_.size() + front.size() > static_cast<size_t>(population_)) {
      const std::vector<double> d = crowding_distance(obs, front);
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        if (d[a] != d[b]) return d[a] > d[b];
        return front[a] < front[b];
      });
    }
    for (size_t i : order) {
      if (parents_.size() >= static_cast<size_t>(population_)) break;
      parents_.push_back(merged[front[i]]);
    }
  }
  if (generation_ >= generations_ - 1) return;  // the search is over

  // Rank and crowding of the new parents, for the tournaments.
  std::vector<Observation> pobs;
  for (const Evaluated& e : parents_) pobs.push_back(e.result);
  const auto pfronts = non_dominated_sort(pobs);
  std::vector<size_t> rank(parents_.size());
  std::vector<double> crowd(parents_.size());
  for (size_t f = 0; f < pfronts.size(); ++f) {
    const std::vector<double> d = crowding_distance(pobs, pfronts[f]);
    for (size_t i = 0; i < pfronts[f].size(); ++i) {
      rank[pfronts[f][i]] = f;
      crowd[pfronts[f][i]] = d[i];
    }
  }
  const size_t n = parents_.size();
  auto tournament = [&]() -> size_t {
    const size_t a = static_cast<size_t>(rng_.below(n));
    if (n < 2) return a;
    size_t b = static_cast<size_t>(rng_.below(n - 1));
    if (b >= a) ++b;
    if (rank[a] != rank[b]) return rank[a] < rank[b] ? a : b;
    if (crowd[a] != crowd[b]) return crowd[a] > crowd[b] ? a : b;
    return parents_[a].candidate.id < parents_[b].candidate.id ? a : b;
  };
  const int gen = generation_ + 1;
  for (int k = 0; k < population_; ++k) {
    std::vector<uint64_t> parent_ids;
    std::string origin;
    Genome g;
    const bool from_parents = unique(
        [&]() {
          const size_t i = tournament();
          const size_t j = tournament();
          Genome child = parents_[i].candidate.genome;
          parent_ids = {parents_[i].candidate.id};
          origin = "mutation";
          if (rng_.bernoulli(crossover_rate_) && i != j) {
            child =
                space_.crossover(parents_[i].candidate.genome, parents_[j].candidate.genome, rng_);
            parent_ids.push_back(parents_[j].candidate.id);
            origin = "crossover";
          }
          return space_.mutate(child, mutation_rate_, rng_);
        },
        g);
    if (!from_parents) {
      parent_ids.clear();
      origin = "random";
    }
    queue_.push_back(make(g, gen, parent_ids, origin));
  }
  generation_ = gen;
}

bool Nsga2::done() const {
  return generation_ == generations_ - 1 && queue_.empty() && outstanding_.empty() &&
         offspring_.empty();
}

std::vector<Evaluated> Nsga2::pareto_front() const {
  std::vector<Evaluated> feasible;
  for (const Evaluated& e : archive_)
    if (is_feasible(e.result)) feasible.push_back(e);
  std::sort(feasible.begin(), feasible.end(),
            [](const Evaluated& a, const Evaluated& b) { return a.candidate.id < b.candidate.id; });
  std::vector<Observation> obs;
  for (const Evaluated& e : feasible) obs.push_back(e.result);
  const auto fronts = non_dominated_sort(obs);
  std::vector<Evaluated> out;
  if (!fronts.empty())
    for (size_t i : fronts[0]) out.push_back(feasible[i]);
  return out;
}

nlohmann::json Nsga2::save_data() const {
  auto list = [](const std::vector<Evaluated>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const Evaluated& e : v) a.push_back(to_json(e));
    return a;
  };
  return {{"generation", generation_},
          {"parents", list(parents_)},
          {"offspring", list(offspring_)},
          {"archive", list(archive_)}};
}

void Nsga2::load_data(const nlohmann::json& data) {
  generation_ = data.at("generation").get<int>();
  auto read = [](const nlohmann::json& a) {
    std::vector<Evaluated> v;
    for (const auto& e : a) v.push_back(evaluated_from_json(e));
    return v;
  };
  parents_ = read(data.at("parents"));
  offspring_ = read(data.at("offspring"));
  archive_ = read(data.at("archive"));
}

}  // namespace dalnas
