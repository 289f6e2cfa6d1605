#pragma once
// Fake quantization for quantization-aware training against an int8 target (an integer
// profile, device/int8_emulator.h): the forward pass computes the values an int8 tensor
// holds, read back as float; gradients pass straight through where the value was inside
// the range and are 0 where it was clipped (the clipped straight-through estimator).
// The rounding is TFLite's (quant/quant_params.h), not torch.round's: ties away from zero.
//
//   activations (per tensor, asymmetric): (s, z) = asymmetric_int8_params(lo, hi),
//     q = clamp(round(x / s) + z, −128, 127), y = (q − z) · s       (x / s in float)
//   weights (per output channel = dim 0, symmetric):  m = max |w_c|,
//     q = clamp(round(w · (127 / m)), −127, 127), y = q · (m / 127)   (0 where m = 0)
// The weight grid of a channel scales with the channel, so fake-quantizing a convolution's
// weights before BatchNorm is folded gives the grid of the folded weights (a positive
// per-channel factor moves m and every value alike).
#include <torch/torch.h>

namespace dalnas {

// x / s rounded half away from zero, elementwise, exactly as std::round on each float.
torch::Tensor round_half_away(const torch::Tensor& v);

// Per-tensor asymmetric fake quantization to the int8 parameters of [lo, hi] (widened to
// include 0; a range narrower than 2^-10 is widened to it, as the int8 emulator does).
// `ties_even`: x / s rounded to nearest even (ONNX Runtime's QuantizeLinear,
// quantize_int8_even) instead of TFLite's ties away from zero.
torch::Tensor fake_quant_activation(const torch::Tensor& x, float lo, float hi,
                                    bool ties_even = false);

// Per-tensor symmetric int16 fake quantization (an int16 layer, TFLite's 16x8 scheme,
// quant/int16_ops.h): (s, 0) = symmetric_int16_params(lo, hi) of [lo, hi] widened as
// above, q = clamp(round(x / s), −32768, 32767) (ties away from zero), y = q · s; clipped
// straight-through gradient.
torch::Tensor fake_quant_activation_int16(const torch::Tensor& x, float lo, float hi);

// Per-output-channel symmetric int8 fake quantization of a weight tensor (dim 0 = channel)
// to [−qmax, qmax] (127; 64 for ONNX Runtime's reduce_range), scale m / qmax, m = max |w|
// of the channel; `per_tensor`: m over the whole tensor (quantize_weights_per_tensor's grid,
// quant/quant_params.h). Straight-through gradient.
torch::Tensor fake_quant_weight(const torch::Tensor& w, int qmax = 127, bool per_tensor = false);

// Power-of-two fake quantization (dpu-int8, quant/dpu_ops.h), symmetric, [−128, 127]:
//   activations: at the overflow-free fix position of [lo, hi] (max_fix_pos), rounded half
//     up (the DPU's rounding): y = clamp(floor(x · 2^pos + 0.5), −128, 127) · 2^−pos;
//     clipped straight-through gradient;
//   weights (and biases): one fix position per tensor, vai_q's "diffs" choice
//     (diffs_fix_pos), rounded half away from zero; straight-through gradient.
// The weight grid is the unfolded convolution's: with BatchNorm after it, the folded
// weights the DPU holds sit on a different grid (a per-channel factor does not keep a
// per-tensor power of two), so QAT here approximates the deployed weights.
// The elementwise kernel behind the activation forms, on raw float arrays:
//   y = (clamp(round(x / scale) + z, qmin, qmax) − z) · scale        (float, as above)
//   inside = (qmin − z)·scale <= x <= (qmax − z)·scale               (the gradient's mask)
// with the rounding `r` (half away from zero: TFLite; half to even: ONNX Runtime; half up:
// the DPU), split over libtorch's threads. `simd`: the AVX2 body where the CPU has it,
// else the baseline one; both give the same values (no FMA; tested against each other).
enum class FakeQuantRound { HalfAway, HalfEven, HalfUp };
void fake_quant_values(const float* x, float* y, bool* inside, int64_t n, float scale,
                       int zero_point, FakeQuantRound r, int qmin, int qmax, bool simd);
// What the training path passes as `simd`: AVX2 present and DALNAS_NO_SIMD not "1".
bool fake_quant_simd();

// The smallest and largest value of a tensor (an activation's range for the next fake
// quantization): one pass over its memory in any dense layout, split over libtorch's
// threads, the AVX2 body where `simd` and the CPU allow; the values torch::aminmax gives
// (a minimum and a maximum do not depend on the order). Returns false when the tensor holds
// a NaN or an infinity (lo / hi then undefined). Throws std::invalid_argument when empty.
// torch::aminmax took 20 passes' time on the 2-core machines here (libtorch 1.13).
bool finite_min_max(const torch::Tensor& x, float& lo, float& hi, bool simd = fake_quant_simd());

torch::Tensor fake_quant_pow2_activation(const torch::Tensor& x, float lo, float hi);
torch::Tensor fake_quant_pow2_weight(const torch::Tensor& w);

}  // namespace dalnas
