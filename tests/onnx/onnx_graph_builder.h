#pragma once
// A builder of ONNX graphs for the import tests (test_onnx_classic.cpp,
// test_onnx_torchvision.cpp): it writes the nodes the way torch.onnx exports them and keeps,
// independently of the importer, each value's shape and the expected parameter count and
// MACs (see Net), so that a test can compare the importer's counts with figures computed
// from layer formulas.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "onnx/onnx_import.h"

namespace dalnas {
namespace onnx_test {

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
    } else if (act == "hardswish") {
      // torch.onnx below opset 14: hardswish(x) = x * HardSigmoid(x; 1/6, 0.5).
      const std::string h = fresh("hardsigmoid");
      auto* n = node("HardSigmoid", {x}, {h});
      flt(n, "alpha", 1.0f / 6.0f);
      flt(n, "beta", 0.5f);
      dims_[h] = dims_.at(x);
      node("Mul", {x, h}, {y});
    } else if (act == "silu") {
      // torch.onnx below opset 14 (no SiLU op): silu(x) = x * Sigmoid(x).
      const std::string sg = fresh("sigmoid");
      node("Sigmoid", {x}, {sg});
      dims_[sg] = dims_.at(x);
      node("Mul", {x, sg}, {y});
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
  // F.interpolate(scale_factor=s, mode="bilinear", align_corners=False): Resize with scales.
  std::string resize_by(const std::string& x, float s) {
    const Dims in = dims_.at(x);
    const std::string y = fresh("resize");
    const std::string empty_roi = init(0, {0});
    auto* n = node("Resize", {x, empty_roi, floats({1.0f, 1.0f, s, s}, {4})}, {y});
    str(n, "mode", "linear");
    str(n, "coordinate_transformation_mode", "pytorch_half_pixel");
    dims_[y] = {in.c, static_cast<int>(in.h * s), static_cast<int>(in.w * s)};
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

  // Small constants (shapes, pads, sizes, scalars, BatchNorm's scale and variance) as
  // Constant nodes instead of initializers, as torch.onnx writes many of them.
  void constants_as_nodes(bool on) { constant_nodes_ = on; }

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
  // A tensor for a constant: an initializer, or a Constant node's value.
  onnx::TensorProto* constant(const std::string& name) {
    if (!constant_nodes_) return g_->add_initializer();
    auto* a = node("Constant", {}, {name})->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    return a->mutable_t();
  }
  std::string floats(const std::vector<float>& v, const std::vector<int64_t>& dims) {
    const std::string name = fresh("f");
    auto* t = constant(name);
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    for (float x : v) t->add_float_data(x);
    return name;
  }
  std::string scalar(float v) { return floats({v}, {}); }
  std::string i64s(const std::vector<int64_t>& v) {
    const std::string name = fresh("i");
    auto* t = constant(name);
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
  bool constant_nodes_ = false;
  int next_ = 0;
  std::map<std::string, Dims> dims_;
  int64_t params_ = 0, published_extra_ = 0, macs_ = 0;
};

// Imports and checks the counts against the builder's; returns the graph.
inline DeviceGraph check(const Net& net) {
  const DeviceGraph g = net.import();
  EXPECT_EQ(g.params(), net.params());
  EXPECT_EQ(g.macs(), net.macs());
  return g;
}

}  // namespace onnx_test
}  // namespace dalnas
