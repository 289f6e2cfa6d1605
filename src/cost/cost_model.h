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
//   hardware tiling (CostParams::tiling, the profile's [numerics.tiling], the same
//     HwTiling::parts the emulator splits by): a convolution on the engine split into P > 1
//     passes over its input channels adds P - 1 SHAVE Sum stages (one FP16 add per output
//     value each, plus layer_overhead_us each) and its activation moves to SHAVE (one
//     operation per output value); a depthwise one split over its groups moves only the
//     activation.
//   activations the engine cannot apply (CostParams::nce_fuses_only_relu_clamp, the
//     profile's fused_activations = "relu-clamp"): an unsplit engine node's Sigmoid,
//     Swish, HardSwish, GELU, HardSigmoid or Clip from below 0 is a SHAVE stage of its own:
//     max(out values / SHAVE rate, 4 bytes per value / cmx_gbps) + layer_overhead_us.
//   memory: weights and biases (FP16) live in DRAM and every stage reads its own once per
//     inference; activations (FP16 inputs + output) stay in the on-chip CMX when they fit
//     (cmx_bytes): cmx time = activation bytes / cmx_gbps, overlapped with compute; when
//     they do not, they go through DRAM too. dram time = (weights + spilled activations) /
//     dram_gbps, added to the compute (not overlapped; an ASSUMPTION, devices/README.md).
//   time = max(compute, cmx time) + dram time + layer_overhead_us.
// Per inference: node_ms = Σ node times (the device computing); transfer_ms = (input
// values · input_bytes + output values · output_bytes) / link bandwidth (USB 2 or USB 3);
// inference_overhead_ms: the fixed cost of one inference outside the compute (host
// runtime, USB round trips; QuTiBench's end-to-end minus compute-only latency).
//   requests == 1 (synchronous): latency = node + overhead + transfer, fps = 1000 / latency.
//   requests >= 2 (pipelined): the host side of one request (overhead + transfer) overlaps
//     the device compute of another: frame = max(node, overhead + transfer), fps =
//     1000 / frame, latency = max(node + overhead + transfer, requests · frame).
//   device_ms = node_ms + inference_overhead_ms.
// Peak memory: FP16 weights and biases + the largest sum of live activations (a value lives
// from its node to its last reader; a Concat counts as a copy). Energy: static_w · frame or latency
// time + nce_w · neural-engine busy time + shave_w · (shaves / shave_cores) · SHAVE busy time.
//
// The parameters and their sources are in devices/README.md ("Cost model"); the defaults
// below are those of devices/myriadx.toml's [cost] table.
//
// Measured per-op times (cost/latency_table.h): with CostOptions::lut, a node whose op
// signature is in the table takes the table's mean_us instead of the time above (its
// LayerCost says `measured`); everything else (overheads, transfer, energy) is unchanged.
//
// A second, separate model kind, `cpu` (selected by `model = "cpu"` in the [cost] table;
// CpuCostParams, estimate_cpu below), describes a general-purpose CPU running the network
// with libtorch in FP32; a third, `integer` (`model = "integer"`; IntegerCostParams,
// estimate_integer in cost/integer_cost.h), an integer engine with per-node precisions;
// `CostModel` / load_cost_model pick the kind a profile names.
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cost/cost_estimate.h"
#include "cost/integer_cost.h"
#include "device/graph.h"
#include "device/int8_config.h"
#include "device/numerics.h"

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
  double layer_overhead_us = 100.0;    // per node that runs (ASSUMPTION; fitted)
  double inference_overhead_ms = 2.0;  // per inference: runtime, USB round trips (UNKNOWN)
  // Host link, effective MB/s (1e6 bytes).
  double usb2_mbps = 26.0;   // fitted; start from the SSD-MobileNet USB 2 / USB 3 reference
  double usb3_mbps = 300.0;  // UNKNOWN (USB 3 SuperSpeed: 5 Gb/s nominal)
  // Power, W.
  double static_w = 0.6;  // whole device while an inference is in flight (UNKNOWN)
  double nce_w = 0.8;     // neural engine while busy (UNKNOWN)
  double shave_w = 0.5;   // all SHAVE cores while busy (UNKNOWN)

  // Not a [cost] key: the profile's [numerics.tiling], which cost_params / load_cost_model
  // copy here so that the cost model splits convolutions as the emulator does. (Placement
  // is on_neural_engine(node), device/numerics.h: ConvTranspose stays a SHAVE stage here
  // whatever [numerics] deconvolution says; devices/README.md, "Cost model".)
  HwTiling tiling;  // off by default
  // Not a [cost] key either: the profile's [numerics] fused_activations = "relu-clamp"
  // (device/numerics.h, nce_fusable): an engine convolution's other activations (Sigmoid,
  // Swish, HardSwish, GELU, ...) are a SHAVE stage after it, timed as an element-wise node.
  bool nce_fuses_only_relu_clamp = false;
};

// The [cost] table of a profile (keys as the field names above; missing keys keep their
// defaults; unknown keys and non-positive values are errors naming `where` and the key).
// The keys `model` and `lut` (see CostModel) are accepted and left to load_cost_model.
CostParams parse_cost_params(const nlohmann::json& table, const std::string& where);
// The profile's [cost] section, or the defaults when it has none. Throws dalnas::Error when
// the profile's model kind is not the analytic (Myriad-shaped) one.
CostParams cost_params(const DeviceProfile& profile);
nlohmann::json to_json(const CostParams& p);

