#pragma once
// Latency measured on a real device by an external command (e.g. OpenVINO's benchmark_app
// on a Myriad X stick), configured by a profile's [measure] table:
//
//   [measure]
//   command = "benchmark_app -m {onnx} -d MYRIAD -api sync -niter 100"
//   regex = 'Median:\s+([0-9.]+)\s*ms'   # first capture group = the number (TOML literal
//                                        # string: no escaping of backslashes)
//   # or: json_path = "latency.median"   # the output parsed as JSON (keys and array indices)
//   unit = "ms"                          # ms | us | s | fps (latency = 1000 / fps ms)
//   timeout_s = 300                      # the command is killed after this (default 600)
//   cache = "myriadx-timings.json"      # optional; relative to the profile's folder
//
// Placeholders in the command ({onnx}: the model's path, {key}: the cache key) are replaced
// by shell-quoted values (core/subprocess.h); an unknown placeholder is a configuration
// error. The command runs with /bin/sh in the model's folder.
//
// `method = "host"` instead names this machine: the caller times the network with libtorch
// (eval/host_latency.h); keys `threads`, `repeats`, `rounds`, `warmup` then apply.
//
// A failed command (non-zero exit), a timeout, output without the number, or a number that
// is not a positive latency gives ok = false with the reason: never an exception, so that a
// search marks the candidate unmeasured and goes on. Configuration errors (unknown keys, a
// regex without a capture group, ...) throw dalnas::Error when the table is parsed.
//
// Cache: a JSON file {"<key>": {"latency_ms": x, "command": "..."}} holding successful
// measurements only; an entry counts when its command is the configured one. Read before
// every measurement and rewritten atomically (merged with what another process may have
// added in between) after each new one. The key is the caller's: e.g. measure_cache_key
// (genome hash, input shape and export precision).
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "device/graph.h"

namespace dalnas {

struct DeviceProfile;

struct MeasureConfig {
  enum class Method { Command, Host };
  Method method = Method::Command;
  std::string command;
  std::string regex;  // one of regex / json_path (Command)
  std::string json_path;
  std::string unit = "ms";
  double timeout_s = 600;
  std::string cache;  // resolved path; empty = no cache
  // Method::Host
  int threads = 1, repeats = 5, rounds = 3, warmup = 2;
  std::string where;  // "<profile>: measure", for messages
};

// Throws dalnas::Error "<where>.<key>: <problem>". `base_dir` resolves a relative cache path.
MeasureConfig parse_measure_config(const nlohmann::json& table, const std::string& where,
                                   const std::string& base_dir = "");
// The profile's [measure] table, or nothing when it has none.
std::optional<MeasureConfig> measure_config(const DeviceProfile& profile);

struct MeasureResult {
  bool ok = false;
  double latency_ms = std::numeric_limits<double>::quiet_NaN();
  std::string reason;  // why not ok (one line)
  bool cached = false;
  double seconds = 0;  // the command's run time (0 when cached)
};

// Never throws for a failing, timed-out or unparseable measurement (see above). Needs
// Method::Command.
MeasureResult measure_latency(const MeasureConfig& config, const std::string& onnx_path,
                              const std::string& cache_key);

// "<16 hex digits of the genome hash>@<C>x<H>x<W>@<precision>", the precision being the
// exported model's ("fp16", "fp32"): the same genome exported in FP16 and in FP32 is two
// models with two latencies. Cache entries written before the precision was part of the key
// ("<hash>@<C>x<H>x<W>") no longer match and are measured again.
std::string measure_cache_key(uint64_t genome_hash, const Shape& input,
                              const std::string& precision);

// The latency (ms) in a command's output by the config's regex or JSON path and unit; false
// with `reason` set when there is none.
bool parse_latency(const MeasureConfig& config, const std::string& output, double& latency_ms,
                   std::string& reason);

}  // namespace dalnas
