#pragma once
// Reading settings tables (JSON objects from TOML / JSON configs) with errors that name the
// key: "<where>.<key>: expected ..., found ...". Absent keys leave the output unchanged.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dalnas {

std::string join(const std::vector<std::string>& v, const std::string& sep);

// Throws dalnas::Error when `j` is not an object or has a key outside `allowed`.
void check_keys(const nlohmann::json& j, const std::string& where,
                const std::vector<std::string>& allowed);

void read_number(const nlohmann::json& j, const std::string& key, const std::string& where,
                 double& out, bool non_negative);
// An integer within [lo, hi].
void read_int(const nlohmann::json& j, const std::string& key, const std::string& where,
              int64_t& out, int64_t lo, int64_t hi);
void read_int(const nlohmann::json& j, const std::string& key, const std::string& where, int& out,
              int lo, int hi);
void read_bool(const nlohmann::json& j, const std::string& key, const std::string& where,
               bool& out);
void read_string(const nlohmann::json& j, const std::string& key, const std::string& where,
                 std::string& out);

}  // namespace dalnas
