#include "search/fitness.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "core/error.h"
#include "core/json_fields.h"

namespace dalnas {

namespace {

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> v = {"miou", "latency_ms", "params", "peak_memory_bytes",
                                             "energy_mj"};
  return v;
}

std::string num(double v) {
  std::ostringstream ss;
  ss.precision(10);
  ss << v;
  return ss.str();
}

double need(const EvalMetrics& m, const std::string& name, const std::string& why) {
  const double v = m.get(name);
  if (std::isnan(v))
    throw Error("fitness: " + why + " needs " + name + ", which the evaluation did not report");
  if (v < 0) throw Error("fitness: " + name + " is negative (" + num(v) + ")");
  return v;
}

}  // namespace

EvalMetrics EvalMetrics::from_json(const nlohmann::json& j) {
  EvalMetrics m;
  if (j.is_null()) return m;
  if (!j.is_object()) throw Error("metrics: expected an object, found " + j.dump());
  auto read = [&](const char* key, double& out) {
    if (!j.contains(key) || j.at(key).is_null()) return;
    if (!j.at(key).is_number())
      throw Error(std::string("metrics.") + key + ": expected a number, found " + j.at(key).dump());
    out = j.at(key).get<double>();
  };
  read("miou", m.miou);
  read("latency_ms", m.latency_ms);
  read("params", m.params);
  read("peak_memory_bytes", m.peak_memory_bytes);
  read("energy_mj", m.energy_mj);
  return m;
}

nlohmann::json EvalMetrics::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& name : metric_names())
    if (!std::isnan(get(name))) j[name] = get(name);
  return j;
}

double EvalMetrics::get(const std::string& name) const {
  if (name == "miou") return miou;
  if (name == "latency_ms") return latency_ms;
  if (name == "params") return params;
  if (name == "peak_memory_bytes") return peak_memory_bytes;
  if (name == "energy_mj") return energy_mj;
  throw std::logic_error("EvalMetrics::get: unknown metric '" + name + "'");
}

FitnessConfig FitnessConfig::from_json(const nlohmann::json& j, const std::string& where) {
  FitnessConfig c;
  if (j.is_null()) return c;
  check_keys(j, where, {"form", "pynas", "mnasnet", "constraints", "objectives"});
  if (j.contains("form")) {
    const auto& f = j.at("form");
    const std::string name = f.is_string() ? f.get<std::string>() : f.dump();
    if (name == "pynas")
      c.form = FitnessForm::Pynas;
    else if (name == "mnasnet")
      c.form = FitnessForm::MnasNet;
    else if (name == "miou")
      c.form = FitnessForm::Miou;
    else
      throw Error(where + ".form: unknown form '" + name + "' (allowed: pynas, mnasnet, miou)");
  }
  if (j.contains("pynas")) {
    const auto& p = j.at("pynas");
    const std::string w = where + ".pynas";
    check_keys(p, w, {"alpha", "beta", "gamma", "fps_target"});
    read_number(p, "alpha", w, c.alpha, false);
    read_number(p, "beta", w, c.beta, false);
    read_number(p, "gamma", w, c.gamma, false);
    read_number(p, "fps_target", w, c.fps_target, true);
    if (!(c.fps_target > 0)) throw Error(w + ".fps_target: must be greater than 0");
  }
  if (j.contains("mnasnet")) {
    const auto& p = j.at("mnasnet");
    const std::string w = where + ".mnasnet";
    check_keys(p, w, {"target_latency_ms", "target_energy_mj", "alpha", "beta"});
    read_number(p, "target_latency_ms", w, c.target_latency_ms, true);
    read_number(p, "target_energy_mj", w, c.target_energy_mj, true);
    read_number(p, "alpha", w, c.mnas_alpha, false);
    read_number(p, "beta", w, c.mnas_beta, false);
  }
  if (c.form == FitnessForm::MnasNet && !(c.target_latency_ms > 0))
    throw Error(where + ".mnasnet.target_latency_ms: required (> 0) for form 'mnasnet'");
  if (j.contains("constraints")) {
    const auto& p = j.at("constraints");
    const std::string w = where + ".constraints";
    check_keys(p, w, {"max_params", "max_latency_ms", "max_peak_memory_bytes", "max_energy_mj"});
    read_number(p, "max_params", w, c.max_params, true);
    read_number(p, "max_latency_ms", w, c.max_latency_ms, true);
    read_number(p, "max_peak_memory_bytes", w, c.max_peak_memory_bytes, true);
    read_number(p, "max_energy_mj", w, c.max_energy_mj, true);
  }
  if (j.contains("objectives")) {
    const auto& o = j.at("objectives");
    std::vector<std::string> allowed = metric_names();
    allowed.push_back("fitness");
    if (!o.is_array() || o.empty())
      throw Error(where +
                  ".objectives: expected a non-empty list (allowed: " + join(allowed, ", ") + ")");
    c.objectives.clear();
    for (const auto& item : o) {
      const std::string name = item.is_string() ? item.get<std::string>() : item.dump();
      bool ok = false;
      for (const auto& a : allowed) ok = ok || a == name;
      if (!ok)
        throw Error(where + ".objectives: unknown objective '" + name +
                    "' (allowed: " + join(allowed, ", ") + ")");
      for (const auto& prev : c.objectives)
        if (prev == name) throw Error(where + ".objectives: '" + name + "' is listed twice");
      c.objectives.push_back(name);
    }
  }
  return c;
}

