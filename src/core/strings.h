#pragma once
// Small string helpers shared by the modules.
#include <string>

namespace dalnas {

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The text before the first newline (all of it when there is none): error messages are
// reported as one line.
inline std::string first_line(const std::string& s) {
  const auto p = s.find('\n');
  return p == std::string::npos ? s : s.substr(0, p);
}

}  // namespace dalnas
