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
// projected tensor to an optional observer (used by tests and diagnostics). The observer
// is called in both modes (in fp32 mode with x itself, which act() returns unchanged), so
// the same hook can record FP32 activation ranges; it is never called by weight().
// The projection itself is project_fp16 (precision/projection.h).
#include <torch/torch.h>

#include <functional>
#include <string>

#include "precision/half.h"
#include "precision/projection.h"

namespace dalnas {

enum class PrecisionMode { FP32, FP16Aligned };

std::string to_string(PrecisionMode m);
// "fp32" / "fp16-aligned".
// Parses "fp32" or "fp16-aligned" (exactly); throws dalnas::Error naming the value and
// listing the allowed ones otherwise.
PrecisionMode parse_precision(const std::string& s);

struct PrecisionPolicy {
  PrecisionMode mode = PrecisionMode::FP32;
  HalfMode half;                       // rounding options used by the projection
  bool zero_grad_on_overflow = false;  // backward: zero the gradient where forward overflowed

  bool enabled() const { return mode == PrecisionMode::FP16Aligned; }
  // Projected weight (straight-through) when enabled, else w unchanged.
  torch::Tensor weight(const torch::Tensor& w) const;
  // Projected activation when enabled, else x unchanged. `where` names the point
  // (e.g. "enc2.out", "dec1.concat") for the observer, which (when set) is called in
  // both modes with the tensor act() returns.
  torch::Tensor act(const torch::Tensor& x, const char* where) const;

  std::function<void(const std::string& where, const torch::Tensor& projected)> observer;
};

}  // namespace dalnas
