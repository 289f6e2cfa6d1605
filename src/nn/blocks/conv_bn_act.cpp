#include "nn/blocks/conv_bn_act.h"

#include "nn/activation.h"
#include "nn/conv_unit.h"

namespace dalnas {

ConvBnActImpl::ConvBnActImpl(const BlockGene& g, int in_channels, PolicyPtr p,
                             const std::string& name)
    : gene(g), policy(std::move(p)), p_conv(name + ".conv") {
  conv = register_module("conv", make_conv(in_channels, g.width, g.kernel, /*bias=*/false));
  bn = register_module("bn", torch::nn::BatchNorm2d(g.width));
}

torch::Tensor ConvBnActImpl::forward(torch::Tensor x) {
  return activate(conv_bn(*conv, *bn, x, *policy), gene.act, *policy, p_conv);
}

}  // namespace dalnas
