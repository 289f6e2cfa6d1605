#pragma once
// Fitting a device profile to the outputs a device produced on the probes (probe/probe.h).
//
// The settings are fitted one step at a time, in an order where each step's probes depend
// only on the settings of the earlier steps and on the step's own (probe/probe.h says how
// the probes are built for that). A step emulates its probes under every candidate value
// (the finite set of what the profile keys allow: 12 FP16 modes, fp32 or fp16 storage,
// accumulation fp32 / fp16 / fp16-blocked:N for N in 2..512 / fp16-blocked:hw, ...) with
// the settings fitted so far, and keeps
//   - the candidate whose outputs equal the device's everywhere (value equality, NaN equal
//     to NaN); where several do, a key is determined only if they all agree on it, and the
//     one closest to the current (base) profile is kept;
//   - where none does, the closest: fewest differing values, then smallest largest
//     difference (reported with the residual: the device is not one of the candidates).
// A step whose candidates all match, or that is moot (e.g. SHAVE's FP16 rounding where
// SHAVE stores fp32), determines nothing: its keys keep the base profile's values.
//
// Keys (under [numerics] of a profile, device/profile.h) and what cannot be fitted: the
// pre-scaling cap of fully connected layers (and a convolution cap above 14), ir_weights and
// host_cast (the probes' weights and inputs are exact FP16 values; the host cast is the user's own
// NumPy), plugin_constants' rounding and subnormals (pre-scaling by a power of two is exact), the
// tiling sizes (max_blocks, max_coeff_per_block, max_channels), input / input_precision (deployment
// choices) and deconvolution are kept from the base profile.
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "device/profile.h"
#include "probe/probe.h"

namespace dalnas {

// One value of a step: the keys it sets (a key a candidate leaves out is moot under it,
// e.g. the input conversion under fp32 storage) and how it changes a profile.
struct ProbeCandidate {
  std::vector<std::pair<std::string, std::string>> values;  // key -> value (as in TOML)
  std::function<void(DeviceProfile&)> apply;
  std::string label() const;  // "fp16, numpy"
};

struct ProbeStep {
  std::string name;
  std::vector<std::string> keys;    // the settings it fits
  std::vector<std::string> probes;  // the probes it reads
  // The candidates given the settings fitted so far.
  std::function<std::vector<ProbeCandidate>(const DeviceProfile&)> candidates;
  // Non-empty: why the step is moot under the settings fitted so far.
  std::function<std::string(const DeviceProfile&)> moot;
};

// The steps, in fitting order.
std::vector<ProbeStep> probe_steps();

// The value of a fitted key in a profile, as the fit reports it (the effective value:
// e.g. conversions.device_convert falls back to the SHAVE mode when unset).
std::string probe_setting(const DeviceProfile& p, const std::string& key);

struct FitRow {
  std::string key;
  std::string value;       // fitted (or, where not determined, the base profile's)
  std::string base_value;  // the base profile's
  std::string step;        // the step (and its probes)
  std::string probes;      // "accumulation_1x1, accumulation_3x3"
  bool determined = false;
  bool exact = false;             // a candidate matched every value
  int64_t mismatches = 0;         // values that differ under the fitted candidate
  int64_t values = 0;             // values compared
  double max_diff = 0;            // largest |difference| (inf where one side is not finite)
  std::vector<std::string> also;  // other candidates that matched exactly (ambiguity)
  std::string note;               // why not determined, if so
  std::string evidence() const;   // "accumulation_1x1, accumulation_3x3: exact"
};

struct FitResult {
  DeviceProfile profile;  // the base profile with the fitted settings
  std::vector<FitRow> rows;
  const FitRow* row(const std::string& key) const;  // nullptr if absent
};

// Fits `base` to `outputs` (probe name -> the device's output, C × H × W values).
// `threads`: candidates emulated in parallel (0: one per hardware thread). Throws
// dalnas::Error naming the probe for a missing output or one of the wrong size.
FitResult fit_probes(const std::vector<Probe>& probes,
                     const std::map<std::string, std::vector<float>>& outputs,
                     const DeviceProfile& base, int threads = 0);

// The base profile's document (`base_doc`, as load_config_file reads it) with the
// determined settings of `fit` written into [numerics], named `name`.
nlohmann::json fitted_profile_doc(const nlohmann::json& base_doc, const FitResult& fit,
                                  const std::string& name, const std::string& description);

// The table: setting, fitted value, evidence, base value (one line per key).
std::string format_fit(const FitResult& fit);

}  // namespace dalnas
