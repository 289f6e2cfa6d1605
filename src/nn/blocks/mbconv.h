#pragma once
// MBConv / MBConvNoRes (inverted residual): 1×1 expand to in*e (no bias) + BN + act;
// depthwise k×k (groups = in*e, no bias) + BN + act; 1×1 project to width (no bias) + BN
// (no activation). With `residual` (MBConv) the input is added when in == width;
// MBConvNoRes never adds.
// Points: "<name>.expand", ".dw", ".project", and ".add" when the residual is used.
#include <string>

#include "nn/network.h"

namespace dalnas {

struct MBConvImpl : BlockImpl {
  MBConvImpl(const BlockGene& gene, int in_channels, PolicyPtr policy, const std::string& name,
             bool residual);
  torch::Tensor forward(torch::Tensor x) override;

  BlockGene gene;
  PolicyPtr policy;
  bool use_residual;  // residual requested and in == width
  torch::nn::Conv2d expand{nullptr}, dw{nullptr}, project{nullptr};
  torch::nn::BatchNorm2d expand_bn{nullptr}, dw_bn{nullptr}, project_bn{nullptr};
  std::string p_expand, p_dw, p_project, p_add;
};

}  // namespace dalnas
