#pragma once
// Which CPU this is (model name, best vector instruction set, cores), so that a profile
// fitted on one CPU (devices/host-cpu.toml, `[fitted_on]`) can say when it is used on
// another. libtorch-free.
#include <nlohmann/json.hpp>
#include <string>

namespace dalnas {

struct CpuIdentity {
  std::string model;  // /proc/cpuinfo "model name" ("" where unknown)
  std::string isa;    // the widest vector ISA: "avx512" (F), "avx2", "sse", "other"
  int cores = 0;      // hardware threads (std::thread::hardware_concurrency)
};

CpuIdentity this_cpu();
// The `[fitted_on]` table of a profile: model, isa, cores (and `refit`, the command that
// fits again; kept as it is).
nlohmann::json to_json(const CpuIdentity& c);
// "" when `fitted_on` (a [fitted_on] table; fields absent or "" are not compared) matches
// `here`; else one line naming `where`, both CPUs and how to refit.
std::string cpu_mismatch(const nlohmann::json& fitted_on, const CpuIdentity& here,
                         const std::string& where);

}  // namespace dalnas
