#pragma once
// FNV-1a 64-bit: the stable hash used for genome hashes, cache keys and file checksums.
#include <cstddef>
#include <cstdint>
#include <string>

namespace dalnas {

inline uint64_t fnv1a64(const void* data, size_t n, uint64_t h = 14695981039346656037ULL) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}
inline uint64_t fnv1a64(const std::string& s) {
  return fnv1a64(s.data(), s.size());
}

}  // namespace dalnas
