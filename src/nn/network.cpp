#include "nn/network.h"

#include "core/error.h"
#include "nn/asymmetric_resize.h"
#include "nn/blocks/make_block.h"
#include "nn/conv_unit.h"
#include "nn/layout.h"

namespace dalnas {

namespace {

std::string shape_str(const torch::Tensor& x) {
  std::string s;
  for (int64_t i = 0; i < x.dim(); ++i) s += (i ? "x" : "") + std::to_string(x.size(i));
  return s;
}

}  // namespace

torch::Tensor upsample_bilinear(const torch::Tensor& x, int64_t h, int64_t w, AlignResize mode) {
  namespace F = torch::nn::functional;
  if (mode != AlignResize::Asymmetric) {
    return F::interpolate(x, F::InterpolateFuncOptions()
                                 .size(std::vector<int64_t>{h, w})
                                 .mode(torch::kBilinear)
                                 .align_corners(mode == AlignResize::AlignCorners));
  }
  return asymmetric_resize(x, h, w);  // nn/asymmetric_resize.h
}

NetworkImpl::NetworkImpl(const Genome& g, int bands, PolicyPtr p)
    : genome(g), in_bands(bands), policy(p ? std::move(p) : std::make_shared<PrecisionPolicy>()) {
  genome.validate();
  if (in_bands < 1)
    throw Error("network: input bands must be positive, got " + std::to_string(in_bands));
  const int n = static_cast<int>(genome.blocks.size());
  int c = in_bands;
  for (int i = 0; i < n; ++i) {
    const std::string name = "enc" + std::to_string(i);
    encoder.push_back(register_module(name, make_block(genome.blocks[i], c, policy, name)));
    c = genome.blocks[i].width;
  }
  up_proj = register_module("up_proj", torch::nn::ModuleList());
  dec_conv1 = register_module("dec_conv1", torch::nn::ModuleList());
  dec_bn1 = register_module("dec_bn1", torch::nn::ModuleList());
  dec_conv2 = register_module("dec_conv2", torch::nn::ModuleList());
  dec_bn2 = register_module("dec_bn2", torch::nn::ModuleList());
  const int d = genome.decoder_width;
  for (int j = 0; j < n - 1; ++j) {
    const int skip = genome.blocks[n - 2 - j].width;
    up_proj->push_back(make_conv(c, skip, 1, /*bias=*/true));
    dec_conv1->push_back(make_conv(2 * skip, d, 3, /*bias=*/false));
    dec_bn1->push_back(torch::nn::BatchNorm2d(d));
    dec_conv2->push_back(make_conv(d, d, 3, /*bias=*/false));
    dec_bn2->push_back(torch::nn::BatchNorm2d(d));
    c = d;
  }
  head = register_module("head", make_conv(d, 1, 1, /*bias=*/true));
  policy->index_weights(*this);
}

torch::Tensor NetworkImpl::forward(torch::Tensor x) {
  const int n = static_cast<int>(genome.blocks.size());
  if (x.dim() != 4 || x.size(1) != in_bands)
    throw Error("network: input is " + shape_str(x) + ", expected N x " + std::to_string(in_bands) +
                " x H x W");
  const int64_t min_side = int64_t{1} << (n - 1);
  if (x.size(2) < min_side || x.size(3) < min_side)
    throw Error("network: input " + std::to_string(x.size(2)) + "x" + std::to_string(x.size(3)) +
                " is too small for " + std::to_string(n) + " stages (needs at least " +
                std::to_string(min_side) + "x" + std::to_string(min_side) + ")");
  const PrecisionPolicy& p = *policy;

  // Mixed precision scopes (precision/policy.h): each encoder block with the pooling
  // before it, the decoder, the head.
  p.set_scope(0, genome.blocks[0].precision);
  p.set_training_forward(is_training() && torch::GradMode::is_enabled());
  x = p.input(activation_layout(x));  // channels-last from here on (nn/layout.h)
  std::vector<torch::Tensor> skips;
  for (int i = 0; i < n; ++i) {
    p.set_scope(i, genome.blocks[static_cast<size_t>(i)].precision);
    if (i > 0) {
      x = genome.pools[i - 1] == Pooling::Max ? torch::max_pool2d(x, {2, 2}, {2, 2})
                                              : torch::avg_pool2d(x, {2, 2}, {2, 2});
      x = p.act(x, ("pool" + std::to_string(i)).c_str());
    }
    x = encoder[i]->forward(x);
    x = p.block_output(x, "enc" + std::to_string(i) + ".int8");
    skips.push_back(x);
  }
  p.set_scope(PrecisionPolicy::kOther);
  for (int j = 0; j < n - 1; ++j) {
    const std::string level = "dec" + std::to_string(j);
    const torch::Tensor& skip = skips[n - 2 - j];
    // (the asymmetric resize computes row-major planes: back to the activations' layout)
    x = activation_layout(upsample_bilinear(x, skip.size(2), skip.size(3), p.resize()));
    x = p.act(x, (level + ".up").c_str());
    x = p.act(conv_acc(*up_proj[j]->as<torch::nn::Conv2d>(), x, p), (level + ".proj").c_str());
    x = p.act(activation_layout(torch::cat({x, skip}, 1)), (level + ".concat").c_str());
    x = torch::relu(conv_bn(*dec_conv1[j]->as<torch::nn::Conv2d>(),
                            *dec_bn1[j]->as<torch::nn::BatchNorm2d>(), x, p));
    x = p.act(x, (level + ".conv1").c_str());
    x = torch::relu(conv_bn(*dec_conv2[j]->as<torch::nn::Conv2d>(),
                            *dec_bn2[j]->as<torch::nn::BatchNorm2d>(), x, p));
    x = p.act(x, (level + ".conv2").c_str());
  }
  p.set_scope(PrecisionPolicy::kHead);
  torch::Tensor y = p.act(conv_acc(*head, x, p), "head");
  p.set_scope(PrecisionPolicy::kOther);
  return y;
}

Network build_network(const Genome& genome, int in_bands, PolicyPtr policy) {
  return Network(genome, in_bands, std::move(policy));
}

int64_t count_parameters(torch::nn::Module& m) {
  int64_t total = 0;
  for (const auto& t : m.parameters(/*recurse=*/true))
    if (t.requires_grad()) total += t.numel();
  return total;
}

}  // namespace dalnas
