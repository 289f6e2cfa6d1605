#pragma once
// ConvSE: k×k convolution (no bias) + BN + activation, then squeeze-excitation:
// global average pool -> 1×1 conv (bias) to max(1, width/4) -> ReLU -> 1×1 conv (bias)
// to width -> sigmoid -> channel-wise multiply.
// Points: "<name>.conv", ".se_pool", ".se_reduce", ".se_expand", ".se_mul".
#include <string>

#include "nn/block_shapes.h"
#include "nn/network.h"

namespace dalnas {

struct ConvSEImpl : BlockImpl {
  ConvSEImpl(const BlockGene& gene, int in_channels, PolicyPtr policy, const std::string& name);
  torch::Tensor forward(torch::Tensor x) override;

  BlockGene gene;
  PolicyPtr policy;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::Conv2d se_reduce{nullptr}, se_expand{nullptr};
  std::string p_conv, p_pool, p_reduce, p_expand, p_mul;
};

}  // namespace dalnas
