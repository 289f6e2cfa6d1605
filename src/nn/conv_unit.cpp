#include "nn/conv_unit.h"

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
  return torch::conv2d(x, w, b, /*stride=*/1, /*padding=*/pad, /*dilation=*/1,
                       conv.options.groups());
}

}  // namespace dalnas
