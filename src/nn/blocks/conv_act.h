#pragma once
// ConvAct: k×k convolution with bias, then the activation. Activation point "<name>.conv".
#include <string>

#include "nn/network.h"

namespace dalnas {

struct ConvActImpl : BlockImpl {
  ConvActImpl(const BlockGene& gene, int in_channels, PolicyPtr policy, const std::string& name);
  torch::Tensor forward(torch::Tensor x) override;

  BlockGene gene;
  PolicyPtr policy;
  torch::nn::Conv2d conv{nullptr};
  std::string p_conv;
};

}  // namespace dalnas
