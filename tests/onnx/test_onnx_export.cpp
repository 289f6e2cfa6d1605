// ONNX export: the model's structure (names, shapes, opset, types, metadata), the ONNX
// checker and ONNX's own shape inference on every export, and the errors.
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/atomic_file.h"
#include "core/error.h"
#include "device/int8_emulator.h"
#include "export_test_util.h"
#include "onnx/onnx_export.h"

using namespace dalnas;
using namespace dalnas::testing_export;

namespace {

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  return m;
}

std::map<std::string, std::string> metadata(const onnx::ModelProto& m) {
  std::map<std::string, std::string> out;
  for (const auto& p : m.metadata_props()) out[p.key()] = p.value();
  return out;
}

std::vector<int64_t> dims(const onnx::ValueInfoProto& v) {
  std::vector<int64_t> d;
  for (const auto& x : v.type().tensor_type().shape().dim()) {
    d.push_back(x.has_dim_value() ? x.dim_value() : -1);
  }
  return d;
}

// The output shape ONNX's own shape inference finds (-1 where symbolic).
std::vector<int64_t> inferred_output(onnx::ModelProto m) {
  onnx::shape_inference::InferShapes(m);
  const std::string out = m.graph().output(0).name();
  for (const auto& v : m.graph().value_info()) {
    if (v.name() == out) return dims(v);
  }
  // The output's declared shape (inference checked it for consistency).
  return dims(m.graph().output(0));
}

int count_ops(const onnx::ModelProto& m, const std::string& type) {
  int n = 0;
  for (const auto& node : m.graph().node()) n += node.op_type() == type;
  return n;
}

}  // namespace

TEST(OnnxExport, EveryOpPassesTheCheckerInBothPrecisionsAndEveryOpset) {
  for (bool softmax : {false, true}) {
    const DeviceGraph g = every_op_graph(1, softmax);
    for (int opset : {11, 12, 13, 14, 17}) {
      for (bool fp16 : {false, true}) {
        ExportOptions o;
        o.fp16 = fp16;
        o.opset = opset;
        const std::string bytes = to_onnx_bytes(g, o);
        const std::string what = "opset " + std::to_string(opset) + (fp16 ? " fp16" : " fp32");
        EXPECT_NO_THROW(check_onnx_bytes(bytes, what)) << what;
        onnx::ModelProto m = parse(bytes);
        EXPECT_NO_THROW(onnx::checker::check_model(m)) << what;
        // Strict shape inference (errors on type or shape conflicts) agrees with ours.
        onnx::ShapeInferenceOptions strict{true, 1, false};
        onnx::ModelProto copy = m;
        EXPECT_NO_THROW(
            onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(), strict))
            << what;
        const Shape& out = g.nodes[static_cast<size_t>(g.output)].shape;
        EXPECT_EQ(inferred_output(m), (std::vector<int64_t>{1, out.c, out.h, out.w})) << what;
        EXPECT_EQ(m.opset_import(0).version(), opset);
        EXPECT_EQ(count_ops(m, "HardSwish"), opset >= 14 ? 1 : 0) << what;
        EXPECT_EQ(count_ops(m, "Erf"), 1) << what;
        EXPECT_EQ(count_ops(m, "Sigmoid"), 2) << what;  // one stand-alone, one of the Swish
        EXPECT_EQ(count_ops(m, "Transpose"), softmax && opset < 13 ? 2 : 0) << what;
      }
    }
  }
}

