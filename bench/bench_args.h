#pragma once
// Command-line options of the benchmarks that take "--key value" pairs: every option is
// checked, so a misspelt one or a missing value is an error instead of a run with the
// defaults, and --help prints the usage.
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>

#include "core/error.h"

namespace dalnas::bench {

// An integer option's value, at least `lo`; dalnas::Error naming `key` otherwise.
inline int parse_int(const std::string& key, const std::string& v, int lo) {
  int x = 0;
  try {
    size_t pos = 0;
    x = std::stoi(v, &pos);
    if (pos != v.size()) throw std::invalid_argument(v);
  } catch (const std::exception&) {
    throw Error(key + ": '" + v + "' is not an integer");
  }
  if (x < lo) throw Error(key + ": " + v + " is below " + std::to_string(lo));
  return x;
}

// Calls `set(key, value)` for each "--key value" pair of argv; `set` returns false for a key
// it does not know. --help / -h prints `usage` and exits 0; an unknown key or a key without
// its value throws dalnas::Error naming it (with `usage`).
inline void parse_pairs(int argc, char** argv, const std::string& usage,
                        const std::function<bool(const std::string&, const std::string&)>& set) {
  for (int i = 1; i < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--help" || k == "-h") {
      std::printf("%s\n", usage.c_str());
      std::exit(0);
    }
    if (i + 1 >= argc) throw Error(k + ": missing value (" + usage + ")");
    if (!set(k, argv[i + 1])) throw Error(k + ": unknown option (" + usage + ")");
  }
}

}  // namespace dalnas::bench
