#pragma once
// ResNetBlock: conv k (no bias) + BN + act, conv k (no bias) + BN; shortcut = identity if
// in == width, else 1×1 conv (no bias) + BN; add; act.
// Points: "<name>.conv1", ".conv2", ".shortcut" (projection shortcut only), ".add".
#include <string>

#include "nn/network.h"

namespace dalnas {

struct ResNetBlockImpl : BlockImpl {
  ResNetBlockImpl(const BlockGene& gene, int in_channels, PolicyPtr policy,
                  const std::string& name);
  torch::Tensor forward(torch::Tensor x) override;

  BlockGene gene;
  PolicyPtr policy;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, shortcut{nullptr};  // shortcut may be null
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, shortcut_bn{nullptr};
  std::string p_conv1, p_conv2, p_shortcut, p_add;
};

}  // namespace dalnas
