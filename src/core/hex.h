#pragma once
// Exactly 16 lowercase hex digits -> 64-bit value (RNG states, genome hashes in the journal).
#include <cstdint>
#include <string>

namespace dalnas {

inline bool parse_hex64(const std::string& s, uint64_t& out) {
  if (s.size() != 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  out = v;
  return true;
}

}  // namespace dalnas
