#pragma once
// The analytic cost model: latency, throughput, peak memory and energy of one inference of
// a DeviceGraph on a Myriad-X-like accelerator, without the accelerator.
//
// Per node (placement from on_neural_engine(), device/numerics.h):
//   neural engine (Conv, FullyConnected, pooling with kernel == stride):
//     compute = MACs / (nce_gmacs · eff), eff = a(in_c / groups) · a(out_c), where
//     a(c) = c / (c rounded up to nce_channel_align) is the share of the engine's channel
//     lanes doing useful work; pooling: out values × k² operations at eff 1.
//   SHAVE vector cores (everything else):
//     compute = operations / (shave_gmacs · shaves); operations: ConvTranspose MACs
//     divided by a(in_c / groups) · a(out_c) with shave_lanes in place of the alignment,
//     pooling out × k², global pooling / softmax (×3) / element-wise ops one per value,
//     bilinear resize 4 per output value (nearest 1), the input / output conversion one
//     per value. Concat is free (written in place).
//   memory = bytes / bandwidth, bytes = FP16 inputs + output + weights + bias; the
//     bandwidth is cmx_gbps when these fit in the on-chip CMX (cmx_bytes), else dram_gbps
//     (tiles streamed from DRAM).
//   time = max(compute, memory) + layer_overhead_us.
// Per inference: device_ms = Σ node times + inference_overhead_ms; transfer_ms = (input
// values · input_bytes + output values · output_bytes) / link bandwidth (USB 2 or USB 3).
//   requests == 1 (synchronous): latency = device + transfer, fps = 1000 / latency.
//   requests >= 2 (pipelined): frame = max(device, transfer), fps = 1000 / frame, latency
//     = max(device + transfer, requests · frame) (the queue holds `requests` frames).
// Peak memory: FP16 weights and biases + the largest sum of live activations (a value lives
// from its node to its last reader; a Concat counts as a copy). Energy: static_w · frame or latency
// time + nce_w · neural-engine busy time + shave_w · (shaves / shave_cores) · SHAVE busy time.
//
// The parameters and their sources are in devices/README.md ("Cost model"); the defaults
// below are those of devices/myriadx.toml's [cost] table.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "device/graph.h"

namespace dalnas {

struct DeviceProfile;

struct CostParams {
  // Neural compute engine.
  double nce_gmacs = 250.0;   // effective MAC/s (1e9) on aligned layers; public peak:
                              // > 1 TOPS = 500 GMAC/s; fitted by calibration
  int nce_channel_align = 8;  // channel granularity of the engine (assumption)
  // SHAVE vector cores.
  int shave_cores = 16;      // on the chip (public); `shaves = all` means these
  double shave_gmacs = 1.0;  // effective operations/s (1e9) per core; fitted
  int shave_lanes = 8;       // FP16 lanes of a 128-bit vector (public)
  // Memory.
  double cmx_bytes = 2621440;  // 2.5 MB CMX = 20 slices of 128 KiB (public)
  double cmx_gbps = 450.0;     // CMX bandwidth, GB/s (public)
  double dram_gbps = 8.0;      // effective DRAM bandwidth, GB/s (UNKNOWN)
  // Overheads.
  double layer_overhead_us = 20.0;     // per node that runs (UNKNOWN)
  double inference_overhead_ms = 2.0;  // per inference: runtime, USB round trips (UNKNOWN)
  // Host link, effective MB/s (1e6 bytes).
  double usb2_mbps = 20.0;   // fitted (USB 2 high speed: 480 Mb/s nominal)
  double usb3_mbps = 300.0;  // UNKNOWN (USB 3 SuperSpeed: 5 Gb/s nominal)
  // Power, W.
  double static_w = 0.6;  // whole device while an inference is in flight (UNKNOWN)
  double nce_w = 0.8;     // neural engine while busy (UNKNOWN)
  double shave_w = 0.5;   // all SHAVE cores while busy (UNKNOWN)
};

// The [cost] table of a profile (keys as the field names above; missing keys keep their
// defaults; unknown keys and non-positive values are errors naming `where` and the key).
CostParams parse_cost_params(const nlohmann::json& table, const std::string& where);
// The profile's [cost] section, or the defaults when it has none.
CostParams cost_params(const DeviceProfile& profile);
nlohmann::json to_json(const CostParams& p);

enum class HostLink { USB2, USB3 };
HostLink parse_host_link(const std::string& s);  // "usb2" / "usb3" (any case)
std::string to_string(HostLink l);

struct CostOptions {
  HostLink link = HostLink::USB3;
  int shaves = 0;        // SHAVE cores the compiled blob uses; 0 = all (shave_cores)
  int requests = 1;      // inferences in flight: 1 synchronous, >= 2 pipelined
  int input_bytes = 4;   // bytes per input value sent by the host (FP32 blob)
  int output_bytes = 4;  // bytes per output value returned (FP32 blob)
  bool layers = true;    // fill CostEstimate::layers (false: totals only, faster)
};

enum class Engine { None, NeuralEngine, Shave };
std::string to_string(Engine e);  // "-", "nce", "shave"

struct LayerCost {
  std::string name;
  OpType op = OpType::Input;
  Engine placement = Engine::None;
  int64_t macs = 0;    // multiply-accumulates (conv-like) or operations (others)
  int64_t bytes = 0;   // FP16 bytes read and written
  bool dram = false;   // working set larger than the CMX
  double us = 0.0;     // time on the device
  double share = 0.0;  // of the summed node times
};

struct CostEstimate {
  double latency_ms = 0.0;              // one inference, host to host
  double fps = 0.0;                     // inferences per second at the given requests in flight
  double device_ms = 0.0;               // node times + inference overhead
  double transfer_ms = 0.0;             // host link, input and output
  double nce_ms = 0.0, shave_ms = 0.0;  // busy time per engine
  int64_t weight_bytes = 0;             // FP16 weights and biases
  int64_t peak_memory_bytes = 0;        // weights + largest live activations (FP16)
  double energy_mj = 0.0;               // per inference
  std::vector<LayerCost> layers;        // in node order (when CostOptions::layers)
};

// Throws dalnas::Error for a graph whose shapes do not fit its input, or bad options.
CostEstimate estimate(const DeviceGraph& graph, const CostParams& params,
                      const CostOptions& options = {});

}  // namespace dalnas
