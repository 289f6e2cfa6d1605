#include "core/act_ranges.h"

#include <cmath>

#include "core/error.h"

namespace dalnas {

nlohmann::json act_ranges_json(const ActRanges& r) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, range] : r) j[name] = {range.first, range.second};
  return j;
}

ActRanges parse_act_ranges(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": expected an object of [lo, hi] ranges");
  ActRanges r;
  for (const auto& [name, v] : j.items()) {
    const std::string field = where + "." + name;
    if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number())
      throw Error(field + ": expected [lo, hi], two numbers");
    const double lo = v[0].get<double>(), hi = v[1].get<double>();
    if (!std::isfinite(lo) || !std::isfinite(hi) || std::fabs(lo) > 3.0e38 ||
        std::fabs(hi) > 3.0e38)
      throw Error(field + ": range is not finite in float");
    if (lo > hi) throw Error(field + ": lo " + std::to_string(lo) + " > hi " + std::to_string(hi));
    r[name] = {static_cast<float>(lo), static_cast<float>(hi)};
  }
  return r;
}

}  // namespace dalnas
