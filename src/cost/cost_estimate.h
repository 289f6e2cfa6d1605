#pragma once
// What every cost model returns and takes (cost/cost_model.h: the analytic Myriad-shaped and
// CPU kinds; cost/integer_cost.h: the integer engines): the options of one estimate, and
// the estimate with its per-layer breakdown.
#include <cstdint>
#include <string>
#include <vector>

#include "device/graph.h"

namespace dalnas {

class LatencyTable;

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
  // Measured per-op times that replace the estimate where a node's signature matches (not
  // owned; nullptr = none).
  const LatencyTable* lut = nullptr;
};

enum class Engine { None, NeuralEngine, Shave, Cpu };
std::string to_string(Engine e);  // "-", "nce", "shave", "cpu"

struct LayerCost {
  std::string name;
  OpType op = OpType::Input;
  Engine placement = Engine::None;
  int64_t macs = 0;       // multiply-accumulates (conv-like) or operations (others)
  int64_t bytes = 0;      // FP16 bytes read and written
  bool dram = false;      // activations larger than the CMX (weights always come from DRAM)
  int parts = 1;          // hardware passes (tiling over input channels or groups)
  double us = 0.0;        // time on the device
  double share = 0.0;     // of the summed node times
  bool measured = false;  // `us` is the measured time of CostOptions::lut, not the estimate
};

struct CostEstimate {
  double latency_ms = 0.0;              // one inference, host to host
  double fps = 0.0;                     // inferences per second at the given requests in flight
  double device_ms = 0.0;               // node times + inference overhead
  double transfer_ms = 0.0;             // host link, input and output
  double node_ms = 0.0;                 // summed node times (device compute)
  int sum_stages = 0;                   // SHAVE Sum stages of split convolutions
  double nce_ms = 0.0, shave_ms = 0.0;  // busy time per engine
  int64_t weight_bytes = 0;             // FP16 weights and biases
  int64_t peak_memory_bytes = 0;        // weights + largest live activations (FP16)
  double energy_mj = 0.0;               // per inference
  int measured_layers = 0;              // nodes whose time came from CostOptions::lut
  std::vector<LayerCost> layers;        // in node order (when CostOptions::layers)
};

}  // namespace dalnas
