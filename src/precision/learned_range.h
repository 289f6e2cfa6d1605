#pragma once
// Learned activation ranges for int8 quantization-aware training (LSQ: Esser et al.,
// "Learned Step Size Quantization", ICLR 2020; with a learned offset as LSQ+, Bhalgat et
// al., CVPR-W 2020), in the (lo, hi) form the int8 targets store (TFLite's asymmetric
// parameters of [lo, hi], quant/quant_params.h).
//
// Forward: exactly fake_quant_activation(x, lo, hi) (precision/fake_quant.h): the values the
// int8 tensor holds. Backward, with s, z the parameters of [min(lo, 0), max(hi, 0)],
// u = x / s + z and δ = round(u) − u (round as the forward rounds it):
//   dy/dx  = 1 inside the representable range, 0 where clipped (as the fixed-range form);
//   dy/dlo = 1 below the range, −δ / 255 inside, 0 above            (0 when lo >= 0);
//   dy/dhi = 1 above the range,  δ / 255 inside, 0 below            (0 when hi <= 0);
// the range's gradients summed over the tensor and scaled by `grad_scale` (LSQ's
// 1 / sqrt(elements per sample · 255) keeps the step of a range comparable to that of a
// weight). This is LSQ's step-size gradient with the scale written as (hi − lo) / 255:
// inside, y = x + s·δ with δ held constant.
#include <torch/torch.h>

namespace dalnas {

// `range`: a float tensor of two elements, lo then hi (a leaf that requires grad to learn).
// x: float32 on the CPU, any dense layout (kept); the backward is one pass over x and its
// gradient. Throws dalnas::Error for another range size or tensor type.
torch::Tensor fake_quant_activation_learned(const torch::Tensor& x, const torch::Tensor& range,
                                            double grad_scale, bool ties_even = false);

// The backward on raw float arrays (n elements of x, the forward's inside mask and the
// incoming gradient g): gx = g where inside else 0, and the two sums of the rule above
// (unscaled, lo's and hi's whatever their sign conditions). Each chunk of 2^14 elements is
// summed in eight float lanes (element i into lane i % 8), the lanes and chunks in double in
// order; `simd`: the AVX2 body where the CPU has it, else the scalar one, both giving the
// same sums bit for bit.
struct RangeGradSums {
  double lo = 0, hi = 0;
};
RangeGradSums learned_range_backward(const float* x, const bool* inside, const float* g, float* gx,
                                     int64_t n, float scale, int zero_point, bool ties_even,
                                     bool simd);

// LSQ's gradient scale for a tensor x (batch first): 1 / sqrt(x.numel() / x.size(0) · 255).
double lsq_grad_scale(const torch::Tensor& x);

}  // namespace dalnas
