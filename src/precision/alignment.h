#pragma once
// DeviceAlignment: what deployment-aligned training projects, derived from a device
// profile (device/alignment.h builds it; plain C++, no libtorch). The training forward
// pass follows the device where it rounds or clips:
//   - the input: converted to FP16 with the device pipeline's conversion; with the
//     normalisation inside the model (input_in_model), the raw values are converted and
//     the normalisation is then applied as the device's FP16 ScaleShift;
//   - weights: the IR's conversion (Model Optimizer: nearest even, subnormals kept);
//   - every stored activation: the neural engine's storage rounding (range included);
//   - the pre-scaled accumulator: with FP16 accumulation and weight pre-scaling, a
//     layer's pre-activation is held at 2^shift times its size, so values beyond
//     65504 / 2^shift overflow (or saturate) as on the device; the shift follows
//     OpenVINO's rule on the BatchNorm-folded weights (precision/prescale.h);
//   - bilinear upsampling: the coordinate mode the device runs.
// Gradients pass straight through every projection (precision/projection.h); where the
// forward overflowed they are zeroed when the policy says so (zero_grad_on_overflow).
#include <string>

#include "core/layer_precision.h"
#include "precision/half.h"

namespace dalnas {

// Bilinear coordinate modes the aligned forward can run (device/graph.h ResizeCoord).
enum class AlignResize { HalfPixel, Asymmetric, AlignCorners };

struct DeviceAlignment {
  std::string device;                 // the profile's name (recorded in checkpoints)
  HalfMode input = kNumpyHalf;        // conversion of the input to FP16
  bool input_in_model = false;        // normalisation runs on the device (ScaleShift)
  HalfMode scale_shift = kNumpyHalf;  // conversion of the ScaleShift constants
  HalfMode weights = kNumpyHalf;      // IR weights
  HalfMode storage;                   // stored activations (neural engine)
  bool fp32_storage = false;          // the device stores fp32: no activation rounding
  bool prescale = false;              // weight pre-scaling on the neural engine
  int prescale_cap = 8;
  bool prescale_growing_output = false;  // apply OpenVINO's growing-output rule (the
                                         // policy decides "growing" from the pipeline)
  bool fp16_accumulator = false;         // accumulation in FP16 (any blocking)
  AlignResize resize = AlignResize::HalfPixel;
  // An integer target (an [integer] profile): weights and activations are fake-quantized
  // to int8 (precision/fake_quant.h) instead of projected to FP16; the FP16 fields are
  // unused. The target's rounding of activations (ties away from zero: TFLite; ties to
  // even: ONNX Runtime) and its weight range ([−127, 127], or [−64, 64] with reduce_range).
  bool int8 = false;
  bool int8_ties_even = false;
  int int8_weight_max = 127;
  bool int8_weights_per_tensor = false;  // [integer] weights = "per-tensor": one scale a tensor
  bool int8_pow2 = false;                // dpu-int8: power-of-two scales (fake_quant_pow2_*)
  // Mixed precision (the profile's rule, device/precision_rule.h): every layer's format
  // unless its block's genome gene says otherwise; the first encoder block and the head
  // take int8_first_last when it is not Default.
  LayerPrecision int8_precision = LayerPrecision::Int8;
  LayerPrecision int8_first_last = LayerPrecision::Default;
  // An integer target that normalises on the device (input = "folded": the host quantizes
  // the raw values to int8 with one scale for every band, a depthwise 1x1 convolution
  // normalises them): the forward pass quantizes the raw values at their own range
  // ("input.raw") before the normalised input's ("input").
  bool int8_input_folded = false;
};

// "half_pixel", "asymmetric", "align_corners".
inline std::string to_string(AlignResize r) {
  return r == AlignResize::Asymmetric     ? "asymmetric"
         : r == AlignResize::AlignCorners ? "align_corners"
                                          : "half_pixel";
}

}  // namespace dalnas
