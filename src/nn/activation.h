#pragma once
// apply_activation: the genome's activations as libtorch functional calls.
//   relu    max(x, 0)
//   relu6   hardtanh(x, 0, 6)
//   gelu    exact (erf) GELU: x * 0.5 * (1 + erf(x / sqrt(2)))
//   hswish  hardswish: x * relu6(x + 3) / 6
#include <torch/torch.h>

#include <string>

#include "core/genome.h"
#include "precision/policy.h"

namespace dalnas {

torch::Tensor apply_activation(const torch::Tensor& x, Activation a);

// Whether an integer target fuses activation `a` into the operation before it as a clamp
// (ReLU, ReLU6: TFLite's fused activations). The others run as an operation of their own
// that reads the pre-activation tensor as the target stored it (int8_form splits them off,
// device/int8_emulator.h).
bool fused_on_integer_targets(Activation a);

// apply_activation(pre, a) at training point `where` (policy.act), as the policy's target
// computes it: in a quantization-aware forward, an activation the target does not fuse
// first reads `pre` at the point where + ".pre" (the tensor the target stores before the
// split activation; device/trained_ranges.h deploys its range there).
torch::Tensor activate(const torch::Tensor& pre, Activation a, const PrecisionPolicy& p,
                       const std::string& where);

// The squeeze-and-excitation gate sigmoid(pre) at training point `where`, as the target
// computes it. In a quantization-aware forward `pre` is read at where + ".pre", and on
// targets with TFLite's LOGISTIC (int8-tflite, onnxruntime-int8, the mixed profiles) the
// gate is written on the operation's fixed grid, whatever range the values span: int8
// 1/256 from 0 (zero point −128; quant/int8_ops.h logistic_output_params), int16 layers
// 1/32768 (int16_logistic_output_params). dpu-int8 (a fix position from the range) and float
// layers store it as any other point (policy.act). The observer sees the gate at `where`.
torch::Tensor sigmoid_gate(const torch::Tensor& pre, const PrecisionPolicy& p,
                           const std::string& where);

}  // namespace dalnas
