// import_onnx on the classic networks people export (torchvision's layer tables), built
// here with the ONNX protobuf API the way torch.onnx exports them (Conv without bias +
// BatchNormalization + Relu / Clip, Flatten + Gemm, chunk as Split, channel shuffle as
// Reshape / Transpose / Reshape, avg_pool2d with count_include_pad as Pad + AveragePool,
// interpolate as Resize with sizes), at opsets 11 to 13. Every network's parameters and
// MACs are computed here independently from layer formulas as the graph is built, and the
// full-size ones are also checked against their published parameter counts (torchvision's
// model cards) and MAC figures.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "device/emulator.h"
#include "onnx/onnx_import.h"
#include "onnx_graph_builder.h"

namespace dalnas {
namespace {

using onnx_test::check;
using onnx_test::Net;

// ---- ResNet (torchvision resnet18 / resnet50) ----------------------------------------------

std::string basic_block(Net& n, const std::string& x, int c, int stride) {
  std::string y = n.conv(x, c, 3, stride);
  y = n.conv(y, c, 3, 1, 1, true, "");
  std::string skip = x;
  if (stride != 1 || n.dims(x).c != c) skip = n.conv(x, c, 1, stride, 1, true, "");
  return n.activation(n.add(y, skip), "relu");
}

std::string bottleneck(Net& n, const std::string& x, int c, int stride) {
  std::string y = n.conv(x, c, 1);
  y = n.conv(y, c, 3, stride);
  y = n.conv(y, 4 * c, 1, 1, 1, true, "");
  std::string skip = x;
  if (stride != 1 || n.dims(x).c != 4 * c) skip = n.conv(x, 4 * c, 1, stride, 1, true, "");
  return n.activation(n.add(y, skip), "relu");
}

std::string resnet(Net& n, const std::vector<int>& blocks, bool deep, int classes = 1000) {
  std::string x = n.conv(n.input(3, 224, 224), 64, 7, 2);
  x = n.pool("MaxPool", x, 3, 2, 1);
  const int widths[4] = {64, 128, 256, 512};
  for (int s = 0; s < 4; ++s) {
    for (int b = 0; b < blocks[static_cast<size_t>(s)]; ++b) {
      const int stride = b == 0 && s > 0 ? 2 : 1;
      x = deep ? bottleneck(n, x, widths[s], stride) : basic_block(n, x, widths[s], stride);
    }
  }
  return n.gemm(n.flatten(n.gap(x)), classes);
}

TEST(OnnxClassic, ResNet18FullSize) {
  Net n(11);
  n.output(resnet(n, {2, 2, 2, 2}, false));
  const DeviceGraph g = check(n);
  EXPECT_EQ(n.published_params(), 11689512);  // torchvision resnet18
  EXPECT_NEAR(static_cast<double>(g.macs()), 1.814e9, 0.002e9);
}

TEST(OnnxClassic, ResNet50FullSizeAtOpset13) {
  Net n(13);
  n.output(resnet(n, {3, 4, 6, 3}, true));
  const DeviceGraph g = check(n);
  EXPECT_EQ(n.published_params(), 25557032);  // torchvision resnet50
  EXPECT_NEAR(static_cast<double>(g.macs()), 4.089e9, 0.01e9);
}

// ---- MobileNet-v2 (torchvision mobilenet_v2, width 1.0) ---------------------------------

TEST(OnnxClassic, MobileNetV2FullSizeAtOpset12) {
  Net n(12);
  std::string x = n.conv(n.input(3, 224, 224), 32, 3, 2, 1, true, "relu6");
  const int table[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                           {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  for (const auto& row : table) {
    for (int i = 0; i < row[2]; ++i) {
      const int cin = n.dims(x).c, hidden = cin * row[0], stride = i == 0 ? row[3] : 1;
      std::string y = x;
      if (row[0] != 1) y = n.conv(y, hidden, 1, 1, 1, true, "relu6");
      y = n.conv(y, hidden, 3, stride, hidden, true, "relu6");
      y = n.conv(y, row[1], 1, 1, 1, true, "");
      x = stride == 1 && cin == row[1] ? n.add(x, y) : y;
    }
  }
  x = n.conv(x, 1280, 1, 1, 1, true, "relu6");
  n.output(n.gemm(n.dropout(n.flatten(n.gap(x))), 1000));
  const DeviceGraph g = check(n);
  EXPECT_EQ(n.published_params(), 3504872);                  // torchvision mobilenet_v2
  EXPECT_NEAR(static_cast<double>(g.macs()), 300.8e6, 3e6);  // "300M multiply-adds"
}

// ---- SqueezeNet 1.1 (ceil_mode max-pooling, Fire modules) -------------------------------

std::string fire(Net& n, const std::string& x, int squeeze, int expand) {
  const std::string s = n.conv(x, squeeze, 1, 1, 1, false);
  return n.concat({n.conv(s, expand, 1, 1, 1, false), n.conv(s, expand, 3, 1, 1, false)});
}

TEST(OnnxClassic, SqueezeNet11FullSizeWithCeilModePooling) {
  Net n(11);
  std::string x = n.conv(n.input(3, 224, 224), 64, 3, 3, 2, 0, 0, 1, false);
  x = n.pool("MaxPool", x, 3, 2, 0, true);
  x = fire(n, fire(n, x, 16, 64), 16, 64);
  x = n.pool("MaxPool", x, 3, 2, 0, true);
  x = fire(n, fire(n, x, 32, 128), 32, 128);
  x = n.pool("MaxPool", x, 3, 2, 0, true);
  x = fire(n, fire(n, fire(n, fire(n, x, 48, 192), 48, 192), 64, 256), 64, 256);
  x = n.conv(n.dropout(x), 1000, 1, 1, 1, false);
  n.output(n.flatten(n.gap(x)));
  const DeviceGraph g = check(n);
  EXPECT_EQ(n.published_params(), 1235496);  // torchvision squeezenet1_1
  // ceil_mode: 111 -> 55 -> 27 -> 13 (floor would give 55, 27, 13 only by luck at 224;
  // the final feature map is 13 x 13 as published).
  EXPECT_EQ(n.dims(x).h, 13);
  EXPECT_EQ(g.nodes[static_cast<size_t>(g.output)].shape, (Shape{1000, 1, 1}));
}

// ---- DenseNet-121 (pre-activation BatchNorm after Concat, transitions) --------------------

TEST(OnnxClassic, DenseNet121FullSizeAtOpset13) {
  Net n(13);
  std::string x = n.conv(n.input(3, 224, 224), 64, 7, 2);
  x = n.pool("MaxPool", x, 3, 2, 1);
  const int blocks[4] = {6, 12, 24, 16};
  for (int b = 0; b < 4; ++b) {
    for (int l = 0; l < blocks[b]; ++l) {
      std::string y = n.conv(n.bn(x), 128, 1, 1, 1, true);       // norm1 relu1 conv1 norm2 relu2
      y = n.conv(y, 32, 3, 3, 1, 1, 1, 1, false, "", 1, false);  // conv2, no bias
      x = n.concat({x, y});
    }
    if (b < 3) {
      x = n.conv(n.bn(x), n.dims(x).c / 2, 1, 1, 1, 0, 0, 1, false, "", 1, false);
      x = n.pool("AveragePool", x, 2, 2, 0);
    }
  }
  x = n.bn(x);
  n.output(n.gemm(n.flatten(n.gap(x)), 1000));
  const DeviceGraph g = check(n);
  EXPECT_EQ(n.published_params(), 7978856);  // torchvision densenet121
  EXPECT_NEAR(static_cast<double>(g.macs()), 2.87e9, 0.03e9);
}

// ---- ShuffleNet-v2 1.0 (Split, channel shuffle) -------------------------------------------

std::string shuffle_unit(Net& n, const std::string& x, int out, int stride) {
  const int branch = out / 2;
  std::string a, b;
  if (stride == 1) {
    auto halves = n.split2(x);
    a = halves.first;
    b = halves.second;
  } else {
    a = n.conv(n.conv(x, n.dims(x).c, 3, 2, n.dims(x).c, true, ""), branch, 1);
    b = x;
  }
  b = n.conv(b, branch, 1);
  b = n.conv(b, branch, 3, stride, branch, true, "");
  b = n.conv(b, branch, 1);
  return n.shuffle(n.concat({a, b}), 2);
}

TEST(OnnxClassic, ShuffleNetV2FullSizeWithSplitAndChannelShuffle) {
  for (int opset : {11, 13}) {
    SCOPED_TRACE("opset " + std::to_string(opset));
    Net n(opset);
    std::string x = n.conv(n.input(3, 224, 224), 24, 3, 2);
    x = n.pool("MaxPool", x, 3, 2, 1);
    const int repeats[3] = {4, 8, 4}, widths[3] = {116, 232, 464};
    for (int s = 0; s < 3; ++s) {
      for (int i = 0; i < repeats[s]; ++i) x = shuffle_unit(n, x, widths[s], i == 0 ? 2 : 1);
    }
    x = n.conv(x, 1024, 1);
    n.output(n.gemm(n.mean_hw(x), 1000));  // x.mean([2, 3])
    const DeviceGraph g = check(n);
    EXPECT_EQ(n.published_params(), 2278604);                // torchvision shufflenet_v2_x1_0
    EXPECT_NEAR(static_cast<double>(g.macs()), 146e6, 3e6);  // "146M FLOPs" (multiply-adds)
    int shuffles = 0, slices = 0;
    for (const Node& node : g.nodes) {
      shuffles += node.op == OpType::Shuffle;
      slices += node.op == OpType::Slice;
    }
    EXPECT_EQ(shuffles, 16);
    EXPECT_EQ(slices, 2 * 13);  // both halves of every stride-1 unit
  }
}

TEST(OnnxClassic, CeilModePoolingPadsTheBottomAndRight) {
  Net n(11);
  n.output(n.pool("MaxPool", n.input(2, 8, 8), 3, 2, 0, true));  // floor 3, ceil 4
  const DeviceGraph g = n.import();
  EXPECT_EQ(g.nodes[1].pad_end, 1);
  EXPECT_EQ(g.nodes[1].shape, (Shape{2, 4, 4}));
}

TEST(OnnxClassic, ChannelShuffleAndSliceMoveTheRightChannels) {
  Net n(13);
  const std::string x = n.input(6, 2, 2);
  n.output(n.slice(n.shuffle(x, 2), 1, 4));
  const DeviceGraph g = n.import();
  ASSERT_EQ(g.nodes.size(), 4u);
  EXPECT_EQ(g.nodes[1].op, OpType::Shuffle);
  EXPECT_EQ(g.nodes[1].groups, 2);
  EXPECT_EQ(g.nodes[2].op, OpType::Slice);
  EXPECT_EQ(g.nodes[2].c_begin, 1);
  EXPECT_EQ(g.nodes[2].shape, (Shape{3, 2, 2}));
  // The emulator moves the channels as torch does: channels 0..5 -> 0, 3, 1, 4, 2, 5,
  // then 1..4 of that: 3, 1, 4.
  std::vector<float> in(24);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i / 4);
  const std::vector<float> out = Emulator(g, EmulatorConfig{}).run(in.data(), g.input);
  ASSERT_EQ(out.size(), 12u);
  EXPECT_EQ(out[0], 3.0f);
  EXPECT_EQ(out[4], 1.0f);
  EXPECT_EQ(out[8], 4.0f);
}

// ---- an Inception-v3 block (1×7 / 7×1 convolutions, Pad + AveragePool) -------------------

TEST(OnnxClassic, InceptionV3BlockCWithRectangularKernelsAndCountIncludePad) {
  Net n(11);
  const std::string x = n.input(768, 17, 17);
  const int c7 = 128;
  const std::string b1 = n.conv(x, 192, 1);
  std::string b7 = n.conv(x, c7, 1);
  b7 = n.conv(b7, c7, 1, 7, 1, 0, 3);
  b7 = n.conv(b7, 192, 7, 1, 1, 3, 0);
  std::string bd = n.conv(x, c7, 1);
  bd = n.conv(bd, c7, 7, 1, 1, 3, 0);
  bd = n.conv(bd, c7, 1, 7, 1, 0, 3);
  bd = n.conv(bd, c7, 7, 1, 1, 3, 0);
  bd = n.conv(bd, 192, 1, 7, 1, 0, 3);
  const std::string bp = n.conv(n.pad_avgpool(x, 3, 1, 1), 192, 1);
  n.output(n.concat({b1, b7, bd, bp}));
  const DeviceGraph g = check(n);
  EXPECT_EQ(g.nodes[static_cast<size_t>(g.output)].shape, (Shape{768, 17, 17}));
  bool rect = false, counted = false;
  for (const Node& node : g.nodes) {
    if (node.op == OpType::Conv && node.kernel == 1 && node.kw() == 7 && node.pw() == 3) {
      rect = true;
    }
    if (node.op == OpType::AvgPool && node.count_pad && node.pad == 1) counted = true;
  }
  EXPECT_TRUE(rect) << g.summary();
  EXPECT_TRUE(counted) << g.summary();
}

// ---- segmentation heads: DeepLabv3's ASPP, LR-ASPP ---------------------------------------

TEST(OnnxClassic, DeepLabV3AsppWithDilationsAndResize) {
  Net n(13);
  const std::string x = n.input(2048, 28, 28);
  std::vector<std::string> branches = {n.conv(x, 256, 1)};
  for (int rate : {12, 24, 36}) {
    branches.push_back(n.conv(x, 256, 3, 3, 1, rate, rate, 1, true, "relu", rate));
  }
  const std::string pooled = n.conv(n.gap(x), 256, 1);
  branches.push_back(n.resize_to(pooled, 28, 28));
  std::string y = n.conv(n.concat(branches), 256, 1);
  y = n.conv(y, 256, 3);
  y = n.conv(y, 21, 1, 1, 1, false, "");
  n.output(n.resize_to(y, 224, 224));
  const DeviceGraph g = check(n);
  EXPECT_EQ(g.nodes[static_cast<size_t>(g.output)].shape, (Shape{21, 224, 224}));
  int dilated = 0;
  for (const Node& node : g.nodes) dilated += node.op == OpType::Conv && node.dilation > 1;
  EXPECT_EQ(dilated, 3);
}

TEST(OnnxClassic, LrAsppHeadWithSigmoidGateAndResize) {
  Net n(12);
  const std::string low = n.input(40, 28, 28);
  const std::string high = n.conv(low, 960, 3, 2, 1, true, "");  // stands for the backbone
  const std::string cbr = n.conv(high, 128, 1);
  const std::string gate = n.conv(n.gap(high), 128, 1, 1, 1, false, "sigmoid");
  std::string y = n.resize_to(n.mul(cbr, gate), 28, 28);
  y = n.add(n.conv(low, 21, 1, 1, 1, false, ""), n.conv(y, 21, 1, 1, 1, false, ""));
  n.output(n.resize_to(y, 224, 224));
  const DeviceGraph g = check(n);
  EXPECT_EQ(g.nodes[static_cast<size_t>(g.output)].shape, (Shape{21, 224, 224}));
}

// ---- fully connected networks: rank-2 input, BatchNorm1d after Gemm ----------------------

TEST(OnnxClassic, FullyConnectedNetworkOnARank2InputWithBatchNorm1d) {
  Net n(11);
  std::string x = n.input_flat(784);
  x = n.gemm(x, 256, true, "relu");
  x = n.gemm(n.identity(x), 256, true, "relu");
  n.output(n.gemm(x, 10));
  const DeviceGraph g = check(n);
  EXPECT_EQ(g.input, (Shape{784, 1, 1}));
  int fcs = 0;
  for (const Node& node : g.nodes) fcs += node.op == OpType::FullyConnected;
  EXPECT_EQ(fcs, 3);
  EXPECT_EQ(g.nodes.size(), 5u) << "BatchNorm1d folded, no nodes of its own\n" << g.summary();
}

// ---- what cannot be costed ------------------------------------------------------------------

TEST(OnnxClassic, AnOpWithoutACostIsAnErrorNamingTheNode) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  auto* in = g->add_input();
  in->set_name("x");
  auto* t = in->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : {1, 4, 8, 8}) t->mutable_shape()->add_dim()->set_dim_value(d);
  auto* node = g->add_node();
  node->set_op_type("NonMaxSuppression");
  node->set_name("nms_3");
  node->add_input("x");
  node->add_output("y");
  g->add_output()->set_name("y");
  try {
    import_onnx_bytes(m.SerializeAsString(), "det.onnx");
    ADD_FAILURE() << "imported an op it cannot cost";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("det.onnx: node 'nms_3' (NonMaxSuppression)"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace dalnas
