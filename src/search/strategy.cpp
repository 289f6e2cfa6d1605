#include "search/strategy.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "search/ga.h"
#include "search/nsga2.h"
#include "search/random_search.h"
#include "search/regularized_evolution.h"

namespace dalnas {

namespace {

bool good(const Observation& o) {
  return o.ok && o.feasible;
}
double fitness_key(const Observation& o) {
  return std::isnan(o.fitness) ? -std::numeric_limits<double>::infinity() : o.fitness;
}
double violation_key(const Observation& o) {
  return (!o.ok || std::isnan(o.violation)) ? std::numeric_limits<double>::infinity() : o.violation;
}

}  // namespace

bool ranks_before(const Evaluated& a, const Evaluated& b) {
  const bool ga = good(a.result), gb = good(b.result);
  if (ga != gb) return ga;
  if (ga) {
    const double fa = fitness_key(a.result), fb = fitness_key(b.result);
    if (fa != fb) return fa > fb;
  } else {
    const double va = violation_key(a.result), vb = violation_key(b.result);
    if (va != vb) return va < vb;
  }
  return a.candidate.id < b.candidate.id;
}

nlohmann::json number_to_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

double number_from_json(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
  }
  throw Error("strategy state: expected a number, found " + j.dump());
}

nlohmann::json to_json(const Candidate& c) {
  return {{"id", c.id},
          {"genome", c.genome.str()},
          {"generation", c.generation},
          {"parents", c.parents},
          {"origin", c.origin}};
}

Candidate candidate_from_json(const nlohmann::json& j) {
  Candidate c;
  c.id = j.at("id").get<uint64_t>();
  c.genome = Genome::parse(j.at("genome").get<std::string>());
  c.generation = j.at("generation").get<int>();
  c.parents = j.at("parents").get<std::vector<uint64_t>>();
  c.origin = j.at("origin").get<std::string>();
  return c;
}

nlohmann::json to_json(const Observation& o) {
  nlohmann::json obj = nlohmann::json::array();
  for (double v : o.objectives) obj.push_back(number_to_json(v));
  return {{"id", o.id},
          {"ok", o.ok},
          {"fitness", number_to_json(o.fitness)},
          {"objectives", obj},
          {"feasible", o.feasible},
          {"violation", number_to_json(o.violation)}};
}

Observation observation_from_json(const nlohmann::json& j) {
  Observation o;
  o.id = j.at("id").get<uint64_t>();
  o.ok = j.at("ok").get<bool>();
  o.fitness = number_from_json(j.at("fitness"));
  for (const auto& v : j.at("objectives")) o.objectives.push_back(number_from_json(v));
  o.feasible = j.at("feasible").get<bool>();
  o.violation = number_from_json(j.at("violation"));
  return o;
}

nlohmann::json to_json(const Evaluated& e) {
  return {{"candidate", to_json(e.candidate)}, {"result", to_json(e.result)}};
}

Evaluated evaluated_from_json(const nlohmann::json& j) {
  return {candidate_from_json(j.at("candidate")), observation_from_json(j.at("result"))};
}

std::vector<std::string> strategy_names() {
  return {"ga", "regularized-evolution", "nsga2", "random"};
}

std::unique_ptr<Strategy> make_strategy(const std::string& name, const nlohmann::json& params,
                                        const SearchSpace& space, uint64_t seed) {
  if (name == "ga") return std::make_unique<GeneticAlgorithm>(params, space, seed);
  if (name == "regularized-evolution")
    return std::make_unique<RegularizedEvolution>(params, space, seed);
  if (name == "nsga2") return std::make_unique<Nsga2>(params, space, seed);
  if (name == "random") return std::make_unique<RandomSearch>(params, space, seed);
  std::string allowed;
  for (const std::string& n : strategy_names()) allowed += (allowed.empty() ? "" : ", ") + n;
  throw Error("strategy '" + name + "': unknown (allowed: " + allowed + ")");
}

}  // namespace dalnas
