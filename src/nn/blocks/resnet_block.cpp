#include "nn/blocks/resnet_block.h"

#include "nn/activation.h"
#include "nn/conv_unit.h"

namespace dalnas {

ResNetBlockImpl::ResNetBlockImpl(const BlockGene& g, int in_channels, PolicyPtr p,
                                 const std::string& name)
    : gene(g),
      policy(std::move(p)),
      p_conv1(name + ".conv1"),
      p_conv2(name + ".conv2"),
      p_shortcut(name + ".shortcut"),
      p_add(name + ".add") {
  conv1 = register_module("conv1", make_conv(in_channels, g.width, g.kernel, /*bias=*/false));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(g.width));
  conv2 = register_module("conv2", make_conv(g.width, g.width, g.kernel, /*bias=*/false));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(g.width));
  if (in_channels != g.width) {
    shortcut = register_module("shortcut", make_conv(in_channels, g.width, 1, /*bias=*/false));
    shortcut_bn = register_module("shortcut_bn", torch::nn::BatchNorm2d(g.width));
  }
}

torch::Tensor ResNetBlockImpl::forward(torch::Tensor x) {
  const PrecisionPolicy& p = *policy;
  torch::Tensor y = activate(conv_bn(*conv1, *bn1, x, p), gene.act, p, p_conv1);
  y = p.act(conv_bn(*conv2, *bn2, y, p), p_conv2.c_str());
  torch::Tensor s = x;
  if (shortcut) s = p.act(conv_bn(*shortcut, *shortcut_bn, x, p), p_shortcut.c_str());
  return activate(y + s, gene.act, p, p_add);
}

}  // namespace dalnas
