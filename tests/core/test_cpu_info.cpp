// cpu_info: this CPU's identity, and the check of a fitted profile's [fitted_on] table.
#include <gtest/gtest.h>

#include "core/cpu_info.h"

namespace dalnas {
namespace {

TEST(CpuInfo, ThisCpuHasAnIsaAndCores) {
  const CpuIdentity c = this_cpu();
  EXPECT_GE(c.cores, 1);
  EXPECT_TRUE(c.isa == "avx512" || c.isa == "avx2" || c.isa == "sse" || c.isa == "other") << c.isa;
  const nlohmann::json j = to_json(c);
  EXPECT_EQ(j["isa"], c.isa);
  EXPECT_EQ(j["cores"], c.cores);
  // Recorded here, checked here: no warning.
  EXPECT_EQ(cpu_mismatch(j, c, "p.toml"), "");
}

TEST(CpuInfo, AnotherCpuIsNamedWithTheRefitCommand) {
  CpuIdentity here;
  here.model = "AMD EPYC 7B13";
  here.isa = "avx2";
  here.cores = 8;
  const nlohmann::json fitted = {{"model", "Intel(R) Xeon(R) Processor"},
                                 {"isa", "avx512"},
                                 {"cores", 2},
                                 {"refit", "dalnas profile calibrate-host --write x.toml"}};
  const std::string m = cpu_mismatch(fitted, here, "devices/host-cpu.toml");
  EXPECT_EQ(m.rfind("devices/host-cpu.toml: fitted on 'Intel(R) Xeon(R) Processor' (avx512, 2 "
                    "cores), but this CPU is 'AMD EPYC 7B13' (avx2, 8 cores)",
                    0),
            0u)
      << m;
  EXPECT_NE(m.find("Refit on this machine: dalnas profile calibrate-host --write x.toml"),
            std::string::npos)
      << m;
  // Only what was recorded is compared: an ISA alone that matches says nothing.
  EXPECT_EQ(cpu_mismatch({{"isa", "avx2"}}, here, "p.toml"), "");
  const std::string isa_only = cpu_mismatch({{"isa", "avx512"}}, here, "p.toml");
  EXPECT_NE(isa_only.find("an unrecorded model (avx512)"), std::string::npos) << isa_only;
  EXPECT_NE(isa_only.find("calibrate-host"), std::string::npos) << isa_only;
  EXPECT_EQ(cpu_mismatch(nlohmann::json(), here, "p.toml"), "");
}

}  // namespace
}  // namespace dalnas
