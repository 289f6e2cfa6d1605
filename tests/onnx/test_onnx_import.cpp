// import_onnx: tiny models built here with the protobuf API, one per supported op, checked
// for node types, shapes, folded weights and MAC counts computed by hand; errors; and the
// shared measured models.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "onnx/onnx_import.h"

namespace dalnas {
namespace {

std::string gzip(const std::string& raw) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, raw.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(&out[0]);
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string temp_path(const std::string& name) {
  return testing::TempDir() + "dalnas_onnx_" + std::to_string(getpid()) + "_" + name;
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f << bytes;
}

class Model {
 public:
  explicit Model(int opset = 11) {
    m_.set_ir_version(7);
    auto* o = m_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    g_ = m_.mutable_graph();
    g_->set_name("test");
  }
  void input(const std::string& name, std::vector<int64_t> dims) {
    auto* v = g_->add_input();
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  }
  void output(const std::string& name) { g_->add_output()->set_name(name); }
  // Float constants; `raw` stores them as raw little-endian bytes.
  void init(const std::string& name, std::vector<int64_t> dims, const std::vector<float>& v,
            bool raw = false) {
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    if (raw) {
      t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
    } else {
      for (float x : v) t->add_float_data(x);
    }
  }
  void init_i64(const std::string& name, const std::vector<int64_t>& v) {
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(v.size()));
    for (int64_t x : v) t->add_int64_data(x);
  }
  onnx::NodeProto* node(const std::string& op, std::vector<std::string> in,
                        std::vector<std::string> out, const std::string& name = "") {
    auto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? out.at(0) + "_node" : name);
    for (auto& s : in) n->add_input(s);
    for (auto& s : out) n->add_output(s);
    return n;
  }
  static void ints(onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void i(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void f(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void s(onnx::NodeProto* n, const std::string& name, const std::string& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  std::string bytes() const { return m_.SerializeAsString(); }
  // Writes the model (gzip-compressed when `gz`) and imports it.
  DeviceGraph import(const std::string& file, bool gz = false) const {
    const std::string path = temp_path(file);
    write(path, gz ? gzip(bytes()) : bytes());
    DeviceGraph g = import_onnx(path);
    std::remove(path.c_str());
    return g;
  }
  // The message of the dalnas::Error the import throws ("" when it does not throw).
  std::string error(const std::string& file) const {
    try {
      import(file);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

 private:
  onnx::ModelProto m_;
  onnx::GraphProto* g_;
};

std::vector<float> ramp(size_t n, float scale = 0.1f, float offset = -0.5f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = offset + scale * static_cast<float>(i % 11);
  return v;
}

// The op types of a graph's nodes, "input conv ... output".
std::string ops(const DeviceGraph& g) {
  std::string s;
  for (const Node& n : g.nodes) s += (s.empty() ? "" : " ") + to_string(n.op);
  return s;
}

// ---- one test per op -------------------------------------------------------------------

TEST(OnnxImport, ConvWithStridePadsGroupsAndBias) {
  for (bool raw : {false, true}) {
    Model m;
    m.input("x", {1, 4, 9, 11});
    m.init("w", {6, 2, 3, 3}, ramp(6 * 2 * 9), raw);
    m.init("b", {6}, ramp(6), raw);
    auto* n = m.node("Conv", {"x", "w", "b"}, {"y"}, "conv1");
    Model::ints(n, "kernel_shape", {3, 3});
    Model::ints(n, "strides", {2, 2});
    Model::ints(n, "pads", {1, 1, 1, 1});
    Model::i(n, "group", 2);
    m.output("y");
    const DeviceGraph g = m.import("conv.onnx");
    ASSERT_EQ(ops(g), "input conv output");
    const Node& c = g.nodes[1];
    EXPECT_EQ(c.name, "conv1");
    EXPECT_EQ(c.kernel, 3);
    EXPECT_EQ(c.stride, 2);
    EXPECT_EQ(c.pad, 1);
    EXPECT_EQ(c.groups, 2);
    EXPECT_EQ(c.weight, ramp(6 * 2 * 9));
    EXPECT_EQ(c.bias, ramp(6));
    EXPECT_EQ(g.input, (Shape{4, 9, 11}));
    EXPECT_EQ(c.shape, (Shape{6, 5, 6}));  // (9 + 2 - 3) / 2 + 1, (11 + 2 - 3) / 2 + 1
    EXPECT_EQ(g.macs(), int64_t(6) * 2 * 9 * 5 * 6);
    EXPECT_EQ(g.params(), 6 * 2 * 9 + 6);
  }
}

TEST(OnnxImport, ConvTransposeShapesWeightsAndMacs) {
  Model m;
  m.input("x", {1, 3, 5, 7});
  m.init("w", {3, 4, 3, 3}, ramp(3 * 4 * 9));  // in × out/groups × k × k
  auto* n = m.node("ConvTranspose", {"x", "w"}, {"y"}, "up");
  Model::ints(n, "strides", {2, 2});
  Model::ints(n, "pads", {1, 1, 1, 1});
  Model::ints(n, "output_padding", {1, 1});
  m.output("y");
  const DeviceGraph g = m.import("convt.onnx");
  ASSERT_EQ(ops(g), "input convtranspose output");
  const Node& t = g.nodes[1];
  EXPECT_EQ(t.out_c, 4);
  EXPECT_EQ(t.output_pad, 1);
  EXPECT_EQ(t.pad, 1);
  // (5 - 1)·2 - 2 + 3 + 1 = 10, (7 - 1)·2 - 2 + 3 + 1 = 14
  EXPECT_EQ(t.shape, (Shape{4, 10, 14}));
  EXPECT_EQ(g.macs(), int64_t(3) * 4 * 9 * 5 * 7);  // every weight once per input pixel
}

TEST(OnnxImport, BatchNormFoldsIntoTheConvBeforeIt) {
  Model m;
  m.input("x", {1, 2, 4, 4});
  m.init("w", {2, 2, 1, 1}, {1.0f, 2.0f, 3.0f, 4.0f});
  m.init("b", {2}, {0.5f, -0.5f});
  m.init("gamma", {2}, {2.0f, 3.0f});
  m.init("beta", {2}, {0.1f, 0.2f});
  m.init("mean", {2}, {1.0f, -1.0f});
  m.init("var", {2}, {4.0f, 9.0f});
  m.node("Conv", {"x", "w", "b"}, {"c"});
  auto* bn = m.node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"y"});
  Model::f(bn, "epsilon", 0.0f);
  m.output("y");
  const DeviceGraph g = m.import("bn.onnx");
  ASSERT_EQ(ops(g), "input conv output");
  // scale = gamma / sqrt(var) = (1, 1); shift = beta - mean·scale = (-0.9, 1.2)
  const Node& c = g.nodes[1];
  EXPECT_EQ(c.weight, (std::vector<float>{1.0f, 2.0f, 3.0f, 4.0f}));
  ASSERT_EQ(c.bias.size(), 2u);
  EXPECT_FLOAT_EQ(c.bias[0], 0.5f - 0.9f);
  EXPECT_FLOAT_EQ(c.bias[1], -0.5f + 1.2f);
}

TEST(OnnxImport, BatchNormFoldsPerOutputChannelOfAConvTranspose) {
  Model m;
  m.input("x", {1, 2, 3, 3});
  m.init("w", {2, 2, 1, 1}, {1.0f, 1.0f, 1.0f, 1.0f});  // in × out × 1 × 1
  m.init("gamma", {2}, {2.0f, 4.0f});
  m.init("beta", {2}, {0.0f, 1.0f});
  m.init("mean", {2}, {0.0f, 0.0f});
  m.init("var", {2}, {1.0f, 1.0f});
  m.node("ConvTranspose", {"x", "w"}, {"c"});
  auto* bn = m.node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"y"});
  Model::f(bn, "epsilon", 0.0f);
  m.output("y");
  const DeviceGraph g = m.import("bnt.onnx");
  ASSERT_EQ(ops(g), "input convtranspose output");
  // weight[ci][oc]: output channel 0 scaled by 2, channel 1 by 4
  EXPECT_EQ(g.nodes[1].weight, (std::vector<float>{2.0f, 4.0f, 2.0f, 4.0f}));
  EXPECT_EQ(g.nodes[1].bias, (std::vector<float>{0.0f, 1.0f}));
}

TEST(OnnxImport, BatchNormWithoutAConvBecomesADepthwiseConv) {
  Model m;
  m.input("x", {1, 2, 4, 4});
  m.init("gamma", {2}, {2.0f, 3.0f});
  m.init("beta", {2}, {0.1f, 0.2f});
  m.init("mean", {2}, {1.0f, -1.0f});
  m.init("var", {2}, {4.0f, 9.0f});
  auto* bn = m.node("BatchNormalization", {"x", "gamma", "beta", "mean", "var"}, {"y"});
  Model::f(bn, "epsilon", 0.0f);
  m.output("y");
  const DeviceGraph g = m.import("bn2.onnx");
  ASSERT_EQ(ops(g), "input conv output");
  const Node& c = g.nodes[1];
  EXPECT_EQ(c.groups, 2);
  EXPECT_EQ(c.kernel, 1);
  EXPECT_EQ(c.weight, (std::vector<float>{1.0f, 1.0f}));
  EXPECT_FLOAT_EQ(c.bias[0], 0.1f - 1.0f);
  EXPECT_FLOAT_EQ(c.bias[1], 0.2f + 1.0f);
}

TEST(OnnxImport, ActivationsFuseIntoTheirOnlyProducer) {
  struct Case {
    std::string op;
    ActType act;
  };
  for (const Case& k : {Case{"Relu", ActType::ReLU}, Case{"Sigmoid", ActType::Sigmoid},
                        Case{"HardSwish", ActType::HardSwish}, Case{"Swish", ActType::Swish}}) {
    Model m(k.op == "HardSwish" ? 14 : 11);
    m.input("x", {1, 2, 4, 4});
    m.init("w", {3, 2, 1, 1}, ramp(6));
    m.node("Conv", {"x", "w"}, {"c"});
    m.node(k.op, {"c"}, {"y"});
    m.output("y");
    const DeviceGraph g = m.import("act.onnx");
    ASSERT_EQ(ops(g), "input conv output") << k.op;
    EXPECT_EQ(g.nodes[1].act, k.act) << k.op;
  }
}

TEST(OnnxImport, ClipAndHardSigmoidKeepTheirParameters) {
  Model m(11);
  m.input("x", {1, 2, 4, 4});
  m.init("lo0", {}, {0.0f});
  m.init("hi6", {}, {6.0f});
  m.init("lo", {}, {-1.0f});
  m.init("hi", {}, {2.0f});
  m.node("Add", {"x", "x"}, {"a"});
  m.node("Clip", {"a", "lo0", "hi6"}, {"r6"});  // fused into the Add as ReLU6
  m.node("Clip", {"r6", "lo", "hi"}, {"c"});    // the Add is taken: an Activation node
  auto* hs = m.node("HardSigmoid", {"c"}, {"y"});
  Model::f(hs, "alpha", 0.25f);
  Model::f(hs, "beta", 0.4f);
  m.output("y");
  const DeviceGraph g = m.import("clip.onnx");
  ASSERT_EQ(ops(g), "input add activation activation output");
  EXPECT_EQ(g.nodes[1].act, ActType::ReLU6);
  EXPECT_EQ(g.nodes[2].act, ActType::Clip);
  EXPECT_EQ(g.nodes[2].act_min, -1.0f);
  EXPECT_EQ(g.nodes[2].act_max, 2.0f);
  EXPECT_EQ(g.nodes[3].act, ActType::HardSigmoid);
  EXPECT_EQ(g.nodes[3].alpha, 0.25f);
  EXPECT_EQ(g.nodes[3].beta, 0.4f);
}

TEST(OnnxImport, ClipAttributesBeforeOpset11) {
  Model m(9);
  m.input("x", {1, 2, 4, 4});
  auto* c = m.node("Clip", {"x"}, {"y"});
  Model::f(c, "min", 0.0f);
  Model::f(c, "max", 6.0f);
  m.output("y");
  const DeviceGraph g = m.import("clip9.onnx");
  ASSERT_EQ(ops(g), "input activation output");
  EXPECT_EQ(g.nodes[1].act, ActType::ReLU6);
}

TEST(OnnxImport, ActivationStaysSeparateWhenTheConvHasTwoConsumers) {
  Model m;
  m.input("x", {1, 2, 4, 4});
  m.init("w", {2, 2, 1, 1}, ramp(4));
  m.node("Conv", {"x", "w"}, {"c"});
  m.node("Relu", {"c"}, {"r"});
  m.node("Add", {"c", "r"}, {"y"});
  m.output("y");
  const DeviceGraph g = m.import("two.onnx");
  ASSERT_EQ(ops(g), "input conv activation add output");
  EXPECT_EQ(g.nodes[1].act, ActType::None);
  EXPECT_EQ(g.nodes[2].act, ActType::ReLU);
  EXPECT_EQ(g.nodes[3].inputs, (std::vector<int>{1, 2}));
}

TEST(OnnxImport, PoolingWithPaddingAndGlobalPooling) {
  Model m;
  m.input("x", {1, 3, 10, 10});
  auto* mp = m.node("MaxPool", {"x"}, {"p"});
  Model::ints(mp, "kernel_shape", {3, 3});
  Model::ints(mp, "strides", {2, 2});
  Model::ints(mp, "pads", {1, 1, 1, 1});
  auto* ap = m.node("AveragePool", {"p"}, {"a"});
  Model::ints(ap, "kernel_shape", {2, 2});
  Model::ints(ap, "strides", {2, 2});
  m.node("GlobalAveragePool", {"a"}, {"y"});
  m.output("y");
  const DeviceGraph g = m.import("pool.onnx");
  ASSERT_EQ(ops(g), "input maxpool avgpool globalavgpool output");
  EXPECT_EQ(g.nodes[1].pad, 1);
  EXPECT_EQ(g.nodes[1].shape, (Shape{3, 5, 5}));  // (10 + 2 - 3) / 2 + 1
  EXPECT_EQ(g.nodes[2].shape, (Shape{3, 2, 2}));
  EXPECT_EQ(g.nodes[3].shape, (Shape{3, 1, 1}));
  EXPECT_EQ(g.macs(), 0);
}

TEST(OnnxImport, ResizeAndUpsampleModesAndScales) {
  {  // opset 11 Resize, linear half_pixel from scales
    Model m(11);
    m.input("x", {1, 2, 3, 5});
    m.init("roi", {0}, {});
    m.init("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
    auto* r = m.node("Resize", {"x", "roi", "scales"}, {"y"});
    Model::s(r, "mode", "linear");
    Model::s(r, "coordinate_transformation_mode", "half_pixel");
    m.output("y");
    const DeviceGraph g = m.import("resize.onnx");
    ASSERT_EQ(ops(g), "input resize output");
    EXPECT_FALSE(g.nodes[1].nearest);
    EXPECT_EQ(g.nodes[1].scale, 2.0f);
    EXPECT_EQ(g.nodes[1].shape, (Shape{2, 6, 10}));
  }
  {  // opset 13 Resize nearest from sizes (asymmetric, floor)
    Model m(13);
    m.input("x", {1, 2, 3, 5});
    m.init("roi", {0}, {});
    m.init("scales", {0}, {});
    m.init_i64("sizes", {1, 2, 9, 15});
    auto* r = m.node("Resize", {"x", "roi", "scales", "sizes"}, {"y"});
    Model::s(r, "mode", "nearest");
    Model::s(r, "coordinate_transformation_mode", "asymmetric");
    Model::s(r, "nearest_mode", "floor");
    m.output("y");
    const DeviceGraph g = m.import("resize_sizes.onnx");
    EXPECT_TRUE(g.nodes[1].nearest);
    EXPECT_EQ(g.nodes[1].shape, (Shape{2, 9, 15}));
  }
  {  // opset 9 Upsample, nearest
    Model m(9);
    m.input("x", {1, 2, 3, 5});
    m.init("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
    m.node("Upsample", {"x", "scales"}, {"y"});
    m.output("y");
    const DeviceGraph g = m.import("upsample.onnx");
    EXPECT_TRUE(g.nodes[1].nearest);
    EXPECT_EQ(g.nodes[1].shape, (Shape{2, 6, 10}));
  }
  {  // linear with align_corners and asymmetric: kept as the node's coordinate mode
    for (const char* mode : {"align_corners", "asymmetric", "pytorch_half_pixel"}) {
      Model m(11);
      m.input("x", {1, 2, 3, 5});
      m.init("roi", {0}, {});
      m.init("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
      auto* r = m.node("Resize", {"x", "roi", "scales"}, {"y"}, "up");
      Model::s(r, "mode", "linear");
      Model::s(r, "coordinate_transformation_mode", mode);
      m.output("y");
      const DeviceGraph g = m.import(std::string("resize_") + mode + ".onnx");
      EXPECT_EQ(to_string(g.nodes[1].coord),
                std::string(mode) == "pytorch_half_pixel" ? "half_pixel" : mode);
      EXPECT_FALSE(g.nodes[1].nearest);
    }
  }
  {  // tf_crop_and_resize: not expressible
    Model m(11);
    m.input("x", {1, 2, 3, 5});
    m.init("roi", {0}, {});
    m.init("scales", {4}, {1.0f, 1.0f, 2.0f, 2.0f});
    auto* r = m.node("Resize", {"x", "roi", "scales"}, {"y"}, "up_tf");
    Model::s(r, "mode", "linear");
    Model::s(r, "coordinate_transformation_mode", "tf_crop_and_resize");
    m.output("y");
    const std::string e = m.error("resize_tf.onnx");
    EXPECT_NE(e.find("node 'up_tf' (Resize)"), std::string::npos) << e;
    EXPECT_NE(e.find("tf_crop_and_resize"), std::string::npos) << e;
  }
}

TEST(OnnxImport, ConcatAddMulAndConstantOperands) {
  Model m;
  m.input("x", {1, 2, 4, 4});
  m.init("k", {1, 2, 1, 1}, {3.0f, 5.0f});
  m.node("Concat", {"x", "x"}, {"c"});
  Model::i(m.node("Concat", {"c", "x"}, {"c2"}), "axis", 1);
  m.node("GlobalAveragePool", {"x"}, {"gp"});
  m.node("Mul", {"gp", "x"}, {"m"});  // broadcast operand first: swapped
  m.node("Mul", {"m", "k"}, {"mk"});  // constant per channel: 1×1 depthwise conv
  m.node("Add", {"mk", "x"}, {"y"});
  m.output("y");
  const DeviceGraph g = m.import("cat.onnx");
  ASSERT_EQ(ops(g), "input concat concat globalavgpool mul conv add output");
  EXPECT_EQ(g.nodes[1].shape, (Shape{4, 4, 4}));
  EXPECT_EQ(g.nodes[2].shape, (Shape{6, 4, 4}));
  EXPECT_EQ(g.nodes[4].inputs, (std::vector<int>{0, 3}));
  EXPECT_EQ(g.nodes[5].groups, 2);
  EXPECT_EQ(g.nodes[5].weight, (std::vector<float>{3.0f, 5.0f}));
  EXPECT_TRUE(g.nodes[5].bias.empty());
  EXPECT_EQ(g.nodes[6].op, OpType::Add);
  // Concat along H is not supported.
  Model bad;
  bad.input("x", {1, 2, 4, 4});
  Model::i(bad.node("Concat", {"x", "x"}, {"y"}, "cat_h"), "axis", 2);
  bad.output("y");
  EXPECT_NE(bad.error("cat_h.onnx").find("node 'cat_h' (Concat): axis 2"), std::string::npos);
}

TEST(OnnxImport, GemmAfterFlattenIsAFullyConnectedLayer) {
  Model m;
  m.input("x", {1, 2, 2, 2});
  // B is out × in with transB = 1; alpha scales it, beta the bias.
  std::vector<float> b(3 * 8);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i);
  m.init("B", {3, 8}, b);
  m.init("C", {3}, {1.0f, 2.0f, 3.0f});
  m.node("Flatten", {"x"}, {"f"});
  auto* gm = m.node("Gemm", {"f", "B", "C"}, {"g"}, "fc");
  Model::i(gm, "transB", 1);
  Model::f(gm, "alpha", 2.0f);
  Model::f(gm, "beta", 0.5f);
  m.node("Softmax", {"g"}, {"y"});
  m.output("y");
  const DeviceGraph g = m.import("gemm.onnx");
  ASSERT_EQ(ops(g), "input fc softmax output");
  const Node& fc = g.nodes[1];
  EXPECT_EQ(fc.out_c, 3);
  EXPECT_EQ(fc.weight[9], 18.0f);  // row 1, column 1: 2 · 9
  EXPECT_EQ(fc.bias, (std::vector<float>{0.5f, 1.0f, 1.5f}));
  EXPECT_EQ(fc.shape, (Shape{3, 1, 1}));
  EXPECT_EQ(g.macs(), 24);
}

TEST(OnnxImport, MatMulAfterReshapeTransposesAndFoldsTheBiasAdd) {
  Model m;
  m.input("x", {1, 2, 1, 2});
  m.init_i64("shape", {1, -1});
  std::vector<float> b(4 * 3);  // K × N = 4 × 3
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i);
  m.init("B", {4, 3}, b);
  m.init("bias", {3}, {7.0f, 8.0f, 9.0f});
  m.node("Reshape", {"x", "shape"}, {"r"});
  m.node("MatMul", {"r", "B"}, {"mm"});
  m.node("Add", {"mm", "bias"}, {"a"});
  m.node("Relu", {"a"}, {"y"});
  m.output("y");
  const DeviceGraph g = m.import("matmul.onnx");
  ASSERT_EQ(ops(g), "input fc output");
  const Node& fc = g.nodes[1];
  // weight[o][i] = B[i][o]
  EXPECT_EQ(fc.weight, (std::vector<float>{0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11}));
  EXPECT_EQ(fc.bias, (std::vector<float>{7.0f, 8.0f, 9.0f}));
  EXPECT_EQ(fc.act, ActType::ReLU);
}

TEST(OnnxImport, PadFoldsIntoTheNextConvOnly) {
  Model m(11);
  m.input("x", {1, 2, 5, 5});
  m.init_i64("pads", {0, 0, 2, 2, 0, 0, 2, 2});
  m.init("w", {1, 2, 3, 3}, ramp(18));
  m.node("Pad", {"x", "pads"}, {"p"});
  m.node("Identity", {"p"}, {"pi"});
  auto* c = m.node("Conv", {"pi", "w"}, {"y"});
  Model::ints(c, "pads", {1, 1, 1, 1});
  m.output("y");
  const DeviceGraph g = m.import("pad.onnx");
  ASSERT_EQ(ops(g), "input conv output");
  EXPECT_EQ(g.nodes[1].pad, 3);
  EXPECT_EQ(g.nodes[1].shape, (Shape{1, 9, 9}));

  Model bad(11);
  bad.input("x", {1, 2, 5, 5});
  bad.init_i64("pads", {0, 0, 1, 1, 0, 0, 1, 1});
  bad.node("Pad", {"x", "pads"}, {"p"});
  auto* mp = bad.node("MaxPool", {"p"}, {"y"}, "pool_after_pad");
  Model::ints(mp, "kernel_shape", {2, 2});
  bad.output("y");
  const std::string e = bad.error("pad_pool.onnx");
  EXPECT_NE(e.find("node 'pool_after_pad' (MaxPool)"), std::string::npos) << e;
  EXPECT_NE(e.find("Pad"), std::string::npos) << e;
}

TEST(OnnxImport, IdentityAndDropoutAddNoNodes) {
  Model m;
  m.input("x", {1, 2, 3, 3});
  m.node("Identity", {"x"}, {"a"});
  m.node("Dropout", {"a"}, {"b"});
  m.node("Relu", {"b"}, {"y"});
  m.output("y");
  const DeviceGraph g = m.import("id.onnx");
  EXPECT_EQ(ops(g), "input activation output");
}

TEST(OnnxImport, GzipFilesImportTheSame) {
  Model m;
  m.input("x", {1, 3, 8, 8});
  m.init("w", {4, 3, 3, 3}, ramp(108));
  Model::ints(m.node("Conv", {"x", "w"}, {"y"}), "pads", {1, 1, 1, 1});
  m.output("y");
  const DeviceGraph a = m.import("plain.onnx");
  const DeviceGraph b = m.import("zipped.onnx.gz", true);
  EXPECT_EQ(a.summary(), b.summary());
  EXPECT_EQ(a.nodes[1].weight, b.nodes[1].weight);
  EXPECT_EQ(b.macs(), int64_t(4) * 3 * 9 * 64);
}

TEST(OnnxImport, InputOverrideReplacesSymbolicDimensions) {
  onnx::ModelProto p;
  p.set_ir_version(7);
  p.add_opset_import()->set_version(11);
  auto* g = p.mutable_graph();
  auto* in = g->add_input();
  in->set_name("x");
  auto* t = in->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  t->mutable_shape()->add_dim()->set_dim_param("N");
  t->mutable_shape()->add_dim()->set_dim_value(3);
  t->mutable_shape()->add_dim()->set_dim_param("H");
  t->mutable_shape()->add_dim()->set_dim_param("W");
  auto* n = g->add_node();
  n->set_op_type("Relu");
  n->add_input("x");
  n->add_output("y");
  g->add_output()->set_name("y");
  const std::string path = temp_path("symbolic.onnx");
  write(path, p.SerializeAsString());
  try {
    import_onnx(path);
    ADD_FAILURE() << "symbolic H imported without a shape";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("symbolic"), std::string::npos) << e.what();
  }
  const Shape s{3, 20, 30};
  const DeviceGraph d = import_onnx(path, &s);
  EXPECT_EQ(d.nodes.back().shape, s);
  std::remove(path.c_str());
}

// ---- errors --------------------------------------------------------------------------

TEST(OnnxImport, UnsupportedOpNamesTheNodeAndTheOpType) {
  Model m;
  m.input("x", {1, 2, 3, 3});
  m.node("LeakyRelu", {"x"}, {"y"}, "leaky_7");
  m.output("y");
  const std::string e = m.error("leaky.onnx");
  EXPECT_NE(e.find("leaky.onnx: node 'leaky_7' (LeakyRelu)"), std::string::npos) << e;
  EXPECT_NE(e.find("not supported"), std::string::npos) << e;
}

TEST(OnnxImport, AsymmetricPadsAndUnequalStridesAreErrors) {
  Model m;
  m.input("x", {1, 2, 6, 6});
  m.init("w", {2, 2, 3, 3}, ramp(36));
  Model::ints(m.node("Conv", {"x", "w"}, {"y"}, "asym"), "pads", {1, 0, 0, 1});
  m.output("y");
  EXPECT_NE(m.error("asym.onnx").find("node 'asym' (Conv): pads (1, 0, 0, 1)"), std::string::npos);
  // Bottom and right exceeding top and left by the same amount is expressible (pad_end).
  Model ok;
  ok.input("x", {1, 2, 6, 6});
  ok.init("w", {2, 2, 3, 3}, ramp(36));
  Model::ints(ok.node("Conv", {"x", "w"}, {"y"}), "pads", {0, 0, 1, 1});
  ok.output("y");
  const DeviceGraph g = ok.import("asym_ok.onnx");
  EXPECT_EQ(g.nodes[1].pad_end, 1);
  EXPECT_EQ(g.nodes[1].shape, (Shape{2, 5, 5}));
  Model s;
  s.input("x", {1, 2, 6, 6});
  s.init("w", {2, 2, 3, 3}, ramp(36));
  Model::ints(s.node("Conv", {"x", "w"}, {"y"}, "strided"), "strides", {1, 2});
  s.output("y");
  EXPECT_NE(s.error("strides.onnx").find("node 'strided' (Conv): strides"), std::string::npos);
}

TEST(OnnxImport, ShapeErrorsNameTheFileAndTheNode) {
  Model m;
  m.input("x", {1, 2, 8, 8});
  auto* p = m.node("MaxPool", {"x"}, {"p"});
  Model::ints(p, "kernel_shape", {2, 2});
  Model::ints(p, "strides", {2, 2});
  m.node("Concat", {"x", "p"}, {"y"}, "cat_sizes");
  m.output("y");
  const std::string e = m.error("shapes.onnx");
  EXPECT_NE(e.find("shapes.onnx: "), std::string::npos) << e;
  EXPECT_NE(e.find("'cat_sizes'"), std::string::npos) << e;
  EXPECT_NE(e.find("differ in size"), std::string::npos) << e;
}

TEST(OnnxImport, MalformedFilesNameTheFile) {
  const std::string garbage = temp_path("garbage.onnx");
  // (Found by AddressSanitizer: the length given was 24, past the literal's 21 bytes.)
  const char bytes[] = "\x08\x07\x12\xff\xff\xff\xff\x0f not a model";
  write(garbage, std::string(bytes, sizeof bytes - 1));
  try {
    import_onnx(garbage);
    ADD_FAILURE() << "garbage imported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(garbage), std::string::npos) << e.what();
  }
  std::remove(garbage.c_str());

  Model m;
  m.input("x", {1, 2, 3, 3});
  m.node("Relu", {"x"}, {"y"});
  m.output("y");
  std::string gz = gzip(m.bytes());
  gz.resize(gz.size() / 2);  // truncated
  const std::string cut = temp_path("cut.onnx.gz");
  write(cut, gz);
  try {
    import_onnx(cut);
    ADD_FAILURE() << "truncated gzip imported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(cut + ": not a valid gzip file"), std::string::npos)
        << e.what();
  }
  std::remove(cut.c_str());

  EXPECT_THROW(import_onnx(temp_path("missing.onnx")), Error);
}

// Crafted files: sizes that overflow 64-bit arithmetic, dimensions that do not fit an int,
// a compressed file that inflates without end. Each is one error naming the file.
TEST(OnnxImport, CraftedSizesAreErrorsNotOverflows) {
  const int64_t huge = int64_t(1) << 32;
  {  // A constant of 2^32 x 2^32 values (2^64 wraps to 0, which matched its empty data).
    Model m;
    m.input("x", {1, 2, 4, 4});
    m.init("k", {huge, huge}, {});
    m.node("Mul", {"x", "k"}, {"y"}, "scale");
    m.output("y");
    const std::string e = m.error("bigconst.onnx");
    EXPECT_NE(e.find("bigconst.onnx: node 'scale' (Mul): tensor 'k' has more than"),
              std::string::npos)
        << e;
  }
  {  // An input dimension beyond an int.
    Model m;
    m.input("x", {1, 3, int64_t(1) << 40, 8});
    m.node("Relu", {"x"}, {"y"});
    m.output("y");
    const std::string e = m.error("bigin.onnx");
    EXPECT_NE(e.find("bigin.onnx: input 'x' has dimension 2 = 1099511627776, out of range"),
              std::string::npos)
        << e;
  }
  {  // A group count beyond an int (it multiplied the weight's channels).
    Model m;
    m.input("x", {1, 2, 4, 4});
    m.init("w", {2, 1, 1, 1}, {1, 1});
    Model::i(m.node("Conv", {"x", "w"}, {"y"}, "grouped"), "group", int64_t(1) << 40);
    m.output("y");
    const std::string e = m.error("groups.onnx");
    EXPECT_NE(e.find("groups.onnx: node 'grouped' (Conv): group must be within"), std::string::npos)
        << e;
  }
  {  // A weight whose channel count does not fit an int.
    Model m;
    m.input("x", {1, 2, 4, 4});
    m.init("w", {huge, 2, 1, 1}, {});
    m.node("Conv", {"x", "w"}, {"y"}, "wide");
    m.output("y");
    const std::string e = m.error("wide.onnx");
    EXPECT_NE(
        e.find("wide.onnx: node 'wide' (Conv): weight dimension 0 4294967296 is out of range"),
        std::string::npos)
        << e;
  }
  {  // A reshape target whose product overflows.
    Model m;
    m.input("x", {1, 2, 4, 4});
    m.init_i64("shape", {huge, huge, -1});
    m.node("Reshape", {"x", "shape"}, {"y"}, "flat");
    m.output("y");
    const std::string e = m.error("reshape.onnx");
    EXPECT_NE(
        e.find("reshape.onnx: node 'flat' (Reshape): shape's dimensions multiply past 64 bits"),
        std::string::npos)
        << e;
  }
  {  // An upscale whose output does not fit an int.
    Model m(13);
    m.input("x", {1, 2, 4, 4});
    m.init("roi", {0}, {});
    m.init("scales", {4}, {1, 1, 1e9f, 1e9f});
    m.node("Resize", {"x", "roi", "scales"}, {"y"}, "up");
    m.output("y");
    const std::string e = m.error("resize.onnx");
    EXPECT_NE(e.find("resize.onnx: node 'up' (Resize): scale"), std::string::npos) << e;
    EXPECT_NE(e.find("pixels a side"), std::string::npos) << e;
  }
}

TEST(OnnxImport, ACompressedFileMayNotInflatePastTheCap) {
  EXPECT_EQ(kMaxInflatedBytes, size_t(2) << 30);
  const std::string zeros(3 << 20, '\0');  // 3 MiB of zeros: a few KiB compressed
  const std::string gz = gzip(zeros);
  ASSERT_LT(gz.size(), 64u << 10);
  try {
    gunzip(gz, "bomb.onnx.gz", size_t(1) << 20);
    ADD_FAILURE() << "inflated past the cap";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "bomb.onnx.gz: decompresses to more than 1 MiB (the limit for a .onnx.gz); not a "
              "model dalnas reads");
  }
  EXPECT_EQ(gunzip(gz, "ok.onnx.gz", size_t(3) << 20).size(), zeros.size()) << "exactly the cap";
  EXPECT_EQ(gunzip(gz, "ok.onnx.gz").size(), zeros.size());
}

// ---- the shared measured models ---------------------------------------------------------

const std::string kModels = std::string(DALNAS_SHARED_DIR) + "/devices/myriadx-published/models";

// Every graph of the published table imports (torch-exported patterns among them: a Pad
// before an AveragePool, BatchNormalization after a Gemm).
TEST(OnnxImport, SharedPublishedModels) {
  if (!std::filesystem::is_directory(kModels)) GTEST_SKIP() << kModels << " is absent";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kModels)) {
    SCOPED_TRACE(entry.path().string());
    const DeviceGraph g = import_onnx(entry.path().string());
    EXPECT_GT(g.macs(), 0);
    EXPECT_GT(g.params(), 0);
    ++count;
  }
  EXPECT_EQ(count, 12);
}

