#pragma once
// Shared helpers for the export tests: networks with random BatchNorm statistics for every
// block type, a hand-built device graph that uses every op and activation, and comparisons.
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/genome.h"
#include "device/emulator.h"
#include "device/graph.h"
#include "device/lower.h"
#include "nn/network.h"

namespace dalnas {
namespace testing_export {

inline const bool kThreadsLimited = [] {
  torch::set_num_threads(2);
  return true;
}();

// One genome per block type, the activations cycled through.
inline std::vector<std::string> block_type_genomes() {
  return {
      "ConvAct-8-k3-relu_max_ConvAct-12-k5-gelu_avg_ConvAct-16-k3-hswish_dec-8",
      "ConvBnAct-8-k5-relu6_avg_ConvBnAct-12-k3-relu_max_ConvBnAct-16-k3-gelu_dec-6",
      "ConvSE-8-k3-relu_max_ConvSE-12-k3-hswish_max_ConvSE-16-k5-relu6_dec-8",
      "ConvBnAct-8-k3-relu_max_MBConv-8-k3-e4-relu6_max_MBConv-16-k5-e3-hswish_dec-8",
      "ConvBnAct-8-k3-relu_max_MBConvNoRes-8-k5-e6-gelu_avg_MBConvNoRes-12-k3-e3-relu_dec-8",
      "ResNetBlock-8-k3-relu_max_ResNetBlock-8-k3-relu6_max_ResNetBlock-16-k5-gelu_dec-8",
      "DenseNetBlock-8-k3-relu_max_DenseNetBlock-12-k3-hswish_avg_DenseNetBlock-16-k5-relu_dec-8",
  };
}

// A random valid genome with small widths (3 to 5 stages, every type and activation).
inline Genome random_genome(std::mt19937_64& rng) {
  Genome g;
  const int n = 3 + static_cast<int>(rng() % 3);
  for (int i = 0; i < n; ++i) {
    BlockGene b;
    b.type = static_cast<BlockType>(rng() % 7);
    b.width = b.type == BlockType::ConvSE ? 8 + static_cast<int>(rng() % 5)
                                          : 4 + static_cast<int>(rng() % 9);
    b.kernel = rng() % 2 ? 3 : 5;
    b.expansion = has_expansion(b.type) ? 3 + static_cast<int>(rng() % 4) : 0;
    b.act = static_cast<Activation>(rng() % 4);
    g.blocks.push_back(b);
    if (i > 0) g.pools.push_back(rng() % 2 ? Pooling::Max : Pooling::Avg);
  }
  g.decoder_width = 4 + static_cast<int>(rng() % 5);
  g.validate();
  return g;
}

struct Case {
  Network net{nullptr};
  std::vector<float> mean, std;
  std::vector<float> raw;  // bands × H × W, raw digital numbers
  Shape shape;
};

// A network with random weights and BatchNorm statistics (so that folding matters), a
// normalisation and a raw input.
inline Case make_case(const Genome& g, int bands, int h, int w, uint64_t seed) {
  Case c;
  torch::manual_seed(seed);
  c.net = build_network(g, bands);
  {
    torch::NoGradGuard ng;
    for (auto& m : c.net->modules(false)) {
      if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
        bn->running_mean.uniform_(-0.5, 0.5);
        bn->running_var.uniform_(0.5, 2.0);
        bn->weight.uniform_(0.5, 1.5);
        bn->bias.uniform_(-0.3, 0.3);
      }
    }
  }
  c.net->eval();
  for (int b = 0; b < bands; ++b) {
    c.mean.push_back(3000.0f + 100.0f * b);
    c.std.push_back(800.0f + 50.0f * b);
  }
  c.shape = {bands, h, w};
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> dn(0, 6000);
  c.raw.resize(static_cast<size_t>(c.shape.numel()));
  for (float& v : c.raw) v = static_cast<float>(dn(rng));
  return c;
}

// (raw - mean) / std per band, in fp32 (what the host does).
inline std::vector<float> normalised(const Case& c) {
  std::vector<float> x = c.raw;
  const int64_t hw = int64_t(c.shape.h) * c.shape.w;
  for (int b = 0; b < c.shape.c; ++b) {
    for (int64_t i = 0; i < hw; ++i) {
      float& v = x[static_cast<size_t>(b * hw + i)];
      v = (v - c.mean[static_cast<size_t>(b)]) / c.std[static_cast<size_t>(b)];
    }
  }
  return x;
}

// libtorch's FP32 forward on the normalised input: the logits, H × W.
inline std::vector<float> torch_logits(Case& c) {
  torch::NoGradGuard ng;
  std::vector<float> x = normalised(c);
  auto t = torch::from_blob(x.data(), {1, c.shape.c, c.shape.h, c.shape.w}).clone();
  auto y = c.net->forward(t).contiguous();
  return std::vector<float>(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
}

inline DeviceGraph lowered(Case& c, bool fold) {
  LowerOptions lo;
  lo.norm_mean = c.mean;
  lo.norm_std = c.std;
  lo.fold_normalization = fold;
  DeviceGraph g = lower(c.net, lo);
  g.infer_shapes(c.shape);
  return g;
}

// max |got - want| / max |want|.
inline double max_rel_error(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return INFINITY;
  double max_abs = 1e-12, max_err = 0;
  for (float w : want) max_abs = std::max(max_abs, std::fabs(double(w)));
  for (size_t i = 0; i < want.size(); ++i) {
    const double e = std::fabs(double(got[i]) - want[i]);
    max_err = std::isnan(e) ? INFINITY : std::max(max_err, e);
  }
  return max_err / max_abs;
}

// Number of positions where the two differ bit for bit (NaN equals NaN).
inline int64_t bit_differences(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return -1;
  int64_t d = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))) ||
        std::signbit(a[i]) != std::signbit(b[i])) {
      ++d;
    }
  }
  return d;
}

