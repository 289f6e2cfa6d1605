// Measured lookup tables: signatures (canonical form, normalisation, what distinguishes
// ops), the CSV reader and its errors, the override in both cost model kinds, the profile
// keys (`lut`, `model`) and the cpu model against hand-computed times. With lowered networks
// (libtorch): test_latency_table_lowered.cpp.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/genome.h"
#include "cost/cost_model.h"
#include "cost/latency_table.h"
#include "device/profile.h"
#include "temp_dir.h"

namespace dalnas {
namespace {

namespace fs = std::filesystem;

using test_util::TempDir;

std::string error_of(const std::string& csv) {
  try {
    LatencyTable::parse_csv(csv, "t.csv");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Node node(OpType op, std::vector<int> inputs, const std::string& name = "") {
  Node n;
  n.op = op;
  n.inputs = std::move(inputs);
  n.name = name.empty() ? to_string(op) : name;
  return n;
}

Node conv(int x, int cin, int cout, int k, ActType act = ActType::None, int groups = 1) {
  Node n = node(OpType::Conv, {x});
  n.out_c = cout;
  n.kernel = k;
  n.pad = k / 2;
  n.groups = groups;
  n.act = act;
  n.weight.assign(static_cast<size_t>(cout) * (cin / groups) * k * k, 0.1f);
  n.bias.assign(static_cast<size_t>(cout), 0.0f);
  return n;
}

// input 8×16×16 -> conv 3×3 16 relu -> maxpool -> resize ×2 -> add(conv, resize) -> output
DeviceGraph small_graph() {
  DeviceGraph g;
  g.input = {8, 16, 16};
  g.add(node(OpType::Input, {}));
  const int c = g.add(conv(0, 8, 16, 3, ActType::ReLU));
  Node p = node(OpType::MaxPool, {c});
  p.kernel = p.stride = 2;
  const int pool = g.add(p);
  Node r = node(OpType::Resize, {pool});
  r.scale = 2.0f;
  const int up = g.add(r);
  const int add = g.add(node(OpType::Add, {c, up}));
  g.add(node(OpType::Output, {add}));
  return g;
}

TEST(LatencyTable, CanonicalSignatures) {
  const DeviceGraph g = small_graph();
  const std::vector<OpSignature> s = graph_signatures(g);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].str(), "conv_i8x16x16_o16x16x16_k3_s1_p1_g1_relu");
  EXPECT_EQ(s[1].str(), "maxpool_i16x16x16_o16x8x8_k2_s2_p0_g1_none");
  EXPECT_EQ(s[2].str(), "resize_i16x8x8_o16x16x16_k1_s1_p0_g1_none_bilinear");
  EXPECT_EQ(s[3].str(), "add_i16x16x16_o16x16x16_k1_s1_p0_g1_none");
  // Fields that do not apply are reset: an add with stray kernel / groups is the same op.
  OpSignature a = s[3];
  a.kernel = 7;
  a.groups = 4;
  a.variant = "x";
  EXPECT_EQ(normalized(a).str(), s[3].str());
  // What matters distinguishes: activation, groups, stride, shapes.
  OpSignature b = s[0];
  b.act = ActType::GELU;
  EXPECT_NE(b.str(), s[0].str());
  b = s[0];
  b.groups = 8;
  EXPECT_NE(normalized(b).str(), s[0].str());
  // Pooling keeps its geometry but no activation.
  OpSignature m = s[1];
  m.act = ActType::ReLU;
  EXPECT_EQ(normalized(m).str(), s[1].str());
}

TEST(LatencyTable, ReadsTablesAndSkipsUnmeasuredRows) {
  const std::string csv =
      "op,input,output,kernel,stride,pad,groups,act,variant,mean_us,std_us,runs\n"
      "conv,8x16x16,16x16x16,3,1,1,1,relu,,120.5,3.5,100\n"
      "\n"
      "maxpool,16x16x16,16x8x8,2,2,0,1,none,,,,\n"  // not measured yet
      "add,16x16x16,16x16x16,,,,,,,7\n";
  const LatencyTable t = LatencyTable::parse_csv(csv, "t.csv");
  EXPECT_EQ(t.size(), 2u);
  const LatencyEntry* e = t.find("conv_i8x16x16_o16x16x16_k3_s1_p1_g1_relu");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->mean_us, 120.5);
  EXPECT_EQ(e->std_us, 3.5);
  EXPECT_EQ(e->runs, 100);
  EXPECT_NE(t.find("add_i16x16x16_o16x16x16_k1_s1_p0_g1_none"), nullptr);
  EXPECT_EQ(t.find("maxpool_i16x16x16_o16x8x8_k2_s2_p0_g1_none"), nullptr);
  // Written and read back: the same entries.
  const LatencyTable back = LatencyTable::parse_csv(t.to_csv(), "back.csv");
  ASSERT_EQ(back.size(), t.size());
  for (const LatencyEntry& x : t.entries()) {
    const LatencyEntry* y = back.find(x.sig);
    ASSERT_NE(y, nullptr) << x.sig.str();
    EXPECT_DOUBLE_EQ(y->mean_us, x.mean_us);
  }
  // A blank plan reads as an empty table.
  EXPECT_TRUE(LatencyTable::parse_csv(t.to_csv(true), "plan.csv").empty());
}

TEST(LatencyTable, ErrorsNameFileLineAndColumn) {
  const std::string h = "op,input,output,kernel,stride,pad,groups,act,variant,mean_us\n";
  EXPECT_NE(error_of("op,input,output\n").find("t.csv:1: the header has no column 'mean_us'"),
            std::string::npos);
  EXPECT_NE(error_of(h + "conv,8x16x16,16x16x16,3,1,1,1,relu,,fast\n").find("t.csv:2: mean_us:"),
            std::string::npos);
  EXPECT_NE(error_of(h + "conv,8x16,16x16x16,3,1,1,1,relu,,1\n").find("t.csv:2: input: '8x16'"),
            std::string::npos);
  EXPECT_NE(error_of(h + "\nwarp,8x16x16,16x16x16,3,1,1,1,relu,,1\n").find("t.csv:3: op: 'warp'"),
            std::string::npos);
  EXPECT_NE(error_of(h + "conv,8x16x16,16x16x16,0,1,1,1,relu,,1\n").find("t.csv:2: kernel:"),
            std::string::npos);
  EXPECT_NE(error_of(h + "conv,8x16x16,16x16x16,3,1,1,1,mish,,1\n").find("t.csv:2: act:"),
            std::string::npos);
  EXPECT_NE(error_of(h + "conv,8x16x16,16x16x16,3,1,1,1,relu,,-1\n").find("t.csv:2: mean_us:"),
            std::string::npos);
  const std::string dup = h + "add,4x4x4,4x4x4,,,,,,,1\nadd,4x4x4,4x4x4,3,,,,,,2\n";
  EXPECT_NE(error_of(dup).find("t.csv:3: signature: add_i4x4x4_o4x4x4_k1_s1_p0_g1_none is "
                               "already on line 2"),
            std::string::npos)
      << error_of(dup);
  EXPECT_NE(error_of("signature,op,input,output,mean_us\nconv_x,add,4x4x4,4x4x4,1\n")
                .find("t.csv:2: signature: 'conv_x' does not match"),
            std::string::npos);
  EXPECT_NE(error_of("op,input,output,mean_us,speed\n").find("unknown column 'speed'"),
            std::string::npos);
  EXPECT_NE(error_of("").find("t.csv: empty"), std::string::npos);
}

TEST(LatencyTable, OverridesTheAnalyticEstimateWhereASignatureMatches) {
  const DeviceGraph g = small_graph();
  const CostParams p;
  const CostEstimate base = estimate(g, p);
  LatencyTable t;
  LatencyEntry e;
  e.sig = graph_signatures(g)[0];  // the conv
  e.mean_us = 1234.0;
  t.add(e);
  LatencyEntry other;  // a signature not in the graph changes nothing
  other.sig = e.sig;
  other.sig.out.c = 99;
  other.mean_us = 1e6;
  t.add(other);
  CostOptions o;
  o.lut = &t;
  const CostEstimate m = estimate(g, p, o);
  EXPECT_EQ(m.measured_layers, 1);
  EXPECT_EQ(base.measured_layers, 0);
  ASSERT_EQ(m.layers.size(), g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    EXPECT_EQ(m.layers[i].measured, i == 1) << i;
    if (i != 1) {
      EXPECT_DOUBLE_EQ(m.layers[i].us, base.layers[i].us) << i;
    }
  }
  EXPECT_DOUBLE_EQ(m.layers[1].us, 1234.0);
  EXPECT_NEAR(m.device_ms - base.device_ms, (1234.0 - base.layers[1].us) * 1e-3, 1e-9);
  EXPECT_NEAR(m.nce_ms - base.nce_ms, (1234.0 - base.layers[1].us) * 1e-3, 1e-9);
  double share = 0.0;
  for (const LayerCost& l : m.layers) share += l.share;
  EXPECT_NEAR(share, 1.0, 1e-12);
  // Totals only (no per-layer report): the same latency.
  o.layers = false;
  EXPECT_DOUBLE_EQ(estimate(g, p, o).latency_ms, m.latency_ms);
  // The cpu model takes the same override.
  const CostEstimate c0 = estimate_cpu(g, CpuCostParams{});
  o.layers = true;
  const CostEstimate c1 = estimate_cpu(g, CpuCostParams{}, o);
  EXPECT_NEAR(c1.latency_ms - c0.latency_ms, (1234.0 - c0.layers[1].us) * 1e-3, 1e-9);
  EXPECT_TRUE(c1.layers[1].measured);
}

TEST(LatencyTable, CpuModelMatchesHandComputedTimes) {
  CpuCostParams p;
  p.conv_gflops = 100.0;  // 1e-5 µs per FLOP
  p.input_conv_gflops = 10.0;
  p.pointwise_gflops = 50.0;
  p.depthwise_gflops = 5.0;
  p.mem_gbps = 10.0;  // 1e-4 µs per byte
  p.maxpool_gvals = 0.5;
  p.avgpool_gvals = 1.0;
  p.resize_gvals = 2.0;
  p.post_gvals = 4.0;
  p.act_gvals = 0.25;
  p.layer_overhead_us = 3.0;
  p.inference_overhead_ms = 0.5;
  p.channel_align = 16;
  DeviceGraph g;
  g.input = {4, 8, 8};
  g.add(node(OpType::Input, {}));
  const int c0 = g.add(conv(0, 4, 24, 3, ActType::GELU));        // input conv, 4 -> 24
  const int c1 = g.add(conv(c0, 24, 24, 3, ActType::None, 24));  // depthwise
  const int c2 = g.add(conv(c1, 24, 16, 1));                     // pointwise
  Node mp = node(OpType::MaxPool, {c2});
  mp.kernel = mp.stride = 2;
  const int pool = g.add(mp);
  g.add(node(OpType::Output, {pool}));
  const CostEstimate e = estimate_cpu(g, p);
  ASSERT_EQ(e.layers.size(), 6u);
  const double px = 64.0;
  // conv0: FLOPs 2·24·4·9·64, lane use (4/16)·(24/32); bytes 4·(4·64 + 24·64); post 24·64;
  // GELU 24·64 values.
  const double f0 = 2.0 * 24 * 4 * 9 * px / ((4.0 / 16) * (24.0 / 32));
  const double t0 = f0 * 1e-3 / 10.0 + 4.0 * (4 + 24) * px * 1e-3 / 10.0 + 24 * px * 1e-3 / 4.0 +
                    24 * px * 1e-3 / 0.25 + 3.0;
  EXPECT_NEAR(e.layers[1].us, t0, 1e-9);
  // depthwise: FLOPs 2·24·9·64 / (24/32)
  const double t1 = 2.0 * 24 * 9 * px / (24.0 / 32) * 1e-3 / 5.0 + 4.0 * 48 * px * 1e-3 / 10.0 +
                    24 * px * 1e-3 / 4.0 + 3.0;
  EXPECT_NEAR(e.layers[2].us, t1, 1e-9);
  const double t2 = 2.0 * 24 * 16 * px / (24.0 / 32) * 1e-3 / 50.0 + 4.0 * 40 * px * 1e-3 / 10.0 +
                    16 * px * 1e-3 / 4.0 + 3.0;
  EXPECT_NEAR(e.layers[3].us, t2, 1e-9);
  const double t3 = 16 * px * 1e-3 / 0.5 + 4.0 * (16 * px + 16 * 16) * 1e-3 / 10.0 + 3.0;
  EXPECT_NEAR(e.layers[4].us, t3, 1e-9);
  EXPECT_EQ(e.layers[0].us, 0.0);  // input and output are free
  EXPECT_EQ(e.layers[5].us, 0.0);
  EXPECT_EQ(e.layers[1].placement, Engine::Cpu);
  EXPECT_NEAR(e.latency_ms, (t0 + t1 + t2 + t3) * 1e-3 + 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(e.fps, 1000.0 / e.latency_ms);
  EXPECT_EQ(e.transfer_ms, 0.0);
  EXPECT_EQ(e.energy_mj, 0.0);
  // The linear form gives the same latency, and coefficients round-trip to parameters.
  const std::vector<double> f = cpu_features(g, 16);
  const std::vector<double> c = cpu_coefficients(p);
  double us = 0.0;
  for (size_t i = 0; i < f.size(); ++i) us += f[i] * c[i];
  EXPECT_NEAR(us * 1e-3, e.latency_ms, 1e-12);
  EXPECT_EQ(to_json(cpu_params_from_coefficients(c, 16)), to_json(p));
  EXPECT_EQ(to_json(parse_cpu_cost_params(to_json(p), "x")), to_json(p));
}

TEST(LatencyTable, ProfileSelectsTheModelAndTheTable) {
  TempDir d("lut");
  d.write("lut.csv",
          "op,input,output,kernel,stride,pad,groups,act,variant,mean_us\n"
          "conv,8x16x16,16x16x16,3,1,1,1,relu,,500\n");
  const std::string prof =
      d.write("dev.toml", "name = \"dev\"\n[cost]\nnce_gmacs = 100.0\nlut = \"lut.csv\"\n");
  const CostModel m = load_cost_model(load_profile(prof));
  EXPECT_EQ(m.kind, CostModel::Kind::Analytic);
  EXPECT_EQ(m.params.nce_gmacs, 100.0);
  ASSERT_TRUE(m.lut);
  EXPECT_EQ(m.lut_path, (d.path / "lut.csv").string());
  const CostEstimate e = m.estimate(small_graph());
  EXPECT_EQ(e.measured_layers, 1);
  EXPECT_DOUBLE_EQ(e.layers[1].us, 500.0);
  // CostOptions::lut takes precedence over the profile's table.
  LatencyTable empty;
  CostOptions o;
  o.lut = &empty;
  EXPECT_EQ(m.estimate(small_graph(), o).measured_layers, 0);
  // cost_params still reads the analytic table (the lut key is not an error there).
  EXPECT_EQ(cost_params(load_profile(prof)).nce_gmacs, 100.0);

  const std::string cpu =
      d.write("cpu.toml", "name = \"c\"\n[cost]\nmodel = \"cpu\"\nconv_gflops = 42.0\n");
  const CostModel mc = load_cost_model(load_profile(cpu));
  EXPECT_EQ(mc.kind, CostModel::Kind::Cpu);
  EXPECT_EQ(mc.cpu.conv_gflops, 42.0);
  EXPECT_DOUBLE_EQ(mc.estimate(small_graph()).latency_ms,
                   estimate_cpu(small_graph(), mc.cpu).latency_ms);
  EXPECT_THROW(cost_params(load_profile(cpu)), Error);

  auto message = [&](const std::string& text) {
    try {
      load_cost_model(load_profile(d.write("bad.toml", "name = \"b\"\n[cost]\n" + text)));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message("model = \"gpu\"\n").find("cost.model: \"gpu\" is not a model kind"),
            std::string::npos);
  EXPECT_NE(message("lut = \"missing.csv\"\n").find("missing.csv: no such file"),
            std::string::npos);
  EXPECT_NE(message("model = \"cpu\"\nnce_gmacs = 1.0\n").find("unknown key 'nce_gmacs'"),
            std::string::npos);
  EXPECT_NE(message("model = \"cpu\"\nmem_gbps = 0\n").find("cost.mem_gbps: expected a positive"),
            std::string::npos);
}

}  // namespace
}  // namespace dalnas
