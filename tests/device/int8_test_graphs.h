#pragma once
// Graphs and inputs shared by the integer emulator tests (test_int8_emulator.cpp,
// test_dpu_emulator.cpp): a small U-Net-like graph with every operation a lowered genome
// uses, and raw input images.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "device/graph.h"

namespace dalnas {
namespace int8_test {

inline Node conv(const std::string& name, int in, int cin, int out_c, int k, int groups,
                 ActType act, std::mt19937& rng) {
  Node n;
  n.op = OpType::Conv;
  n.name = name;
  n.inputs = {in};
  n.out_c = out_c;
  n.kernel = k;
  n.pad = k / 2;
  n.groups = groups;
  n.act = act;
  std::normal_distribution<float> w(0.0f,
                                    1.0f / std::sqrt(static_cast<float>(cin / groups * k * k)));
  n.weight.resize(static_cast<size_t>(out_c) * (cin / groups) * k * k);
  for (float& v : n.weight) v = w(rng);
  n.bias.resize(static_cast<size_t>(out_c));
  for (float& v : n.bias) v = 0.1f * w(rng);
  return n;
}

inline Node simple(OpType op, const std::string& name, std::vector<int> inputs,
                   ActType act = ActType::None) {
  Node n;
  n.op = op;
  n.name = name;
  n.inputs = std::move(inputs);
  n.act = act;
  return n;
}

// A small U-Net-like graph with every operation a lowered genome uses: convolutions with
// ReLU, ReLU6, GELU, HardSwish; max and average pooling; an SE block (global mean, sigmoid,
// multiply); a residual add; a bilinear upsampling; a skip concat; host normalisation.
inline DeviceGraph unet(std::mt19937& rng) {
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  const int c1 = g.add(conv("enc1", 0, 3, 8, 3, 1, ActType::ReLU, rng));
  const int c1b = g.add(conv("enc1b", c1, 8, 8, 3, 8, ActType::ReLU6, rng));  // depthwise
  Node mp = simple(OpType::MaxPool, "pool1", {c1b});
  mp.kernel = mp.stride = 2;
  const int p1 = g.add(mp);
  const int c2 = g.add(conv("enc2", p1, 8, 12, 3, 1, ActType::GELU, rng));
  const int gap = g.add(simple(OpType::GlobalAvgPool, "se_pool", {c2}));
  const int r = g.add(conv("se_reduce", gap, 12, 4, 1, 1, ActType::ReLU, rng));
  const int e = g.add(conv("se_expand", r, 4, 12, 1, 1, ActType::Sigmoid, rng));
  const int se = g.add(simple(OpType::Mul, "se_mul", {c2, e}));
  const int c3 = g.add(conv("res", se, 12, 12, 3, 1, ActType::None, rng));
  const int add = g.add(simple(OpType::Add, "res_add", {c3, se}, ActType::HardSwish));
  Node ap = simple(OpType::AvgPool, "pool2", {add});
  ap.kernel = ap.stride = 2;
  const int p2 = g.add(ap);
  Node up = simple(OpType::Resize, "up", {p2, c1b});
  const int u = g.add(up);
  const int cat = g.add(simple(OpType::Concat, "cat", {u, c1b}));
  const int head = g.add(conv("head", cat, 20, 1, 1, 1, ActType::None, rng));
  g.add(simple(OpType::Output, "out", {head}));
  g.norm_mean = {100.0f, 200.0f, 300.0f};
  g.norm_std = {50.0f, 60.0f, 70.0f};
  return g;
}

inline std::vector<float> images(int n, const Shape& s, std::mt19937& rng) {
  std::vector<float> x(static_cast<size_t>(n * s.numel()));
  std::normal_distribution<float> v(200.0f, 60.0f);
  for (float& f : x) f = v(rng);
  return x;
}

}  // namespace int8_test
}  // namespace dalnas
