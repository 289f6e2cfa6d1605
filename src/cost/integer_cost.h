#pragma once
// The `integer` cost model kind (a profile's `[cost] model = "integer"`): latency, peak
// memory and energy of one inference of a DeviceGraph on an integer engine (an Edge
// TPU-class accelerator, the Vitis AI DPU, a CPU running int8 kernels), with every node in
// its own number format (core/layer_precision.h: Int8, Int4W = int4 weights with int8
// activations, FP16 = a float layer). devices/README.md ("Integer cost model") lists every
// parameter with its default and its source or assumption.
//
// Per node i, in precision p = precision[i] (all Int8 when `precision` is empty):
//   MAC layers (Conv, FullyConnected, ConvTranspose; placement Engine::NeuralEngine):
//     MACs = weights × output pixels (ConvTranspose: × input pixels, FC: weights)
//     compute = MACs / (rate(p) · eff), rate: int8_gmacs | int4_gmacs | int16_gmacs |
//               fp16_gmacs;
//     eff = a(in_c / groups) · a(out_c), a(c) = c / (c rounded up to channel_align), the
//     share of the engine's channel lanes doing useful work (FC: in_c = its input values);
//     depthwise (groups = in_c > 1): eff = a(out_c) · depthwise_efficiency.
//     A fused ReLU / ReLU6 / Clip is free (the requantization's clamp); any other fused
//     activation is a table, one vector operation per output value.
//   vector operations (everything else; placement Engine::Shave): pooling out × k², global
//     pooling one per input value, bilinear resize 4 per output value (nearest 1), softmax 3
//     per value, Add / Mul / Activation / Slice / Shuffle one per value (+ one per value for
//     a fused table activation), at vector_gops. Input, Output and Concat (written in
//     place by its producers) have no work of their own.
//   conversions: every edge j → i whose tensor changes activation width (an int8 tensor
//     into an FP16 node: dequantize; an FP16 tensor into an int8 / int4w node: quantize)
//     adds one vector operation per value of tensor j to node i. The graph's Input and
//     Output are int8 (the host quantizes and dequantizes), so an FP16 first layer or head
//     converts there too.
//   memory: a tensor is stored at the activation width of the node that produced it
//     (activation_bits / 8 bytes per value); weights at weight_bits / 8 bytes per value
//     (int4w: int4_weight_bits, 4 = packed, 8 = stored as int8), rounded up to whole bytes
//     per node, bias int32 (4 bytes) for integer layers, 2 bytes for FP16 layers.
//     act bytes = the node's inputs read (Resize: the resized tensor, not its size
//     reference) + its output written (none for Input, Output, Concat).
//     live(i) = bytes of every tensor alive while node i runs (a tensor lives from its
//     node to its last reader; a Concat counts as a copy). live(i) <= sram_bytes: the
//     activations stay on chip (SRAM bytes); otherwise node i's act bytes go through DRAM.
//     Weights: when ALL the graph's weight bytes fit weight_buffer_bytes they stay on chip
//     from one inference to the next (the steady state is modelled: no DRAM weight traffic
//     at all, the first inference's load is not counted) and are read from SRAM; otherwise
//     every node reads its weights from DRAM once per inference.
//   time(i) = max(compute, SRAM bytes / sram_gbps) + DRAM bytes / dram_gbps
//             + layer_overhead_us                 (for a node with work or conversions)
//     where compute = MAC time + (vector + conversion operations) / vector_gops (the MAC
//     array and the vector unit do not overlap within a node: an ASSUMPTION).
// Per inference: node_ms = Σ time(i); device_ms = latency_ms = node_ms +
// inference_overhead_ms; fps = 1000 / latency_ms (one request; pipelining not modelled);
// transfer_ms = 0 (the host link is not modelled: an Edge TPU's USB / PCIe transfers of
// input and output, a DPU's or CPU's are in the inference overhead at best).
// nce_ms / shave_ms: summed times of MAC / vector nodes. weight_bytes: Σ weight bytes at
// their widths; peak_memory_bytes = weight_bytes + the largest live(i).
// Energy (mJ) = 1e-9 · [Σ MACs · pj_mac(p)  (pj_mac_int8 | pj_mac_int4 | pj_mac_int16 |
//                                              pj_mac_fp16)
//                       + (vector + conversion operations) · pj_vector_op
//                       + SRAM bytes · pj_sram_byte + DRAM bytes · pj_dram_byte]
//               + static_w · latency_ms.
// MACs are counted without lane padding (idle lanes are assumed to cost nothing).
//
// LayerCost per node (CostOptions::layers): placement as above (Engine::None for a node
// without work), macs = MACs (MAC layers) or vector + conversion operations (others),
// bytes = activation + weight bytes read and written, dram = its activations spilled.
//
// Measured per-op times (CostOptions::lut) replace a node's time where its signature
// matches (LayerCost::measured), as in the other kinds; energy keeps its dynamic terms.
//
// The energy defaults are circuit figures of a 45 nm process from M. Horowitz, "Computing's
// energy problem (and what we can do about it)", ISSCC 2014, not measurements of any
// chip: 8-bit integer multiply 0.2 pJ, 8-bit add 0.03 pJ, 32-bit add 0.1 pJ; 16-bit float
// multiply 1.1 pJ, add 0.4 pJ; 32-bit float multiply 3.7 pJ, add 0.9 pJ; a 64-bit read of
// an 8 KB SRAM 10 pJ (1 MB: 100 pJ); DRAM 1.3 - 2.6 nJ per 64-bit access. A newer process
// or a larger SRAM moves them by several times either way.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/layer_precision.h"
#include "cost/cost_estimate.h"
#include "device/graph.h"

