#include "device/lower.h"

#include <cmath>
#include <map>
#include <string>
#include <utility>

#include "core/error.h"
#include "nn/blocks/conv_act.h"
#include "nn/blocks/conv_bn_act.h"
#include "nn/blocks/conv_se.h"
#include "nn/blocks/densenet_block.h"
#include "nn/blocks/mbconv.h"
#include "nn/blocks/resnet_block.h"

namespace dalnas {

namespace {

std::vector<float> to_vec(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

ActType act_of(Activation a) {
  switch (a) {
    case Activation::ReLU:
      return ActType::ReLU;
    case Activation::ReLU6:
      return ActType::ReLU6;
    case Activation::GELU:
      return ActType::GELU;
    case Activation::HardSwish:
      return ActType::HardSwish;
  }
  return ActType::None;
}

class Lowering {
 public:
  Lowering(DeviceGraph& g, Network& net, const WeightSteps& steps) : g_(g) {
    if (steps.empty()) return;
    for (const auto& p : net->named_parameters(/*recurse=*/true)) {
      const auto it = steps.find(p.key());
      if (it != steps.end()) steps_[p.value().unsafeGetTensorImpl()] = {p.key(), &it->second};
    }
  }

  // A convolution with optional BatchNorm folded in and a fused activation.
  int conv(const std::string& name, int input, torch::nn::Conv2dImpl& c,
           torch::nn::BatchNorm2dImpl* bn, ActType act) {
    torch::NoGradGuard ng;
    auto w = c.weight.detach().to(torch::kFloat64);
    const int64_t out_c = w.size(0);
    auto b = c.bias.defined() ? c.bias.detach().to(torch::kFloat64)
                              : torch::zeros({out_c}, torch::kFloat64);
    torch::Tensor k = torch::ones({out_c}, torch::kFloat64);  // BatchNorm's factor per channel
    if (bn) {
      auto var = bn->running_var.to(torch::kFloat64);
      auto mean = bn->running_mean.to(torch::kFloat64);
      auto gamma = bn->weight.detach().to(torch::kFloat64);
      auto beta = bn->bias.detach().to(torch::kFloat64);
      k = gamma / torch::sqrt(var + bn->options.eps());
      w = w * k.view({-1, 1, 1, 1});
      b = (b - mean) * k + beta;
    }
    Node n;
    n.op = OpType::Conv;
    n.name = name;
    n.inputs = {input};
    n.out_c = static_cast<int>(out_c);
    n.kernel = static_cast<int>(w.size(2));
    n.stride = 1;
    n.pad = n.kernel / 2;
    n.groups = static_cast<int>(c.options.groups());
    n.weight = to_vec(w);
    n.bias = to_vec(b);
    n.act = act;
    const auto st = steps_.find(c.weight.unsafeGetTensorImpl());
    if (st != steps_.end()) {
      const std::vector<float>& s = *st->second.second;
      if (static_cast<int64_t>(s.size()) != out_c)
        throw Error("lower: weight steps of '" + st->second.first +
                    "': " + std::to_string(s.size()) + " for " + std::to_string(out_c) +
                    " output channels");
      const torch::Tensor folded =
          torch::tensor(std::vector<double>(s.begin(), s.end()), torch::kFloat64) * k.abs();
      n.weight_scale = to_vec(folded);
    }
    return g_.add(std::move(n));
  }

  int simple(OpType op, const std::string& name, std::vector<int> inputs,
             ActType act = ActType::None) {
    Node n;
    n.op = op;
    n.name = name;
    n.inputs = std::move(inputs);
    n.act = act;
    if (op == OpType::MaxPool || op == OpType::AvgPool) {
      n.kernel = 2;
      n.stride = 2;
    }
    return g_.add(std::move(n));
  }

  int block(const std::string& p, int x, BlockImpl& blk) {
    if (auto* b = dynamic_cast<ConvActImpl*>(&blk))
      return conv(p + ".conv", x, *b->conv, nullptr, act_of(b->gene.act));
    if (auto* b = dynamic_cast<ConvBnActImpl*>(&blk))
      return conv(p + ".conv", x, *b->conv, b->bn.get(), act_of(b->gene.act));
    if (auto* b = dynamic_cast<ConvSEImpl*>(&blk)) {
      const int y = conv(p + ".conv", x, *b->conv, b->bn.get(), act_of(b->gene.act));
      const int s0 = simple(OpType::GlobalAvgPool, p + ".se_pool", {y});
      const int s1 = conv(p + ".se_reduce", s0, *b->se_reduce, nullptr, ActType::ReLU);
      const int s2 = conv(p + ".se_expand", s1, *b->se_expand, nullptr, ActType::Sigmoid);
      return simple(OpType::Mul, p + ".se_mul", {y, s2});
    }
    if (auto* b = dynamic_cast<MBConvImpl*>(&blk)) {
      const ActType a = act_of(b->gene.act);
      const int e = conv(p + ".expand", x, *b->expand, b->expand_bn.get(), a);
      const int d = conv(p + ".dw", e, *b->dw, b->dw_bn.get(), a);
      const int pr = conv(p + ".project", d, *b->project, b->project_bn.get(), ActType::None);
      return b->use_residual ? simple(OpType::Add, p + ".add", {x, pr}) : pr;
    }
    if (auto* b = dynamic_cast<ResNetBlockImpl*>(&blk)) {
      const ActType a = act_of(b->gene.act);
      const int c1 = conv(p + ".conv1", x, *b->conv1, b->bn1.get(), a);
      const int c2 = conv(p + ".conv2", c1, *b->conv2, b->bn2.get(), ActType::None);
      const int sc =
          b->shortcut ? conv(p + ".shortcut", x, *b->shortcut, b->shortcut_bn.get(), ActType::None)
                      : x;
      return simple(OpType::Add, p + ".add", {c2, sc}, a);
    }
    if (auto* b = dynamic_cast<DenseNetBlockImpl*>(&blk)) {
      const ActType a = act_of(b->gene.act);
      const int x1 = conv(p + ".conv1", x, *b->conv1, b->bn1.get(), a);
      const int c1 = simple(OpType::Concat, p + ".concat1", {x, x1});
      const int x2 = conv(p + ".conv2", c1, *b->conv2, b->bn2.get(), a);
      const int c2 = simple(OpType::Concat, p + ".concat2", {x, x1, x2});
      return conv(p + ".fuse", c2, *b->fuse, b->fuse_bn.get(), a);
    }
    throw Error("lower: block '" + p + "' has a type the lowering does not know");
  }

 private:
  DeviceGraph& g_;
  // Learned weight steps by the weight tensor: (parameter name, steps).
  std::map<const void*, std::pair<std::string, const std::vector<float>*>> steps_;
};

}  // namespace

DeviceGraph lower(Network& net, const LowerOptions& opt) {
  DeviceGraph g;
  Lowering L(g, net, opt.weight_steps);
  const int bands = net->in_bands;
  if (!opt.norm_mean.empty() && (static_cast<int>(opt.norm_mean.size()) != bands ||
                                 static_cast<int>(opt.norm_std.size()) != bands))
    throw Error("lower: normalisation has " + std::to_string(opt.norm_mean.size()) +
                " bands but the network takes " + std::to_string(bands));
  Node in;
  in.op = OpType::Input;
  in.name = "input";
  in.out_c = bands;
  int x = g.add(std::move(in));
  g.norm_mean = opt.norm_mean;
  g.norm_std = opt.norm_std;
  if (opt.fold_normalization && !opt.norm_mean.empty()) {
    g.norm_folded = true;
    Node n;
    n.op = OpType::Conv;
    n.name = "normalize";
    n.inputs = {x};
    n.out_c = bands;
    n.kernel = 1;
    n.groups = bands;
    for (int c = 0; c < bands; ++c) {
      const double inv = 1.0 / static_cast<double>(opt.norm_std[static_cast<size_t>(c)]);
      n.weight.push_back(static_cast<float>(inv));
      n.bias.push_back(static_cast<float>(-opt.norm_mean[static_cast<size_t>(c)] * inv));
    }
    x = g.add(std::move(n));
  }

  const auto& genome = net->genome;
  const int stages = static_cast<int>(genome.blocks.size());
  std::vector<int> skips;
  for (int i = 0; i < stages; ++i) {
    // Every node of stage i (the pooling before block i, the block's nodes) carries the
    // block's number and precision gene (device/precision_rule.h).
    const size_t first = g.nodes.size();
    if (i > 0)
      x = L.simple(genome.pools[static_cast<size_t>(i - 1)] == Pooling::Max ? OpType::MaxPool
                                                                            : OpType::AvgPool,
                   "pool" + std::to_string(i), {x});
    x = L.block("enc" + std::to_string(i), x, *net->encoder[static_cast<size_t>(i)]);
    for (size_t k = first; k < g.nodes.size(); ++k) {
      g.nodes[k].block = i;
      g.nodes[k].precision = genome.blocks[static_cast<size_t>(i)].precision;
    }
    skips.push_back(x);
  }
  for (int j = 0; j < stages - 1; ++j) {
    const std::string lv = "dec" + std::to_string(j);
    const int skip = skips[static_cast<size_t>(stages - 2 - j)];
    const int up = L.simple(OpType::Resize, lv + ".up", {x, skip});
    const int pr =
        L.conv(lv + ".proj", up, *net->up_proj[j]->as<torch::nn::Conv2d>(), nullptr, ActType::None);
    const int cat = L.simple(OpType::Concat, lv + ".concat", {pr, skip});
    const int c1 = L.conv(lv + ".conv1", cat, *net->dec_conv1[j]->as<torch::nn::Conv2d>(),
                          net->dec_bn1[j]->as<torch::nn::BatchNorm2d>(), ActType::ReLU);
    x = L.conv(lv + ".conv2", c1, *net->dec_conv2[j]->as<torch::nn::Conv2d>(),
               net->dec_bn2[j]->as<torch::nn::BatchNorm2d>(), ActType::ReLU);
  }
  const int head = L.conv("head", x, *net->head, nullptr, ActType::None);
  Node out;
  out.op = OpType::Output;
  out.name = "output";
  out.inputs = {head};
  g.output = g.add(std::move(out));
  return g;
}

}  // namespace dalnas
