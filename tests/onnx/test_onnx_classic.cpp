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

namespace dalnas {
namespace {

struct Dims {
  int c = 0, h = 0, w = 0;
};

// Builds an ONNX graph and keeps, independently of the importer, each value's shape and
// the expected parameter count (BatchNorm folded where it follows a convolution or a
// fully connected layer: its scale and shift become that layer's bias) and MACs.
class Net {
 public:
  explicit Net(int opset) {
    m_.set_ir_version(7);
    auto* o = m_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    opset_ = opset;
    g_ = m_.mutable_graph();
    g_->set_name("classic");
  }

  std::string input(int c, int h, int w) {
    auto* v = g_->add_input();
    v->set_name("input");
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : {1, c, h, w}) t->mutable_shape()->add_dim()->set_dim_value(d);
    dims_["input"] = {c, h, w};
    return "input";
  }
  // A rank-2 input [1, K].
  std::string input_flat(int k) {
    auto* v = g_->add_input();
    v->set_name("input");
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : {1, k}) t->mutable_shape()->add_dim()->set_dim_value(d);
    dims_["input"] = {k, 1, 1};
    return "input";
  }
  void output(const std::string& x) { g_->add_output()->set_name(x); }

  // Conv (no bias when bn) [+ BatchNormalization] [+ act: "relu", "relu6", ""].
  std::string conv(const std::string& x, int cout, int kh, int kw, int stride, int ph, int pw,
                   int groups = 1, bool bn = true, const std::string& act = "relu",
                   int dilation = 1, bool bias = true) {
    const Dims in = dims_.at(x);
    const int oh = (in.h + 2 * ph - dilation * (kh - 1) - 1) / stride + 1;
    const int ow = (in.w + 2 * pw - dilation * (kw - 1) - 1) / stride + 1;
    const int64_t weights = int64_t(cout) * (in.c / groups) * kh * kw;
    const bool has_bias = bn || bias;  // a folded BatchNorm leaves a bias
    params_ += weights + (has_bias ? cout : 0);
    published_extra_ += bn ? cout : 0;  // BatchNorm: scale and shift instead of a bias
    macs_ += weights * oh * ow;
    const std::string w = init(weights, {cout, in.c / groups, kh, kw});
    std::vector<std::string> ins = {x, w};
    if (!bn && bias) ins.push_back(init(cout, {cout}));
    const std::string y = fresh("conv");
    auto* n = node("Conv", ins, {y});
    ints(n, "kernel_shape", {kh, kw});
    ints(n, "strides", {stride, stride});
    ints(n, "pads", {ph, pw, ph, pw});
    if (dilation != 1) ints(n, "dilations", {dilation, dilation});
    if (groups != 1) integer(n, "group", groups);
    dims_[y] = {cout, oh, ow};
    std::string out = y;
    if (bn) out = batch_norm_node(out, cout);
    return activation(out, act);
  }
  std::string conv(const std::string& x, int cout, int k, int stride = 1, int groups = 1,
                   bool bn = true, const std::string& act = "relu") {
    return conv(x, cout, k, k, stride, k / 2, k / 2, groups, bn, act);
  }
  // BatchNormalization (+ act) on a value no convolution produced (DenseNet's
  // pre-activation): a node of its own, with C scales and C shifts.
  std::string bn(const std::string& x, const std::string& act = "relu") {
    const Dims d = dims_.at(x);
    const int c = d.c;
    params_ += 2 * c;
    macs_ += int64_t(c) * d.h * d.w;  // a 1×1 depthwise scale and shift on the device
    return activation(batch_norm_node(x, c), act);
  }
  std::string activation(const std::string& x, const std::string& act) {
    if (act.empty()) return x;
    const std::string y = fresh(act);
    if (act == "relu") {
      node("Relu", {x}, {y});
    } else if (act == "relu6") {
      node("Clip", {x, scalar(0.0f), scalar(6.0f)}, {y});
    } else if (act == "sigmoid") {
      node("Sigmoid", {x}, {y});
    } else if (act == "hardsigmoid") {
      auto* n = node("HardSigmoid", {x}, {y});
      flt(n, "alpha", 1.0f / 6.0f);
    } else {
      ADD_FAILURE() << "activation " << act;
    }
    dims_[y] = dims_.at(x);
    return y;
  }
  std::string pool(const std::string& op, const std::string& x, int k, int s, int p,
                   bool ceil = false) {
    const Dims in = dims_.at(x);
    auto size = [&](int len) {
      const int span = len + 2 * p - k;
      int out = (ceil ? (span + s - 1) / s : span / s) + 1;
      if (ceil && (out - 1) * s >= len + p) --out;
      return out;
    };
    const std::string y = fresh(op);
    auto* n = node(op, {x}, {y});
    ints(n, "kernel_shape", {k, k});
    ints(n, "strides", {s, s});
    if (p > 0) ints(n, "pads", {p, p, p, p});
    if (ceil) integer(n, "ceil_mode", 1);
    dims_[y] = {in.c, size(in.h), size(in.w)};
    return y;
  }
  // avg_pool2d(k, s, p) with count_include_pad = True as torch exports it: Pad + AveragePool.
  std::string pad_avgpool(const std::string& x, int k, int s, int p) {
    const Dims in = dims_.at(x);
    const std::string padded = fresh("pad");
    if (opset_ >= 11) {
      node("Pad", {x, i64s({0, 0, p, p, 0, 0, p, p})}, {padded});
    }
    dims_[padded] = {in.c, in.h + 2 * p, in.w + 2 * p};
    return pool("AveragePool", padded, k, s, 0);
  }
  std::string gap(const std::string& x) {
    const std::string y = fresh("gap");
    node("GlobalAveragePool", {x}, {y});
    dims_[y] = {dims_.at(x).c, 1, 1};
    return y;
  }
  // x.mean([2, 3]): ReduceMean without keepdims, [1, C].
  std::string mean_hw(const std::string& x) {
    const std::string y = fresh("mean");
    auto* n = node("ReduceMean", {x}, {y});
    ints(n, "axes", {2, 3});
    integer(n, "keepdims", 0);
    dims_[y] = {dims_.at(x).c, 1, 1};
    return y;
  }
  std::string flatten(const std::string& x) {
    const Dims in = dims_.at(x);
    const std::string y = fresh("flat");
    integer(node("Flatten", {x}, {y}), "axis", 1);
    dims_[y] = {in.c * in.h * in.w, 1, 1};
    return y;
  }
  // Gemm (transB) with bias [+ BatchNorm1d] [+ act].
  std::string gemm(const std::string& x, int out, bool bn = false, const std::string& act = "") {
    const int k = dims_.at(x).c;
    params_ += int64_t(out) * k + out;
    published_extra_ += bn ? out : 0;  // a BatchNorm1d folded into the bias
    macs_ += int64_t(out) * k;
    const std::string y = fresh("gemm");
    integer(node("Gemm", {x, init(int64_t(out) * k, {out, k}), init(out, {out})}, {y}), "transB",
            1);
    dims_[y] = {out, 1, 1};
    std::string o = y;
    if (bn) o = batch_norm_node(o, out);
    return activation(o, act);
  }
  std::string add(const std::string& a, const std::string& b) {
    const std::string y = fresh("add");
    node("Add", {a, b}, {y});
    dims_[y] = dims_.at(a);
    return y;
  }
  std::string mul(const std::string& a, const std::string& b) {
    const std::string y = fresh("mul");
    node("Mul", {a, b}, {y});
    dims_[y] = dims_.at(a).h >= dims_.at(b).h ? dims_.at(a) : dims_.at(b);
    return y;
  }
  std::string concat(const std::vector<std::string>& xs) {
    const std::string y = fresh("cat");
    integer(node("Concat", xs, {y}), "axis", 1);
    Dims d = dims_.at(xs[0]);
    d.c = 0;
    for (const auto& x : xs) d.c += dims_.at(x).c;
    dims_[y] = d;
    return y;
  }
  // chunk(2, dim=1): Split (sizes as an attribute before opset 13, as an input from 13).
  std::pair<std::string, std::string> split2(const std::string& x) {
    const Dims in = dims_.at(x);
    const std::string a = fresh("split"), b = fresh("split");
    auto* n = opset_ >= 13 ? node("Split", {x, i64s({in.c / 2, in.c / 2})}, {a, b})
                           : node("Split", {x}, {a, b});
    integer(n, "axis", 1);
    if (opset_ < 13) ints(n, "split", {in.c / 2, in.c / 2});
    dims_[a] = dims_[b] = {in.c / 2, in.h, in.w};
    return {a, b};
  }
  // x[:, begin:end] as torch exports it (Slice with starts / ends / axes inputs).
  std::string slice(const std::string& x, int begin, int end) {
    const Dims in = dims_.at(x);
    const std::string y = fresh("slice");
    node("Slice", {x, i64s({begin}), i64s({end}), i64s({1})}, {y});
    dims_[y] = {end - begin, in.h, in.w};
    return y;
  }
  // ShuffleNet's channel_shuffle: view(1, g, c/g, h, w), transpose(1, 2), view(1, -1, h, w).
  std::string shuffle(const std::string& x, int groups) {
    const Dims in = dims_.at(x);
    const std::string a = fresh("view"), b = fresh("transpose"), c = fresh("shuffled");
    node("Reshape", {x, i64s({1, groups, in.c / groups, in.h, in.w})}, {a});
    ints(node("Transpose", {a}, {b}), "perm", {0, 2, 1, 3, 4});
    node("Reshape", {b, i64s({1, -1, in.h, in.w})}, {c});
    dims_[c] = in;
    return c;
  }
  // F.interpolate(size=(h, w), mode="bilinear", align_corners=False): Resize with sizes.
  std::string resize_to(const std::string& x, int h, int w) {
    const Dims in = dims_.at(x);
    const std::string y = fresh("resize");
    const std::string empty_roi = init(0, {0}), empty_scales = init(0, {0});
    auto* n = node("Resize", {x, empty_roi, empty_scales, i64s({1, in.c, h, w})}, {y});
    str(n, "mode", "linear");
    str(n, "coordinate_transformation_mode", "pytorch_half_pixel");
    dims_[y] = {in.c, h, w};
    return y;
  }
  std::string identity(const std::string& x) {
    const std::string y = fresh("id");
    node("Identity", {x}, {y});
    dims_[y] = dims_.at(x);
    return y;
  }
  // A Dropout (eval: nothing) as torch exports it at these opsets.
  std::string dropout(const std::string& x) {
    const std::string y = fresh("drop");
    node("Dropout", {x}, {y});
    dims_[y] = dims_.at(x);
    return y;
  }

