#pragma once
// The loop that the [cost] table parsers of every cost kind share (cost_model.cpp: the
// analytic and cpu kinds; integer_cost.cpp: the integer kind). Each key of `table` but
// `model` and `lut` (load_cost_model's) must name a field that `visit(p, f)` hands to f as
// (key, field), and its value must be a number; `assign(name, key, value, field)` then
// checks the value by the kind's own rules and stores it (`name` is where.key, for its
// errors). An unknown key is an error naming `where` and listing the allowed keys;
// `model_label` names the kind in that message ("cpu", "integer"), empty for the analytic
// default.
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"

namespace dalnas {

template <class P, class Visit, class Assign>
P parse_cost_table(const nlohmann::json& table, const std::string& where,
                   const std::string& model_label, Visit visit, Assign assign) {
  if (!table.is_object()) throw Error(where + ": expected a table");
  P p;
  for (auto it = table.begin(); it != table.end(); ++it) {
    if (it.key() == "model" || it.key() == "lut") continue;  // load_cost_model's
    bool known = false;
    visit(p, [&](const char* key, auto& field) {
      if (it.key() != key) return;
      known = true;
      const std::string name = where + "." + key;
      if (!it.value().is_number()) throw Error(name + ": expected a number");
      assign(name, std::string(key), it.value(), field);
    });
    if (!known) {
      std::string keys;
      visit(p,
            [&](const char* key, auto&) { keys += (keys.empty() ? "" : ", ") + std::string(key); });
      const std::string kind = model_label.empty() ? "" : " for model \"" + model_label + "\"";
      throw Error(where + ": unknown key '" + it.key() + "'" + kind + " (allowed: " + keys +
                  ", model, lut)");
    }
  }
  return p;
}

}  // namespace dalnas
