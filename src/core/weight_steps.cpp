#include "core/weight_steps.h"

#include <cmath>

#include "core/error.h"

namespace dalnas {

nlohmann::json weight_steps_json(const WeightSteps& s) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, steps] : s) j[name] = steps;
  return j;
}

WeightSteps parse_weight_steps(const nlohmann::json& j, const std::string& where, bool log) {
  if (!j.is_object()) throw Error(where + ": expected an object of per-channel step arrays");
  WeightSteps s;
  for (const auto& [name, v] : j.items()) {
    const std::string field = where + "." + name;
    if (!v.is_array() || v.empty()) throw Error(field + ": expected a non-empty array of steps");
    std::vector<float> steps;
    steps.reserve(v.size());
    for (size_t c = 0; c < v.size(); ++c) {
      if (!v[c].is_number())
        throw Error(field + ": channel " + std::to_string(c) + " is not a number");
      const double x = v[c].get<double>();
      if (log && (!std::isfinite(x) || std::fabs(x) > 3.0e38))
        throw Error(field + ": channel " + std::to_string(c) + " log step " + std::to_string(x) +
                    " is not a finite float");
      if (!log && (!std::isfinite(x) || !(x > 0) || x > 3.0e38 || static_cast<float>(x) <= 0.0f))
        throw Error(field + ": channel " + std::to_string(c) + " step " + std::to_string(x) +
                    " is not a positive finite float");
      steps.push_back(static_cast<float>(x));
    }
    s[name] = std::move(steps);
  }
  return s;
}

}  // namespace dalnas
