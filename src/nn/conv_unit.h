#pragma once
// Helpers shared by the blocks and the decoder: 'same'-padded stride-1 convolutions as
// registered modules (so parameters and state_dict are the usual ones), evaluated through
// torch::conv2d with the precision policy's weight projection.
#include <torch/torch.h>

#include "precision/policy.h"

namespace dalnas {

// k×k convolution, stride 1, padding k/2.
torch::nn::Conv2d make_conv(int in, int out, int k, bool bias, int groups = 1);

// conv(x) with policy.weight() applied to the weight and bias (if any).
torch::Tensor conv_forward(torch::nn::Conv2dImpl& conv, const torch::Tensor& x,
                           const PrecisionPolicy& policy);

// bn(conv(x)), then the policy's accumulator projection (the pre-scaled accumulator
// range of the folded layer, PrecisionPolicy::accumulator).
torch::Tensor conv_bn(torch::nn::Conv2dImpl& conv, torch::nn::BatchNorm2dImpl& bn,
                      const torch::Tensor& x, const PrecisionPolicy& policy);
// conv(x) (with its bias), then the accumulator projection.
torch::Tensor conv_acc(torch::nn::Conv2dImpl& conv, const torch::Tensor& x,
                       const PrecisionPolicy& policy);

}  // namespace dalnas
