#pragma once
// Which layer does a calibration method cost accuracy? For an integer profile, the
// checkpoint is quantized with the profile's calibration (the base), and then once per node
// with that node's range alone taken from another calibration method (`alternative`), the
// rest at the base; each variant's whole-scene metrics on the device, sorted from the
// largest loss. (TensorRT's and Vitis AI's layer-wise sensitivity analyses ask the same
// question of a whole network; here it is asked of one calibration choice at a time.)
//
// The alternative can also be the ranges a quantization-aware network was trained at
// (`trained`, device/trained_ranges.h): then the base is the profile's calibration with no
// trained range, and each trained range is tried alone — which layer's trained range gains
// or costs, against re-calibrating the same weights.
//
// Nodes whose two ranges are equal are not run (a trained range replaces both alike; the
// int8 kernels ignore the ranges of max / average pooling and resize, whose output shares
// its input's parameters, so those are not run either).
#include <string>
#include <vector>

#include "eval/device_eval.h"

namespace dalnas {

struct NodeSensitivity {
  std::string node;
  TensorRange base, alternative;  // the node's two ranges
  double miou = 0;                // the network with this node's range alone changed
  double delta = 0;               // miou − the base network's mIoU
};

struct CalibrationSensitivity {
  std::string base_method, alternative_method;
  double base_miou = 0;                // every node at the profile's calibration
  double alternative_miou = 0;         // every node at the alternative
  std::vector<NodeSensitivity> nodes;  // by delta, most negative first

  // The table: one line per node (range, mIoU, difference), the two whole networks first.
  std::string table() const;
};

// The alternative to the profile's calibration: a method, or the checkpoint's trained ranges.
struct SensitivityAlternative {
  SensitivityAlternative() = default;
  SensitivityAlternative(CalibrationMethod m) : method(m) {}  // NOLINT: a method converts
  static SensitivityAlternative trained_ranges() {
    SensitivityAlternative a;
    a.trained = true;
    return a;
  }
  bool trained = false;                                  // the ranges the network was trained at
  CalibrationMethod method = CalibrationMethod::MinMax;  // else this method
};

// "trained" or a calibration method's name (parse_calibration_method); throws dalnas::Error
// naming the value otherwise.
SensitivityAlternative parse_sensitivity_alternative(const std::string& s);

// Throws dalnas::Error for a profile that is not integer, no calibration scenes, the
// diffs method on a format other than dpu-int8, or `trained` for a checkpoint without
// trained ranges.
CalibrationSensitivity calibration_sensitivity(Checkpoint& ck, const DeviceProfile& profile,
                                               const SensitivityAlternative& alternative,
                                               const std::vector<Scene>& scenes,
                                               const std::vector<int>& which,
                                               const TileOptions& opt,
                                               const std::vector<int>* calibration);

}  // namespace dalnas
