#pragma once
// Helpers shared by the fuzz targets: a private scratch folder (for readers that take a
// path) and the rule every target follows: a dalnas::Error is the reader's answer to a
// bad file; any other exception, a crash, a leak, undefined behaviour or a hang is a
// finding (the exception escapes LLVMFuzzerTestOneInput and libFuzzer reports it).
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"

namespace dalnas_fuzz {

// A folder of this process, removed at exit (under /dev/shm when there is one).
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    std::string tmpl = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    tmpl += "/dalnas-fuzz-XXXXXX";
    if (!mkdtemp(tmpl.data())) std::abort();
    static std::string to_remove;
    to_remove = tmpl;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(to_remove, ec);
    });
    return tmpl;
  }();
  return dir;
}

// Writes `n` bytes to <scratch>/<name> and returns the path.
inline std::string write_scratch(const std::string& name, const uint8_t* data, size_t n) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n));
  if (!out) std::abort();
  return path;
}

inline std::string as_string(const uint8_t* data, size_t n) {
  return std::string(reinterpret_cast<const char*>(data), n);
}

}  // namespace dalnas_fuzz
