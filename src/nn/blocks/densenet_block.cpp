#include "nn/blocks/densenet_block.h"

#include "nn/activation.h"
#include "nn/conv_unit.h"
#include "nn/layout.h"

namespace dalnas {

DenseNetBlockImpl::DenseNetBlockImpl(const BlockGene& g, int in_channels, PolicyPtr p,
                                     const std::string& name)
    : gene(g),
      policy(std::move(p)),
      p_conv1(name + ".conv1"),
      p_concat1(name + ".concat1"),
      p_conv2(name + ".conv2"),
      p_concat2(name + ".concat2"),
      p_fuse(name + ".fuse") {
  const int gr = densenet_growth(g.width);
  conv1 = register_module("conv1", make_conv(in_channels, gr, g.kernel, /*bias=*/false));
  bn1 = register_module("bn1", torch::nn::BatchNorm2d(gr));
  conv2 = register_module("conv2", make_conv(in_channels + gr, gr, g.kernel, /*bias=*/false));
  bn2 = register_module("bn2", torch::nn::BatchNorm2d(gr));
  fuse = register_module("fuse", make_conv(in_channels + 2 * gr, g.width, 1, /*bias=*/false));
  fuse_bn = register_module("fuse_bn", torch::nn::BatchNorm2d(g.width));
}

torch::Tensor DenseNetBlockImpl::forward(torch::Tensor x) {
  const PrecisionPolicy& p = *policy;
  torch::Tensor x1 = activate(conv_bn(*conv1, *bn1, x, p), gene.act, p, p_conv1);
  torch::Tensor c1 = p.act(activation_layout(torch::cat({x, x1}, 1)), p_concat1.c_str());
  torch::Tensor x2 = activate(conv_bn(*conv2, *bn2, c1, p), gene.act, p, p_conv2);
  torch::Tensor c2 = p.act(activation_layout(torch::cat({x, x1, x2}, 1)), p_concat2.c_str());
  return activate(conv_bn(*fuse, *fuse_bn, c2, p), gene.act, p, p_fuse);
}

}  // namespace dalnas