TEST(OnnxExport, NamedInputAndOutputWithStaticOrDynamicShapes) {
  const DeviceGraph g = every_op_graph(2, false);
  ExportOptions o;
  onnx::ModelProto m = parse(to_onnx_bytes(g, o));
  ASSERT_EQ(m.graph().input_size(), 1);
  ASSERT_EQ(m.graph().output_size(), 1);
  EXPECT_EQ(m.graph().input(0).name(), "input");
  EXPECT_EQ(m.graph().output(0).name(), "output");
  EXPECT_EQ(dims(m.graph().input(0)), (std::vector<int64_t>{1, 3, 12, 12}));
  EXPECT_EQ(dims(m.graph().output(0)), (std::vector<int64_t>{1, 5, 12, 12}));
  EXPECT_EQ(m.ir_version(), 6);  // opset 11 goes with IR version 6
  EXPECT_EQ(m.producer_name(), "dalnas");

  o.dynamic_spatial = true;
  m = parse(to_onnx_bytes(g, o));
  EXPECT_NO_THROW(onnx::checker::check_model(m));
  const auto& d = m.graph().input(0).type().tensor_type().shape().dim();
  EXPECT_EQ(d[2].dim_param(), "height");
  EXPECT_EQ(d[3].dim_param(), "width");
  EXPECT_EQ(count_ops(m, "Shape"), 2);  // the resize to a reference size reads it at run time
  EXPECT_EQ(inferred_output(m), (std::vector<int64_t>{1, 5, -1, -1}));
}

// The int8 QDQ export: every tensor through QuantizeLinear / DequantizeLinear with the
// emulator's parameters, convolution weights int8 and biases int32 exactly as the emulator
// holds them, opset 13 at least. (ONNX Runtime runs it: test_onnxruntime.cpp.)
TEST(OnnxExport, Int8QdqCarriesTheEmulatorsQuantization) {
  Case c = make_case(Genome::parse(block_type_genomes()[2]), 4, 16, 16, 77);
  const DeviceGraph g = lowered(c, false);
  const DeviceGraph form = int8_form(g, c.shape);
  Int8Config cfg;
  cfg.format = Int8Format::OnnxRuntime;
  const Int8Emulator q(form, calibrate_ranges(form, c.raw.data(), 1, c.shape, cfg), cfg);
  ExportOptions o;
  o.opset = 13;
  onnx::ModelProto m = parse(to_onnx_qdq_bytes(q, o));
  int quantize = 0, convs = 0;
  for (const auto& n : m.graph().node()) {
    quantize += n.op_type() == "QuantizeLinear";
    convs += n.op_type() == "Conv";
  }
  int tensors = 0, graph_convs = 0;
  for (const Node& n : form.nodes) {
    tensors += n.op != OpType::Output;
    graph_convs += n.op == OpType::Conv;
  }
  EXPECT_EQ(quantize, tensors);  // the input and every node's output
  EXPECT_EQ(convs, graph_convs);
  std::map<std::string, const onnx::TensorProto*> init;
  for (const auto& t : m.graph().initializer()) init[t.name()] = &t;
  for (size_t i = 0; i < form.nodes.size(); ++i) {
    if (form.nodes[i].op != OpType::Conv) continue;
    const std::string base = form.nodes[i].name;
    const Int8Emulator::ConvData& d = q.conv(static_cast<int>(i));
    ASSERT_TRUE(init.count(base + ".weight_quantized")) << base;
    const onnx::TensorProto& w = *init[base + ".weight_quantized"];
    EXPECT_EQ(w.data_type(), onnx::TensorProto::INT8);
    ASSERT_EQ(w.raw_data().size(), d.weight.size());
    EXPECT_EQ(std::memcmp(w.raw_data().data(), d.weight.data(), d.weight.size()), 0) << base;
    const onnx::TensorProto& b = *init.at(base + ".bias_quantized");
    EXPECT_EQ(b.data_type(), onnx::TensorProto::INT32);
    ASSERT_EQ(b.raw_data().size(), d.bias.size() * 4);
    EXPECT_EQ(std::memcmp(b.raw_data().data(), d.bias.data(), d.bias.size() * 4), 0) << base;
  }
  bool precision = false;
  for (const auto& p : m.metadata_props()) {
    if (p.key() == "dalnas.precision") precision = p.value() == "int8";
  }
  EXPECT_TRUE(precision);
  o.opset = 11;
  EXPECT_THROW(to_onnx_qdq_bytes(q, o), Error);
  o.opset = 13;
  o.fp16 = true;
  EXPECT_THROW(to_onnx_qdq_bytes(q, o), Error);
}

