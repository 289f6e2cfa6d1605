#include "search/strategy_base.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/error.h"

namespace dalnas {

ParamReader::ParamReader(const std::string& strategy, const nlohmann::json& params)
    : name_(strategy), given_(params.is_null() ? nlohmann::json::object() : params) {
  if (!given_.is_object())
    throw Error(where() + "parameters must be a table of settings, found " + params.dump());
}

int ParamReader::get_int(const std::string& key, int def, int lo, int hi) {
  int v = def;
  if (given_.contains(key)) {
    const auto& j = given_.at(key);
    if (!j.is_number_integer() || j.get<int64_t>() < lo || j.get<int64_t>() > hi)
      throw Error(where() + key + " must be an integer in " + std::to_string(lo) + ".." +
                  std::to_string(hi) + ", found " + j.dump());
    v = j.get<int>();
  }
  resolved_[key] = v;
  return v;
}

double ParamReader::get_double(const std::string& key, double def, double lo, double hi) {
  double v = def;
  if (given_.contains(key)) {
    const auto& j = given_.at(key);
    if (!j.is_number() || !(j.get<double>() >= lo && j.get<double>() <= hi))
      throw Error(where() + key + " must be a number in [" + nlohmann::json(lo).dump() + ", " +
                  nlohmann::json(hi).dump() + "], found " + j.dump());
    v = j.get<double>();
  }
  resolved_[key] = v;
  return v;
}

std::vector<Genome> ParamReader::get_genomes(const std::string& key, int in_bands) {
  std::vector<Genome> out;
  if (!given_.contains(key)) return out;
  const auto& j = given_.at(key);
  if (!j.is_array())
    throw Error(where() + key + " must be a list of genomes (names or strings), found " + j.dump());
  nlohmann::json canonical = nlohmann::json::array();
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string at = where() + key + "[" + std::to_string(i) + "]: ";
    if (!j[i].is_string()) throw Error(at + "expected a genome string, found " + j[i].dump());
    try {
      out.push_back(resolve_arch(j[i].get<std::string>(), in_bands));
    } catch (const Error& e) {
      throw Error(at + e.what());
    }
    canonical.push_back(out.back().str());
  }
  resolved_[key] = canonical;
  return out;
}

nlohmann::json ParamReader::finish() const {
  for (auto it = given_.begin(); it != given_.end(); ++it) {
    if (!resolved_.contains(it.key())) {
      std::string allowed;
      for (auto r = resolved_.begin(); r != resolved_.end(); ++r)
        allowed += (allowed.empty() ? "" : ", ") + r.key();
      throw Error(where() + "unknown parameter '" + it.key() + "' (allowed: " + allowed + ")");
    }
  }
  return resolved_;
}

StrategyBase::StrategyBase(std::string name, nlohmann::json params, const SearchSpace& space,
                           uint64_t seed, int max_retries)
    : name_(std::move(name)),
      params_(std::move(params)),
      space_(space),
      seed_(seed),
      max_retries_(max_retries),
      rng_(seed) {
  space_.check();
}