// A device graph that uses every op and every activation (3 × 12 × 12 input). Without
// `softmax` its last op is a ReLU (Softmax at opsets below 13 needs Transpose nodes, which
// the importer does not read).
inline DeviceGraph every_op_graph(uint64_t seed, bool softmax) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-0.6f, 0.6f);
  auto rand = [&](size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = u(rng);
    return v;
  };
  DeviceGraph g;
  auto add = [&](OpType op, const char* name, std::vector<int> in) {
    Node n;
    n.op = op;
    n.name = name;
    n.inputs = std::move(in);
    return n;
  };
  g.add(add(OpType::Input, "input", {}));
  Node c1 = add(OpType::Conv, "conv1", {0});
  c1.out_c = 6, c1.kernel = 3, c1.pad = 1, c1.act = ActType::ReLU6;
  c1.weight = rand(6 * 3 * 9), c1.bias = rand(6);
  g.add(c1);  // 1: 6×12×12
  Node mp = add(OpType::MaxPool, "maxpool", {1});
  mp.kernel = 2, mp.stride = 2;
  g.add(mp);  // 2: 6×6×6
  Node ap = add(OpType::AvgPool, "avgpool", {2});
  ap.kernel = 3, ap.stride = 1, ap.pad = 1;
  g.add(ap);  // 3: 6×6×6
  Node c2 = add(OpType::Conv, "conv_grouped", {3});
  c2.out_c = 8, c2.kernel = 1, c2.groups = 2, c2.act = ActType::GELU;
  c2.weight = rand(8 * 3), c2.bias = rand(8);
  g.add(c2);  // 4: 8×6×6
  Node ct = add(OpType::ConvTranspose, "deconv", {4});
  ct.out_c = 4, ct.kernel = 3, ct.stride = 2, ct.pad = 1, ct.output_pad = 1, ct.groups = 2;
  ct.act = ActType::HardSwish;
  ct.weight = rand(8 * 2 * 9), ct.bias = rand(4);
  g.add(ct);                                     // 5: 4×12×12
  g.add(add(OpType::Concat, "concat", {0, 5}));  // 6: 7×12×12
  Node sg = add(OpType::Activation, "sigmoid", {6});
  sg.act = ActType::Sigmoid;
  g.add(sg);                                      // 7
  g.add(add(OpType::GlobalAvgPool, "gap", {7}));  // 8: 7×1×1
  Node fc = add(OpType::FullyConnected, "fc", {8});
  fc.out_c = 7, fc.act = ActType::HardSigmoid, fc.alpha = 0.3f, fc.beta = 0.4f;
  fc.weight = rand(7 * 7), fc.bias = rand(7);
  g.add(fc);                                 // 9: 7×1×1
  g.add(add(OpType::Mul, "scale", {7, 9}));  // 10
  Node ad = add(OpType::Add, "add", {10, 7});
  ad.act = ActType::Clip, ad.act_min = -0.25f, ad.act_max = 0.9f;
  g.add(ad);  // 11
  Node r1 = add(OpType::Resize, "up_linear", {11});
  r1.scale = 2.0f;
  g.add(r1);  // 12: 7×24×24
  Node c3 = add(OpType::Conv, "conv_stride2_nobias", {12});
  c3.out_c = 5, c3.kernel = 3, c3.stride = 2, c3.pad = 1, c3.act = ActType::Swish;
  c3.weight = rand(5 * 7 * 9);
  g.add(c3);  // 13: 5×12×12
  Node r2 = add(OpType::Resize, "up_nearest", {13});
  r2.scale = 2.0f, r2.nearest = true;
  g.add(r2);                                           // 14: 5×24×24
  g.add(add(OpType::Resize, "down_to_ref", {14, 1}));  // 15: 5×12×12
  Node re = add(OpType::Activation, "relu", {15});
  re.act = ActType::ReLU;
  g.add(re);  // 16
  int last = 16;
  if (softmax) last = g.add(add(OpType::Softmax, "softmax", {16}));
  g.add(add(OpType::Output, "output", {last}));
  g.input = {3, 12, 12};
  g.infer_shapes(g.input);
  return g;
}

inline std::vector<float> random_input(const Shape& s, uint64_t seed, float lo = -2, float hi = 2) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<size_t>(s.numel()));
  for (float& x : v) x = u(rng);
  return v;
}

}  // namespace testing_export
}  // namespace dalnas
