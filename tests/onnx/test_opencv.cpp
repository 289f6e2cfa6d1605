// An independent runtime: OpenCV's DNN module (cv::dnn::readNetFromONNX) loads the FP32
// exports and its output matches libtorch's forward of the trained network (and the FP32
// emulator on hand-built graphs) within 1e-4 relative. Skipped when the tests were built
// without OpenCV (libopencv-dev). OpenCV 4.6 cannot read float16 initializers ("Unsupported
// data type: FLOAT16"), so the FP16 exports are checked by the round trip only
// (test_roundtrip.cpp).
#include <gtest/gtest.h>

#include "export_test_util.h"
#include "onnx/onnx_export.h"

#ifdef DALNAS_HAVE_OPENCV
#include <onnx/onnx_pb.h>

#include <cstring>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#endif

using namespace dalnas;
using namespace dalnas::testing_export;

namespace {

#ifdef DALNAS_HAVE_OPENCV
// OpenCV 4.6 (Debian 12) reads Clip only in its opset-6 form, bounds as attributes; later
// releases read both. The opset-11 Clip(x, min, max) nodes are rewritten to that form here,
// for OpenCV only (the export itself is checked against the opset it declares).
std::string clip_as_attributes(const std::string& bytes) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  std::map<std::string, float> scalars;
  for (const auto& t : m.graph().initializer()) {
    if (t.data_type() == onnx::TensorProto::FLOAT && t.raw_data().size() == 4) {
      float f;
      std::memcpy(&f, t.raw_data().data(), 4);
      scalars[t.name()] = f;
    }
  }
  for (auto& n : *m.mutable_graph()->mutable_node()) {
    if (n.op_type() != "Clip" || n.input_size() == 1) continue;
    const char* names[] = {"", "min", "max"};
    for (int i = 1; i < n.input_size(); ++i) {
      if (n.input(i).empty()) continue;
      auto* a = n.add_attribute();
      a->set_name(names[i]);
      a->set_type(onnx::AttributeProto::FLOAT);
      a->set_f(scalars.at(n.input(i)));
    }
    const std::string x = n.input(0);
    n.clear_input();
    n.add_input(x);
  }
  return m.SerializeAsString();
}

// OpenCV's forward of an ONNX model on one C × H × W input; the output flattened.
std::vector<float> opencv_forward(const std::string& bytes, const Shape& s,
                                  const std::vector<float>& x) {
  cv::setNumThreads(2);
  const std::string onnx = clip_as_attributes(bytes);
  cv::dnn::Net net = cv::dnn::readNetFromONNX(onnx.data(), onnx.size());
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  const int dims[4] = {1, s.c, s.h, s.w};
  cv::Mat blob(4, dims, CV_32F, const_cast<float*>(x.data()));
  net.setInput(blob, "input");
  cv::Mat out = net.forward("output");
  if (!out.isContinuous()) out = out.clone();
  return std::vector<float>(out.ptr<float>(), out.ptr<float>() + out.total());
}
#define SKIP_WITHOUT_OPENCV()
#else
std::vector<float> opencv_forward(const std::string&, const Shape&, const std::vector<float>&) {
  return {};
}
#define SKIP_WITHOUT_OPENCV() \
  GTEST_SKIP() << "built without OpenCV (install libopencv-dev and reconfigure)"
#endif

}  // namespace

TEST(OpenCV, EveryBlockTypeMatchesLibtorch) {
  SKIP_WITHOUT_OPENCV();
  uint64_t seed = 50;
  for (const std::string& s : block_type_genomes()) {
    // Odd sizes: pooling floors and the decoder resizes to the skip's size (not × 2).
    Case c = make_case(Genome::parse(s), 4, 37, 45, seed++);
    const std::vector<float> want = torch_logits(c);
    ExportOptions o;
    const std::vector<float> host =
        opencv_forward(to_onnx_bytes(lowered(c, false), o), c.shape, normalised(c));
    EXPECT_LE(max_rel_error(host, want), 1e-4) << s;
    // Normalisation folded into the model: raw values in.
    const std::vector<float> folded =
        opencv_forward(to_onnx_bytes(lowered(c, true), o), c.shape, c.raw);
    EXPECT_LE(max_rel_error(folded, want), 1e-4) << s << " (folded)";
  }
}

TEST(OpenCV, RandomGenomesMatchLibtorch) {
  SKIP_WITHOUT_OPENCV();
  std::mt19937_64 rng(11);
  for (int i = 0; i < 4; ++i) {
    const Genome genome = random_genome(rng);
    Case c = make_case(genome, 1 + static_cast<int>(rng() % 4), 32 + static_cast<int>(rng() % 9),
                       32 + static_cast<int>(rng() % 9), 60 + static_cast<uint64_t>(i));
    ExportOptions o;
    o.opset = i % 2 ? 11 : 13;
    EXPECT_LE(
        max_rel_error(opencv_forward(to_onnx_bytes(lowered(c, false), o), c.shape, normalised(c)),
                      torch_logits(c)),
        1e-4)
        << genome.str() << " opset " << o.opset;
  }
}

TEST(OpenCV, EveryOpMatchesTheFp32Emulator) {
  SKIP_WITHOUT_OPENCV();
  for (bool softmax : {false, true}) {
    const DeviceGraph g = every_op_graph(12, softmax);
    const std::vector<float> x = random_input(g.input, 13);
    const std::vector<float> want = Emulator(g, EmulatorConfig{}).run(x.data(), g.input);
    for (int opset : {11, 13}) {
      ExportOptions o;
      o.opset = opset;
      EXPECT_LE(max_rel_error(opencv_forward(to_onnx_bytes(g, o), g.input, x), want), 1e-4)
          << "opset " << opset << (softmax ? " softmax" : "");
    }
  }
}

// The dynamic-size export computes the decoder's resize sizes with Shape / Slice / Concat at
// run time. OpenCV 4.6 evaluates Shape only for known sizes, so the symbolic H and W are
// pinned to each size here (as OpenVINO's --input_shape does) before it reads the model;
// the same model then matches libtorch at sizes other than the one it was exported for.
TEST(OpenCV, DynamicSpatialExportRunsAtOtherSizes) {
  SKIP_WITHOUT_OPENCV();
  Case c = make_case(Genome::parse(block_type_genomes()[3]), 4, 32, 32, 80);
  ExportOptions o;
  o.dynamic_spatial = true;
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(to_onnx_bytes(lowered(c, false), o)));
  for (int h : {32, 37, 64}) {
    Case d = make_case(Genome::parse(block_type_genomes()[3]), 4, h, h + 9, 80);  // same weights
    onnx::ModelProto pinned = m;
    auto* dims = pinned.mutable_graph()
                     ->mutable_input(0)
                     ->mutable_type()
                     ->mutable_tensor_type()
                     ->mutable_shape();
    dims->mutable_dim(2)->set_dim_value(h);
    dims->mutable_dim(3)->set_dim_value(h + 9);
    EXPECT_LE(max_rel_error(opencv_forward(pinned.SerializeAsString(), d.shape, normalised(d)),
                            torch_logits(d)),
              1e-4)
        << h;
  }
}
