#pragma once
// DeviceProfile: one deployment target, loaded from devices/<name>.toml (or .json).
//
//   name = "myriadx"
//   description = "..."
//   [numerics]                        (semantics: device/numerics.h, device/emulator.h)
//   input = "host"                    # host | model | folded            (default host)
//   fold_normalization = false        # old form of input = "folded"
//   input_precision = "fp16"          # fp16 | fp32 | u8: what the host sends
//   resize_half_pixel_as = "asymmetric"  # what a half_pixel resize runs as (default
//                                     # half_pixel; also asymmetric, align_corners)
//   fused_activations = "relu-clamp"  # all | relu-clamp: what the engine fuses (all)
//   hw_avgpool_borders = "count-padding"  # exclude-padding | count-padding (exclude)
//   deconvolution = "nce"             # shave | nce (pre-scaled HW conv)  (default shave)
//   [numerics.conversions]            # numpy | ie | ROUNDING/OVERFLOW/SUBNORMALS
//   host_cast, device_convert, ir_weights, plugin_constants   (default: unset, legacy)
//   [numerics.tiling]                 # hardware tiling over input channels
//   enabled = true; max_coeff_per_block = 256; max_blocks = 16; max_channels = 2048
//   [numerics.neural_engine]          # and [numerics.shave], same keys:
//   storage = "fp16"                  # fp32 | fp16                      (default fp32)
//   accumulation = "fp32"             # fp32 | fp16 | fp16-blocked:N | fp16-blocked:hw
//   rounding = "even"                 # even | away                      (default even)
//   overflow = "inf"                  # inf | saturate                   (default inf)
//   subnormals = "flush"              # keep | flush | min-normal        (default keep)
//   prescale = true                   # Myriad weight pre-scaling        (default false)
//   prescale_cap = 8                  # largest shift, convolutions      (default 8)
//   prescale_cap_fc = 9               # largest shift, fully connected   (default 9)
//   prescale_growing_output = true    # OpenVINO's normalVal rule        (default false)
//   activations = "fp16"              # fp32 | fp16 arithmetic of Sigmoid etc. (fp32)
//
//   [integer]                         # an integer target (device/int8_emulator.h)
//   format = "int8-tflite"            # the arithmetic: int8-tflite | onnxruntime-int8
//   rounding = "double"               # double | single: TFLite's requantization build
//   reduce_range = false              # weights in [−64, 64] instead of [−127, 127]
//   weights = "per-channel"           # per-channel | per-tensor: weight scales
//   calibration = "minmax"            # minmax | percentile: activation ranges (PTQ)
//   percentile = 99.99                # percentile calibration's upper percentile
//   calibration_tiles = 32            # tiles of the training scenes used to calibrate
//   ranges = "trained"                # trained | calibrated: a quantization-aware
//                                     # checkpoint's own activation ranges, or PTQ's
//                                     # (device/trained_ranges.h)            (trained)
//   precision = "int8"                # mixed precision: every node's format, int8 | int4w
//                                     # | fp16 (device/precision_rule.h)       (int8)
//   first_last = "int8"               # the first encoder block and the head (none)
//
// Unknown keys inside [numerics] and [integer] are errors; other top-level sections (e.g. [cost])
// are kept, parsed, in `sections` for the parts of the program that own them.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "device/int8_config.h"
#include "device/numerics.h"

namespace dalnas {

struct DeviceProfile {
  std::string name;
  std::string description;
  std::string path;  // the file it was loaded from
  Numerics neural_engine;
  Numerics shave;
  bool fold_normalization = false;  // input = "folded" (kept in step by parse_profile)
  // The pipeline settings of [numerics] (input, conversions, tiling, operator modes);
  // its nce / shave members are unused (neural_engine and shave above are the engines).
  EmulatorConfig pipeline;
  // Set for an integer target ([integer]): the device runs the Int8Emulator after
  // post-training quantization; neural_engine / shave then play no part.
  std::optional<Int8Config> integer;
  nlohmann::json sections = nlohmann::json::object();  // other top-level tables

  // The emulator configuration of this profile (SIMD kernels on).
  EmulatorConfig emulator_config() const;
};

// `name_or_path`: a path (contains '/' or ends in .toml / .json), or a bare name looked
// up as <dir>/<name>.toml, where dir is $DALNAS_DEVICES_DIR if set, else the repository's
// devices/ folder (compiled in). Throws dalnas::Error naming the file and the key.
DeviceProfile load_profile(const std::string& name_or_path);
// A hash (16 hex digits) of the content of the profile `name_or_path` names, as parsed
// (comments and layout do not count, every value does): a search records it and refuses to
// resume against a changed profile. Throws dalnas::Error as load_profile does.
std::string profile_fingerprint(const std::string& name_or_path);
// Parses an already loaded document; `path` only names it in error messages.
DeviceProfile parse_profile(const nlohmann::json& doc, const std::string& path);
// The folder bare names are looked up in.
std::string devices_dir();

}  // namespace dalnas
