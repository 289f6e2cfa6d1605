#include "nn/conv_unit.h"

#include "nn/layout.h"

namespace dalnas {

torch::nn::Conv2d make_conv(int in, int out, int k, bool bias, int groups) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, k).stride(1).padding(k / 2).bias(bias).groups(groups));
}

torch::Tensor conv_forward(torch::nn::Conv2dImpl& conv, const torch::Tensor& x,
                           const PrecisionPolicy& policy) {
  const torch::Tensor w = policy.weight(conv.weight);
  torch::Tensor b;
  if (conv.bias.defined()) b = policy.weight(conv.bias);
  const int64_t pad = conv.weight.size(2) / 2;
  // A convolution of a one-channel input answers row-major: back to the activations' layout.
  return activation_layout(
      torch::conv2d(x, w, b, /*stride=*/1, /*padding=*/pad, /*dilation=*/1, conv.options.groups()));
}

torch::Tensor conv_bn(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl& bn,
                      const torch::Tensor& x, const PrecisionPolicy& policy) {
  torch::Tensor y = bn.forward(conv_forward(conv, x, policy));
  if (!policy.needs_accumulator()) return y;
  torch::Tensor folded;
  {
    torch::NoGradGuard ng;
    const torch::Tensor g = bn.weight.defined() ? bn.weight : torch::ones_like(bn.running_var);
    const torch::Tensor k = g / torch::sqrt(bn.running_var + bn.options.eps());
    folded = conv.weight * k.view({-1, 1, 1, 1});
  }
  return policy.accumulator(y, folded, static_cast<int>(x.size(1)));
}

torch::Tensor conv_acc(torch::nn::Conv2dImpl& conv, const torch::Tensor& x,
                       const PrecisionPolicy& policy) {
  torch::Tensor y = conv_forward(conv, x, policy);
  if (!policy.needs_accumulator()) return y;
  return policy.accumulator(y, conv.weight, static_cast<int>(x.size(1)));
}

}  // namespace dalnas
