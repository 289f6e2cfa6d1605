#pragma once
// Learned weight step sizes for quantization-aware training against an integer target
// (LSQ: Esser et al., "Learned Step Size Quantization", ICLR 2020), per output channel, on
// the symmetric grid the int8 targets hold weights on ([−qmax, qmax]: 127 for int8, 64 for
// ONNX Runtime's reduce_range, 7 for weight-only int4).
//
// Forward, channel c (dim 0) of w with step s_c > 0, u = w / s_c (float division):
//   y = clamp(round(u), −qmax, qmax) · s_c      (round half away from zero, as TFLite)
// Backward (LSQ's estimator, clipping on u):
//   dy/dw   = 1 where −qmax < u < qmax, else 0;
//   dy/ds_c = round(u) − u inside, −qmax where u <= −qmax, qmax where u >= qmax;
// the step's gradient summed over its channel and scaled by `grad_scale` (LSQ's
// 1 / sqrt(weights per channel · qmax), weight_step_grad_scale).
// Started at max |w_c| / qmax (initial_weight_steps), the forward is exactly the fixed
// max |w| grid's (precision/fake_quant.h, fake_quant_weight), so learning starts where the
// targets' own choice is and moves a channel's step only where that lowers the loss (a
// smaller step clips outliers and resolves the bulk finer).
//
// A weight quantized before BatchNorm is folded: the device holds w·k_c (k_c = gamma_c /
// sqrt(var_c + eps)) at the step s_c·|k_c|, which is the same grid (device/lower.h).
#include <torch/torch.h>

namespace dalnas {

// w: float32, dim >= 2 (dim 0 = output channel); step: float32 of w.size(0) elements (a
// leaf that requires grad to learn it). Throws dalnas::Error for other sizes or types, a
// qmax outside [1, 127], or a step that is not positive and finite.
torch::Tensor fake_quant_weight_learned(const torch::Tensor& w, const torch::Tensor& step, int qmax,
                                        double grad_scale);

// max |w_c| / qmax per channel c; a channel of zeros takes the tensor's max |w| / qmax, or
// 1 when the whole tensor is zero (any step quantizes zeros to 0).
torch::Tensor initial_weight_steps(const torch::Tensor& w, int qmax);

// LSQ's gradient scale: 1 / sqrt(w.numel() / w.size(0) · qmax).
double weight_step_grad_scale(const torch::Tensor& w, int qmax);

}  // namespace dalnas
