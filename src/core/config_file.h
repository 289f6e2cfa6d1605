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

// Sets one command-line override, "table.key=value", into `j` (a configuration as
// load_config_file() reads it): the key is a dotted path of bare TOML keys (letters,
// digits, '_' and '-'), tables on the way are created, and the value is a TOML value
// (8, 0.5, true, "text", [8], [0.5, 1], {size = 64}); a printable ASCII word that is not
// one and holds no space, quote, bracket, brace, '=', ',' or '#' (last,
// ../shared/data/sen2ships) is text. Throws dalnas::Error "<flag> '<text>': <problem>"
// for a missing '=', an empty or malformed key, a path through a value that is not a
// table, or a value that is not TOML.
void apply_override(nlohmann::json& j, const std::string& assignment,
                    const std::string& flag = "--set");

}  // namespace dalnas
