#pragma once
// Reading CSV tables (measured timings, lookup tables): fields, trimming, numbers.
#include <string>
#include <vector>

namespace dalnas {

// The fields of one CSV line (RFC 4180 quoting, no line breaks inside fields; '\r' dropped).
std::vector<std::string> split_csv_line(const std::string& line);
// Without leading and trailing spaces and tabs.
std::string trim(const std::string& s);
// The whole of `s` as a finite number; false otherwise (v unspecified).
bool parse_double(const std::string& s, double& v);
// The whole of `s` as an integer within ±1e9 (written as an integer or an integral float).
bool parse_int(const std::string& s, int& v);

}  // namespace dalnas
