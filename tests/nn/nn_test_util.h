#pragma once
// Shared helpers for the nn tests: random genomes, FP16 rounding through libtorch's own
// half type, and naive references of every block and of the whole network written
// directly from the block definitions with functional calls and explicit formulas.
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <random>
#include <string>

#include "core/genome.h"

namespace dalnas {
namespace testing_nn {

// Tests keep libtorch to at most 2 threads.
inline const bool kThreadsLimited = [] {
  torch::set_num_threads(2);
  return true;
}();

// Random valid genome with small widths. Index i cycles the block types, activations
// and poolings so that any 7 consecutive genomes use every block type.
inline Genome random_genome(std::mt19937& rng, int i) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Genome g;
  const int n = 3 + i % 3;
  for (int b = 0; b < n; ++b) {
    BlockGene gene;
    gene.type = static_cast<BlockType>((i + b) % 7);
    gene.width = b == 0 ? pick(1, 8) : pick(2, 12);
    if (gene.type == BlockType::ConvSE) gene.width = pick(8, 12);  // SE squeeze of >= 2
    gene.kernel = pick(0, 1) ? 3 : 5;
    gene.expansion = has_expansion(gene.type) ? pick(3, 6) : 0;
    gene.act = static_cast<Activation>((i + 2 * b) % 4);
    g.blocks.push_back(gene);
    if (b > 0) g.pools.push_back((i + b) % 2 ? Pooling::Max : Pooling::Avg);
  }
  // Every other MBConv keeps its input width so the residual path is exercised.
  for (int b = 1; b < n; ++b)
    if (g.blocks[b].type == BlockType::MBConv && i % 2 == 0)
      g.blocks[b].width = g.blocks[b - 1].width;
  g.decoder_width = pick(2, 8);
  return g;
}

// FP16 round trip through libtorch's half type (independent of dalnas::precision).
inline torch::Tensor round16(const torch::Tensor& x) {
  return x.to(torch::kHalf).to(torch::kFloat);
}

// Cloned parameters and buffers of a module, by their registered names.
using Weights = std::map<std::string, torch::Tensor>;
inline Weights copy_weights(torch::nn::Module& m) {
  Weights w;
  for (const auto& kv : m.named_parameters(true)) w[kv.key()] = kv.value().detach().clone();
  for (const auto& kv : m.named_buffers(true)) w[kv.key()] = kv.value().detach().clone();
  return w;
}

// Randomises BN statistics and affine parameters so eval-mode BN is not the identity.
inline void randomize_bn(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  for (auto& kv : m.named_buffers(true)) {
    if (kv.key().find("running_mean") != std::string::npos) kv.value().uniform_(-0.5, 0.5);
    if (kv.key().find("running_var") != std::string::npos) kv.value().uniform_(0.5, 2.0);
  }
  for (auto& kv : m.named_parameters(true)) {
    const std::string& k = kv.key();
    const bool bn = k.find("bn") != std::string::npos;
    if (bn && k.size() > 7 && k.substr(k.size() - 7) == ".weight") kv.value().uniform_(0.5, 1.5);
    if (bn && k.size() > 5 && k.substr(k.size() - 5) == ".bias") kv.value().uniform_(-0.3, 0.3);
  }
}

struct Naive {
  const Weights& w;
  std::string prefix;  // e.g. "enc1." ("" for a lone block)

  const torch::Tensor& at(const std::string& k) const { return w.at(prefix + k); }

