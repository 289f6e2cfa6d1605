#include "nn/activation.h"

#include "precision/fake_quant.h"

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

bool fused_on_integer_targets(Activation a) {
  return a == Activation::ReLU || a == Activation::ReLU6;
}

torch::Tensor activate(const torch::Tensor& pre, Activation a, const PrecisionPolicy& p,
                       const std::string& where) {
  const bool split = p.quantization_aware() && !fused_on_integer_targets(a);
  const torch::Tensor x = split ? p.act(pre, (where + ".pre").c_str()) : pre;
  return p.act(apply_activation(x, a), where.c_str());
}

torch::Tensor sigmoid_gate(const torch::Tensor& pre, const PrecisionPolicy& p,
                           const std::string& where) {
  if (!p.quantization_aware()) return p.act(torch::sigmoid(pre), where.c_str());
  const torch::Tensor g = torch::sigmoid(p.act(pre, (where + ".pre").c_str()));
  const LayerPrecision scope = p.scope_precision();
  if (p.align.int8_pow2 || scope == LayerPrecision::FP16) return p.act(g, where.c_str());
  // The fixed grids as ranges: [0, 255/256] gives scale 1/256 and zero point −128 exactly
  // (asymmetric_int8_params), [0, 32767/32768] the int16 scale 1/32768.
  const torch::Tensor y =
      scope == LayerPrecision::Int16
          ? fake_quant_activation_int16(g, 0.0f, 32767.0f / 32768.0f)
          : fake_quant_activation(g, 0.0f, 255.0f / 256.0f, p.align.int8_ties_even);
  if (p.observer) p.observer(where, y);
  return y;
}

}  // namespace dalnas
