#pragma once
// PrecisionPolicy: what the forward pass projects to the deployment format, where.
//
//   fp32          no projection (the usual pipeline).
//   fp16-aligned  weights projected to FP16 at every forward; activations projected
//                 wherever the device stores a tensor: the input after normalisation,
//                 after each conv+BN+activation unit, pooling, upsampling,
//                 concatenation and addition. Gradients pass straight through.
//
// Blocks in nn/ call weight() and act() at those points; act() also reports the
// projected tensor to an optional observer (used by tests and diagnostics).
#include <torch/torch.h>

#include <functional>
#include <string>

#include "precision/half.h"

namespace dalnas {

enum class PrecisionMode { FP32, FP16Aligned };

std::string to_string(PrecisionMode m);
// Parses "fp32" or "fp16-aligned"; throws dalnas::Error naming the value otherwise.
PrecisionMode parse_precision(const std::string& s);

struct PrecisionPolicy {
  PrecisionMode mode = PrecisionMode::FP32;
  HalfMode half;                    // rounding options used by the projection
  bool zero_grad_on_overflow = false;  // backward: zero the gradient where forward overflowed

  bool enabled() const { return mode == PrecisionMode::FP16Aligned; }
  // Projected weight (straight-through) when enabled, else w unchanged.
  torch::Tensor weight(const torch::Tensor& w) const;
  // Projected activation when enabled, else x unchanged. `where` names the point
  // (e.g. "enc2.out", "dec1.concat") for the observer.
  torch::Tensor act(const torch::Tensor& x, const char* where) const;

  std::function<void(const std::string& where, const torch::Tensor& projected)> observer;
};

// The projection as an autograd op: forward rounds every element to FP16 (per `mode`),
// backward passes the gradient straight through (zeroed where |x| overflowed, if asked).
torch::Tensor project_fp16(const torch::Tensor& x, HalfMode mode = {},
                           bool zero_grad_on_overflow = false);

}  // namespace dalnas
