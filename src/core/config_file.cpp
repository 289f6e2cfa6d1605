#include "core/config_file.h"

#include <toml++/toml.h>

#include <cctype>
#include <sstream>
#include <vector>

#include "core/atomic_file.h"
#include "core/csv.h"
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

void add_toml(toml::table& t, const std::string& key, const nlohmann::json& v);

toml::array to_toml_array(const nlohmann::json& a) {
  toml::array out;
  for (const auto& v : a) {
    if (v.is_object()) {
      toml::table t;
      for (auto it = v.begin(); it != v.end(); ++it) add_toml(t, it.key(), it.value());
      out.push_back(std::move(t));
    } else if (v.is_array()) {
      out.push_back(to_toml_array(v));
    } else if (v.is_string()) {
      out.push_back(v.get<std::string>());
    } else if (v.is_boolean()) {
      out.push_back(v.get<bool>());
    } else if (v.is_number_integer()) {
      out.push_back(static_cast<int64_t>(v.get<int64_t>()));
    } else if (v.is_number()) {
      out.push_back(v.get<double>());
    }
  }
  return out;
}

void add_toml(toml::table& t, const std::string& key, const nlohmann::json& v) {
  if (v.is_null()) return;  // TOML has no null: an absent key
  if (v.is_object()) {
    toml::table sub;
    for (auto it = v.begin(); it != v.end(); ++it) add_toml(sub, it.key(), it.value());
    t.insert_or_assign(key, std::move(sub));
  } else if (v.is_array()) {
    t.insert_or_assign(key, to_toml_array(v));
  } else if (v.is_string()) {
    t.insert_or_assign(key, v.get<std::string>());
  } else if (v.is_boolean()) {
    t.insert_or_assign(key, v.get<bool>());
  } else if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) {
    t.insert_or_assign(key, static_cast<double>(v.get<uint64_t>()));
  } else if (v.is_number_integer()) {
    t.insert_or_assign(key, static_cast<int64_t>(v.get<int64_t>()));
  } else {
    t.insert_or_assign(key, v.get<double>());
  }
}
}  // namespace

std::string to_toml(const nlohmann::json& j) {
  if (!j.is_object()) throw Error("to_toml: the top level must be an object");
  toml::table t;
  for (auto it = j.begin(); it != j.end(); ++it) add_toml(t, it.key(), it.value());
  std::ostringstream ss;
  ss << t << "\n";
  return ss.str();
}

nlohmann::json load_config_file(const std::string& path) {
  const std::string text = read_file(path);
  const bool is_json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  if (is_json) {
    try {
      return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
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

namespace {

bool bare_key(const std::string& k) {
  if (k.empty()) return false;
  for (char c : k)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  return true;
}

// A word a user means as text (last, regularized-evolution, ../shared/data/sen2ships):
// nothing TOML would read as structure, quoting or a second value, and printable ASCII
// only (other bytes, UTF-8 text, must be quoted, where TOML checks them).
bool bare_word(const std::string& v) {
  if (v.empty() || v.find_first_of("\"'[]{}=,#") != std::string::npos) return false;
  for (char c : v)
    if (c <= ' ' || c > '~') return false;
  return true;
}

}  // namespace

void apply_override(nlohmann::json& j, const std::string& assignment, const std::string& flag) {
  std::string shown;  // the override as typed, on one line
  for (char c : assignment) shown += c == '\n' ? "\\n" : c == '\r' ? "\\r" : std::string(1, c);
  const std::string where = flag + " '" + shown + "': ";
  const auto eq = assignment.find('=');
  if (eq == std::string::npos)
    throw Error(
        where +
        "expected KEY=VALUE, the key dotted into its table (e.g. evaluation.rungs=[8], lr=0.003)");
  const std::string key = trim(assignment.substr(0, eq));
  const std::string value = trim(assignment.substr(eq + 1));
  std::vector<std::string> path;
  for (size_t b = 0;;) {
    const auto dot = key.find('.', b);
    path.push_back(key.substr(b, dot == std::string::npos ? std::string::npos : dot - b));
    if (!bare_key(path.back()))
      throw Error(where + "the key '" + key +
                  "' is not a dotted path of names (letters, digits, _ and -)");
    if (dot == std::string::npos) break;
    b = dot + 1;
  }
  if (value.empty()) throw Error(where + "no value after '='");
  nlohmann::json v = value;  // a bare word: text
  try {
    const toml::table t = toml::parse("v = " + value);
    if (t.size() != 1 || !t.contains("v")) throw Error(where + "the value is not one TOML value");
    v = to_json(*t.get("v"));
  } catch (const toml::parse_error& e) {
    if (!bare_word(value))
      throw Error(where + "the value is not TOML (" + std::string(e.description()) +
                  "); quote text as \"...\"");
  }
  if (!j.is_object()) j = nlohmann::json::object();
  nlohmann::json* at = &j;
  std::string walked;
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    walked += (i ? "." : "") + path[i];
    nlohmann::json& next = (*at)[path[i]];
    if (next.is_null()) next = nlohmann::json::object();
    if (!next.is_object()) throw Error(where + "'" + walked + "' is a value, not a table");
    at = &next;
  }
  (*at)[path.back()] = std::move(v);
}

}  // namespace dalnas
