#pragma once
// Reads a configuration file (TOML, or JSON by the .json extension) into a JSON object.
#include <nlohmann/json.hpp>
#include <string>

namespace dalnas {

// Throws dalnas::Error "<path>: <problem>" (with line and column for TOML syntax errors).
nlohmann::json load_config_file(const std::string& path);
// TOML text of a JSON object (nulls dropped; load_config_file() reads it back equal, but
// for integers above INT64_MAX, written as floats).
std::string to_toml(const nlohmann::json& j);

}  // namespace dalnas
