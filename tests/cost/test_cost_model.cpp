// The analytic cost model against hand-computed times, memory and energy of small graphs,
// its invariants, the [cost] table, and its speed.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "core/error.h"
#include "cost/cost_model.h"
#include "device/profile.h"
#include "onnx/onnx_import.h"

namespace dalnas {
namespace {

// Parameters with round numbers and no overheads, so that times are easy to derive.
CostParams plain() {
  CostParams p;
  p.nce_gmacs = 1.0;  // 1e9 MAC/s: 1 MAC = 1 ns
  p.nce_channel_align = 8;
  p.shave_cores = 16;
  p.shave_gmacs = 0.5;  // 16 cores: 8e9 op/s
  p.shave_lanes = 8;
  p.cmx_bytes = 1e12;  // everything fits
  p.cmx_gbps = 1e6;    // memory never limits
  p.dram_gbps = 1e12;  // nor the weights' DRAM reads
  p.layer_overhead_us = 0.0;
  p.inference_overhead_ms = 0.0;
  p.usb2_mbps = 10.0;
  p.usb3_mbps = 100.0;
  p.static_w = 0.0;
  p.nce_w = 0.0;
  p.shave_w = 0.0;
  return p;
}

Node input_node() {
  Node n;
  n.op = OpType::Input;
  n.name = "in";
  return n;
}

Node conv(int in, int cin, int out_c, int k, int stride = 1, int pad = 0, int groups = 1) {
  Node n;
  n.op = OpType::Conv;
  n.name = "conv";
  n.inputs = {in};
  n.out_c = out_c;
  n.kernel = k;
  n.stride = stride;
  n.pad = pad;
  n.groups = groups;
  n.weight.assign(static_cast<size_t>(out_c) * (cin / groups) * k * k, 0.1f);
  n.bias.assign(static_cast<size_t>(out_c), 0.0f);
  return n;
}

Node op(OpType t, std::vector<int> inputs) {
  Node n;
  n.op = t;
  n.name = to_string(t);
  n.inputs = std::move(inputs);
  return n;
}

DeviceGraph one_conv(int cin, int cout, int h, int k) {
  DeviceGraph g;
  g.input = {cin, h, h};
  g.add(input_node());
  const int c = g.add(conv(0, cin, cout, k, 1, k / 2));
  g.add(op(OpType::Output, {c}));
  return g;
}

TEST(CostModel, ConvTimeIsMacsOverTheRateTimesLaneUse) {
  // 16 -> 16 channels: every lane busy.
  CostEstimate e = estimate(one_conv(16, 16, 10, 3), plain());
  ASSERT_EQ(e.layers.size(), 3u);
  const int64_t macs = int64_t(16) * 16 * 9 * 100;
  EXPECT_EQ(e.layers[1].macs, macs);
  EXPECT_EQ(e.layers[1].placement, Engine::NeuralEngine);
  EXPECT_NEAR(e.layers[1].us, macs * 1e-3, 1e-9);  // 1 ns per MAC
  // 3 -> 12 channels: lane use 3/8 · 12/16.
  e = estimate(one_conv(3, 12, 10, 3), plain());
  const int64_t macs2 = int64_t(3) * 12 * 9 * 100;
  EXPECT_NEAR(e.layers[1].us, macs2 * 1e-3 / (3.0 / 8.0 * 12.0 / 16.0), 1e-9);
  // Depthwise: one input channel per group.
  DeviceGraph dw;
  dw.input = {16, 10, 10};
  dw.add(input_node());
  dw.add(conv(0, 16, 16, 3, 1, 1, 16));
  dw.add(op(OpType::Output, {1}));
  e = estimate(dw, plain());
  EXPECT_NEAR(e.layers[1].us, 16.0 * 9 * 100 * 1e-3 / (1.0 / 8.0), 1e-9);
}

TEST(CostModel, MemoryBoundLayersUseTheCmxOrDramBandwidth) {
  CostParams p = plain();
  p.nce_gmacs = 1e9;  // compute is free
  p.cmx_gbps = 100.0;
  p.dram_gbps = 2.0;
  const DeviceGraph g = one_conv(8, 8, 16, 1);
  // bytes: FP16 input + output (activations) + 64 weights + 8 biases (always from DRAM)
  const int64_t act = 2 * (8 * 256 + 8 * 256), weights = 2 * (64 + 8);
  p.cmx_bytes = static_cast<double>(act);  // the activations just fit
  CostEstimate e = estimate(g, p);
  EXPECT_EQ(e.layers[1].bytes, act + weights);
  EXPECT_FALSE(e.layers[1].dram);
  // CMX traffic overlaps compute (free here); the weights' DRAM read adds.
  EXPECT_NEAR(e.layers[1].us, (act / 100e9 + weights / 2e9) * 1e6, 1e-9);
  p.cmx_bytes = static_cast<double>(act - 1);  // the activations spill too
  e = estimate(g, p);
  EXPECT_TRUE(e.layers[1].dram);
  EXPECT_NEAR(e.layers[1].us, (act + weights) / 2e9 * 1e6, 1e-6);  // + 1.6e-8 us compute
  // The DRAM time adds to the compute, it does not overlap it.
  p.nce_gmacs = 1.0;
  const double compute_us = 8.0 * 8 * 256 * 1e-3;
  e = estimate(g, p);
  EXPECT_NEAR(e.layers[1].us, compute_us + (act + weights) / 2e9 * 1e6, 1e-9);
}

// Hardware tiling (the profile's [numerics.tiling], HwTiling::parts as in the emulator):
// a dense convolution over more input channels than a pass reads adds SHAVE Sum stages.
TEST(CostModel, TiledConvolutionsAddShaveSumStages) {
  CostParams p = plain();
  p.layer_overhead_us = 10.0;
  const DeviceGraph g = one_conv(1000, 16, 8, 3);  // 3x3: 28 channels x 16 blocks = 448
  const CostEstimate off = estimate(g, p);
  EXPECT_EQ(off.layers[1].parts, 1);
  EXPECT_EQ(off.sum_stages, 0);
  p.tiling.enabled = true;
  const CostEstimate on = estimate(g, p);
  ASSERT_EQ(p.tiling.parts(g.nodes[1], 1000), 3);
  EXPECT_EQ(on.layers[1].parts, 3);
  EXPECT_EQ(on.sum_stages, 2);
  // 2 sums of 16 x 8 x 8 values on 16 SHAVEs at 0.5 G/s each, plus 2 stage overheads.
  const double sums_us = 2 * 1024 / 8e9 * 1e6 + 2 * 10.0;
  EXPECT_NEAR(on.layers[1].us - off.layers[1].us, sums_us, 1e-9);
  EXPECT_NEAR(on.shave_ms - off.shave_ms, sums_us * 1e-3, 1e-12);
  // A fused activation moves to SHAVE after the sums: one more pass over the output.
  DeviceGraph r = g;
  r.nodes[1].act = ActType::ReLU;
  EXPECT_NEAR(estimate(r, p).layers[1].us - on.layers[1].us, 1024 / 8e9 * 1e6, 1e-9);
  // Fewer channels than a pass: one part, no sums.
  EXPECT_EQ(estimate(one_conv(448, 16, 8, 3), p).sum_stages, 0);
  // The myriadx profile's tiling reaches the cost model.
  const CostParams mx =
      cost_params(load_profile(std::string(DALNAS_SOURCE_DIR) + "/devices/myriadx.toml"));
  EXPECT_TRUE(mx.tiling.enabled);
  EXPECT_EQ(mx.tiling.channels_per_pass(3), 448);
}

// The neural engine applies ReLU and Clamp from 0 in its own stage; any other activation of
// a convolution is a SHAVE stage after it: one element-wise pass plus a stage's overhead.
TEST(CostModel, ActivationsTheEngineCannotApplyAreAShaveStage) {
  CostParams p = plain();
  p.layer_overhead_us = 10.0;
  p.nce_fuses_only_relu_clamp = true;
  const DeviceGraph g = one_conv(16, 16, 8, 3);
  const CostEstimate none = estimate(g, p);
  struct Case {
    ActType act;
    float lo;
    bool shave;
  };
  for (const Case& c : {Case{ActType::ReLU, 0, false}, Case{ActType::ReLU6, 0, false},
                        Case{ActType::Clip, 0, false}, Case{ActType::Clip, -1, true},
                        Case{ActType::Sigmoid, 0, true}, Case{ActType::Swish, 0, true},
                        Case{ActType::HardSwish, 0, true}, Case{ActType::GELU, 0, true},
                        Case{ActType::HardSigmoid, 0, true}}) {
    DeviceGraph a = g;
    a.nodes[1].act = c.act;
    a.nodes[1].act_min = c.lo;
    const CostEstimate e = estimate(a, p);
    // 16 x 8 x 8 values on 16 SHAVEs at 0.5 G/s each, and one stage's overhead.
    const double stage_us = c.shave ? 1024 / 8e9 * 1e6 + 10.0 : 0.0;
    EXPECT_NEAR(e.layers[1].us - none.layers[1].us, stage_us, 1e-9) << to_string(c.act);
    EXPECT_NEAR(e.shave_ms - none.shave_ms, stage_us * 1e-3, 1e-12) << to_string(c.act);
    EXPECT_NEAR(e.nce_ms, none.nce_ms, 1e-12) << to_string(c.act);
    // Without the rule (an engine that applies every activation) nothing is added.
    CostParams all = p;
    all.nce_fuses_only_relu_clamp = false;
    EXPECT_NEAR(estimate(a, all).layers[1].us, none.layers[1].us, 1e-9) << to_string(c.act);
  }
  // The myriadx profile's rule reaches the cost model.
  EXPECT_TRUE(cost_params(load_profile(std::string(DALNAS_SOURCE_DIR) + "/devices/myriadx.toml"))
                  .nce_fuses_only_relu_clamp);
}

TEST(CostModel, ShaveOpsScaleWithTheShavesInUse) {
  DeviceGraph g;
  g.input = {4, 50, 50};
  g.add(input_node());
  const int a = g.add(op(OpType::Add, {0, 0}));
  g.add(op(OpType::Output, {a}));
  CostOptions o;
  const CostEstimate all = estimate(g, plain(), o);
  EXPECT_EQ(all.layers[1].placement, Engine::Shave);
  EXPECT_EQ(all.layers[1].macs, 10000);
  EXPECT_NEAR(all.layers[1].us, 10000 / 8e9 * 1e6, 1e-9);
  o.shaves = 4;
  const CostEstimate four = estimate(g, plain(), o);
  EXPECT_NEAR(four.layers[1].us, 4.0 * all.layers[1].us, 1e-9);
  o.shaves = 17;
  EXPECT_THROW(estimate(g, plain(), o), Error);
}

TEST(CostModel, ConvTransposeRunsOnShaveWithLaneUse) {
  DeviceGraph g;
  g.input = {4, 8, 8};
  g.add(input_node());
  Node t = conv(0, 4, 6, 3);
  t.op = OpType::ConvTranspose;
  t.stride = 2;
  t.pad = 1;
  t.output_pad = 1;
  t.weight.assign(4 * 6 * 9, 0.1f);  // in × out × k × k
  const int i = g.add(t);
  g.add(op(OpType::Output, {i}));
  const CostEstimate e = estimate(g, plain());
  EXPECT_EQ(e.layers[1].placement, Engine::Shave);
  const int64_t macs = int64_t(4) * 6 * 9 * 64;
  EXPECT_EQ(e.layers[1].macs, macs);
  EXPECT_NEAR(e.layers[1].us, macs / (4.0 / 8.0 * 6.0 / 8.0) / 8e9 * 1e6, 1e-9);
}

TEST(CostModel, ConcatIsFreeAndNodeSharesSumToOne) {
  DeviceGraph g;
  g.input = {3, 16, 16};
  g.add(input_node());
  const int c1 = g.add(conv(0, 3, 8, 3, 1, 1));
  const int cat = g.add(op(OpType::Concat, {0, c1}));
  const int c2 = g.add(conv(cat, 11, 4, 1));
  g.add(op(OpType::Output, {c2}));
  const CostEstimate e = estimate(g, plain());
  EXPECT_EQ(e.layers[2].placement, Engine::None);
  EXPECT_EQ(e.layers[2].us, 0.0);
  double share = 0.0, us = 0.0;
  for (const LayerCost& l : e.layers) {
    share += l.share;
    us += l.us;
  }
  EXPECT_NEAR(share, 1.0, 1e-12);
  EXPECT_NEAR(e.device_ms, us * 1e-3, 1e-12);
  EXPECT_NEAR(e.nce_ms + e.shave_ms, e.device_ms, 1e-12);
}

TEST(CostModel, TransferSyncAndPipelinedRequests) {
  CostParams p = plain();
  p.inference_overhead_ms = 1.5;
  const DeviceGraph g = one_conv(16, 16, 10, 3);  // device: 230.4 µs of conv + tiny SHAVE ops
  CostOptions o;
  o.link = HostLink::USB2;
  const CostEstimate sync = estimate(g, p, o);
  // input and output 1600 values each, 4 bytes, at 10 MB/s
  EXPECT_NEAR(sync.transfer_ms, 2 * 1600 * 4 / 10e6 * 1e3, 1e-12);
  EXPECT_NEAR(sync.latency_ms, sync.device_ms + sync.transfer_ms, 1e-12);
  EXPECT_NEAR(sync.fps, 1000.0 / sync.latency_ms, 1e-9);
  o.link = HostLink::USB3;
  const CostEstimate fast = estimate(g, p, o);
  EXPECT_NEAR(fast.transfer_ms, sync.transfer_ms / 10.0, 1e-12);
  o.requests = 3;
  const CostEstimate piped = estimate(g, p, o);
  // The host side of one request (fixed cost + transfer) overlaps another's compute.
  const double frame = std::max(piped.node_ms, p.inference_overhead_ms + piped.transfer_ms);
  EXPECT_NEAR(frame, 1.5 + piped.transfer_ms, 1e-12);
  EXPECT_NEAR(piped.fps, 1000.0 / frame, 1e-9);
  EXPECT_NEAR(piped.latency_ms, std::max(fast.latency_ms, 3 * frame), 1e-12);
  EXPECT_GT(piped.fps, fast.fps);
  o.requests = 0;
  EXPECT_THROW(estimate(g, p, o), Error);
}

TEST(CostModel, PeakMemoryFollowsLiveness) {
  // in(1×8×8) -> a(2×8×8) -> b(4×8×8) -> add(b, b2) where b2 = conv(a): a is live until b2.
  DeviceGraph g;
  g.input = {1, 8, 8};
  g.add(input_node());
  const int a = g.add(conv(0, 1, 2, 1));
  const int b = g.add(conv(a, 2, 4, 1));
  const int b2 = g.add(conv(a, 2, 4, 1));
  const int s = g.add(op(OpType::Add, {b, b2}));
  g.add(op(OpType::Output, {s}));
  const CostEstimate e = estimate(g, plain());
  const int64_t weights = 2 * ((2 + 2) + (8 + 4) + (8 + 4));
  EXPECT_EQ(e.weight_bytes, weights);
  // Largest live set: at b2, {a, b, b2} = 2·(128 + 256 + 256); at the add, {b, b2, add} =
  // 2·(256·3) = 1536 > 1280.
  EXPECT_EQ(e.peak_memory_bytes, weights + 2 * 256 * 3);
}

TEST(CostModel, EnergyIsPowerTimesBusyTime) {
  CostParams p = plain();
  p.static_w = 0.5;
  p.nce_w = 1.0;
  p.shave_w = 2.0;
  CostOptions o;
  o.shaves = 8;
  const CostEstimate e = estimate(one_conv(16, 16, 10, 3), p, o);
  EXPECT_NEAR(e.energy_mj, 0.5 * e.latency_ms + 1.0 * e.nce_ms + 2.0 * 0.5 * e.shave_ms, 1e-12);
  EXPECT_GT(e.energy_mj, 0.0);
}

TEST(CostModel, MoreChannelsOrPixelsNeverCostLess) {
  const CostParams p;  // the defaults
  double last = 0.0;
  for (int c : {8, 16, 24, 48, 96}) {
    const double t = estimate(one_conv(c, c, 32, 3), p).latency_ms;
    EXPECT_GT(t, last) << c;
    last = t;
  }
  EXPECT_LT(estimate(one_conv(16, 16, 32, 3), p).latency_ms,
            estimate(one_conv(16, 16, 64, 3), p).latency_ms);
  // A channel count that fills fewer lanes costs the neural engine as much as the aligned
  // count (9 output channels occupy 16 lanes).
  EXPECT_NEAR(estimate(one_conv(16, 9, 32, 3), plain()).layers[1].us,
              estimate(one_conv(16, 16, 32, 3), plain()).layers[1].us, 1e-9);
}

TEST(CostModel, CostTableParsesAndRejectsBadKeys) {
  nlohmann::json t = {{"nce_gmacs", 123.0}, {"shave_cores", 8}, {"layer_overhead_us", 0}};
  const CostParams p = parse_cost_params(t, "x.toml: cost");
  EXPECT_EQ(p.nce_gmacs, 123.0);
  EXPECT_EQ(p.shave_cores, 8);
  EXPECT_EQ(p.layer_overhead_us, 0.0);
  EXPECT_EQ(p.usb2_mbps, CostParams{}.usb2_mbps);
  auto message = [](const nlohmann::json& j) {
    try {
      parse_cost_params(j, "x.toml: cost");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message({{"nce_gmac", 1.0}}).find("x.toml: cost: unknown key 'nce_gmac'"),
            std::string::npos);
  EXPECT_NE(message({{"dram_gbps", 0.0}}).find("x.toml: cost.dram_gbps: expected a positive"),
            std::string::npos);
  EXPECT_NE(message({{"shave_cores", 2.5}}).find("cost.shave_cores: expected an integer"),
            std::string::npos);
  EXPECT_NE(message({{"usb2_mbps", "fast"}}).find("cost.usb2_mbps: expected a number"),
            std::string::npos);
  // Round trip through JSON.
  EXPECT_EQ(to_json(parse_cost_params(to_json(p), "x")), to_json(p));
}

TEST(CostModel, MyriadxProfileCostTableLoads) {
  const DeviceProfile prof = load_profile("myriadx");
  const CostParams p = cost_params(prof);
  ASSERT_TRUE(prof.sections.contains("cost")) << "devices/myriadx.toml has no [cost] table";
  EXPECT_GT(p.nce_gmacs, 0.0);
  EXPECT_EQ(p.shave_cores, 16);
  EXPECT_NEAR(p.cmx_bytes, 2.5 * 1024 * 1024, 1.0);
  // The table and the compiled-in defaults are the same numbers (both documented).
  EXPECT_EQ(to_json(p), to_json(CostParams{}));
}

TEST(CostModel, HostLinkNames) {
  EXPECT_EQ(parse_host_link("USB2"), HostLink::USB2);
  EXPECT_EQ(parse_host_link("usb3"), HostLink::USB3);
  EXPECT_THROW(parse_host_link("pcie"), Error);
  EXPECT_EQ(to_string(HostLink::USB2), "usb2");
}

// A 4-level U-Net-like graph at 256 × 256 (convs, pools, resizes, concats).
DeviceGraph unet() {
  DeviceGraph g;
  g.input = {4, 256, 256};
  g.add(input_node());
  int x = 0, c = 4;
  std::vector<std::pair<int, int>> skips;
  for (int level = 0; level < 4; ++level) {
    const int w = 16 << level;
    x = g.add(conv(x, c, w, 3, 1, 1));
    x = g.add(conv(x, w, w, 3, 1, 1));
    skips.push_back({x, w});
    Node p = op(OpType::MaxPool, {x});
    p.kernel = p.stride = 2;
    x = g.add(p);
    c = w;
  }
  x = g.add(conv(x, c, 2 * c, 3, 1, 1));
  c = 2 * c;
  for (int level = 3; level >= 0; --level) {
    Node up = op(OpType::Resize, {x, skips[level].first});
    x = g.add(up);
    x = g.add(op(OpType::Concat, {x, skips[level].first}));
    c += skips[level].second;
    x = g.add(conv(x, c, skips[level].second, 3, 1, 1));
    c = skips[level].second;
  }
  x = g.add(conv(x, c, 1, 1));
  g.add(op(OpType::Output, {x}));
  return g;
}

TEST(CostModel, AnEstimateTakesWellUnderAMillisecond) {
  const DeviceGraph g = unet();
  const CostParams p;
  CostOptions o;
  o.layers = true;  // the full per-layer report
  double sink = 0.0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) sink += estimate(g, p, o).latency_ms;
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(sink, 0.0);
  EXPECT_LT(ms / 100.0, 1.0) << "average " << ms / 100.0 << " ms per estimate";
}

}  // namespace
}  // namespace dalnas
