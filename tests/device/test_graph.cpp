#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "device/graph.h"

namespace dalnas {
namespace {

Node make(OpType op, const std::string& name, std::vector<int> in) {
  Node n;
  n.op = op;
  n.name = name;
  n.inputs = std::move(in);
  return n;
}

Node conv(const std::string& name, int in, int cin, int out_c, int k, int s, int p, int g = 1) {
  Node n = make(OpType::Conv, name, {in});
  n.out_c = out_c;
  n.kernel = k;
  n.stride = s;
  n.pad = p;
  n.groups = g;
  n.weight.assign(static_cast<size_t>(out_c) * (cin / g) * k * k, 0.5f);
  n.bias.assign(out_c, 0.0f);
  return n;
}

// The message of the dalnas::Error `f` throws ("" if none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DeviceGraph, InfersShapesOfEveryOp) {
  DeviceGraph g;
  g.add(make(OpType::Input, "in", {}));
  const int c1 = g.add(conv("c1", 0, 4, 8, 3, 1, 1));      // 8×13×17
  const int c2 = g.add(conv("c2", c1, 8, 8, 3, 2, 1, 8));  // depthwise stride 2: 8×7×9
  Node mp = make(OpType::MaxPool, "mp", {c1});
  mp.kernel = mp.stride = 2;  // floor: 8×6×8
  const int p = g.add(mp);
  Node ap = make(OpType::AvgPool, "ap", {c1});
  ap.kernel = 3;
  ap.stride = 2;  // (13-3)/2+1 = 6, (17-3)/2+1 = 8
  g.add(ap);
  const int gap = g.add(make(OpType::GlobalAvgPool, "gap", {c1}));
  const int up = g.add(make(OpType::Resize, "up", {p, c1}));  // to 8×13×17
  Node up2 = make(OpType::Resize, "up2", {c2});
  up2.scale = 2.0f;  // 8×14×18
  g.add(up2);
  const int cat = g.add(make(OpType::Concat, "cat", {c1, up}));  // 16×13×17
  const int add = g.add(make(OpType::Add, "add", {c1, up}));
  const int mul = g.add(make(OpType::Mul, "mul", {add, gap}));
  Node fc = make(OpType::FullyConnected, "fc", {gap});
  fc.out_c = 3;
  fc.weight.assign(3 * 8, 0.1f);
  const int f = g.add(fc);
  g.add(make(OpType::Activation, "act", {cat}));
  const int out = g.add(make(OpType::Output, "out", {mul}));
  EXPECT_EQ(g.output, out);
  g.infer_shapes({4, 13, 17});
  EXPECT_EQ(g.nodes[c1].shape, (Shape{8, 13, 17}));
  EXPECT_EQ(g.nodes[c2].shape, (Shape{8, 7, 9}));
  EXPECT_EQ(g.nodes[p].shape, (Shape{8, 6, 8}));
  EXPECT_EQ(g.nodes[4].shape, (Shape{8, 6, 8}));
  EXPECT_EQ(g.nodes[gap].shape, (Shape{8, 1, 1}));
  EXPECT_EQ(g.nodes[up].shape, (Shape{8, 13, 17}));
  EXPECT_EQ(g.nodes[7].shape, (Shape{8, 14, 18}));
  EXPECT_EQ(g.nodes[cat].shape, (Shape{16, 13, 17}));
  EXPECT_EQ(g.nodes[mul].shape, (Shape{8, 13, 17}));
  EXPECT_EQ(g.nodes[f].shape, (Shape{3, 1, 1}));
  EXPECT_EQ(g.nodes[out].shape, (Shape{8, 13, 17}));
  // MACs: c1 8·4·9 per pixel × 13·17; c2 8·1·9 × 7·9; fc 24.
  EXPECT_EQ(g.macs(), 8 * 4 * 9 * 13 * 17 + 8 * 9 * 7 * 9 + 24);
  EXPECT_EQ(g.params(), (8 * 4 * 9 + 8) + (8 * 9 + 8) + 24);
  const std::string s = g.summary();
  EXPECT_NE(s.find("1 conv 'c1' 8x13x17 k3 s1 p1"), std::string::npos) << s;
  EXPECT_NE(s.find("g8"), std::string::npos);
  EXPECT_NE(s.find("fc 'fc' 3x1x1"), std::string::npos) << s;
}

TEST(DeviceGraph, ShapeErrorsNameTheNode) {
  auto base = [] {
    DeviceGraph g;
    g.add(make(OpType::Input, "in", {}));
    return g;
  };
  {
    DeviceGraph g = base();
    Node c = conv("enc1", 0, 4, 8, 3, 1, 1);
    c.weight.pop_back();
    g.add(c);
    const std::string e = error_of([&] { g.infer_shapes({4, 8, 8}); });
    EXPECT_NE(e.find("node 1 'enc1' (conv)"), std::string::npos) << e;
    EXPECT_NE(e.find("weight has 287 values, expected 288"), std::string::npos) << e;
  }
  {
    DeviceGraph g = base();
    g.add(conv("c", 0, 4, 6, 3, 1, 1, 4));  // 6 out channels not divisible by 4 groups
    EXPECT_NE(error_of([&] { g.infer_shapes({4, 8, 8}); }).find("groups 4"), std::string::npos);
  }
  {
    DeviceGraph g = base();
    g.add(conv("big", 0, 4, 2, 5, 1, 0));
    EXPECT_NE(error_of([&] { g.infer_shapes({4, 3, 8}); }).find("'big'"), std::string::npos);
  }
  {
    DeviceGraph g = base();
    const int c = g.add(conv("c", 0, 4, 2, 3, 2, 1));
    g.add(make(OpType::Add, "skip", {0, c}));
    const std::string e = error_of([&] { g.infer_shapes({4, 8, 8}); });
    EXPECT_NE(e.find("'skip' (add): inputs differ in shape: 4x8x8 and 2x4x4"), std::string::npos)
        << e;
  }
  {
    DeviceGraph g = base();
    const int c = g.add(conv("c", 0, 4, 4, 3, 2, 1));
    g.add(make(OpType::Concat, "cat", {0, c}));
    EXPECT_NE(error_of([&] { g.infer_shapes({4, 8, 8}); }).find("'cat'"), std::string::npos);
  }
  {
    DeviceGraph g = base();
    const int c = g.add(conv("c", 0, 4, 3, 1, 1, 0));
    g.add(make(OpType::Mul, "gate", {0, c}));
    EXPECT_NE(error_of([&] { g.infer_shapes({4, 8, 8}); }).find("'gate'"), std::string::npos);
  }
  {
    DeviceGraph g = base();
    g.add(make(OpType::Resize, "up", {0}));  // neither scale nor reference
    EXPECT_NE(error_of([&] { g.infer_shapes({4, 8, 8}); }).find("'up'"), std::string::npos);
  }
  {
    DeviceGraph g = base();
    Node fc = make(OpType::FullyConnected, "head", {0});
    fc.out_c = 2;
    fc.weight.assign(10, 0.0f);
    g.add(fc);
    EXPECT_NE(error_of([&] { g.infer_shapes({4, 2, 2}); }).find("'head' (fc)"), std::string::npos);
  }
  {
    DeviceGraph g = base();
    g.input = {4, 8, 8};
    g.add(make(OpType::Output, "out", {0}));
    EXPECT_NE(error_of([&] { g.infer_shapes({3, 8, 8}); }).find("3 channels"), std::string::npos);
    EXPECT_NO_THROW(g.infer_shapes({4, 16, 16}));
  }
  {
    DeviceGraph g = base();
    EXPECT_NE(error_of([&] {
                g.add(make(OpType::Add, "bad", {0, 5}));
              }).find("'bad'"),
              std::string::npos);
  }
}

TEST(DeviceGraph, Names) {
  EXPECT_EQ(to_string(OpType::GlobalAvgPool), "globalavgpool");
  EXPECT_EQ(to_string(OpType::FullyConnected), "fc");
  EXPECT_EQ(to_string(ActType::HardSigmoid), "hardsigmoid");
  EXPECT_EQ(to_string(Shape{3, 4, 5}), "3x4x5");
}

}  // namespace
}  // namespace dalnas