nlohmann::json FitnessConfig::to_json() const {
  const char* f = form == FitnessForm::Pynas     ? "pynas"
                  : form == FitnessForm::MnasNet ? "mnasnet"
                                                 : "miou";
  nlohmann::json j;
  j["form"] = f;
  j["pynas"] = {{"alpha", alpha}, {"beta", beta}, {"gamma", gamma}, {"fps_target", fps_target}};
  j["mnasnet"] = {
      {"target_latency_ms", target_latency_ms}, {"alpha", mnas_alpha}, {"beta", mnas_beta}};
  if (target_energy_mj > 0) j["mnasnet"]["target_energy_mj"] = target_energy_mj;
  j["constraints"] = {{"max_params", max_params},
                      {"max_latency_ms", max_latency_ms},
                      {"max_peak_memory_bytes", max_peak_memory_bytes},
                      {"max_energy_mj", max_energy_mj}};
  j["objectives"] = objectives;
  return j;
}

std::string FitnessResult::reason() const {
  return join(violated, "; ");
}

double pynas_fitness(double fps, double miou, double alpha, double beta, double gamma,
                     double fps_target) {
  return alpha * std::min(fps / fps_target, 1.0) + beta * miou * std::exp(gamma * miou);
}

double mnasnet_reward(double miou, double latency_ms, double target_ms, double alpha, double beta) {
  const double w = latency_ms <= target_ms ? alpha : beta;
  return miou * std::pow(latency_ms / target_ms, w);
}

double energy_factor(double energy_mj, double target_mj, double alpha, double beta) {
  const double w = energy_mj <= target_mj ? alpha : beta;
  return std::pow(energy_mj / target_mj, w);
}

namespace {
// Adds the hard constraints' verdict to `r` (metrics a constraint needs must be reported).
void apply_constraints(const FitnessConfig& c, const EvalMetrics& m, FitnessResult& r) {
  const struct {
    const char* metric;
    const char* limit_name;
    double limit;
  } limits[] = {{"params", "max_params", c.max_params},
                {"latency_ms", "max_latency_ms", c.max_latency_ms},
                {"peak_memory_bytes", "max_peak_memory_bytes", c.max_peak_memory_bytes},
                {"energy_mj", "max_energy_mj", c.max_energy_mj}};
  for (const auto& l : limits) {
    if (!(l.limit > 0)) continue;
    const double v = need(m, l.metric, std::string("constraint ") + l.limit_name);
    if (v > l.limit) {
      r.feasible = false;
      r.violation += v / l.limit - 1.0;
      r.violated.push_back(std::string(l.metric) + " " + num(v) + " > " + l.limit_name + " " +
                           num(l.limit));
    }
  }
}
}  // namespace

FitnessResult compute_fitness(const FitnessConfig& c, const EvalMetrics& m) {
  FitnessResult r;
  switch (c.form) {
    case FitnessForm::Pynas: {
      const double miou = need(m, "miou", "form 'pynas'");
      const double lat = need(m, "latency_ms", "form 'pynas'");
      const double fps = lat > 0 ? 1000.0 / lat : std::numeric_limits<double>::infinity();
      r.value = pynas_fitness(fps, miou, c.alpha, c.beta, c.gamma, c.fps_target);
      break;
    }
    case FitnessForm::MnasNet: {
      const double miou = need(m, "miou", "form 'mnasnet'");
      const double lat = need(m, "latency_ms", "form 'mnasnet'");
      r.value = mnasnet_reward(miou, lat, c.target_latency_ms, c.mnas_alpha, c.mnas_beta);
      if (c.target_energy_mj > 0) {  // the three-objective form
        const double e = need(m, "energy_mj", "form 'mnasnet' with target_energy_mj");
        r.value *= energy_factor(e, c.target_energy_mj, c.mnas_alpha, c.mnas_beta);
      }
      break;
    }
    case FitnessForm::Miou:
      r.value = need(m, "miou", "form 'miou'");
      break;
  }
  apply_constraints(c, m, r);
  for (const std::string& name : c.objectives) {
    if (name == "fitness")
      r.objectives.push_back(-r.value);
    else if (name == "miou")
      r.objectives.push_back(-need(m, name, "objective 'miou'"));
    else
      r.objectives.push_back(need(m, name, "objective '" + name + "'"));
  }
  return r;
}

Observation make_observation(uint64_t id, const FitnessResult& r) {
  Observation o;
  o.id = id;
  o.ok = true;
  o.fitness = r.value;
  o.objectives = r.objectives;
  o.feasible = r.feasible;
  o.violation = r.violation;
  return o;
}

Observation failed_observation(uint64_t id) {
  Observation o;
  o.id = id;
  o.ok = false;
  o.fitness = -std::numeric_limits<double>::infinity();
  o.feasible = false;
  o.violation = std::numeric_limits<double>::infinity();
  return o;
}

FitnessResult check_constraints(const FitnessConfig& c, const EvalMetrics& m) {
  FitnessResult r;
  r.value = std::numeric_limits<double>::quiet_NaN();
  apply_constraints(c, m, r);
  return r;
}

}  // namespace dalnas
