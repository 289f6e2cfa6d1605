// The importer's recognition of decomposed activations (onnx/onnx_fuse.h), on models
// written by hand the way torch.onnx writes them, and the cases it must leave alone.
#include <gtest/gtest.h>

#include <cmath>

#include "device/emulator.h"
#include "onnx/onnx_fuse.h"
#include "onnx/onnx_import.h"

using namespace dalnas;

namespace {

// A tiny model builder: input x [1, 2, 3, 3] float, nodes appended by the test.
struct Model {
  onnx::ModelProto m;
  onnx::GraphProto* g;
  Model() {
    m.set_ir_version(7);
    auto* o = m.add_opset_import();
    o->set_version(13);
    g = m.mutable_graph();
    auto* in = g->add_input();
    in->set_name("x");
    auto* t = in->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int d : {1, 2, 3, 3}) t->mutable_shape()->add_dim()->set_dim_value(d);
  }
  std::string scalar(const std::string& name, float v) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_float_data(v);
    return name;
  }
  onnx::NodeProto* node(const std::string& op, std::vector<std::string> in,
                        const std::string& out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(out);
    for (auto& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  }
  void output(const std::string& name) { g->add_output()->set_name(name); }
  DeviceGraph import() { return import_onnx_bytes(m.SerializeAsString(), "hand.onnx"); }
};

void set_float(onnx::NodeProto* n, const std::string& name, float v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

int count(const DeviceGraph& g, OpType op) {
  int c = 0;
  for (const Node& n : g.nodes) c += n.op == op;
  return c;
}

}  // namespace

TEST(OnnxFuse, TorchStyleGeluBecomesOneActivation) {
  // Both forms: Div(x, √2) and Mul(1/√2, x), operands of Add and Mul swapped.
  for (bool div : {true, false}) {
    Model m;
    if (div) {
      m.node("Div", {"x", m.scalar("sqrt2", 1.4142135f)}, "a");
    } else {
      m.node("Mul", {m.scalar("rsqrt2", 0.70710677f), "x"}, "a");
    }
    m.node("Erf", {"a"}, "e");
    m.node("Add", {m.scalar("one", 1.0f), "e"}, "p");
    m.node("Mul", {"p", "x"}, "q");
    m.node("Mul", {"q", m.scalar("half", 0.5f)}, "y");
    m.output("y");
    const DeviceGraph g = m.import();
    ASSERT_EQ(count(g, OpType::Activation), 1) << g.summary();
    EXPECT_EQ(g.nodes[1].act, ActType::GELU);
    EXPECT_EQ(g.nodes.size(), 3u);  // input, GELU, output
    // And it computes GELU: 0.5·x·(1 + erf(x/√2)).
    const float x[18] = {-3, -1, -0.5f, 0,    0.5f, 1, 2, 3,  4,
                         -2, -4, 0.1f,  0.2f, 0.3f, 5, 6, -6, 1.5f};
    const auto y = Emulator(g, EmulatorConfig{}).run(x, Shape{2, 3, 3});
    for (int i = 0; i < 18; ++i) {
      EXPECT_NEAR(y[i], 0.5 * x[i] * (1 + std::erf(x[i] / std::sqrt(2.0))), 1e-6) << x[i];
    }
  }
}

TEST(OnnxFuse, HardSigmoidTimesInputBecomesHardSwish) {
  Model m;
  auto* h = m.node("HardSigmoid", {"x"}, "h");
  set_float(h, "alpha", 1.0f / 6.0f);
  set_float(h, "beta", 0.5f);
  m.node("Mul", {"h", "x"}, "y");
  m.output("y");
  EXPECT_EQ(fuse_onnx_activations(m.m), 1);
  ASSERT_EQ(m.g->node_size(), 1);
  EXPECT_EQ(m.g->node(0).op_type(), "HardSwish");
  EXPECT_EQ(m.g->node(0).input(0), "x");
  EXPECT_EQ(m.g->node(0).output(0), "y");
}

TEST(OnnxFuse, SigmoidTimesInputBecomesSwish) {
  for (int order = 0; order < 2; ++order) {
    Model m;
    m.node("Sigmoid", {"x"}, "s");
    m.node("Mul",
           order == 0 ? std::vector<std::string>{"x", "s"} : std::vector<std::string>{"s", "x"},
           "y");
    m.output("y");
    EXPECT_EQ(fuse_onnx_activations(m.m), 1);
    ASSERT_EQ(m.g->node_size(), 1);
    EXPECT_EQ(m.g->node(0).op_type(), "Swish");
    EXPECT_EQ(m.g->node(0).input(0), "x");
    EXPECT_EQ(m.g->node(0).output(0), "y");
  }
  {  // A squeeze-and-excitation gate, Mul(x, Sigmoid(z)) with z != x: no Swish.
    Model m;
    m.node("Sigmoid", {"z"}, "s");
    m.node("Mul", {"x", "s"}, "y");
    m.output("y");
    EXPECT_EQ(fuse_onnx_activations(m.m), 0);
  }
  {  // The Sigmoid's value is used elsewhere too.
    Model m;
    m.node("Sigmoid", {"x"}, "s");
    m.node("Mul", {"x", "s"}, "y");
    m.node("Add", {"s", "y"}, "z");
    m.output("z");
    EXPECT_EQ(fuse_onnx_activations(m.m), 0);
  }
}

TEST(OnnxFuse, LeavesOtherGraphsAlone) {
  {  // HardSigmoid with other parameters: a real HardSigmoid.
    Model m;
    auto* h = m.node("HardSigmoid", {"x"}, "h");
    set_float(h, "alpha", 0.2f);
    m.node("Mul", {"h", "x"}, "y");
    m.output("y");
    EXPECT_EQ(fuse_onnx_activations(m.m), 0);
  }
  {  // The HardSigmoid's value is used elsewhere too (a graph output).
    Model m;
    auto* h = m.node("HardSigmoid", {"x"}, "h");
    set_float(h, "alpha", 1.0f / 6.0f);
    m.node("Mul", {"h", "x"}, "y");
    m.output("y");
    m.output("h");
    EXPECT_EQ(fuse_onnx_activations(m.m), 0);
  }
  {  // Erf-based, but with the wrong constant: x·0.5·(1 + erf(x / 2)).
    Model m;
    m.node("Div", {"x", m.scalar("two", 2.0f)}, "a");
    m.node("Erf", {"a"}, "e");
    m.node("Add", {"e", m.scalar("one", 1.0f)}, "p");
    m.node("Mul", {"x", "p"}, "q");
    m.node("Mul", {"q", m.scalar("half", 0.5f)}, "y");
    m.output("y");
    EXPECT_EQ(fuse_onnx_activations(m.m), 0);
    EXPECT_EQ(m.g->node_size(), 5);
  }
}