// MACs of the encoder-decoder from its published description (the shared README): per
// stage two 3×3 convs and a 1×1 shortcut where the width changes, 2×2 max-pool; per stage
// in reverse a 3×3 stride-2 transposed conv and a 3×3 transposed conv; a 3×3 conv to 4.
int64_t encdec_macs(const std::vector<int>& w, int cin, int size) {
  int64_t macs = 0;
  int c = cin, s = size;
  for (int width : w) {
    macs += int64_t(9) * c * width * s * s + int64_t(9) * width * width * s * s;
    if (c != width) macs += int64_t(c) * width * s * s;
    c = width;
    s /= 2;
  }
  for (size_t j = w.size(); j-- > 0;) {
    macs += int64_t(9) * c * w[j] * s * s;  // stride 2: per input pixel
    s *= 2;
    macs += int64_t(9) * w[j] * w[j] * s * s;
    c = w[j];
  }
  return macs + int64_t(9) * c * 4 * s * s;
}

TEST(OnnxImport, EncoderDecoderParamsAndMacsMatchTheirDescription) {
  const std::string path = kModels + "/encdec4w16_c1_256.onnx.gz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
  const DeviceGraph g = import_onnx(path);
  EXPECT_EQ(g.params(), 745364);  // the published count (shared README)
  EXPECT_EQ(g.macs(), encdec_macs({16, 32, 64, 128}, 1, 256));
  const Shape big{1, 512, 512};
  const DeviceGraph g512 = import_onnx(kModels + "/encdec4w8_c1_512.onnx.gz", &big);
  EXPECT_EQ(g512.macs(), encdec_macs({8, 16, 32, 64}, 1, 512));
}

TEST(OnnxImport, ResNet18MacsAreTheKnownFigure) {
  const std::string path = kModels + "/resnet18_c3_224.onnx.gz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is absent";
  const DeviceGraph g = import_onnx(path);
  // 1.814 G multiply-accumulates, the usual figure for ResNet-18 at 224 × 224.
  EXPECT_NEAR(static_cast<double>(g.macs()), 1.814e9, 0.002e9);
  // 11,689,512 parameters with batch norm; folding trades its 2 × 4,800 scale / shift
  // values for 4,800 conv biases.
  EXPECT_EQ(g.params(), 11689512 - 4800);
}

}  // namespace
}  // namespace dalnas
