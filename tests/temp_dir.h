#pragma once
// A temporary folder for one test, removed with everything in it at the end of the scope.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace dalnas::test_util {

struct TempDir {
  std::filesystem::path path;
  // /tmp/dalnas-<prefix>-<pid>-<n>
  explicit TempDir(const std::string& prefix) {
    static int n = 0;
    path = std::filesystem::temp_directory_path() /
           ("dalnas-" + prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `text` to <path>/<name> (executable when `exec`); returns the file's path.
  std::string write(const std::string& name, const std::string& text, bool exec = false) const {
    const std::filesystem::path p = path / name;
    std::ofstream(p) << text;
    if (exec) ::chmod(p.c_str(), 0755);
    return p.string();
  }
};

}  // namespace dalnas::test_util
