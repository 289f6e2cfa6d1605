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

// The int16 layer tests' residual graph (tests/device/test_int16_layers.cpp, and the integer
// cost of its int16 layers in tests/cost/test_integer_cost.cpp):
// in -> enc0.conv (block 0) -> pool1, enc1.conv, enc1.dw, enc1.add (block 1) -> head -> out.
inline DeviceGraph residual(std::mt19937& rng, LayerPrecision block1) {
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  Node c0 = conv("enc0.conv", 0, 3, 6, 3, 1, ActType::ReLU, rng);
  c0.block = 0;
  const int i0 = g.add(c0);
  Node mp = simple(OpType::MaxPool, "pool1", {i0});
  mp.kernel = mp.stride = 2;
  mp.block = 1;
  mp.precision = block1;
  const int ip = g.add(mp);
  Node c1 = conv("enc1.conv", ip, 6, 8, 3, 1, ActType::ReLU6, rng);
  c1.block = 1;
  c1.precision = block1;
  const int i1 = g.add(c1);
  Node dw = conv("enc1.dw", i1, 8, 8, 3, 8, ActType::ReLU, rng);
  dw.block = 1;
  dw.precision = block1;
  const int id = g.add(dw);
  Node add = simple(OpType::Add, "enc1.add", {id, i1});
  add.block = 1;
  add.precision = block1;
  const int ia = g.add(add);
  const int h = g.add(conv("head", ia, 8, 2, 1, 1, ActType::None, rng));
  g.add(simple(OpType::Output, "out", {h}));
  g.norm_mean = {100.0f, 200.0f, 300.0f};
  g.norm_std = {50.0f, 60.0f, 70.0f};
  return g;
}

inline int node_named(const DeviceGraph& g, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].name == name) return static_cast<int>(i);
  return -1;
}

}  // namespace int8_test
}  // namespace dalnas