// [integer] weights = "per-tensor": each convolution's weights and bias dequantized with one
// scalar scale and zero point (no axis), the emulator's one scale; per channel: a vector.
TEST(OnnxExport, Int8QdqPerTensorWeightsHaveOneScalarScale) {
  Case c = make_case(Genome::parse(block_type_genomes()[2]), 4, 16, 16, 78);
  const DeviceGraph form = int8_form(lowered(c, false), c.shape);
  for (bool per_tensor : {false, true}) {
    Int8Config cfg;
    cfg.format = Int8Format::Tflite;
    cfg.weights_per_tensor = per_tensor;
    const Int8Emulator q(form, calibrate_ranges(form, c.raw.data(), 1, c.shape, cfg), cfg);
    ExportOptions o;
    o.opset = 13;
    const onnx::ModelProto m = parse(to_onnx_qdq_bytes(q, o));
    onnx::checker::check_model(m);
    std::map<std::string, const onnx::TensorProto*> init;
    for (const auto& t : m.graph().initializer()) init[t.name()] = &t;
    std::map<std::string, const onnx::NodeProto*> by_name;
    for (const auto& n : m.graph().node()) by_name[n.name()] = &n;
    int convs = 0;
    for (size_t i = 0; i < form.nodes.size(); ++i) {
      if (form.nodes[i].op != OpType::Conv) continue;
      ++convs;
      const std::string base = form.nodes[i].name;
      const Int8Emulator::ConvData& d = q.conv(static_cast<int>(i));
      const int out_c = form.nodes[i].out_c;
      for (const char* what : {".weight", ".bias"}) {
        const onnx::TensorProto& s = *init.at(base + what + "_scale");
        const onnx::NodeProto& dq = *by_name.at(base + what + ".dequantize");
        bool axis = false;
        for (const auto& a : dq.attribute()) axis = axis || a.name() == "axis";
        if (per_tensor) {
          EXPECT_EQ(s.dims_size(), 0) << base << what;
          EXPECT_FALSE(axis) << base << what;
        } else {
          ASSERT_EQ(s.dims_size(), 1) << base << what;
          EXPECT_EQ(s.dims(0), out_c) << base << what;
          EXPECT_TRUE(axis) << base << what;
        }
      }
      // The emulator's scales: one value repeated per tensor, and that value exported.
      const std::vector<float>& ws = d.weight_scale;
      if (per_tensor) {
        EXPECT_EQ(std::count(ws.begin(), ws.end(), ws[0]), static_cast<long>(ws.size())) << base;
        const onnx::TensorProto& s = *init.at(base + ".weight_scale");
        float v = 0;
        ASSERT_EQ(s.raw_data().size(), sizeof v);
        std::memcpy(&v, s.raw_data().data(), sizeof v);
        EXPECT_EQ(v, ws[0]) << base;
      }
    }
    EXPECT_GT(convs, 1);
  }
}

