// Measured lookup tables on lowered networks (device/lower.h, which needs libtorch; the
// sanitizer build leaves this file out, tests/CMakeLists.txt): probe graphs that reproduce
// every signature of lowered networks, and the cost of an estimate with a table.
#include <gtest/gtest.h>

#include <chrono>

#include "core/error.h"
#include "core/genome.h"
#include "cost/cost_model.h"
#include "cost/latency_table.h"
#include "device/lower.h"

namespace dalnas {
namespace {

TEST(LatencyTable, ProbeGraphsReproduceEverySignatureOfLoweredNetworks) {
  // Every block type, both poolings, several activations; probes for each signature.
  const char* genomes[] = {
      "ConvSE-16-k3-hswish_max_MBConv-24-k5-e4-gelu_avg_DenseNetBlock-16-k3-relu6_dec-8",
      "ResNetBlock-8-k3-relu_avg_ConvAct-16-k5-relu_max_MBConvNoRes-16-k3-e3-relu_max_"
      "ConvBnAct-24-k3-gelu_dec-16",
  };
  int probes = 0;
  for (const char* text : genomes) {
    torch::manual_seed(0);
    Network net = build_network(Genome::parse(text), 3);
    net->eval();
    DeviceGraph g = lower(net, LowerOptions{});
    g.infer_shapes(Shape{3, 20, 18});  // odd sizes: resizes to a skip's size, not ×2
    for (const OpSignature& s : graph_signatures(g)) {
      const DeviceGraph p = probe_graph(s);
      const int op = probe_op_index(p);
      const Shape in = p.input;
      EXPECT_EQ(signature_of(p, static_cast<size_t>(op), p.compute_shapes(in)).str(), s.str());
      ++probes;
    }
  }
  EXPECT_GT(probes, 40);
  // A signature no op can produce is an error naming it.
  OpSignature bad;
  bad.op = OpType::Conv;
  bad.in = {8, 16, 16};
  bad.out = {16, 3, 3};  // a 3×3 kernel at stride 1 cannot shrink 16 to 3
  bad.kernel = 3;
  try {
    probe_graph(bad);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad.str()), std::string::npos) << e.what();
  }
}

TEST(LatencyTable, EstimatesWithATableStayWellUnderAMillisecond) {
  Genome genome;
  ASSERT_TRUE(named_genome("reference", genome));
  torch::manual_seed(0);
  Network net = build_network(genome, 4);
  net->eval();
  DeviceGraph g = lower(net, LowerOptions{});
  g.infer_shapes(Shape{4, 256, 256});
  LatencyTable t;
  for (const OpSignature& s : graph_signatures(g)) {
    LatencyEntry e;
    e.sig = s;
    e.mean_us = 10.0;
    t.add(e);
    for (int c = 1; c <= 40; ++c) {  // and many signatures it does not use
      e.sig.out.c = s.out.c + c;
      t.add(e);
    }
  }
  CostOptions o;
  o.lut = &t;
  double sink = 0.0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) sink += estimate(g, CostParams{}, o).latency_ms;
  for (int i = 0; i < 100; ++i) sink += estimate_cpu(g, CpuCostParams{}, o).latency_ms;
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(sink, 0.0);
  EXPECT_EQ(estimate(g, CostParams{}, o).measured_layers,
            static_cast<int>(graph_signatures(g).size()));
  EXPECT_LT(ms / 200.0, 1.0) << "average " << ms / 200.0 << " ms per estimate";
}

}  // namespace
}  // namespace dalnas
