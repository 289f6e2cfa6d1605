#include "nn/blocks/conv_se.h"

#include "nn/activation.h"
#include "nn/conv_unit.h"

namespace dalnas {

ConvSEImpl::ConvSEImpl(const BlockGene& g, int in_channels, PolicyPtr p, const std::string& name)
    : gene(g),
      policy(std::move(p)),
      p_conv(name + ".conv"),
      p_pool(name + ".se_pool"),
      p_reduce(name + ".se_reduce"),
      p_expand(name + ".se_expand"),
      p_mul(name + ".se_mul") {
  const int r = se_channels(g.width);
  conv = register_module("conv", make_conv(in_channels, g.width, g.kernel, /*bias=*/false));
  bn = register_module("bn", torch::nn::BatchNorm2d(g.width));
  se_reduce = register_module("se_reduce", make_conv(g.width, r, 1, /*bias=*/true));
  se_expand = register_module("se_expand", make_conv(r, g.width, 1, /*bias=*/true));
}

torch::Tensor ConvSEImpl::forward(torch::Tensor x) {
  const PrecisionPolicy& p = *policy;
  x = activate(conv_bn(*conv, *bn, x, p), gene.act, p, p_conv);
  torch::Tensor s = p.act(torch::adaptive_avg_pool2d(x, {1, 1}), p_pool.c_str());
  s = p.act(torch::relu(conv_acc(*se_reduce, s, p)), p_reduce.c_str());
  s = sigmoid_gate(conv_acc(*se_expand, s, p), p, p_expand);
  return p.act(x * s, p_mul.c_str());
}

}  // namespace dalnas
