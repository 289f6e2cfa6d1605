#include "core/config_file.h"

#include <toml++/toml.h>

#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace dalnas {

namespace {
nlohmann::json to_json(const toml::node& n) {
  if (auto t = n.as_table()) {
    nlohmann::json j = nlohmann::json::object();
    for (auto&& [k, v] : *t) j[std::string(k.str())] = to_json(v);
    return j;
  }
  if (auto a = n.as_array()) {
    nlohmann::json j = nlohmann::json::array();
    for (auto&& v : *a) j.push_back(to_json(v));
    return j;
  }
  if (auto v = n.as_string()) return v->get();
  if (auto v = n.as_integer()) return v->get();
  if (auto v = n.as_floating_point()) return v->get();
  if (auto v = n.as_boolean()) return v->get();
  std::ostringstream ss;
  if (auto v = n.as_date())
    ss << v->get();
  else if (auto v = n.as_time())
    ss << v->get();
  else if (auto v = n.as_date_time())
    ss << v->get();
  return ss.str();  // dates and times as text
}
}  // namespace

nlohmann::json load_config_file(const std::string& path) {
  const std::string text = read_file(path);
  const bool is_json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  if (is_json) {
    try {
      return nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      std::string msg = e.what();
      for (char& c : msg)
        if (c == '\n') c = ' ';
      throw Error(path + ": invalid JSON: " + msg);
    }
  }
  try {
    return to_json(toml::parse(text, path));
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw Error(path + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) +
                ": invalid TOML: " + std::string(e.description()));
  }
}

}  // namespace dalnas