  const Dims& dims(const std::string& x) const { return dims_.at(x); }
  int64_t params() const { return params_; }
  // The count with BatchNorm unfolded (its scale and shift as parameters, convolutions
  // without bias), the way torchvision's model cards count.
  int64_t published_params() const { return params_ + published_extra_; }
  int64_t macs() const { return macs_; }
  DeviceGraph import() const {
    return import_onnx_bytes(m_.SerializeAsString(), "classic-" + g_->name() + ".onnx");
  }
  void name(const std::string& n) { g_->set_name(n); }

 private:
  std::string fresh(const std::string& base) { return base + "_" + std::to_string(next_++); }
  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& in,
                        const std::vector<std::string>& out) {
    auto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(out.at(0) + "_node");
    for (const auto& s : in) n->add_input(s);
    for (const auto& s : out) n->add_output(s);
    return n;
  }
  // A float initializer of `count` zeros (timing and counts do not depend on values).
  std::string init(int64_t count, const std::vector<int64_t>& dims) {
    const std::string name = fresh("w");
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(std::string(static_cast<size_t>(count) * 4, '\0'));
    return name;
  }
  std::string floats(const std::vector<float>& v, const std::vector<int64_t>& dims) {
    const std::string name = fresh("f");
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float x : v) t->add_float_data(x);
    return name;
  }
  std::string scalar(float v) { return floats({v}, {}); }
  std::string i64s(const std::vector<int64_t>& v) {
    const std::string name = fresh("i");
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v) t->add_int64_data(x);
    return name;
  }
  // BatchNormalization with its four tensors (scale and mean as an Identity over an
  // initializer, as some exporters write shared constants).
  std::string batch_norm_node(const std::string& x, int c) {
    const std::string y = fresh("bn");
    const std::string gamma = fresh("gamma");
    node("Identity", {floats(std::vector<float>(static_cast<size_t>(c), 1.0f), {c})}, {gamma});
    node("BatchNormalization",
         {x, gamma, init(c, {c}), init(c, {c}),
          floats(std::vector<float>(static_cast<size_t>(c), 1.0f), {c})},
         {y});
    dims_[y] = dims_.at(x);
    return y;
  }
  static void ints(onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void integer(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void flt(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void str(onnx::NodeProto* n, const std::string& name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  }

  onnx::ModelProto m_;
  onnx::GraphProto* g_;
  int opset_ = 11;
  int next_ = 0;
  std::map<std::string, Dims> dims_;
  int64_t params_ = 0, published_extra_ = 0, macs_ = 0;
};

// Imports and checks the counts against the builder's; returns the graph.
DeviceGraph check(const Net& net) {
  const DeviceGraph g = net.import();
  EXPECT_EQ(g.params(), net.params());
  EXPECT_EQ(g.macs(), net.macs());
  return g;
}

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
