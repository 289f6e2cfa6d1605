#include "device/profile.h"

#include <cstdlib>
#include <fstream>

#include "core/config_file.h"
#include "core/error.h"

#ifndef DALNAS_DEVICES_DIR
#define DALNAS_DEVICES_DIR "devices"
#endif

namespace dalnas {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

const nlohmann::json* find(const nlohmann::json& t, const char* key) {
  auto it = t.find(key);
  return it == t.end() ? nullptr : &*it;
}

std::string get_string(const nlohmann::json& t, const char* key, const std::string& where,
                       const std::string& fallback) {
  const nlohmann::json* v = find(t, key);
  if (v == nullptr) return fallback;
  if (!v->is_string()) throw Error(where + "." + key + ": expected a string");
  return v->get<std::string>();
}

Numerics parse_numerics(const nlohmann::json& t, const std::string& path,
                        const std::string& table) {
  const std::string where = path + ": " + table;
  if (!t.is_object()) throw Error(where + ": expected a table");
  static const char* const kKeys[] = {"storage",  "accumulation", "overflow",       "subnormals",
                                      "prescale", "prescale_cap", "prescale_cap_fc"};
  for (auto it = t.begin(); it != t.end(); ++it) {
    bool known = false;
    for (const char* k : kKeys) known = known || it.key() == k;
    if (!known) {
      throw Error(where + ": unknown key '" + it.key() +
                  "' (allowed: storage, accumulation, overflow, subnormals, prescale, "
                  "prescale_cap, prescale_cap_fc)");
    }
  }
  Numerics n;
  // Each parse_* error names the value and the allowed ones; prefix the key.
  auto with_key = [&](const char* key, auto parse) {
    try {
      return parse();
    } catch (const Error& e) {
      throw Error(where + "." + key + ": " + e.what());
    }
  };
  n.storage =
      with_key("storage", [&] { return parse_storage(get_string(t, "storage", where, "fp32")); });
  n.acc = with_key("accumulation", [&] {
    return parse_accumulation(get_string(t, "accumulation", where, "fp32"));
  });
  n.half.overflow =
      with_key("overflow", [&] { return parse_overflow(get_string(t, "overflow", where, "inf")); });
  n.half.subnormals = with_key(
      "subnormals", [&] { return parse_subnormals(get_string(t, "subnormals", where, "keep")); });
  if (const nlohmann::json* v = find(t, "prescale")) {
    if (!v->is_boolean()) throw Error(where + ".prescale: expected true or false");
    n.prescale = v->get<bool>();
  }
  for (const char* key : {"prescale_cap", "prescale_cap_fc"}) {
    if (const nlohmann::json* v = find(t, key)) {
      if (!v->is_number_integer() || v->get<int64_t>() < 0 || v->get<int64_t>() > 30) {
        throw Error(where + "." + key + ": expected an integer from 0 to 30");
      }
      (std::string(key) == "prescale_cap" ? n.prescale_cap : n.prescale_cap_fc) =
          static_cast<int>(v->get<int64_t>());
    }
  }
  return n;
}

}  // namespace

EmulatorConfig DeviceProfile::emulator_config() const {
  EmulatorConfig c;
  c.nce = neural_engine;
  c.shave = shave;
  return c;
}

std::string devices_dir() {
  const char* env = std::getenv("DALNAS_DEVICES_DIR");
  if (env != nullptr && *env != '\0') return env;
  return DALNAS_DEVICES_DIR;
}

DeviceProfile parse_profile(const nlohmann::json& doc, const std::string& path) {
  if (!doc.is_object()) throw Error(path + ": expected a table at the top level");
  DeviceProfile p;
  p.path = path;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    if (key == "name") {
      if (!it->is_string()) throw Error(path + ": name: expected a string");
      p.name = it->get<std::string>();
    } else if (key == "description") {
      if (!it->is_string()) throw Error(path + ": description: expected a string");
      p.description = it->get<std::string>();
    } else if (key == "numerics") {
      const nlohmann::json& num = *it;
      if (!num.is_object()) throw Error(path + ": numerics: expected a table");
      for (auto jt = num.begin(); jt != num.end(); ++jt) {
        const std::string& k = jt.key();
        if (k == "fold_normalization") {
          if (!jt->is_boolean()) {
            throw Error(path + ": numerics.fold_normalization: expected true or false");
          }
          p.fold_normalization = jt->get<bool>();
        } else if (k == "neural_engine") {
          p.neural_engine = parse_numerics(*jt, path, "numerics.neural_engine");
        } else if (k == "shave") {
          p.shave = parse_numerics(*jt, path, "numerics.shave");
        } else {
          throw Error(path + ": numerics: unknown key '" + k +
                      "' (allowed: fold_normalization, neural_engine, shave)");
        }
      }
    } else {
      p.sections[key] = *it;
    }
  }
  if (p.name.empty()) throw Error(path + ": name: missing");
  return p;
}

DeviceProfile load_profile(const std::string& name_or_path) {
  const bool is_path = name_or_path.find('/') != std::string::npos ||
                       ends_with(name_or_path, ".toml") || ends_with(name_or_path, ".json");
  std::string path = name_or_path;
  if (!is_path) {
    if (name_or_path.empty()) throw Error("device profile: empty name");
    path = devices_dir() + "/" + name_or_path + ".toml";
    if (!std::ifstream(path).good()) {
      throw Error("device profile '" + name_or_path + "': " + path + " does not exist");
    }
  }
  return parse_profile(load_config_file(path), path);
}

}  // namespace dalnas
