#pragma once
// project_fp16: the FP16 projection as a libtorch autograd op (straight-through).
//
// Forward: a new contiguous tensor of x's shape in which every element is rounded to the
// nearest FP16 value per `mode` (round_to_half, the F16C fast path; tensors above ~32k
// elements are split over at::parallel_for). Every output is exactly representable in
// FP16 (or is ±inf / NaN). Any layout is accepted (non-contiguous views are read through
// a contiguous copy).
//   ±inf inputs stay ±inf (both overflow modes); NaN stays NaN (quiet, sign kept).
//   float32 CPU tensors take the fast path; other floating dtypes or devices are
//   converted with torch ops (x.to(kHalf)), which for float64 may round twice
//   (double -> float -> half).
// Backward: straight-through, grad_x = grad_y. With zero_grad_on_overflow, grad_x is 0
// exactly where the forward overflowed, i.e. where |x| >= 65520 (kHalfOverflowThreshold):
// finite values that became ±inf (Overflow::Inf) or were clamped to ±65504
// (Overflow::Saturate), and ±inf inputs. NaN inputs are never masked. Values in
// (65504, 65520) round to 65504 normally and are not masked.
#include <torch/torch.h>

#include "precision/half.h"

namespace dalnas {

torch::Tensor project_fp16(const torch::Tensor& x, HalfMode mode = {},
                           bool zero_grad_on_overflow = false);

// The value an FP16 store holds when it stores x · scale, read back as x's size:
// round(x · scale) / scale with scale a power of two (the pre-scaled accumulator: the
// range moves, the relative precision does not). One pass over memory, equal bit for bit
// to project_fp16(x * scale, mode) * (1 / scale) (both products are exact in float32).
// Backward: straight-through; with zero_grad_on_overflow, 0 where |x · scale| overflowed.
// Throws std::invalid_argument if scale is not a positive power of two.
torch::Tensor project_fp16_scaled(const torch::Tensor& x, HalfMode mode, double scale,
                                  bool zero_grad_on_overflow = false);

}  // namespace dalnas