// Throws dalnas::Error for a graph whose shapes do not fit its input, or bad options.
CostEstimate estimate(const DeviceGraph& graph, const CostParams& params,
                      const CostOptions& options = {});

// ---------------------------------------------------------------------------------------
// The `cpu` model kind: a CPU running the network in FP32 (libtorch, batch 1, a fixed
// thread count), e.g. devices/host-cpu.toml. Per node that runs (everything but Input and
// Output, which are free here; Concat copies; placement Engine::Cpu), time in µs is a sum of
// terms, each a count divided by a rate:
//   FLOPs (2·MACs) / lane use / GFLOP/s of the node's class:
//     conv_gflops        dense convolutions (groups 1, kernel > 1, in_c >= 8)
//     input_conv_gflops  dense convolutions on fewer than 8 input channels (the first layer
//                        on the raw bands: libraries handle these with other kernels)
//     pointwise_gflops   1×1 convolutions (groups 1) and fully connected layers
//     depthwise_gflops   grouped / depthwise convolutions
//     deconv_gflops      transposed convolutions
//     lane use: a(in_c / groups) · a(out_c) (depthwise: a(channels)), a(c) = c / (c rounded
//     up to channel_align), the share of SIMD lanes doing useful work
//   FP32 bytes of the node's inputs and output / mem_gbps
//   maxpool input values / maxpool_gvals; avgpool (and global pool) input values /
//     avgpool_gvals; resize output values / resize_gvals
//   convolution outputs / post_gvals (the host network runs batch norm and the activation
//     as passes of their own; the device graph has them folded / fused)
//   values through GELU, HardSwish, Sigmoid, HardSigmoid or Softmax / act_gvals
//   + layer_overhead_us
// Per inference: latency = Σ node times + inference_overhead_ms; no transfer; fps =
// 1000 / latency whatever the requests; peak memory as above with FP32 values; energy =
// power_w · latency (0 when power_w is unknown, i.e. 0).
struct CpuCostParams {
  double conv_gflops = 100.0;
  double input_conv_gflops = 30.0;
  double pointwise_gflops = 100.0;
  double depthwise_gflops = 30.0;
  double deconv_gflops = 30.0;
  double mem_gbps = 20.0;
  double maxpool_gvals = 0.3;
  double avgpool_gvals = 0.7;
  double resize_gvals = 1.0;
  double post_gvals = 10.0;
  double act_gvals = 3.0;
  double layer_overhead_us = 10.0;
  double inference_overhead_ms = 0.05;
  double power_w = 0.0;    // 0: unknown (energy reported as 0)
  int channel_align = 16;  // SIMD width in FP32 values (AVX-512: 16); not fitted
};
CpuCostParams parse_cpu_cost_params(const nlohmann::json& table, const std::string& where);
nlohmann::json to_json(const CpuCostParams& p);

// The cpu model as a linear function: time (µs) = features · coefficients, where the
// features are the counts above summed over the graph (with channel_align lane use), in the
// order of the terms above, then the number of nodes that run, then 1 (the per-inference
// constant); coefficients are µs per unit (1e-3 / rate; overheads as they are).
constexpr int kCpuFeatures = 13;
std::vector<double> cpu_features(const DeviceGraph& graph, int channel_align);
std::vector<double> cpu_coefficients(const CpuCostParams& p);
// The inverse of cpu_coefficients; a zero coefficient (the fit gave the term no weight)
// becomes a rate of 1e9.
CpuCostParams cpu_params_from_coefficients(const std::vector<double>& c, int channel_align,
                                           double power_w = 0.0);

CostEstimate estimate_cpu(const DeviceGraph& graph, const CpuCostParams& params,
                          const CostOptions& options = {});

// ---------------------------------------------------------------------------------------
// What a profile's [cost] table selects:
//   model = "analytic" (default: CostParams, the Myriad-shaped model) | "cpu" (CpuCostParams)
//           | "integer" (IntegerCostParams)
//   lut = "file.csv"   measured per-op times (relative to the profile's folder), optional
struct CostModel {
  enum class Kind { Analytic, Cpu, Integer };
  Kind kind = Kind::Analytic;
  CostParams params;          // Kind::Analytic
  CpuCostParams cpu;          // Kind::Cpu
  IntegerCostParams integer;  // Kind::Integer
  // Kind::Integer: the profile's precision rule ([integer], profile.integer), from which
  // estimate takes every node's precision (resolve_precision, device/precision_rule.h);
  // unset: every node int8.
  std::optional<Int8Config> rule;
  std::shared_ptr<const LatencyTable> lut;  // null: none
  std::string lut_path;
  // Kind::Cpu: "" when the profile's [fitted_on] CPU (core/cpu_info.h) is this one (or
  // unrecorded); else one line saying so and how to refit, for the caller to print.
  std::string cpu_warning;

  // CostOptions::lut, when set, takes precedence over `lut`.
  CostEstimate estimate(const DeviceGraph& graph, const CostOptions& options = {}) const;
};
std::string to_string(CostModel::Kind k);  // "analytic", "cpu", "integer"

// Reads the [cost] table (and the table named by `lut`); throws dalnas::Error naming the
// profile file and key, or the table's file:line. A cpu model's [fitted_on] table is
// compared with this CPU (CostModel::cpu_warning). An integer model takes its precision
// rule from the profile's [integer] table (CostModel::rule).
CostModel load_cost_model(const DeviceProfile& profile);

}  // namespace dalnas
