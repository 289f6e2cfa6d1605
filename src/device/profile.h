#pragma once
// DeviceProfile: one deployment target, loaded from devices/<name>.toml (or .json).
//
//   name = "myriadx"
//   description = "..."
//   [numerics]
//   fold_normalization = false        # true: normalisation folded into the first layer
//   [numerics.neural_engine]          # and [numerics.shave], same keys:
//   storage = "fp16"                  # fp32 | fp16                      (default fp32)
//   accumulation = "fp32"             # fp32 | fp16 | fp16-blocked:N     (default fp32)
//   overflow = "inf"                  # inf | saturate                   (default inf)
//   subnormals = "flush"              # keep | flush                     (default keep)
//   prescale = true                   # Myriad weight pre-scaling        (default false)
//   prescale_cap = 8                  # largest shift, convolutions      (default 8)
//   prescale_cap_fc = 9               # largest shift, fully connected   (default 9)
//
// Unknown keys inside [numerics] are errors; other top-level sections (e.g. [cost]) are
// kept, parsed, in `sections` for the parts of the program that own them.
#include <nlohmann/json.hpp>
#include <string>

#include "device/numerics.h"

namespace dalnas {

struct DeviceProfile {
  std::string name;
  std::string description;
  std::string path;  // the file it was loaded from
  Numerics neural_engine;
  Numerics shave;
  bool fold_normalization = false;
  nlohmann::json sections = nlohmann::json::object();  // other top-level tables

  // The emulator configuration of this profile (SIMD kernels on).
  EmulatorConfig emulator_config() const;
};

// `name_or_path`: a path (contains '/' or ends in .toml / .json), or a bare name looked
// up as <dir>/<name>.toml, where dir is $DALNAS_DEVICES_DIR if set, else the repository's
// devices/ folder (compiled in). Throws dalnas::Error naming the file and the key.
DeviceProfile load_profile(const std::string& name_or_path);
// Parses an already loaded document; `path` only names it in error messages.
DeviceProfile parse_profile(const nlohmann::json& doc, const std::string& path);
// The folder bare names are looked up in.
std::string devices_dir();

}  // namespace dalnas
