#pragma once
// ConvBnAct: k×k convolution (no bias), batch norm, activation. Point "<name>.conv".
#include <string>

#include "nn/network.h"

namespace dalnas {

struct ConvBnActImpl : BlockImpl {
  ConvBnActImpl(const BlockGene& gene, int in_channels, PolicyPtr policy, const std::string& name);
  torch::Tensor forward(torch::Tensor x) override;

  BlockGene gene;
  PolicyPtr policy;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  std::string p_conv;
};

}  // namespace dalnas
