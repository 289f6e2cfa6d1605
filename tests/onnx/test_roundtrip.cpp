// Round trip: import_onnx(export(g)) run by the emulator gives, bit for bit, the emulator's
// output on g itself — FP32 exports under the FP32 profile, FP16 exports under FP16
// profiles (the FP16 export's rounded weights are what an FP16 device stores anyway).
#include <gtest/gtest.h>

#include "device/profile.h"
#include "export_test_util.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"

using namespace dalnas;
using namespace dalnas::testing_export;

namespace {

// The emulator's output on `g` and on the import of its export, for input `x`.
struct Pair {
  std::vector<float> direct, imported;
  DeviceGraph back;
};

Pair round_trip(const DeviceGraph& g, const Shape& in, const std::vector<float>& x,
                const ExportOptions& o, const EmulatorConfig& cfg) {
  Pair p;
  p.back = import_onnx_bytes(to_onnx_bytes(g, o), "export.onnx");
  // The host's normalisation travels in the metadata, not in the model.
  p.back.norm_mean = g.norm_mean;
  p.back.norm_std = g.norm_std;
  p.back.norm_folded = g.norm_folded;
  p.direct = Emulator(g, cfg).run(x.data(), in);
  p.imported = Emulator(p.back, cfg).run(x.data(), in);
  return p;
}

EmulatorConfig profile(const std::string& name) {
  return load_profile(name).emulator_config();
}

int count(const DeviceGraph& g, OpType op) {
  int n = 0;
  for (const Node& x : g.nodes) n += x.op == op;
  return n;
}

}  // namespace

TEST(RoundTrip, EveryOpAndActivationComesBackAsTheSameGraph) {
  for (bool softmax : {false, true}) {
    const DeviceGraph g = every_op_graph(7, softmax);
    const std::vector<float> x = random_input(g.input, 8);
    for (int opset : {11, 13, 14, 17}) {
      if (softmax && opset < 13) continue;  // Transpose: not read by the importer
      ExportOptions o;
      o.opset = opset;
      const Pair p = round_trip(g, g.input, x, o, profile("fp32"));
      const std::string what = "opset " + std::to_string(opset) + (softmax ? " softmax" : "");
      EXPECT_EQ(bit_differences(p.direct, p.imported), 0) << what;
      // The same graph: every node, fused activation and attribute comes back.
      ASSERT_EQ(p.back.nodes.size(), g.nodes.size()) << what << "\n" << p.back.summary();
      for (size_t i = 0; i < g.nodes.size(); ++i) {
        const Node &a = g.nodes[i], &b = p.back.nodes[i];
        EXPECT_EQ(a.op, b.op) << what << " node " << i;
        EXPECT_EQ(a.act, b.act) << what << " node " << i;
        EXPECT_EQ(a.weight, b.weight) << what << " node " << i;
        EXPECT_EQ(a.kernel, b.kernel);
        EXPECT_EQ(a.stride, b.stride);
        EXPECT_EQ(a.pad, b.pad);
        EXPECT_EQ(a.groups, b.groups);
        EXPECT_EQ(a.output_pad, b.output_pad);
        EXPECT_EQ(a.nearest, b.nearest);
        EXPECT_EQ(a.shape, b.shape) << what << " node " << i;
      }
    }
  }
}

TEST(RoundTrip, Fp16ExportGivesTheSameFp16DeviceOutput) {
  const DeviceGraph g = every_op_graph(9, true);
  const std::vector<float> x = random_input(g.input, 10);
  ExportOptions o;
  o.fp16 = true;
  o.opset = 13;
  for (const char* dev : {"fp16-ideal", "myriadx"}) {
    const Pair p = round_trip(g, g.input, x, o, profile(dev));
    EXPECT_EQ(bit_differences(p.direct, p.imported), 0) << dev;
    EXPECT_EQ(count(p.back, OpType::Conv), count(g, OpType::Conv));
  }
  // The FP16 export's weights are FP16 values: under FP32 numerics the outputs now differ.
  const Pair p = round_trip(g, g.input, x, o, profile("fp32"));
  EXPECT_GT(bit_differences(p.direct, p.imported), 0);
  EXPECT_LT(max_rel_error(p.imported, p.direct), 1e-2);
}

TEST(RoundTrip, EveryBlockTypeInBothPrecisions) {
  uint64_t seed = 20;
  for (const std::string& s : block_type_genomes()) {
    Case c = make_case(Genome::parse(s), 4, 32, 48, seed++);
    for (bool fold : {false, true}) {
      const DeviceGraph g = lowered(c, fold);
      const std::string what = s + (fold ? " folded" : "");
      ExportOptions o;
      Pair p = round_trip(g, c.shape, c.raw, o, profile("fp32"));
      EXPECT_EQ(bit_differences(p.direct, p.imported), 0) << what;
      EXPECT_EQ(p.back.nodes.size(), g.nodes.size()) << what;
      o.fp16 = true;
      for (const char* dev : {"fp16-ideal", "myriadx"}) {
        p = round_trip(g, c.shape, c.raw, o, profile(dev));
        EXPECT_EQ(bit_differences(p.direct, p.imported), 0) << what << " fp16 " << dev;
      }
    }
  }
}

TEST(RoundTrip, RandomGenomes) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 4; ++i) {
    const Genome genome = random_genome(rng);
    Case c =
        make_case(genome, 1 + static_cast<int>(rng() % 4), 32, 32, 40 + static_cast<uint64_t>(i));
    const DeviceGraph g = lowered(c, i % 2 == 1);
    ExportOptions o;
    o.opset = i % 2 ? 11 : 14;
    EXPECT_EQ(bit_differences(round_trip(g, c.shape, c.raw, o, profile("fp32")).direct,
                              round_trip(g, c.shape, c.raw, o, profile("fp32")).imported),
              0)
        << genome.str();
    o.fp16 = true;
    const Pair p = round_trip(g, c.shape, c.raw, o, profile("myriadx"));
    EXPECT_EQ(bit_differences(p.direct, p.imported), 0) << genome.str() << " fp16";
  }
}
