#include "nn/blocks/conv_act.h"

#include "nn/activation.h"
#include "nn/conv_unit.h"

namespace dalnas {

ConvActImpl::ConvActImpl(const BlockGene& g, int in_channels, PolicyPtr p, const std::string& name)
    : gene(g), policy(std::move(p)), p_conv(name + ".conv") {
  conv = register_module("conv", make_conv(in_channels, g.width, g.kernel, /*bias=*/true));
}

torch::Tensor ConvActImpl::forward(torch::Tensor x) {
  return activate(conv_acc(*conv, x, *policy), gene.act, *policy, p_conv);
}

}  // namespace dalnas
