#pragma once
// DenseNetBlock: growth g = max(4, width/4);
//   x1 = act(BN(conv_k(x)))                   g channels
//   x2 = act(BN(conv_k(cat[x, x1])))          g channels
//   out = act(BN(conv1x1(cat[x, x1, x2])))    width channels (all convs without bias).
// Points: "<name>.conv1", ".concat1", ".conv2", ".concat2", ".fuse".
#include <string>

#include "nn/block_shapes.h"
#include "nn/network.h"

namespace dalnas {

struct DenseNetBlockImpl : BlockImpl {
  DenseNetBlockImpl(const BlockGene& gene, int in_channels, PolicyPtr policy,
                    const std::string& name);
  torch::Tensor forward(torch::Tensor x) override;

  BlockGene gene;
  PolicyPtr policy;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, fuse{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, fuse_bn{nullptr};
  std::string p_conv1, p_concat1, p_conv2, p_concat2, p_fuse;
};

}  // namespace dalnas
