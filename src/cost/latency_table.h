#pragma once
// Measured per-op latencies keyed by op signature (ProxylessNAS-style lookup tables): where
// a node's signature is in the table, the cost model takes the measured time instead of its
// analytic estimate (cost/cost_model.h, CostOptions::lut).
//
// Signature: what determines an op's time on a device, with the fields that do not apply
// to the op set to their defaults (so equal ops always compare equal):
//   op        conv, convtranspose, fc, maxpool, avgpool, globalavgpool, resize, concat,
//             add, mul, activation, softmax, input, output (graph.h's names)
//   input     C×H×W of the first input, written "16x64x64"
//   output    C×H×W of the output (covers output channels, resize scales, pooling)
//   kernel, stride, pad, groups   conv, convtranspose (and kernel, stride, pad for pooling);
//             else 1, 1, 0, 1
//   act       fused or stand-alone activation: conv, convtranspose, fc, add, mul,
//             activation; else none
//   variant   resize: "bilinear" | "nearest"; convtranspose: "op<N>" when output_pad N > 0;
//             mul: "bcast" when the second input is C×1×1; concat: input channels "16-32";
//             else empty
// Canonical string (file-name safe):
//   <op>_i<input>_o<output>_k<kernel>_s<stride>_p<pad>_g<groups>_<act>[_<variant>]
//   e.g. conv_i16x64x64_o32x64x64_k3_s1_p1_g1_relu
//
// CSV (one header row; any column order; RFC 4180 quotes):
//   required: op, input, output, mean_us
//   optional: kernel, stride, pad, groups, act, variant (defaults above), std_us, runs,
//             signature (when present it must equal the canonical string of the fields),
//             model (ignored: the file a row was measured with)
// mean_us is the op's own time on the device in microseconds (e.g. OpenVINO benchmark_app's
// per-layer counters, -pc), not the whole single-op model's latency. Rows with an empty
// mean_us are not measured yet and are skipped. Errors: "<file>:<line>: <column>: <what>".
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/csv.h"  // split_csv_line, used with these tables
#include "device/graph.h"

namespace dalnas {

struct OpSignature {
  OpType op = OpType::Input;
  Shape in, out;
  int kernel = 1, stride = 1, pad = 0, groups = 1;
  ActType act = ActType::None;
  std::string variant;

  std::string str() const;  // the canonical string
  bool operator==(const OpSignature& o) const { return str() == o.str(); }
  bool operator<(const OpSignature& o) const { return str() < o.str(); }
};

// The signature of node `i` of `g`, given every node's output shape (DeviceGraph::
// compute_shapes). Fields that do not apply to the op are reset to their defaults.
OpSignature signature_of(const DeviceGraph& g, size_t i, const std::vector<Shape>& shapes);
// Resets the fields that do not apply to sig.op (what signature_of does).
OpSignature normalized(OpSignature sig);

std::string to_string(const OpSignature& s);  // str()
OpType parse_op_type(const std::string& s);   // graph.h names; throws dalnas::Error
ActType parse_act_type(const std::string& s);
Shape parse_shape(const std::string& s);  // "CxHxW", positive; throws dalnas::Error

struct LatencyEntry {
  OpSignature sig;
  double mean_us = 0.0;
  double std_us = 0.0;  // 0 where not given
  int runs = 0;         // 0 where not given
};

class LatencyTable {
 public:
  // Throws dalnas::Error "<path>:<line>: <column>: <what>" (duplicates name both lines).
  static LatencyTable read_csv(const std::string& path);
  static LatencyTable parse_csv(const std::string& text, const std::string& path);

  // Adds or replaces the entry of e.sig (normalised).
  void add(const LatencyEntry& e);
  const LatencyEntry* find(const OpSignature& sig) const;
  const LatencyEntry* find(const std::string& canonical) const;
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<LatencyEntry> entries() const;  // in canonical-string order

  // The CSV above (columns signature, op, input, output, kernel, stride, pad, groups, act,
  // variant, mean_us, std_us, runs); with `blank_times`, mean_us / std_us / runs are empty
  // (a plan to be filled in).
  std::string to_csv(bool blank_times = false) const;
  static std::string csv_header();

  std::string path;  // the file it was read from, for messages

 private:
  std::map<std::string, LatencyEntry> entries_;
};

// "signature,op,input,output,kernel,stride,pad,groups,act,variant" of one signature.
std::string signature_csv_fields(const OpSignature& s);

// The signatures of every node of `g` that runs (all but Input and Output), in node order
// (duplicates kept). Shapes for g.input (or node 0's stored shape).
std::vector<OpSignature> graph_signatures(const DeviceGraph& g);

// A small graph that runs one op of signature `sig`, to time it on a device: Input → (helper
// nodes, named "aux*", where the op needs more than one input: a second operand, a C×1×1
// gate, a resize reference, concat parts) → the op, named "op" → Output. Weights are small
// deterministic values (timing does not depend on them). Throws dalnas::Error when no such
// graph gives exactly `sig` (e.g. an output shape the op cannot produce from its input).
DeviceGraph probe_graph(const OpSignature& sig);
// The index of the node named "op" in a probe graph.
int probe_op_index(const DeviceGraph& probe);

}  // namespace dalnas
