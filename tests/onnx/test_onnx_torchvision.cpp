// import_onnx on torchvision's newer classification and segmentation networks, full size,
// built with the ONNX protobuf API the way torch.onnx exports them at opsets 11 to 13 (the
// builder is tests/onnx/onnx_graph_builder.h): MobileNet-v3 (squeeze-and-excitation,
// hardswish as x * HardSigmoid(x)), EfficientNet-B0 (SiLU as x * Sigmoid(x)), Inception-v3,
// and FCN / DeepLabv3 on a dilated ResNet-50 (dilated convolutions, ASPP, Resize).
//
// Each test asserts that the importer's parameters and MACs equal the builder's, which are
// computed from layer formulas while the graph is built, and that the builder's count with
// BatchNorm unfolded equals torchvision's published parameter count (docs "num_params").
//
// MACs: the importer (DeviceGraph::macs) counts one multiply-accumulate per weight per
// output pixel of every convolution (depthwise and dilated ones included) and fully
// connected layer, and nothing for additions, the squeeze-and-excitation and SiLU
// multiplications, activations, pooling or resizing. torchvision's "GFLOPS" (really
// multiply-adds) are rounded to two decimals and may count some of those, so the
// classification figures are checked within 3 % (MobileNet-v3 small's "0.06" within its
// rounding); the segmentation figures, given to five digits, agree with the convolutions'
// MACs to 0.01 % once the aux classifier they include is added, and are checked within 0.1 %.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cost/cost_model.h"
#include "onnx/onnx_import.h"
#include "onnx_graph_builder.h"