  torch::Tensor conv(const torch::Tensor& x, const std::string& name, int groups = 1) const {
    const torch::Tensor& weight = at(name + ".weight");
    const int64_t k = weight.size(2);
    namespace F = torch::nn::functional;
    auto opt = F::Conv2dFuncOptions().padding(k / 2).groups(groups);
    auto it = w.find(prefix + name + ".bias");
    if (it != w.end() && it->second.defined()) opt = opt.bias(it->second);
    return F::conv2d(x, weight, opt);
  }
  torch::Tensor bn(const torch::Tensor& x, const std::string& name) const {
    auto v = [](const torch::Tensor& t) { return t.view({1, -1, 1, 1}); };
    return (x - v(at(name + ".running_mean"))) / torch::sqrt(v(at(name + ".running_var")) + 1e-5) *
               v(at(name + ".weight")) +
           v(at(name + ".bias"));
  }
};

inline torch::Tensor naive_act(const torch::Tensor& x, Activation a) {
  switch (a) {
    case Activation::ReLU:
      return torch::where(x > 0, x, torch::zeros_like(x));
    case Activation::ReLU6:
      return torch::clamp(x, 0.0, 6.0);
    case Activation::GELU:
      return x * 0.5 * (1.0 + torch::erf(x / std::sqrt(2.0)));
    case Activation::HardSwish:
      return x * torch::clamp(x + 3.0, 0.0, 6.0) / 6.0;
  }
  return x;
}

inline torch::Tensor naive_sigmoid(const torch::Tensor& x) {
  return 1.0 / (1.0 + torch::exp(-x));
}

// One block, straight from its definition (stride 1, 'same' padding, fp32, eval-mode BN).
inline torch::Tensor naive_block(const BlockGene& g, int in_c, const Naive& n,
                                 const torch::Tensor& x) {
  const Activation a = g.act;
  switch (g.type) {
    case BlockType::ConvAct:
      return naive_act(n.conv(x, "conv"), a);
    case BlockType::ConvBnAct:
      return naive_act(n.bn(n.conv(x, "conv"), "bn"), a);
    case BlockType::ConvSE: {
      torch::Tensor y = naive_act(n.bn(n.conv(x, "conv"), "bn"), a);
      torch::Tensor s = y.mean({2, 3}, /*keepdim=*/true);
      s = torch::clamp_min(n.conv(s, "se_reduce"), 0.0);
      s = naive_sigmoid(n.conv(s, "se_expand"));
      return y * s;
    }
    case BlockType::MBConv:
    case BlockType::MBConvNoRes: {
      const int mid = in_c * g.expansion;
      torch::Tensor y = naive_act(n.bn(n.conv(x, "expand"), "expand_bn"), a);
      y = naive_act(n.bn(n.conv(y, "dw", mid), "dw_bn"), a);
      y = n.bn(n.conv(y, "project"), "project_bn");
      if (g.type == BlockType::MBConv && in_c == g.width) y = y + x;
      return y;
    }
    case BlockType::ResNetBlock: {
      torch::Tensor y = naive_act(n.bn(n.conv(x, "conv1"), "bn1"), a);
      y = n.bn(n.conv(y, "conv2"), "bn2");
      const torch::Tensor s = in_c == g.width ? x : n.bn(n.conv(x, "shortcut"), "shortcut_bn");
      return naive_act(y + s, a);
    }
    case BlockType::DenseNetBlock: {
      torch::Tensor x1 = naive_act(n.bn(n.conv(x, "conv1"), "bn1"), a);
      torch::Tensor x2 = naive_act(n.bn(n.conv(torch::cat({x, x1}, 1), "conv2"), "bn2"), a);
      return naive_act(n.bn(n.conv(torch::cat({x, x1, x2}, 1), "fuse"), "fuse_bn"), a);
    }
  }
  return x;
}

// The whole network (eval mode, fp32) from the definition in nn/network.h.
inline torch::Tensor naive_network(const Genome& g, int bands, const Weights& w, torch::Tensor x) {
  const int n = static_cast<int>(g.blocks.size());
  std::vector<torch::Tensor> skips;
  int c = bands;
  for (int i = 0; i < n; ++i) {
    if (i > 0) {
      x = g.pools[i - 1] == Pooling::Max ? torch::max_pool2d(x, {2, 2}, {2, 2})
                                         : torch::avg_pool2d(x, {2, 2}, {2, 2});
    }
    x = naive_block(g.blocks[i], c, Naive{w, "enc" + std::to_string(i) + "."}, x);
    c = g.blocks[i].width;
    skips.push_back(x);
  }
  namespace F = torch::nn::functional;
  for (int j = 0; j < n - 1; ++j) {
    const torch::Tensor& s = skips[n - 2 - j];
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{s.size(2), s.size(3)})
                              .mode(torch::kBilinear)
                              .align_corners(false));
    const std::string J = std::to_string(j);
    Naive nn{w, ""};
    x = nn.conv(x, "up_proj." + J);
    x = torch::cat({x, s}, 1);
    x = torch::clamp_min(nn.bn(nn.conv(x, "dec_conv1." + J), "dec_bn1." + J), 0.0);
    x = torch::clamp_min(nn.bn(nn.conv(x, "dec_conv2." + J), "dec_bn2." + J), 0.0);
  }
  return Naive{w, ""}.conv(x, "head");
}

inline double max_rel_error(const torch::Tensor& got, const torch::Tensor& want) {
  const double scale = want.abs().max().item<double>();
  return (got - want).abs().max().item<double>() / (scale > 0 ? scale : 1.0);
}

}  // namespace testing_nn
}  // namespace dalnas
