#pragma once
// Deploying a quantization-aware network at the activation ranges it was trained at (as a
// TFLite converter deploys a QAT model's FakeQuant ranges), instead of re-calibrating the
// trained weights on calibration tiles.
//
// The training points (precision/policy.h) and the device graph's nodes (device/lower.cpp)
// carry the same names; a point's range goes to the node that holds the same tensor:
//   "input"   the network's normalised input: the graph's "normalize" node where the
//             normalisation is folded into the graph, else "input";
//   "input.raw" the raw values before a folded normalisation: the graph's "input" node
//             (none where the normalisation is not folded);
//   P         the node "P.act" where int8_form split P's activation into a node of its
//             own (the training point is after the activation), else the node P;
//   P.pre     the tensor before such a split activation (the point a quantization-aware
//             forward reads it at, nn/activation.h): the node P; none where P's
//             activation is fused.
// Points with no such node (a mixed-precision block's "encN.int8") and nodes with no point
// keep their calibrated range. No libtorch.
#include <string>
#include <vector>

#include "core/act_ranges.h"
#include "device/graph.h"
#include "device/int8_emulator.h"

namespace dalnas {

// The node of `form` (an int8_form graph) that holds point `point`, or -1.
int trained_range_node(const DeviceGraph& form, const std::string& point);

// Replaces ranges[i] by the trained range for every node i that a point of `trained`
// names (above); returns how many nodes took a trained range. Throws dalnas::Error when
// ranges has another size than form's nodes.
int apply_trained_ranges(const DeviceGraph& form, const ActRanges& trained,
                         std::vector<TensorRange>& ranges);

}  // namespace dalnas
