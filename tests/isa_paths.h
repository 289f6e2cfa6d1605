#pragma once
// SIMD-vs-scalar tests say which code paths they ran, and a path this CPU lacks is a
// visible skip rather than a silent pass.
//
// A test declares one isa_paths::Report at its start; while it lives, the code that picks
// paths calls isa_paths::ran("avx2") or isa_paths::missing("avx512", "why"). When the
// Report goes out of scope it
//   - records the property isa_paths ("scalar, avx2, avx512") and, if any, isa_missing,
//   - prints "[ ISA      ] Suite.Test ran: scalar, avx2, avx512",
//   - fails the test for every missing path named in DALNAS_REQUIRE_ISA (a comma list of
//     f16c, avx2, avx512; an unknown name fails too), and otherwise
//   - marks the test skipped (GTEST_SKIP) with the reason when a path was missing; the
//     paths that ran were still checked (a failure among them still fails the test).
//
// Names: "scalar", "f16c" (precision/half.h's 8-wide path in the F16C-native modes),
// "avx2" (AVX2 + F16C), "avx512" (AVX-512 F/DQ/BW/VL), "avx512vnni" (AVX-512 F/BW/VL +
// VNNI: quant/int8_conv.h's int8 path).
#include <cpuid.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "precision/half.h"

namespace dalnas {
namespace isa_paths {

// The names DALNAS_REQUIRE_ISA accepts.
inline const std::vector<std::string>& known_names() {
  static const std::vector<std::string> names{"f16c", "avx2", "avx512", "avx512vnni"};
  return names;
}

// DALNAS_REQUIRE_ISA as a list (lower case, blanks removed, empty items dropped).
inline std::vector<std::string> required() {
  std::vector<std::string> out;
  const char* env = std::getenv("DALNAS_REQUIRE_ISA");
  if (env == nullptr) return out;
  std::string item;
  for (const char* p = env;; ++p) {
    if (*p == ',' || *p == '\0') {
      if (!item.empty()) out.push_back(item);
      item.clear();
      if (*p == '\0') break;
    } else if (!std::isspace(static_cast<unsigned char>(*p))) {
      item += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
    }
  }
  return out;
}

inline bool is_required(const std::string& name) {
  const std::vector<std::string> r = required();
  return std::find(r.begin(), r.end(), name) != r.end();
}

// Whether this CPU has the named ISA, and the reason to give when it does not.
inline bool cpu_has(const std::string& name) {
  if (name == "scalar") return true;
  if (name == "f16c") return cpu_has_f16c();
  if (name == "avx2") return cpu_has_avx2_f16c();
  if (name == "avx512") return cpu_has_avx512();
  if (name == "avx512vnni") {
    unsigned a = 0, b = 0, c = 0, d = 0;  // CPUID leaf 7 ECX bit 11: AVX512_VNNI
    return cpu_has_avx512() && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << 11)) != 0;
  }
  return false;
}

inline std::string lack_reason(const std::string& name) {
  if (name == "f16c") return "this CPU lacks AVX + F16C";
  if (name == "avx2") return "this CPU lacks AVX2 + F16C";
  if (name == "avx512") return "this CPU lacks AVX-512 F/DQ/BW/VL";
  if (name == "avx512vnni") return "this CPU lacks AVX-512 VNNI";
  return "unknown ISA '" + name + "'";
}

class Report {
 public:
  Report() : prev_(slot()) { slot() = this; }
  ~Report() {
    slot() = prev_;
    finish();
  }
  Report(const Report&) = delete;
  Report& operator=(const Report&) = delete;

  // The innermost live Report of this thread, or nullptr.
  static Report* current() { return slot(); }

  void ran(const std::string& name) {
    if (std::find(ran_.begin(), ran_.end(), name) == ran_.end()) ran_.push_back(name);
  }
  void missing(const std::string& name, const std::string& why) {
    for (const auto& m : missing_) {
      if (m.first == name) return;
    }
    missing_.emplace_back(name, why);
  }
  const std::vector<std::string>& paths_run() const { return ran_; }

 private:
  static Report*& slot() {
    thread_local Report* p = nullptr;
    return p;
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  }

  void finish() {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string test =
        info != nullptr ? std::string(info->test_suite_name()) + "." + info->name() : "?";
    const std::string ran = ran_.empty() ? "(none)" : join(ran_);
    ::testing::Test::RecordProperty("isa_paths", ran);
    std::printf("[ ISA      ] %s ran: %s\n", test.c_str(), ran.c_str());
    for (const std::string& r : required()) {
      if (std::find(known_names().begin(), known_names().end(), r) == known_names().end()) {
        ADD_FAILURE() << "DALNAS_REQUIRE_ISA names '" << r
                      << "'; known: f16c, avx2, avx512, avx512vnni";
      }
    }
    if (missing_.empty()) return;
    std::vector<std::string> why;
    bool fail = false;
    for (const auto& m : missing_) {
      why.push_back(m.first + " (" + m.second + ")");
      if (is_required(m.first)) {
        ADD_FAILURE() << "path " << m.first
                      << " is required by DALNAS_REQUIRE_ISA but did not run: " << m.second;
        fail = true;
      }
    }
    ::testing::Test::RecordProperty("isa_missing", join(why));
    std::printf("[ ISA      ] %s not run: %s\n", test.c_str(), join(why).c_str());
    if (!fail) GTEST_SKIP() << "not run: " << join(why) << "; ran: " << ran;
  }

  Report* prev_;
  std::vector<std::string> ran_;
  std::vector<std::pair<std::string, std::string>> missing_;
};

// Record in the current Report (if any).
inline void ran(const std::string& name) {
  if (Report* r = Report::current()) r->ran(name);
}
inline void missing(const std::string& name, const std::string& why) {
  if (Report* r = Report::current()) r->missing(name, why);
}

// Records `name` as run if the CPU has it (returns true), as missing otherwise.
inline bool use(const std::string& name) {
  if (cpu_has(name)) {
    ran(name);
    return true;
  }
  missing(name, lack_reason(name));
  return false;
}

// The precision/half.h path name of HalfIsa `isa` in `mode` ("f16c" for the 8-wide path
// in the F16C-native modes).
inline std::string half_path_name(HalfIsa isa, const HalfMode& mode) {
  if (isa == HalfIsa::AVX2) return mode.f16c_native() ? "f16c" : "avx2";
  return to_string(isa);
}

// Records and returns whether precision/half.h can run `isa` for `mode` here.
inline bool use_half(HalfIsa isa, const HalfMode& mode) {
  const std::string name = half_path_name(isa, mode);
  if (half_isa_supported(isa, mode)) {
    ran(name);
    return true;
  }
  missing(name, lack_reason(name));
  return false;
}

}  // namespace isa_paths
}  // namespace dalnas
