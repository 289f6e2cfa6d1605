#pragma once
// The plan of a measured lookup table (cost/latency_table.h): every op signature the
// networks of a search space produce at one input size, and one small ONNX model per
// signature, so that someone with the device can time each op and fill in the table.
//
// Exhaustive enumeration, stage by stage, without enumerating whole genomes (a block's ops
// depend only on its own genes, its input channels and its resolution):
//   - every block gene (type × width × kernel × expansion × activation of the space) with
//     every input channel count it can see (stage 0: the bands; later stages: every width),
//     lowered once (device/lower.h) as the first block of a probe network whose input has
//     that many channels; its nodes' signatures at every stage resolution it can run at;
//   - every pooling between stages (type × width × resolution);
//   - the decoder at every level: resize, 1×1 projection, concat, two 3×3 conv + ReLU, for
//     every (channels from below, skip width, decoder width) the stage counts allow; the 1×1
//     head.
// The parameter cap (max_params) is not applied: the plan is a superset of what a capped
// search visits. Resolutions: H, W, then floor halvings (2×2 pooling) per stage.
#include <cstdint>
#include <string>
#include <vector>

#include "core/search_space.h"
#include "cost/latency_table.h"

namespace dalnas {

struct LutPlanOptions {
  int bands = 4;
  int height = 128, width = 128;
  // 0: exhaustive (above). N > 0: the signatures of N genomes sampled from the space
  // (with its parameter cap) instead, for spaces too large to enumerate.
  int sample = 0;
  uint64_t seed = 1;
};

struct LutPlan {
  std::vector<OpSignature> signatures;  // unique, in canonical-string order
  int lowered = 0;                      // networks lowered to find them
};

LutPlan plan_lut(const SearchSpace& space, const LutPlanOptions& options);

struct LutPlanWriteOptions {
  bool fp16 = false;  // FP16 models (ExportOptions::fp16)
  int opset = 11;
};

// Writes <dir>/signatures.csv (the latency table's columns plus `model`, with mean_us,
// std_us and runs empty, ready to be filled) and <dir>/models/<signature>.onnx, each the
// probe graph of cost/latency_table.h (the op to time is the node named "op"). Files are
// written atomically. Returns the number of models written.
int write_lut_plan(const LutPlan& plan, const std::string& dir, const LutPlanWriteOptions& opt);

}  // namespace dalnas
