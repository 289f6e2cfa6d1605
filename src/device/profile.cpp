#include "device/profile.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <optional>

#include "core/config_file.h"
#include "core/error.h"
#include "core/strings.h"

#ifndef DALNAS_DEVICES_DIR
#define DALNAS_DEVICES_DIR "devices"
#endif

namespace dalnas {

namespace {

const nlohmann::json* find(const nlohmann::json& t, const char* key) {
  auto it = t.find(key);
  return it == t.end() ? nullptr : &*it;
}

std::string get_string(const nlohmann::json& t, const char* key, const std::string& where,
                       const std::string& fallback) {
  const nlohmann::json* v = find(t, key);
  if (v == nullptr) return fallback;
  if (!v->is_string()) throw Error(where + "." + key + ": expected a string");
  return v->get<std::string>();
}

bool get_bool(const nlohmann::json& t, const char* key, const std::string& where, bool fallback) {
  const nlohmann::json* v = find(t, key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) throw Error(where + "." + key + ": expected true or false");
  return v->get<bool>();
}

int get_int(const nlohmann::json& t, const char* key, const std::string& where, int fallback,
            int lo, int hi) {
  const nlohmann::json* v = find(t, key);
  if (v == nullptr) return fallback;
  if (!v->is_number_integer() || v->get<int64_t>() < lo || v->get<int64_t>() > hi) {
    throw Error(where + "." + key + ": expected an integer from " + std::to_string(lo) + " to " +
                std::to_string(hi));
  }
  return static_cast<int>(v->get<int64_t>());
}

void check_keys(const nlohmann::json& t, const std::string& where,
                std::initializer_list<const char*> keys) {
  if (!t.is_object()) throw Error(where + ": expected a table");
  for (auto it = t.begin(); it != t.end(); ++it) {
    bool known = false;
    std::string list;
    for (const char* k : keys) {
      known = known || it.key() == k;
      list += (list.empty() ? "" : ", ") + std::string(k);
    }
    if (!known) throw Error(where + ": unknown key '" + it.key() + "' (allowed: " + list + ")");
  }
}

// A conversion setting ("numpy", "ie" or ROUNDING/OVERFLOW/SUBNORMALS), or unset.
std::optional<HalfMode> get_conversion(const nlohmann::json& t, const char* key,
                                       const std::string& where) {
  if (find(t, key) == nullptr) return std::nullopt;
  try {
    return parse_conversion(get_string(t, key, where, ""));
  } catch (const Error& e) {
    if (std::string(e.what()).find(where) == 0) throw;
    throw Error(where + "." + key + ": " + e.what());
  }
}

Numerics parse_numerics(const nlohmann::json& t, const std::string& path,
                        const std::string& table) {
  const std::string where = path + ": " + table;
  if (!t.is_object()) throw Error(where + ": expected a table");
  static const char* const kKeys[] = {"storage",      "accumulation",    "rounding",
                                      "overflow",     "subnormals",      "prescale",
                                      "prescale_cap", "prescale_cap_fc", "prescale_growing_output",
                                      "activations"};
  for (auto it = t.begin(); it != t.end(); ++it) {
    bool known = false;
    for (const char* k : kKeys) known = known || it.key() == k;
    if (!known) {
      throw Error(where + ": unknown key '" + it.key() +
                  "' (allowed: storage, accumulation, rounding, overflow, subnormals, prescale, "
                  "prescale_cap, prescale_cap_fc, prescale_growing_output, activations)");
    }
  }
  Numerics n;
  // Each parse_* error names the value and the allowed ones; prefix the key.
  auto with_key = [&](const char* key, auto parse) {
    try {
      return parse();
    } catch (const Error& e) {
      throw Error(where + "." + key + ": " + e.what());
    }
  };
  n.storage =
      with_key("storage", [&] { return parse_storage(get_string(t, "storage", where, "fp32")); });
  n.acc = with_key("accumulation", [&] {
    return parse_accumulation(get_string(t, "accumulation", where, "fp32"));
  });
  n.half.overflow =
      with_key("overflow", [&] { return parse_overflow(get_string(t, "overflow", where, "inf")); });
  n.half.subnormals = with_key(
      "subnormals", [&] { return parse_subnormals(get_string(t, "subnormals", where, "keep")); });
  n.half.rounding = with_key(
      "rounding", [&] { return parse_rounding(get_string(t, "rounding", where, "even")); });
  n.prescale = get_bool(t, "prescale", where, false);
  n.prescale_growing_output = get_bool(t, "prescale_growing_output", where, false);
  const std::string acts = get_string(t, "activations", where, "fp32");
  if (acts != "fp32" && acts != "fp16") {
    throw Error(where + ".activations: '" + acts + "': expected fp32 or fp16");
  }
  n.fp16_activations = acts == "fp16";
  n.prescale_cap = get_int(t, "prescale_cap", where, 8, 0, 30);
  n.prescale_cap_fc = get_int(t, "prescale_cap_fc", where, 9, 0, 30);
  return n;
}

}  // namespace

EmulatorConfig DeviceProfile::emulator_config() const {
  EmulatorConfig c = pipeline;
  c.nce = neural_engine;
  c.shave = shave;
  if (fold_normalization) {
    c.input = InputPipeline::Folded;
  } else if (c.input == InputPipeline::Folded) {
    c.input = InputPipeline::Host;
  }
  return c;
}

std::string devices_dir() {
  const char* env = std::getenv("DALNAS_DEVICES_DIR");
  if (env != nullptr && *env != '\0') return env;
  return DALNAS_DEVICES_DIR;
}

namespace {
Int8Config parse_integer(const nlohmann::json& t, const std::string& where) {
  if (!t.is_object()) throw Error(where + ": expected a table");
  check_keys(
      t, where,
      {"format", "rounding", "calibration", "percentile", "calibration_tiles", "reduce_range",
       "precision", "first_last", "weights", "ranges", "keep_bounded", "entropy", "dpu_exact"});
  Int8Config c;
  const std::string format = get_string(t, "format", where, "");
  if (format.empty()) {
    throw Error(where + ".format: missing (int8-tflite, onnxruntime-int8 or dpu-int8)");
  }
  try {
    c.format = parse_int8_format(format);
  } catch (const Error& e) {
    throw Error(where + ".format: " + e.what());
  }
  const bool dpu = c.format == Int8Format::Dpu;
  if (dpu) {
    // Power-of-two fixed point: no multiplier to round, weights in [−128, 127].
    for (const char* k : {"rounding", "reduce_range", "weights"}) {
      if (t.contains(k)) throw Error(where + "." + k + ": not a setting of format dpu-int8");
    }
    c.weight_max = 128;
  }
  if (t.contains("reduce_range")) {
    if (!t["reduce_range"].is_boolean())
      throw Error(where + ".reduce_range: expected true or false");
    c.weight_max = t["reduce_range"].get<bool>() ? 64 : 127;
  }
  const std::string weights = get_string(t, "weights", where, "per-channel");
  if (weights != "per-channel" && weights != "per-tensor") {
    throw Error(where + ".weights: '" + weights + "': expected per-channel or per-tensor");
  }
  c.weights_per_tensor = weights == "per-tensor";
  const std::string rounding = get_string(t, "rounding", where, "double");
  if (rounding != "double" && rounding != "single") {
    throw Error(where + ".rounding: '" + rounding + "': expected double or single");
  }
  c.rounding = rounding == "single" ? RequantRounding::Single : RequantRounding::Double;
  try {
    c.calibration =
        parse_calibration_method(get_string(t, "calibration", where, dpu ? "diffs" : "minmax"));
  } catch (const Error& e) {
    throw Error(where + ".calibration: " + e.what());
  }
  if (c.calibration == CalibrationMethod::Diffs && !dpu) {
    throw Error(where +
                ".calibration: 'diffs' chooses power-of-two fix positions; it is a "
                "setting of format dpu-int8 only");
  }
  if (t.contains("percentile")) {
    if (!t["percentile"].is_number()) throw Error(where + ".percentile: expected a number");
    c.percentile = t["percentile"].get<double>();
    if (!(c.percentile > 50.0 && c.percentile <= 100.0)) {
      throw Error(where + ".percentile: " + t["percentile"].dump() + " is outside (50, 100]");
    }
  }
  c.calibration_tiles = get_int(t, "calibration_tiles", where, 32, 1, 100000);
  c.keep_bounded = get_bool(t, "keep_bounded", where, false);
  const std::string entropy = get_string(t, "entropy", where, "tensorrt");
  if (entropy != "tensorrt" && entropy != "grid") {
    throw Error(where + ".entropy: '" + entropy + "': expected tensorrt or grid");
  }
  c.entropy_grid = entropy == "grid";
  const std::string ranges = get_string(t, "ranges", where, "trained");
  if (ranges != "trained" && ranges != "calibrated") {
    throw Error(where + ".ranges: '" + ranges + "': expected trained or calibrated");
  }
  c.trained_ranges = ranges == "trained";
  // dpu-int8: the arithmetic quirks replaced by the exact operation (int8_config.h), by the
  // census's row names, e.g. dpu_exact = ["add-alignment"] for a DPU that adds exactly.
  if (t.contains("dpu_exact")) {
    const std::string key = where + ".dpu_exact";
    if (!dpu) throw Error(key + ": not a setting of format " + to_string(c.format));
    if (!t["dpu_exact"].is_array()) throw Error(key + ": expected a list of names");
    for (const auto& v : t["dpu_exact"]) {
      const std::string name = v.is_string() ? v.get<std::string>() : v.dump();
      if (name == "bias-8bit") {
        c.dpu_bias_int8 = false;
      } else if (name == "pool-divisor") {
        c.dpu_pool_divisor = false;
      } else if (name == "add-alignment") {
        c.dpu_add_truncation = false;
      } else if (name == "hardswish") {
        c.dpu_hardswish = false;
      } else {
        throw Error(key + ": '" + name +
                    "': expected bias-8bit, pool-divisor, add-alignment or hardswish");
      }
    }
  }
  // Mixed precision (device/precision_rule.h): what each format can run.
  auto precision = [&](const char* key, LayerPrecision fallback) {
    if (!t.contains(key)) return fallback;
    const LayerPrecision p =
        parse_layer_precision(get_string(t, key, where, ""), where + "." + key);
    if (!format_runs(c.format, p)) {
      throw Error(where + "." + key + ": " + to_string(p) + " is not a precision " +
                  to_string(c.format) + " runs (" + format_precisions(c.format) + ")");
    }
    return p;
  };
  c.precision = precision("precision", LayerPrecision::Int8);
  c.first_last = precision("first_last", LayerPrecision::Default);
  return c;
}
}  // namespace

DeviceProfile parse_profile(const nlohmann::json& doc, const std::string& path) {
  if (!doc.is_object()) throw Error(path + ": expected a table at the top level");
  DeviceProfile p;
  p.path = path;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    if (key == "name") {
      if (!it->is_string()) throw Error(path + ": name: expected a string");
      p.name = it->get<std::string>();
    } else if (key == "description") {
      if (!it->is_string()) throw Error(path + ": description: expected a string");
      p.description = it->get<std::string>();
    } else if (key == "numerics") {
      const nlohmann::json& num = *it;
      if (!num.is_object()) throw Error(path + ": numerics: expected a table");
      for (auto jt = num.begin(); jt != num.end(); ++jt) {
        const std::string& k = jt.key();
        const std::string where = path + ": numerics";
        auto keyed = [&](auto parse) {
          try {
            return parse();
          } catch (const Error& e) {
            throw Error(where + "." + k + ": " + e.what());
          }
        };
        EmulatorConfig& c = p.pipeline;
        if (k == "fold_normalization") {
          if (get_bool(num, "fold_normalization", where, false)) c.input = InputPipeline::Folded;
        } else if (k == "input") {
          c.input =
              keyed([&] { return parse_input_pipeline(get_string(num, "input", where, "")); });
        } else if (k == "input_precision") {
          c.input_precision = keyed(
              [&] { return parse_input_precision(get_string(num, "input_precision", where, "")); });
        } else if (k == "resize_half_pixel_as") {
          c.half_pixel_resize = keyed([&] {
            return parse_resize_coord(get_string(num, "resize_half_pixel_as", where, ""));
          });
        } else if (k == "fused_activations") {
          const std::string v = get_string(num, "fused_activations", where, "all");
          if (v != "all" && v != "relu-clamp") {
            throw Error(where + ".fused_activations: '" + v + "': expected all or relu-clamp");
          }
          c.nce_fuses_only_relu_clamp = v == "relu-clamp";
        } else if (k == "hw_avgpool_borders") {
          const std::string v = get_string(num, "hw_avgpool_borders", where, "exclude-padding");
          if (v != "exclude-padding" && v != "count-padding") {
            throw Error(where + ".hw_avgpool_borders: '" + v +
                        "': expected exclude-padding or count-padding");
          }
          c.hw_avgpool_counts_padding = v == "count-padding";
        } else if (k == "deconvolution") {
          const std::string v = get_string(num, "deconvolution", where, "shave");
          if (v != "shave" && v != "nce") {
            throw Error(where + ".deconvolution: '" + v + "': expected shave or nce");
          }
          c.deconv_on_nce = v == "nce";
        } else if (k == "conversions") {
          const std::string w = where + ".conversions";
          check_keys(*jt, w, {"host_cast", "device_convert", "ir_weights", "plugin_constants"});
          c.host_cast = get_conversion(*jt, "host_cast", w);
          c.device_convert = get_conversion(*jt, "device_convert", w);
          c.ir_weights = get_conversion(*jt, "ir_weights", w);
          c.plugin_constants = get_conversion(*jt, "plugin_constants", w);
        } else if (k == "tiling") {
          const std::string w = where + ".tiling";
          check_keys(*jt, w, {"enabled", "max_coeff_per_block", "max_blocks", "max_channels"});
          c.tiling.enabled = get_bool(*jt, "enabled", w, false);
          c.tiling.max_coeff_per_block = get_int(*jt, "max_coeff_per_block", w, 256, 1, 1 << 20);
          c.tiling.max_blocks = get_int(*jt, "max_blocks", w, 16, 1, 1 << 20);
          c.tiling.max_channels = get_int(*jt, "max_channels", w, 2048, 1, 1 << 20);
        } else if (k == "neural_engine") {
          p.neural_engine = parse_numerics(*jt, path, "numerics.neural_engine");
        } else if (k == "shave") {
          p.shave = parse_numerics(*jt, path, "numerics.shave");
        } else {
          throw Error(path + ": numerics: unknown key '" + k +
                      "' (allowed: input, fold_normalization, input_precision, conversions, "
                      "tiling, resize_half_pixel_as, fused_activations, hw_avgpool_borders, "
                      "deconvolution, neural_engine, shave)");
        }
      }
      p.fold_normalization = p.pipeline.input == InputPipeline::Folded;
    } else if (key == "integer") {
      p.integer = parse_integer(*it, path + ": integer");
    } else if (key == "kind" || key == "cost" || key == "measure" || key == "external" ||
               key == "fitted_on") {
      p.sections[key] = *it;  // read by their modules (cost model, measurement, external)
    } else {
      throw Error(path + ": unknown key '" + key +
                  "' (allowed: name, description, kind, numerics, integer, cost, measure, "
                  "external, fitted_on)");
    }
  }
  if (p.name.empty()) throw Error(path + ": name: missing");
  return p;
}

namespace {
// The file a profile name or path names; throws naming a bare name that has no file.
std::string profile_file(const std::string& name_or_path) {
  const bool is_path = name_or_path.find('/') != std::string::npos ||
                       ends_with(name_or_path, ".toml") || ends_with(name_or_path, ".json");
  if (is_path) return name_or_path;
  if (name_or_path.empty()) throw Error("device profile: empty name");
  const std::string path = devices_dir() + "/" + name_or_path + ".toml";
  if (!std::ifstream(path).good()) {
    throw Error("device profile '" + name_or_path + "': " + path + " does not exist");
  }
  return path;
}
}  // namespace

DeviceProfile load_profile(const std::string& name_or_path) {
  const std::string path = profile_file(name_or_path);
  return parse_profile(load_config_file(path), path);
}

std::string profile_fingerprint(const std::string& name_or_path) {
  const std::string path = profile_file(name_or_path);
  const std::string doc = load_config_file(path).dump();  // keys sorted, comments gone
  uint64_t h = 1469598103934665603ULL;                    // FNV-1a, 64 bits
  for (unsigned char c : doc) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace dalnas
