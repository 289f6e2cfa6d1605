#pragma once
// Helpers shared by the data tests: a per-test temporary folder and error-message checks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "core/error.h"

namespace dalnas::test {

// A fresh folder named after the running test, removed afterwards.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "dalnas-data") {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path = std::filesystem::temp_directory_path() / (prefix + "-" + std::to_string(getpid()) + "-" +
                                                     info->test_suite_name() + "-" + info->name());
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// The message of the dalnas::Error that f throws.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no dalnas::Error thrown>";
}

// One line, containing every part.
inline void expect_contains(const std::string& msg, const std::vector<std::string>& parts) {
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  for (const auto& p : parts)
    EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
}

}  // namespace dalnas::test