namespace dalnas {
namespace {

using onnx_test::check;
using onnx_test::Net;

// |published - ours| <= tol * published.
void expect_close(double ours, double published, double tol, const char* what) {
  EXPECT_LE(std::fabs(ours - published), tol * published)
      << what << ": " << ours << " against the published " << published;
}

int count_op(const DeviceGraph& g, OpType op) {
  int k = 0;
  for (const Node& node : g.nodes) k += node.op == op;
  return k;
}

// The analytic cost model (its Myriad X defaults) costs every node of an imported graph.
void expect_costed(const DeviceGraph& g) {
  const CostEstimate e = estimate(g, CostParams{});
  EXPECT_TRUE(std::isfinite(e.latency_ms) && e.latency_ms > 0.0) << e.latency_ms;
  ASSERT_EQ(e.layers.size(), g.nodes.size());
  for (const LayerCost& l : e.layers) {
    EXPECT_TRUE(std::isfinite(l.us) && l.us >= 0.0) << l.name << " " << l.us;
  }
}

// torchvision's _make_divisible(v, 8).
int make_divisible(double v, int d = 8) {
  int n = std::max(d, static_cast<int>(v + d / 2.0) / d * d);
  if (n < 0.9 * v) n += d;
  return n;
}

// torchvision's SqueezeExcitation: AdaptiveAvgPool2d(1), Conv 1×1 (bias) + act, Conv 1×1
// (bias) + gate, `scale * input`.
std::string squeeze_excite(Net& n, const std::string& x, int squeeze, const std::string& act,
                           const std::string& gate) {
  std::string s = n.conv(n.gap(x), squeeze, 1, 1, 1, false, act);
  s = n.conv(s, n.dims(x).c, 1, 1, 1, false, gate);
  return n.mul(s, x);
}

// ---- MobileNet-v3 (torchvision mobilenet_v3_large / _small) -------------------------------

struct V3Block {
  int k, expanded, out;
  bool se;
  const char* act;  // "relu" or "hardswish"
  int stride;
};

std::string mobilenet_v3(Net& n, const std::vector<V3Block>& blocks, int last_channel) {
  std::string x = n.conv(n.input(3, 224, 224), 16, 3, 2, 1, true, "hardswish");
  for (const V3Block& b : blocks) {
    const int cin = n.dims(x).c;
    std::string y = x;
    if (b.expanded != cin) y = n.conv(y, b.expanded, 1, 1, 1, true, b.act);
    y = n.conv(y, b.expanded, b.k, b.stride, b.expanded, true, b.act);
    if (b.se) y = squeeze_excite(n, y, make_divisible(b.expanded / 4), "relu", "hardsigmoid");
    y = n.conv(y, b.out, 1, 1, 1, true, "");
    x = b.stride == 1 && cin == b.out ? n.add(y, x) : y;
  }
  x = n.conv(x, 6 * n.dims(x).c, 1, 1, 1, true, "hardswish");
  x = n.gemm(n.flatten(n.gap(x)), last_channel, false, "hardswish");
  return n.gemm(n.dropout(x), 1000);
}

TEST(OnnxTorchvision, MobileNetV3LargeFullSizeWithSqueezeExciteAndHardswish) {
  Net n(12);
  n.name("mobilenet_v3_large");
  const char *re = "relu", *hs = "hardswish";
  n.output(mobilenet_v3(n,
                        {{3, 16, 16, false, re, 1},
                         {3, 64, 24, false, re, 2},
                         {3, 72, 24, false, re, 1},
                         {5, 72, 40, true, re, 2},
                         {5, 120, 40, true, re, 1},
                         {5, 120, 40, true, re, 1},
                         {3, 240, 80, false, hs, 2},
                         {3, 200, 80, false, hs, 1},
                         {3, 184, 80, false, hs, 1},
                         {3, 184, 80, false, hs, 1},
                         {3, 480, 112, true, hs, 1},
                         {3, 672, 112, true, hs, 1},
                         {5, 672, 160, true, hs, 2},
                         {5, 960, 160, true, hs, 1},
                         {5, 960, 160, true, hs, 1}},
                        1280));
  const DeviceGraph g = check(n);
  expect_costed(g);
  EXPECT_EQ(n.published_params(), 5483032);  // torchvision mobilenet_v3_large
  expect_close(static_cast<double>(g.macs()), 0.22e9, 0.03, "MACs");  // "0.22 GFLOPS"
  EXPECT_EQ(g.nodes[static_cast<size_t>(g.output)].shape, (Shape{1000, 1, 1}));
  // Every x * HardSigmoid(x) is one HardSwish, fused into its convolution or Linear.
  int hardswish = 0, hardsigmoid = 0;
  for (const Node& node : g.nodes) {
    hardswish += node.act == ActType::HardSwish;
    hardsigmoid += node.act == ActType::HardSigmoid;
  }
  EXPECT_EQ(hardswish, 1 + 2 * 9 + 1 + 1);  // stem, 9 blocks' expand and depthwise, last, fc
  EXPECT_EQ(hardsigmoid, 8);                // the SE gates
  EXPECT_EQ(count_op(g, OpType::Mul), 8);
  EXPECT_EQ(count_op(g, OpType::Activation), 0) << g.summary();
}

TEST(OnnxTorchvision, MobileNetV3SmallFullSizeWithConstantNodes) {
  Net n(11);
  n.name("mobilenet_v3_small");
  n.constants_as_nodes(true);
  const char *re = "relu", *hs = "hardswish";
  n.output(mobilenet_v3(n,
                        {{3, 16, 16, true, re, 2},
                         {3, 72, 24, false, re, 2},
                         {3, 88, 24, false, re, 1},
                         {5, 96, 40, true, hs, 2},
                         {5, 240, 40, true, hs, 1},
                         {5, 240, 40, true, hs, 1},
                         {5, 120, 48, true, hs, 1},
                         {5, 144, 48, true, hs, 1},
                         {5, 288, 96, true, hs, 2},
                         {5, 576, 96, true, hs, 1},
                         {5, 576, 96, true, hs, 1}},
                        1024));
  const DeviceGraph g = check(n);
  expect_costed(g);
  EXPECT_EQ(n.published_params(), 2542856);  // torchvision mobilenet_v3_small
  // torchvision: "0.06 GFLOPS", rounded to 0.01 G (0.057 G here): within that rounding.
  expect_close(static_cast<double>(g.macs()), 0.06e9, 0.005 / 0.06, "MACs");
  EXPECT_EQ(count_op(g, OpType::Mul), 9);
}

// ---- EfficientNet-B0 (torchvision efficientnet_b0) -----------------------------------------

TEST(OnnxTorchvision, EfficientNetB0FullSizeWithSiluAndSqueezeExcite) {
  Net n(13);
  n.name("efficientnet_b0");
  std::string x = n.conv(n.input(3, 224, 224), 32, 3, 2, 1, true, "silu");
  // expand ratio, kernel, stride, output channels, layers
  const int stages[7][5] = {{1, 3, 1, 16, 1}, {6, 3, 2, 24, 2},  {6, 5, 2, 40, 2},
                            {6, 3, 2, 80, 3}, {6, 5, 1, 112, 3}, {6, 5, 2, 192, 4},
                            {6, 3, 1, 320, 1}};
  int blocks = 0;
  for (const auto& s : stages) {
    for (int i = 0; i < s[4]; ++i, ++blocks) {
      const int cin = n.dims(x).c, stride = i == 0 ? s[2] : 1;
      const int expanded = make_divisible(cin * s[0]);
      std::string y = x;
      if (expanded != cin) y = n.conv(y, expanded, 1, 1, 1, true, "silu");
      y = n.conv(y, expanded, s[1], stride, expanded, true, "silu");
      y = squeeze_excite(n, y, std::max(1, cin / 4), "silu", "sigmoid");
      y = n.conv(y, s[3], 1, 1, 1, true, "");
      // StochasticDepth is the identity at inference.
      x = stride == 1 && cin == s[3] ? n.add(y, x) : y;
    }
  }
  x = n.conv(x, 4 * n.dims(x).c, 1, 1, 1, true, "silu");
  n.output(n.gemm(n.dropout(n.flatten(n.gap(x))), 1000));
  const DeviceGraph g = check(n);
  expect_costed(g);
  EXPECT_EQ(n.published_params(), 5288548);                           // torchvision
  expect_close(static_cast<double>(g.macs()), 0.39e9, 0.03, "MACs");  // "0.39 GFLOPS"
  // Every x * Sigmoid(x) is one Swish (SiLU), fused into its convolution, as OpenVINO's
  // Model Optimizer fuses it into one Swish stage; the SE gate's Sigmoid is fused into its
  // convolution, and the SE's product stays a Mul.
  const int silus = 1 + 2 * blocks - 1 + blocks + 1;  // the first block does not expand
  int swish = 0, sigmoid = 0;
  for (const Node& node : g.nodes) {
    swish += node.act == ActType::Swish;
    sigmoid += node.act == ActType::Sigmoid;
  }
  EXPECT_EQ(swish, silus);
  EXPECT_EQ(sigmoid, blocks);
  EXPECT_EQ(count_op(g, OpType::Activation), 0);
  EXPECT_EQ(count_op(g, OpType::Mul), blocks);
}

// ---- Inception-v3 (torchvision inception_v3, eval: no AuxLogits, transform_input False) ----

// BasicConv2d: Conv (no bias) + BatchNorm (eps 0.001) + ReLU, kernel kh × kw.
std::string basic(Net& n, const std::string& x, int c, int kh, int kw, int stride = 1, int ph = 0,
                  int pw = 0) {
  return n.conv(x, c, kh, kw, stride, ph, pw);
}

std::string inception_a(Net& n, const std::string& x, int pool_features) {
  const std::string b1 = basic(n, x, 64, 1, 1);
  const std::string b5 = basic(n, basic(n, x, 48, 1, 1), 64, 5, 5, 1, 2, 2);
  std::string bd = basic(n, x, 64, 1, 1);
  bd = basic(n, basic(n, bd, 96, 3, 3, 1, 1, 1), 96, 3, 3, 1, 1, 1);
  const std::string bp = basic(n, n.pad_avgpool(x, 3, 1, 1), pool_features, 1, 1);
  return n.concat({b1, b5, bd, bp});
}

std::string inception_b(Net& n, const std::string& x) {
  const std::string b3 = basic(n, x, 384, 3, 3, 2);
  std::string bd = basic(n, x, 64, 1, 1);
  bd = basic(n, basic(n, bd, 96, 3, 3, 1, 1, 1), 96, 3, 3, 2);
  return n.concat({b3, bd, n.pool("MaxPool", x, 3, 2, 0)});
}

std::string inception_c(Net& n, const std::string& x, int c7) {
  const std::string b1 = basic(n, x, 192, 1, 1);
  std::string b7 = basic(n, x, c7, 1, 1);
  b7 = basic(n, b7, c7, 1, 7, 1, 0, 3);
  b7 = basic(n, b7, 192, 7, 1, 1, 3, 0);
  std::string bd = basic(n, x, c7, 1, 1);
  bd = basic(n, bd, c7, 7, 1, 1, 3, 0);
  bd = basic(n, bd, c7, 1, 7, 1, 0, 3);
  bd = basic(n, bd, c7, 7, 1, 1, 3, 0);
  bd = basic(n, bd, 192, 1, 7, 1, 0, 3);
  const std::string bp = basic(n, n.pad_avgpool(x, 3, 1, 1), 192, 1, 1);
  return n.concat({b1, b7, bd, bp});
}

std::string inception_d(Net& n, const std::string& x) {
  const std::string b3 = basic(n, basic(n, x, 192, 1, 1), 320, 3, 3, 2);
  std::string b7 = basic(n, x, 192, 1, 1);
  b7 = basic(n, b7, 192, 1, 7, 1, 0, 3);
  b7 = basic(n, b7, 192, 7, 1, 1, 3, 0);
  b7 = basic(n, b7, 192, 3, 3, 2);
  return n.concat({b3, b7, n.pool("MaxPool", x, 3, 2, 0)});
}

std::string inception_e(Net& n, const std::string& x) {
  const std::string b1 = basic(n, x, 320, 1, 1);
  const std::string b3 = basic(n, x, 384, 1, 1);
  const std::string b3cat =
      n.concat({basic(n, b3, 384, 1, 3, 1, 0, 1), basic(n, b3, 384, 3, 1, 1, 1, 0)});
  const std::string bd = basic(n, basic(n, x, 448, 1, 1), 384, 3, 3, 1, 1, 1);
  const std::string bdcat =
      n.concat({basic(n, bd, 384, 1, 3, 1, 0, 1), basic(n, bd, 384, 3, 1, 1, 1, 0)});
  const std::string bp = basic(n, n.pad_avgpool(x, 3, 1, 1), 192, 1, 1);
  return n.concat({b1, b3cat, bdcat, bp});
}

TEST(OnnxTorchvision, InceptionV3FullSizeWithoutAuxLogits) {
  Net n(11);
  n.name("inception_v3");
  std::string x = basic(n, n.input(3, 299, 299), 32, 3, 3, 2);  // Conv2d_1a_3x3
  x = basic(n, x, 32, 3, 3);                                    // Conv2d_2a_3x3
  x = basic(n, x, 64, 3, 3, 1, 1, 1);                           // Conv2d_2b_3x3
  x = n.pool("MaxPool", x, 3, 2, 0);
  x = basic(n, x, 80, 1, 1);   // Conv2d_3b_1x1
  x = basic(n, x, 192, 3, 3);  // Conv2d_4a_3x3
  x = n.pool("MaxPool", x, 3, 2, 0);
  EXPECT_EQ(n.dims(x).h, 35);
  x = inception_a(n, inception_a(n, inception_a(n, x, 32), 64), 64);  // Mixed_5b..5d
  x = inception_b(n, x);                                              // Mixed_6a
  for (int c7 : {128, 160, 160, 192}) x = inception_c(n, x, c7);      // Mixed_6b..6e
  EXPECT_EQ(n.dims(x).c, 768);
  EXPECT_EQ(n.dims(x).h, 17);
  x = inception_d(n, x);                  // Mixed_7a
  x = inception_e(n, inception_e(n, x));  // Mixed_7b, 7c
  EXPECT_EQ(n.dims(x).c, 2048);
  EXPECT_EQ(n.dims(x).h, 8);
  n.output(n.gemm(n.flatten(n.dropout(n.gap(x))), 1000));
  const DeviceGraph g = check(n);
  expect_costed(g);
  // torchvision publishes 27,161,264 parameters, AuxLogits included; this graph is the
  // exported (eval) one without them. AuxLogits: Conv 768->128 1x1 + BN (98,304 + 256),
  // Conv 128->768 5x5 + BN (2,457,600 + 1,536), Linear 768->1000 (769,000): 3,326,696.
  const int64_t aux = 98304 + 256 + 2457600 + 1536 + 769000;
  EXPECT_EQ(aux, 3326696);
  EXPECT_EQ(n.published_params(), 27161264 - aux);                    // 23,834,568
  expect_close(static_cast<double>(g.macs()), 5.71e9, 0.03, "MACs");  // "5.71 GFLOPS"
  EXPECT_EQ(count_op(g, OpType::AvgPool), 3 + 4 + 2);
}

// ---- segmentation on a dilated ResNet-50 (replace_stride_with_dilation [F, T, T]) ---------

// torchvision's Bottleneck with `dilation` on its 3×3 convolution (padding = dilation).
std::string bottleneck(Net& n, const std::string& x, int c, int stride, int dilation) {
  std::string y = n.conv(x, c, 1);
  y = n.conv(y, c, 3, 3, stride, dilation, dilation, 1, true, "relu", dilation);
  y = n.conv(y, 4 * c, 1, 1, 1, true, "");
  std::string skip = x;
  if (stride != 1 || n.dims(x).c != 4 * c) skip = n.conv(x, 4 * c, 1, stride, 1, true, "");
  return n.activation(n.add(y, skip), "relu");
}

// ResNet-50 up to layer4 (IntermediateLayerGetter's "out"), output stride 8. In a layer
// whose stride becomes dilation, the first block keeps the previous dilation.
std::string dilated_resnet50(Net& n, int size) {
  std::string x = n.conv(n.input(3, size, size), 64, 7, 2);
  x = n.pool("MaxPool", x, 3, 2, 1);
  const int blocks[4] = {3, 4, 6, 3}, widths[4] = {64, 128, 256, 512};
  const bool dilate[4] = {false, false, true, true};
  int dilation = 1;
  for (int s = 0; s < 4; ++s) {
    int stride = s > 0 ? 2 : 1;
    const int previous = dilation;
    if (dilate[s]) {
      dilation *= stride;
      stride = 1;
    }
    for (int b = 0; b < blocks[s]; ++b) {
      x = bottleneck(n, x, widths[s], b == 0 ? stride : 1, b == 0 ? previous : dilation);
    }
  }
  return x;
}

// The ResNet-50 backbone's parameters (torchvision resnet50's 25,557,032 less its fc,
// 2048 x 1000 + 1000): dilation changes no weight.
constexpr int64_t kResNet50Backbone = 25557032 - (2048 * 1000 + 1000);

TEST(OnnxTorchvision, FcnResNet50FullSizeWithDilatedBackboneAndResize) {
  Net n(11);
  n.name("fcn_resnet50");
  const int size = 520;
  std::string x = dilated_resnet50(n, size);
  EXPECT_EQ(n.dims(x).h, 65);  // output stride 8
  // FCNHead(2048, 21): Conv 3x3 2048->512 (no bias) + BN + ReLU, Dropout, Conv 1x1 -> 21.
  x = n.conv(n.dropout(n.conv(x, 512, 3)), 21, 1, 1, 1, false, "");
  n.output(n.resize_to(x, size, size));
  const DeviceGraph g = check(n);
  expect_costed(g);
  // torchvision publishes 35,322,218 parameters, the aux classifier included; this is the
  // model without it (aux_loss off). Backbone 23,508,032 + FCNHead(2048) 9,437,184 + 1,024 +
  // 10,773 = 32,957,013; the aux FCNHead(1024): 2,359,296 + 512 + 5,397 = 2,365,205.
  const int64_t head = 2048 * 512 * 9 + 2 * 512 + 512 * 21 + 21;
  const int64_t aux = 1024 * 256 * 9 + 2 * 256 + 256 * 21 + 21;
  EXPECT_EQ(kResNet50Backbone + head, 32957013);
  EXPECT_EQ(kResNet50Backbone + head + aux, 35322218);
  EXPECT_EQ(n.published_params(), 32957013);
  // torchvision's 152.72 GFLOPS at 520 x 520 are counted with the aux classifier (its
  // FCNHead(1024) on 65 x 65: (1024·256·9 + 256·21)·65² = 9.99 G MACs); this graph's
  // 142.73 G plus those give 152.717 G.
  const double aux_macs = (1024.0 * 256 * 9 + 256.0 * 21) * 65 * 65;
  expect_close(static_cast<double>(g.macs()) + aux_macs, 152.72e9, 0.001, "MACs");
  EXPECT_EQ(g.nodes[static_cast<size_t>(g.output)].shape, (Shape{21, size, size}));
  int dilated = 0;
  for (const Node& node : g.nodes) dilated += node.op == OpType::Conv && node.dilation > 1;
  EXPECT_EQ(dilated, 5 + 3);  // layer3's blocks 2-6 (dilation 2), layer4's three
}

TEST(OnnxTorchvision, DeepLabV3ResNet50FullSizeWithAsppAndConstantNodes) {
  Net n(13);
  n.name("deeplabv3_resnet50");
  n.constants_as_nodes(true);
  const int size = 520;
  const std::string x = dilated_resnet50(n, size);
  const int hw = n.dims(x).h;
  // DeepLabHead: ASPP(2048, [12, 24, 36]) (1x1, three dilated 3x3, image pooling, each
  // Conv without bias + BN + ReLU; project 1x1 1280->256 + BN + ReLU + Dropout), Conv 3x3
  // 256->256 + BN + ReLU, Conv 1x1 -> 21.
  std::vector<std::string> branches = {n.conv(x, 256, 1)};
  for (int rate : {12, 24, 36}) {
    branches.push_back(n.conv(x, 256, 3, 3, 1, rate, rate, 1, true, "relu", rate));
  }
  branches.push_back(n.resize_to(n.conv(n.gap(x), 256, 1), hw, hw));
  std::string y = n.dropout(n.conv(n.concat(branches), 256, 1));
  y = n.conv(n.conv(y, 256, 3), 21, 1, 1, 1, false, "");
  n.output(n.resize_to(y, size, size));
  const DeviceGraph g = check(n);
  expect_costed(g);
  // torchvision publishes 42,004,074 parameters with the aux classifier (FCNHead(1024),
  // 2,365,205 as above); without it 39,638,869 (by layers: ASPP 524,800 + 3 · 4,719,104 +
  // 524,800 + 328,192, then 590,336 + 5,397: 16,130,837 on the 23,508,032 backbone; the
  // 39,633,986 sometimes quoted does not follow from the layers).
  const int64_t aux = 1024 * 256 * 9 + 2 * 256 + 256 * 21 + 21;
  const int64_t head = (2048 * 256 + 512) + 3 * (2048 * 256 * 9 + 512) + (2048 * 256 + 512) +
                       (1280 * 256 + 512) + (256 * 256 * 9 + 512) + (256 * 21 + 21);
  EXPECT_EQ(kResNet50Backbone + head + aux, 42004074);
  EXPECT_EQ(n.published_params(), 42004074 - aux);  // 39,638,869
  // torchvision: 178.72 GFLOPS at 520 x 520, counted with the aux classifier (168.73 G
  // here + 9.99 G = 178.722 G).
  const double aux_macs = (1024.0 * 256 * 9 + 256.0 * 21) * 65 * 65;
  expect_close(static_cast<double>(g.macs()) + aux_macs, 178.72e9, 0.001, "MACs");
  EXPECT_EQ(g.nodes[static_cast<size_t>(g.output)].shape, (Shape{21, size, size}));
  int resizes = 0;
  for (const Node& node : g.nodes) {
    if (node.op != OpType::Resize) continue;
    ++resizes;
    EXPECT_TRUE(node.scale == 65.0f || node.scale == 8.0f) << node.scale;
  }
  EXPECT_EQ(resizes, 2);
}

// The same head's final upsampling written with scale_factor (Resize with scales).
TEST(OnnxTorchvision, SegmentationHeadResizeWithScales) {
  Net n(11);
  const std::string x = n.input(256, 65, 65);
  n.output(n.resize_by(n.conv(x, 21, 1, 1, 1, false, ""), 8.0f));
  const DeviceGraph g = check(n);
  expect_costed(g);
  EXPECT_EQ(g.nodes[static_cast<size_t>(g.output)].shape, (Shape{21, 520, 520}));
}

}  // namespace
}  // namespace dalnas