TEST(OnnxExport, Fp16StoresHalfWeightsAndCastsAtBothEnds) {
  const DeviceGraph g = every_op_graph(3, false);
  ExportOptions o;
  o.fp16 = true;
  onnx::ModelProto m = parse(to_onnx_bytes(g, o));
  EXPECT_EQ(m.graph().input(0).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(m.graph().output(0).type().tensor_type().elem_type(), onnx::TensorProto::FLOAT);
  const auto& first = m.graph().node(0);
  const auto& last = m.graph().node(m.graph().node_size() - 1);
  EXPECT_EQ(first.op_type(), "Cast");
  EXPECT_EQ(first.attribute(0).i(), onnx::TensorProto::FLOAT16);
  EXPECT_EQ(last.op_type(), "Cast");
  EXPECT_EQ(last.attribute(0).i(), onnx::TensorProto::FLOAT);
  EXPECT_EQ(last.output(0), "output");
  int64_t half_values = 0;
  for (const auto& t : m.graph().initializer()) {
    if (t.data_type() == onnx::TensorProto::FLOAT16) {
      half_values += static_cast<int64_t>(t.raw_data().size() / 2);
    } else {
      // Only Resize's scales / roi (float by definition) and int64 shapes stay as they are.
      EXPECT_TRUE(t.data_type() == onnx::TensorProto::INT64 ||
                  t.name().find(".scales") != std::string::npos ||
                  t.name().find(".roi") != std::string::npos)
          << t.name();
    }
  }
  // Every weight and bias, plus the activations' constants (2 clips' bounds, GELU's 3).
  EXPECT_EQ(half_values, g.params() + 4 + 3);
  // Half the size of the FP32 export, give or take the graph's structure.
  const size_t b32 = to_onnx_bytes(g, ExportOptions{}).size(), b16 = to_onnx_bytes(g, o).size();
  EXPECT_LT(b16, b32);
  EXPECT_GT(b32 - b16, static_cast<size_t>(g.params()) * 2 - 200);
}

TEST(OnnxExport, MetadataCarriesTheCallersKeysAndTheNormalisation) {
  Case c = make_case(Genome::parse("ConvBnAct-4-k3-relu_max_ConvBnAct-6-k3-relu_max_ConvBnAct-8-"
                                   "k3-relu_dec-4"),
                     4, 16, 16, 1);
  ExportOptions o;
  o.metadata = {{"genome", "abc"}, {"bands", 4}, {"tile", 16}};
  auto md = metadata(parse(to_onnx_bytes(lowered(c, false), o)));
  EXPECT_EQ(md["genome"], "abc");
  EXPECT_EQ(md["bands"], "4");
  EXPECT_EQ(md["dalnas.precision"], "fp32");
  EXPECT_EQ(md["dalnas.input_layout"], "NCHW");
  EXPECT_EQ(md["dalnas.normalization_folded"], "false");
  EXPECT_FALSE(md["dalnas.version"].empty());
  const auto norm = nlohmann::json::parse(md["normalization"]);
  EXPECT_EQ(norm["mean"].get<std::vector<float>>(), c.mean);
  EXPECT_EQ(norm["std"].get<std::vector<float>>(), c.std);
  // Folded: the model starts with the normalising 1×1 depthwise convolution.
  o.fp16 = true;
  onnx::ModelProto m = parse(to_onnx_bytes(lowered(c, true), o));
  md = metadata(m);
  EXPECT_EQ(md["dalnas.normalization_folded"], "true");
  EXPECT_EQ(md["dalnas.precision"], "fp16");
  EXPECT_EQ(m.graph().node(1).op_type(), "Conv");
  EXPECT_EQ(m.graph().node(1).input(0), m.graph().node(0).output(0));  // after the Cast
}

TEST(OnnxExport, WriteOnnxIsAtomicAndNamesThePathInErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "dalnas_test_onnx_export";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const DeviceGraph g = every_op_graph(4, true);
  const std::string path = (dir / "m.onnx").string();
  write_onnx(g, path, ExportOptions{});
  EXPECT_EQ(read_file(path), to_onnx_bytes(g, ExportOptions{}));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);  // no temp left

  ExportOptions bad;
  bad.opset = 9;
  try {
    write_onnx(g, path, bad);
    FAIL() << "opset 9 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": onnx export: opset 9 is not supported (11 to 17)");
  }
  EXPECT_EQ(read_file(path), to_onnx_bytes(g, ExportOptions{}));  // the old file is intact
  EXPECT_THROW(write_onnx(g, path + "/under_a_file.onnx", ExportOptions{}), Error);
  DeviceGraph empty;
  EXPECT_THROW(to_onnx_bytes(empty, ExportOptions{}), Error);
  EXPECT_THROW(check_onnx_bytes("not a model", "x.onnx"), Error);
  std::filesystem::remove_all(dir);
}

TEST(OnnxExport, CheckerRejectsABrokenModel) {
  onnx::ModelProto m = parse(to_onnx_bytes(every_op_graph(5, false), ExportOptions{}));
  m.mutable_graph()->mutable_node(0)->set_input(0, "no_such_value");
  try {
    check_onnx_bytes(m.SerializeAsString(), "broken.onnx");
    FAIL() << "the checker accepted a dangling input";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("broken.onnx: fails the ONNX checker: ", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}
