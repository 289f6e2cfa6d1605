#pragma once
// apply_activation: the genome's activations as libtorch functional calls.
//   relu    max(x, 0)
//   relu6   hardtanh(x, 0, 6)
//   gelu    exact (erf) GELU: x * 0.5 * (1 + erf(x / sqrt(2)))
//   hswish  hardswish: x * relu6(x + 3) / 6
#include <torch/torch.h>

#include "core/genome.h"

namespace dalnas {

torch::Tensor apply_activation(const torch::Tensor& x, Activation a);

}  // namespace dalnas
