#pragma once
// lower(): a trained network (nn/network.h) as a DeviceGraph, the way OpenVINO's Model
// Optimizer prepares it: BatchNorm folded into the preceding convolution (eval-mode
// statistics), activations fused into the op before them, the head's logit as the output
// (the host applies the sigmoid).
//
// Input normalisation: with fold_normalization = false the host normalises and the device
// receives normalised values; with true the device receives raw sensor values and the
// normalisation runs on the device as its first op (a depthwise 1×1 convolution with
// weight 1/std and bias -mean/std), so the raw values are stored in the device's format
// first — FP16 turns a saturated 65535 into +inf there.
//
// This file (and only this one in device/) needs libtorch; it builds the dalnas_lower target.
#include <vector>

#include "core/weight_steps.h"
#include "device/graph.h"
#include "nn/network.h"

namespace dalnas {

struct LowerOptions {
  std::vector<float> norm_mean, norm_std;  // per band; empty = the network's input is raw
  bool fold_normalization = false;
  // Learned weight steps by parameter name (core/weight_steps.h): each convolution whose
  // weight has steps gets Node::weight_scale = step_c · |gamma_c / sqrt(var_c + eps)| (the
  // folded weight's scale; the step itself without BatchNorm). Throws dalnas::Error naming
  // the parameter when its step count is not the convolution's output channels.
  WeightSteps weight_steps;
};

DeviceGraph lower(Network& net, const LowerOptions& opt);

}  // namespace dalnas
