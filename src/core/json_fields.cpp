#include "core/json_fields.h"

#include <cmath>

#include "core/error.h"
#include "core/strings.h"

namespace dalnas {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

void check_keys(const nlohmann::json& j, const std::string& where,
                const std::vector<std::string>& allowed) {
  if (!j.is_object()) throw Error(where + ": expected a table of settings, found " + j.dump());
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == it.key();
    if (!ok) {
      // At the top level `where` is the file itself: "f.toml: key", not "f.toml.key".
      const bool top = ends_with(where, ".toml") || ends_with(where, ".json");
      throw Error(where + (top ? ": " : ".") + it.key() +
                  ": unknown setting (allowed: " + join(allowed, ", ") + ")");
    }
  }
}

void read_number(const nlohmann::json& j, const std::string& key, const std::string& where,
                 double& out, bool non_negative) {
  if (!j.contains(key)) return;
  const auto& v = j.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>()) || (non_negative && v.get<double>() < 0))
    throw Error(where + "." + key + ": expected a " +
                (non_negative ? std::string("number >= 0") : std::string("number")) + ", found " +
                v.dump());
  out = v.get<double>();
}

void read_int(const nlohmann::json& j, const std::string& key, const std::string& where,
              int64_t& out, int64_t lo, int64_t hi) {
  if (!j.contains(key)) return;
  const auto& v = j.at(key);
  bool ok = v.is_number_integer();
  if (!ok && v.is_number_float()) {
    const double d = v.get<double>();
    ok = std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15;
  }
  const int64_t x =
      ok ? (v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>())) : 0;
  if (!ok || x < lo || x > hi)
    throw Error(where + "." + key + ": expected an integer in " + std::to_string(lo) + ".." +
                std::to_string(hi) + ", found " + v.dump());
  out = x;
}

void read_int(const nlohmann::json& j, const std::string& key, const std::string& where, int& out,
              int lo, int hi) {
  int64_t x = out;
  read_int(j, key, where, x, lo, hi);
  out = static_cast<int>(x);
}

void read_bool(const nlohmann::json& j, const std::string& key, const std::string& where,
               bool& out) {
  if (!j.contains(key)) return;
  const auto& v = j.at(key);
  if (!v.is_boolean())
    throw Error(where + "." + key + ": expected true or false, found " + v.dump());
  out = v.get<bool>();
}

void read_string(const nlohmann::json& j, const std::string& key, const std::string& where,
                 std::string& out) {
  if (!j.contains(key)) return;
  const auto& v = j.at(key);
  if (!v.is_string()) throw Error(where + "." + key + ": expected a string, found " + v.dump());
  out = v.get<std::string>();
}

}  // namespace dalnas
