#pragma once
// Small string helpers shared by the modules.
#include <string>

namespace dalnas {

inline bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace dalnas
