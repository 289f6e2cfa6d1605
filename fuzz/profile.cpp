// Fuzz target: device profiles (device/profile.h) from TOML text, with what is read from
// them when a search starts: the cost model tables (load_cost_model; a `lut` names a CSV),
// the [measure] table and the emulator configuration.
#include "device/profile.h"

#include <cstdint>
#include <string>

#include "cost/cost_model.h"
#include "cost/external_measure.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = dalnas_fuzz::write_scratch("profile.toml", data, size);
  try {
    const dalnas::DeviceProfile p = dalnas::load_profile(path);
    p.emulator_config();
    dalnas::measure_config(p);
    dalnas::load_cost_model(p);
  } catch (const dalnas::Error&) {
  }
  return 0;
}
