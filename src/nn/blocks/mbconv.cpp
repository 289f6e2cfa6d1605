#include "nn/blocks/mbconv.h"

#include "nn/activation.h"
#include "nn/conv_unit.h"

namespace dalnas {

MBConvImpl::MBConvImpl(const BlockGene& g, int in_channels, PolicyPtr p, const std::string& name,
                       bool residual)
    : gene(g),
      policy(std::move(p)),
      use_residual(residual && in_channels == g.width),
      p_expand(name + ".expand"),
      p_dw(name + ".dw"),
      p_project(name + ".project"),
      p_add(name + ".add") {
  const int mid = in_channels * g.expansion;
  expand = register_module("expand", make_conv(in_channels, mid, 1, /*bias=*/false));
  expand_bn = register_module("expand_bn", torch::nn::BatchNorm2d(mid));
  dw = register_module("dw", make_conv(mid, mid, g.kernel, /*bias=*/false, /*groups=*/mid));
  dw_bn = register_module("dw_bn", torch::nn::BatchNorm2d(mid));
  project = register_module("project", make_conv(mid, g.width, 1, /*bias=*/false));
  project_bn = register_module("project_bn", torch::nn::BatchNorm2d(g.width));
}

torch::Tensor MBConvImpl::forward(torch::Tensor x) {
  const PrecisionPolicy& p = *policy;
  torch::Tensor y = activate(conv_bn(*expand, *expand_bn, x, p), gene.act, p, p_expand);
  y = activate(conv_bn(*dw, *dw_bn, y, p), gene.act, p, p_dw);
  y = p.act(conv_bn(*project, *project_bn, y, p), p_project.c_str());
  if (use_residual) y = p.act(y + x, p_add.c_str());
  return y;
}

}  // namespace dalnas