namespace dalnas {

// Every field is a [cost] key of the same name. The defaults are those of
// devices/int8-tflite.toml (a Google Coral Edge TPU-class engine) and its table repeats
// them; the DPU and ONNX Runtime profiles set their own.
struct IntegerCostParams {
  // Compute rates, effective, on lane-aligned layers.
  // int8 MAC/s (1e9). Coral: 4 TOPS peak = 2000 GMAC/s at 2 W ("2 TOPS per watt", Coral
  // FAQ / benchmarks page); 25 % of peak is an ASSUMPTION (Coral's benchmark table:
  // Inception v1 at 224 × 224, 1.5 GMAC, 3.4 ms with the USB Accelerator, i.e. about 440
  // GMAC/s end to end).
  double int8_gmacs = 500.0;
  // int4-weight layers, MAC/s (1e9): = int8 (the Edge TPU has no int4 arithmetic; the
  // weights are widened to int8). ASSUMPTION for engines without native int4.
  double int4_gmacs = 500.0;
  // int16-activation layers (16x8), MAC/s (1e9); 0: half of int8_gmacs. ASSUMPTION: a
  // 16-bit operand takes two passes of an 8-bit MAC array (no engine here publishes a 16x8
  // rate).
  double int16_gmacs = 0.0;
  // FP16 (float) layers, MAC/s (1e9). The Edge TPU runs no float: such layers run on the
  // host CPU's TFLite float kernels. ASSUMPTION (an embedded quad-core Arm CPU).
  double fp16_gmacs = 5.0;
  // Vector operations / s (1e9): pooling, element-wise, resize, tables, conversions.
  // ASSUMPTION (not published).
  double vector_gops = 32.0;
  // Channel granularity of the MAC array (a(c) above). ASSUMPTION (not published).
  int channel_align = 16;
  // Depthwise convolutions' share of the MAC rate (0, 1]. ASSUMPTION.
  double depthwise_efficiency = 0.25;

  // Memory.
  // On-chip activation memory, bytes. ASSUMPTION (2 MiB; Coral publishes only the
  // parameter cache below).
  double sram_bytes = 2097152.0;
  // On-chip memory bandwidth, GB/s (1e9 bytes). ASSUMPTION.
  double sram_gbps = 64.0;
  // On-chip weight buffer, bytes: Coral's compiler docs, "roughly 8 MB of SRAM" caching
  // the model's parameter data. 0: none (weights always from DRAM).
  double weight_buffer_bytes = 8000000.0;
  // Off-chip bandwidth, GB/s (1e9 bytes). The Edge TPU has no DRAM of its own: parameters
  // that do not fit stream from host memory over USB 3 / PCIe. ASSUMPTION (0.35 GB/s).
  double dram_gbps = 0.35;
  // Stored bits of an int4w weight: 4 (packed) or 8 (stored as int8, e.g. an ONNX QDQ
  // model). 4 here: ASSUMPTION (TFLite's packed int4 weight type).
  int int4_weight_bits = 4;

  // Overheads (may be 0).
  double layer_overhead_us = 5.0;      // per node that runs. ASSUMPTION
  double inference_overhead_ms = 0.3;  // per inference: runtime, invoke. ASSUMPTION

  // Energy, pJ (Horowitz, ISSCC 2014, 45 nm; see above).
  double pj_mac_int8 = 0.3;     // 8-bit multiply 0.2 + 32-bit add 0.1 (int32 accumulator)
  double pj_mac_int4 = 0.3;     // = int8: weights widened to int8 (ASSUMPTION; no 4-bit figure)
  double pj_mac_int16 = 0.5;    // 16×8 multiply ≈ 2 × 8-bit 0.2 (ASSUMPTION: linear in the
                                // operand width) + 64-bit add 0.1 (int64 accumulator)
  double pj_mac_fp16 = 2.0;     // FP16 multiply 1.1 + FP32 add 0.9 (FP32 accumulation)
  double pj_vector_op = 1.0;    // ASSUMPTION: between an 8-bit add (0.03) and an FP32
                                // multiply (3.7); a requantize / table / compare per value
  double pj_sram_byte = 1.25;   // 8 KB SRAM, 64-bit read 10 pJ / 8 bytes
  double pj_dram_byte = 162.5;  // DRAM 1.3 nJ (the low end of 1.3 - 2.6) per 64 bits / 8
  // Power, W (may be 0): everything else while an inference runs (leakage, clocks, the
  // host's share). ASSUMPTION: with the terms above a busy engine at 2000 GMAC/s spends
  // about 0.6 W on MACs; static_w brings the whole to the order of Coral's 2 W.
  double static_w = 1.0;
};

// The [cost] table (keys as the fields above; missing keys keep their defaults). Unknown
// keys, non-numbers, non-positive values (0 is allowed for the overheads, static_w and
// weight_buffer_bytes), a depthwise_efficiency above 1, a non-integer or out-of-range
// channel_align (1 .. 1024) and an int4_weight_bits other than 4 or 8 are errors naming
// `where`.key. The keys `model` and `lut` are accepted and left to load_cost_model.
IntegerCostParams parse_integer_cost_params(const nlohmann::json& table, const std::string& where);
nlohmann::json to_json(const IntegerCostParams& p);

// The estimate above. `precision`: one per node (Default counts as Int8), or empty (every
// node Int8). Of CostOptions it uses `layers`, `lut` and `requests` (checked, else
// ignored); the host link, shaves and blob widths play no part. Throws dalnas::Error for a
// precision list of the wrong length, a graph whose shapes do not fit its input, or requests < 1.
CostEstimate estimate_integer(const DeviceGraph& graph,
                              const std::vector<LayerPrecision>& precision,
                              const IntegerCostParams& p, const CostOptions& options = {});

}  // namespace dalnas
