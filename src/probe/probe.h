#pragma once
// Probe networks: tiny DeviceGraphs whose outputs on a device reveal its arithmetic
// (accumulation width and blocking, rounding of ties, overflow, subnormals, pre-scaling,
// tiling, interpolation, activations, pooling borders). Each probe is one graph with one
// input; the emulator (device/emulator.h) computes what it outputs under a given
// EmulatorConfig, and probe/fit.h picks the settings whose emulated outputs match a
// device's.
//
// Every probe is built so that its output depends only on the settings it reveals and on
// the settings of probes fitted before it (the order of probe/fit.h): weights are exact
// FP16 values (so that Model Optimizer's conversion and the ONNX export change nothing),
// inputs of the probes after the first are normal FP16 values (so that the input
// conversion changes nothing), and weights of 1 or more keep the pre-scaling shift at 0
// except in the pre-scaling probes. The list and what each reveals: make_probes()
// (description, reveals) or docs/devices.md ("Finding a device's numerics with probes").
//
// A probe runs with an FP32 input (the device's Convert stage converts it:
// EmulatorConfig::device_convert), so the emulation forces input_precision = fp32 and
// host-side normalisation off (the probes have none).
#include <string>
#include <vector>

#include "device/graph.h"
#include "device/numerics.h"

namespace dalnas {

struct Probe {
  std::string name;                  // file stem: <name>.onnx, <name>.input.npy, <name>.output.npy
  std::string description;           // what it computes
  std::vector<std::string> reveals;  // profile keys under [numerics] it determines
  DeviceGraph graph;                 // input shape set, shapes inferred
  std::vector<float> input;          // graph.input.numel() values, C × H × W
};

// The probes, in the order they are fitted.
std::vector<Probe> make_probes();
// The probe named `name` among `probes`, or nullptr.
const Probe* find_probe(const std::vector<Probe>& probes, const std::string& name);

// What the device computes on the probe under `config` (input_precision forced to fp32,
// the input pipeline to host), as C × H × W floats.
std::vector<float> emulate_probe(const Probe& probe, const EmulatorConfig& config);

// The product patterns of the accumulation probes: each row is one output pixel's
// products in reduction order (length kAccumulationTerms); row 0 tells fp16 (blocks of 1)
// from blocks of 2, row t (1 <= t < kAccumulationRows) holds 2048 at index 0, 1 at
// index 1 and 1 at index t + 1, so that its sum is exact (2050) iff the first block
// reaches index t + 1: the rows read like a thermometer of the block length.
constexpr int kAccumulationTerms = 513;
constexpr int kAccumulationRows = 512;
std::vector<std::vector<float>> accumulation_patterns();

}  // namespace dalnas
