#include "nn/activation.h"

namespace dalnas {

torch::Tensor apply_activation(const torch::Tensor& x, Activation a) {
  switch (a) {
    case Activation::ReLU:
      return torch::relu(x);
    case Activation::ReLU6:
      return torch::hardtanh(x, 0.0, 6.0);
    case Activation::GELU:
      return torch::gelu(x);  // default approximate="none": the exact erf form
    case Activation::HardSwish:
      return torch::hardswish(x);
  }
  return x;
}

}  // namespace dalnas