std::vector<Candidate> StrategyBase::propose(int max_n) {
  std::vector<Candidate> out;
  while (static_cast<int>(out.size()) < max_n) {
    if (queue_.empty() && !refill()) break;
    if (queue_.empty()) break;
    Candidate c = queue_.front();
    queue_.pop_front();
    outstanding_[c.id] = c;
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Candidate> StrategyBase::outstanding() const {
  std::vector<Candidate> out;
  for (const auto& kv : outstanding_) out.push_back(kv.second);
  return out;
}

Candidate StrategyBase::make(const Genome& g, int generation, std::vector<uint64_t> parents,
                             std::string origin) {
  Candidate c;
  c.id = next_id_++;
  c.genome = g;
  c.generation = generation;
  c.parents = std::move(parents);
  c.origin = std::move(origin);
  if (c.origin == "random" && !seen(g) &&
      std::find(seeds_.begin(), seeds_.end(), g) != seeds_.end())
    c.origin = "seed";
  seen_.insert(g.str());
  return c;
}

bool StrategyBase::seen(const Genome& g) const {
  return seen_.count(g.str()) > 0;
}

void StrategyBase::set_screen(Screen screen) {
  screen_ = std::move(screen);
  screen_passes_.clear();
}

bool StrategyBase::admissible(const Genome& g) {
  if (seen(g)) return false;
  if (!screen_) return true;
  const std::string key = g.str();
  auto it = screen_passes_.find(key);
  if (it == screen_passes_.end()) it = screen_passes_.emplace(key, screen_(g).empty()).first;
  if (!it->second) ++screened_;
  return it->second;
}

bool StrategyBase::unique(const std::function<Genome()>& next, Genome& out) {
  for (int i = 0; i <= max_retries_; ++i) {
    out = next();
    if (admissible(out)) return true;
  }
  out = unique_random();
  return false;
}

void StrategyBase::set_seeds(std::vector<Genome> seeds, const std::string& where) {
  for (size_t i = 0; i < seeds.size(); ++i) {
    try {
      space_.validate(seeds[i]);
    } catch (const Error& e) {
      throw Error(where + "seed_genomes[" + std::to_string(i) + "]: " + e.what());
    }
  }
  seeds_ = std::move(seeds);
}

Genome StrategyBase::unique_random() {
  for (const Genome& s : seeds_)
    if (!seen(s)) return s;
  Genome g, unseen;
  bool have_unseen = false;
  // A screen's answer costs a cost-model query (~50 us), not an evaluation, and under a
  // tight constraint most random genomes fail it (95 % of sen2ships's space above 13.3 ms),
  // so random draws get kScreenedDraws more tries before the fallback below.
  const int draws = max_retries_ + 1 + (screen_ ? kScreenedDraws : 0);
  for (int i = 0; i < draws; ++i) {
    g = space_.sample(rng_);
    if (admissible(g)) return g;
    if (!have_unseen && !seen(g)) {
      unseen = g;
      have_unseen = true;
    }
  }
  return have_unseen ? unseen : g;
}

Candidate StrategyBase::take_outstanding(uint64_t id) {
  auto it = outstanding_.find(id);
  if (it == outstanding_.end())
    throw std::logic_error("strategy " + name_ + ": observation for candidate " +
                           std::to_string(id) + ", which is not outstanding");
  Candidate c = std::move(it->second);
  outstanding_.erase(it);
  return c;
}

Observation StrategyBase::normalised(Observation o) {
  const double inf = std::numeric_limits<double>::infinity();
  if (!o.ok) {
    o.feasible = false;
    o.violation = inf;
  }
  if (std::isnan(o.violation)) o.violation = inf;
  if (o.feasible) o.violation = 0;
  return o;
}

nlohmann::json StrategyBase::state() const {
  nlohmann::json j;
  j["strategy"] = name_;
  j["version"] = 1;
  j["params"] = params_;
  j["space"] = space_.to_json();
  j["seed"] = seed_;
  j["rng"] = rng_.state();
  j["next_id"] = next_id_;
  j["seen"] = seen_;  // a sorted array
  nlohmann::json q = nlohmann::json::array();
  for (const Candidate& c : queue_) q.push_back(to_json(c));
  j["queue"] = q;
  nlohmann::json o = nlohmann::json::array();
  for (const auto& kv : outstanding_) o.push_back(to_json(kv.second));
  j["outstanding"] = o;
  j["screened"] = screened_;
  j["data"] = save_data();
  return j;
}

void StrategyBase::restore(const nlohmann::json& j) {
  const std::string what = "strategy state: ";
  if (!j.is_object() || !j.contains("strategy") || !j.at("strategy").is_string())
    throw Error(what + "not a strategy state (no 'strategy' name)");
  const std::string saved = j.at("strategy").get<std::string>();
  if (saved != name_)
    throw Error(what + "saved by strategy '" + saved + "', cannot continue it with '" + name_ +
                "'");
  try {
    if (j.at("version").get<int>() != 1)
      throw Error(what + "version " + j.at("version").dump() + " is not supported (only 1)");
    if (j.at("params") != params_)
      throw Error(what + "parameters differ from the saved run's (saved " + j.at("params").dump() +
                  ", now " + params_.dump() + ")");
    if (j.at("space") != space_.to_json())
      throw Error(what + "the search space differs from the saved run's (saved " +
                  j.at("space").dump() + ", now " + space_.to_json().dump() + ")");
    Rng rng = Rng::from_state(j.at("rng").get<std::string>());
    const uint64_t next_id = j.at("next_id").get<uint64_t>();
    std::set<std::string> seen_set;
    for (const auto& s : j.at("seen")) seen_set.insert(s.get<std::string>());
    std::deque<Candidate> queue;
    for (const auto& c : j.at("queue")) queue.push_back(candidate_from_json(c));
    std::map<uint64_t, Candidate> outstanding;
    for (const auto& c : j.at("outstanding")) {
      Candidate cand = candidate_from_json(c);
      outstanding[cand.id] = cand;
    }
    // States saved before the screen existed have no count.
    const int64_t screened = j.contains("screened") ? j.at("screened").get<int64_t>() : 0;
    load_data(j.at("data"));
    seed_ = j.at("seed").get<uint64_t>();
    screened_ = screened;
    rng_ = rng;
    next_id_ = next_id;
    seen_ = std::move(seen_set);
    queue_ = std::move(queue);
    outstanding_ = std::move(outstanding);
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + "malformed (" + e.what() + ")");
  }
}

}  // namespace dalnas
