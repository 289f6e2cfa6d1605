// The integer cost model (cost/integer_cost.h) against hand-computed times, bytes and
// energies of small graphs, its [cost] table, the integer profiles and the precision rule.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "cost/cost_model.h"
#include "cost/integer_cost.h"
#include "device/int8_test_graphs.h"
#include "device/precision_rule.h"
#include "device/profile.h"

namespace dalnas {
namespace {

using P = LayerPrecision;

Node input_node() {
  Node n;
  n.op = OpType::Input;
  n.name = "in";
  return n;
}

Node conv(int in, int cin, int out_c, int k, int pad = 0, int groups = 1) {
  Node n;
  n.op = OpType::Conv;
  n.name = "conv" + std::to_string(in);
  n.inputs = {in};
  n.out_c = out_c;
  n.kernel = k;
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

// in (16×10×10) -> 3×3 conv 16 -> 16 (pad 1) -> out: 230400 MACs, 2304 weights, 16 biases,
// 1600 values in and out.
DeviceGraph one_conv(int cin = 16, int cout = 16, int groups = 1) {
  DeviceGraph g;
  g.input = {cin, 10, 10};
  g.add(input_node());
  const int c = g.add(conv(0, cin, cout, 3, 1, groups));
  g.add(op(OpType::Output, {c}));
  return g;
}

// in -> n convolutions 16 -> 16 in a chain -> out.
DeviceGraph chain(int n) {
  DeviceGraph g;
  g.input = {16, 10, 10};
  int x = g.add(input_node());
  for (int i = 0; i < n; ++i) x = g.add(conv(x, 16, 16, 3, 1));
  g.add(op(OpType::Output, {x}));
  return g;
}

constexpr double kMacs = 16.0 * 16 * 9 * 100;  // one 16 -> 16 3×3 conv at 10×10

// Round numbers: 1 MAC = 1 ns, 1 vector operation = 1 ns, no overheads, memory free,
// energy only where a test sets it.
IntegerCostParams plain() {
  IntegerCostParams p;
  p.int8_gmacs = p.int4_gmacs = p.fp16_gmacs = 1.0;
  p.vector_gops = 1.0;
  p.channel_align = 8;
  p.depthwise_efficiency = 0.25;
  p.sram_bytes = 1e12;
  p.sram_gbps = 1e9;
  p.weight_buffer_bytes = 1e12;
  p.dram_gbps = 1e9;
  p.int4_weight_bits = 4;
  p.layer_overhead_us = 0.0;
  p.inference_overhead_ms = 0.0;
  p.pj_mac_int8 = p.pj_mac_int4 = p.pj_mac_fp16 = 0.0;
  p.pj_vector_op = p.pj_sram_byte = p.pj_dram_byte = 0.0;
  p.static_w = 0.0;
  return p;
}

TEST(IntegerCost, SingleConvLatencyAndEnergyByHand) {
  IntegerCostParams p = plain();
  p.sram_gbps = 0.01;           // 1e7 bytes/s: the 3200 activation bytes take 320 µs (> compute)
  p.weight_buffer_bytes = 0.0;  // weights from DRAM
  p.dram_gbps = 1.0;
  p.layer_overhead_us = 10.0;
  p.inference_overhead_ms = 0.5;
  p.pj_mac_int8 = 0.3;
  p.pj_vector_op = 1.0;
  p.pj_sram_byte = 1.25;
  p.pj_dram_byte = 162.5;
  p.static_w = 1.0;
  CostEstimate e = estimate_integer(one_conv(), {}, p);
  ASSERT_EQ(e.layers.size(), 3u);
  const LayerCost& l = e.layers[1];
  EXPECT_EQ(l.placement, Engine::NeuralEngine);
  EXPECT_EQ(l.macs, 230400);
  // int8 activations 1600 + 1600 bytes; weights 2304 bytes + int32 biases 16 · 4 = 2368.
  EXPECT_EQ(l.bytes, 3200 + 2368);
  EXPECT_FALSE(l.dram);
  // max(compute 230.4 µs, SRAM 3200 B / 1e7 B/s = 320 µs) + DRAM 2368 B / 1e9 B/s + 10 µs.
  EXPECT_NEAR(l.us, 320.0 + 2.368 + 10.0, 1e-9);
  EXPECT_EQ(e.layers[0].us, 0.0);
  EXPECT_EQ(e.layers[0].placement, Engine::None);
  EXPECT_EQ(e.layers[2].us, 0.0);  // int8 -> int8 output: no conversion
  EXPECT_NEAR(e.node_ms, 0.332368, 1e-12);
  EXPECT_NEAR(e.latency_ms, 0.832368, 1e-12);
  EXPECT_NEAR(e.device_ms, e.latency_ms, 1e-15);
  EXPECT_EQ(e.transfer_ms, 0.0);
  EXPECT_NEAR(e.fps, 1000.0 / 0.832368, 1e-9);
  EXPECT_NEAR(e.nce_ms, 0.332368, 1e-12);
  EXPECT_EQ(e.shave_ms, 0.0);
  EXPECT_EQ(e.weight_bytes, 2368);
  EXPECT_EQ(e.peak_memory_bytes, 2368 + 3200);
  // 230400 · 0.3 + 3200 · 1.25 + 2368 · 162.5 = 457920 pJ, + 1 W · 0.832368 ms.
  EXPECT_NEAR(e.energy_mj, 457920e-9 + 0.832368, 1e-12);

  // All weights fit the weight buffer: read on chip, no DRAM traffic.
  p.weight_buffer_bytes = 2368.0;
  e = estimate_integer(one_conv(), {}, p);
  EXPECT_NEAR(e.layers[1].us, 5568 / 1e7 * 1e6 + 10.0, 1e-9);
  EXPECT_NEAR(e.energy_mj, (230400 * 0.3 + 5568 * 1.25) * 1e-9 + e.latency_ms * 1.0, 1e-12);
  p.weight_buffer_bytes = 2367.0;  // one byte short: all from DRAM again
  EXPECT_NEAR(estimate_integer(one_conv(), {}, p).layers[1].us, 332.368, 1e-9);
}

TEST(IntegerCost, LaneUseAndDepthwiseEfficiency) {
  const IntegerCostParams p = plain();
  // 3 -> 12 channels: lane use 3/8 · 12/16.
  CostEstimate e = estimate_integer(one_conv(3, 12), {}, p);
  EXPECT_NEAR(e.layers[1].us, 3.0 * 12 * 9 * 100 * 1e-3 / (3.0 / 8 * 12.0 / 16), 1e-6);
  // Depthwise 16 channels: a(16) = 1, times depthwise_efficiency 0.25.
  e = estimate_integer(one_conv(16, 16, 16), {}, p);
  EXPECT_EQ(e.layers[1].macs, 16 * 9 * 100);
  EXPECT_NEAR(e.layers[1].us, 16.0 * 9 * 100 * 1e-3 / 0.25, 1e-6);
}

TEST(IntegerCost, Int4WeightsHalveWeightBytes) {
  IntegerCostParams p = plain();
  const CostEstimate e8 = estimate_integer(one_conv(), {P::Int8, P::Int8, P::Int8}, p);
  const CostEstimate e4 = estimate_integer(one_conv(), {P::Int8, P::Int4W, P::Int8}, p);
  EXPECT_EQ(e8.weight_bytes, 2304 + 64);
  EXPECT_EQ(e4.weight_bytes, 1152 + 64);  // the int32 biases stay
  EXPECT_EQ(e4.weight_bytes - 64, (e8.weight_bytes - 64) / 2);
  // Activations stay int8: the same activation bytes, no conversions.
  EXPECT_EQ(e4.layers[1].bytes - 1216, e8.layers[1].bytes - 2368);
  EXPECT_EQ(e4.layers[2].us, 0.0);
  // int4 layers at their own MAC rate and energy.
  p.int4_gmacs = 2.0;
  p.pj_mac_int8 = 0.3;
  p.pj_mac_int4 = 0.1;
  const CostEstimate f = estimate_integer(one_conv(), {P::Int8, P::Int4W, P::Int8}, p);
  EXPECT_NEAR(f.layers[1].us, kMacs * 1e-3 / 2.0, 1e-6);
  EXPECT_NEAR(f.energy_mj, kMacs * 0.1 * 1e-9, 1e-15);
  // Stored as int8 (an ONNX QDQ model): no saving.
  p.int4_weight_bits = 8;
  EXPECT_EQ(estimate_integer(one_conv(), {P::Int8, P::Int4W, P::Int8}, p).weight_bytes, 2368);
}

TEST(IntegerCost, Fp16NodeCostsMoreEnergyAndConvertsAtItsBoundaries) {
  IntegerCostParams p = plain();
  p.pj_mac_int8 = 0.3;
  p.pj_mac_fp16 = 2.0;
  p.pj_vector_op = 1.0;
  const DeviceGraph g = chain(3);  // in, A, B, C, out
  const CostEstimate e8 = estimate_integer(g, {}, p);
  const CostEstimate mixed = estimate_integer(g, {P::Int8, P::Int8, P::FP16, P::Int8, P::Int8}, p);
  EXPECT_NEAR(e8.energy_mj, 3 * kMacs * 0.3 * 1e-9, 1e-15);
  // B's MACs at 2.0 pJ; A's output dequantized into B and B's output quantized into C:
  // 1600 + 1600 vector operations at 1 pJ.
  EXPECT_NEAR(mixed.energy_mj, (2 * kMacs * 0.3 + kMacs * 2.0 + 3200 * 1.0) * 1e-9, 1e-15);
  EXPECT_EQ(mixed.layers[2].macs, 230400);
  // Each conversion adds 1600 operations at 1e9/s to the converting node.
  EXPECT_NEAR(mixed.layers[1].us, kMacs * 1e-3, 1e-6);
  EXPECT_NEAR(mixed.layers[2].us, kMacs * 1e-3 + 1.6, 1e-6);
  EXPECT_NEAR(mixed.layers[3].us, kMacs * 1e-3 + 1.6, 1e-6);
  // FP16 weights (2 bytes) and biases (2 bytes); its output is 2 bytes per value.
  EXPECT_EQ(mixed.weight_bytes, 2 * 2368 + 2304 * 2 + 16 * 2);
  EXPECT_EQ(mixed.layers[2].bytes, 1600 + 3200 + 4640);
  EXPECT_EQ(mixed.layers[3].bytes, 3200 + 1600 + 2368);

  // An FP16 head: the Output (int8, dequantized by the host) quantizes it.
  const CostEstimate head = estimate_integer(one_conv(), {P::Int8, P::FP16, P::Int8}, p);
  EXPECT_NEAR(head.layers[1].us, kMacs * 1e-3 + 1.6, 1e-6);  // dequantizes its input
  EXPECT_EQ(head.layers[2].placement, Engine::Shave);
  EXPECT_EQ(head.layers[2].macs, 1600);
  EXPECT_NEAR(head.layers[2].us, 1.6, 1e-9);
  EXPECT_NEAR(head.shave_ms, 1.6e-3, 1e-12);
}

TEST(IntegerCost, ActivationsSpillToDramWhenTheLiveSetExceedsSram) {
  IntegerCostParams p = plain();
  p.int8_gmacs = 1e9;  // compute free
  p.sram_gbps = 100.0;
  p.dram_gbps = 2.0;
  p.weight_buffer_bytes = 1e12;  // weights on chip
  p.pj_sram_byte = 1.0;
  p.pj_dram_byte = 100.0;
  const DeviceGraph g = one_conv();
  p.sram_bytes = 3200;  // input + output just fit
  CostEstimate e = estimate_integer(g, {}, p);
  EXPECT_FALSE(e.layers[1].dram);
  EXPECT_NEAR(e.layers[1].us, std::max(kMacs / 1e18, 5568 / 100e9) * 1e6, 1e-12);
  EXPECT_NEAR(e.energy_mj, 5568 * 1.0 * 1e-9, 1e-15);
  p.sram_bytes = 3199;  // they spill: activations through DRAM, weights still on chip
  e = estimate_integer(g, {}, p);
  EXPECT_TRUE(e.layers[1].dram);
  EXPECT_NEAR(e.layers[1].us, std::max(kMacs / 1e18, 2368 / 100e9) * 1e6 + 3200 / 2e9 * 1e6, 1e-9);
  EXPECT_NEAR(e.energy_mj, (2368 * 1.0 + 3200 * 100.0) * 1e-9, 1e-15);

  // The live set, not the node's own bytes: in -> A -> B -> C -> Add(A, C) keeps A alive
  // while B and C run. At A: in + A = 3200; at B: A + B = 3200; at C: A + B + C = 4800
  // (C's own bytes are 3200); at the Add: A + C + Add = 4800.
  DeviceGraph skip;
  skip.input = {16, 10, 10};
  skip.add(input_node());
  const int a = skip.add(conv(0, 16, 16, 3, 1));
  const int b = skip.add(conv(a, 16, 16, 3, 1));
  const int c = skip.add(conv(b, 16, 16, 3, 1));
  const int s = skip.add(op(OpType::Add, {a, c}));
  skip.add(op(OpType::Output, {s}));
  p.sram_bytes = 4000;
  e = estimate_integer(skip, {}, p);
  EXPECT_FALSE(e.layers[1].dram);
  EXPECT_FALSE(e.layers[2].dram);
  EXPECT_TRUE(e.layers[3].dram);
  EXPECT_TRUE(e.layers[4].dram);
  EXPECT_EQ(e.layers[4].placement, Engine::Shave);
  EXPECT_EQ(e.layers[4].macs, 1600);
  EXPECT_EQ(e.peak_memory_bytes, e.weight_bytes + 4800);
}

TEST(IntegerCost, CostTableParsesAndErrorsNameTheKey) {
  const nlohmann::json t = {{"model", "integer"},       {"lut", "x.csv"},
                            {"int8_gmacs", 123.0},      {"channel_align", 32},
                            {"weight_buffer_bytes", 0}, {"int4_weight_bits", 8}};
  const IntegerCostParams p = parse_integer_cost_params(t, "x.toml: cost");
  EXPECT_EQ(p.int8_gmacs, 123.0);
  EXPECT_EQ(p.channel_align, 32);
  EXPECT_EQ(p.weight_buffer_bytes, 0.0);
  EXPECT_EQ(p.int4_weight_bits, 8);
  EXPECT_EQ(p.dram_gbps, IntegerCostParams{}.dram_gbps);
  auto message = [](const nlohmann::json& j) {
    try {
      parse_integer_cost_params(j, "x.toml: cost");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message({{"int8_gmac", 1.0}}).find("x.toml: cost: unknown key 'int8_gmac'"),
            std::string::npos);
  EXPECT_NE(message({{"nce_gmacs", 1.0}}).find("unknown key 'nce_gmacs'"), std::string::npos);
  EXPECT_NE(message({{"dram_gbps", 0.0}}).find("x.toml: cost.dram_gbps: expected a positive"),
            std::string::npos);
  EXPECT_NE(message({{"pj_mac_int8", -1.0}}).find("cost.pj_mac_int8: expected a positive"),
            std::string::npos);
  EXPECT_NE(message({{"static_w", -1.0}}).find("cost.static_w: expected a non-negative"),
            std::string::npos);
  EXPECT_NE(message({{"depthwise_efficiency", 1.5}}).find("cost.depthwise_efficiency"),
            std::string::npos);
  EXPECT_NE(message({{"channel_align", 2.5}}).find("cost.channel_align: expected an integer"),
            std::string::npos);
  EXPECT_NE(message({{"int4_weight_bits", 2}}).find("cost.int4_weight_bits: expected 4"),
            std::string::npos);
  EXPECT_NE(message({{"sram_bytes", "big"}}).find("cost.sram_bytes: expected a number"),
            std::string::npos);
  EXPECT_EQ(to_json(parse_integer_cost_params(to_json(p), "x")), to_json(p));
}

// A small network: conv, pool, conv, resize, concat, head.
DeviceGraph small_net() {
  DeviceGraph g;
  g.input = {4, 32, 32};
  g.add(input_node());
  const int a = g.add(conv(0, 4, 16, 3, 1));
  Node pool = op(OpType::MaxPool, {a});
  pool.kernel = pool.stride = 2;
  const int b = g.add(pool);
  const int c = g.add(conv(b, 16, 32, 3, 1));
  const int d = g.add(op(OpType::Resize, {c, a}));
  const int e = g.add(op(OpType::Concat, {d, a}));
  const int h = g.add(conv(e, 48, 2, 1));
  g.add(op(OpType::Output, {h}));
  return g;
}

TEST(IntegerCost, IntegerProfilesLoadTheIntegerModel) {
  for (const char* name : {"int8-tflite", "onnxruntime-int8", "dpu-int8"}) {
    SCOPED_TRACE(name);
    const DeviceProfile prof = load_profile(name);
    const CostModel m = load_cost_model(prof);
    EXPECT_EQ(m.kind, CostModel::Kind::Integer);
    EXPECT_EQ(to_string(m.kind), "integer");
    ASSERT_TRUE(m.rule.has_value());
    EXPECT_EQ(m.rule->format, prof.integer->format);
    const CostEstimate e = m.estimate(small_net());
    EXPECT_TRUE(std::isfinite(e.latency_ms));
    EXPECT_GT(e.latency_ms, 0.0);
    EXPECT_TRUE(std::isfinite(e.energy_mj));
    EXPECT_GT(e.energy_mj, 0.0);
    EXPECT_GT(e.weight_bytes, 0);
    EXPECT_GT(e.peak_memory_bytes, e.weight_bytes);
    EXPECT_NEAR(e.fps, 1000.0 / e.latency_ms, 1e-9);
    EXPECT_THROW(cost_params(prof), Error);  // not the analytic model's table
  }
  // int8-tflite's table repeats the compiled-in defaults (both documented).
  EXPECT_EQ(to_json(load_cost_model(load_profile("int8-tflite")).integer),
            to_json(IntegerCostParams{}));
}

TEST(IntegerCost, PrecisionRuleChangesTheEstimate) {
  const DeviceGraph g = small_net();
  Int8Config rule;  // int8-tflite, every node int8
  std::vector<LayerPrecision> r = resolve_precision(g, rule);
  ASSERT_EQ(r.size(), g.nodes.size());
  CostModel m;
  m.kind = CostModel::Kind::Integer;
  m.integer = plain();
  m.rule = rule;
  const CostEstimate e8 = m.estimate(g);
  EXPECT_EQ(e8.weight_bytes, estimate_integer(g, {}, m.integer).weight_bytes);
  // Weights 4·16·9 + 16·32·9 + 48·2 = 5280, biases 16 + 32 + 2 = 50 (int32).
  EXPECT_EQ(e8.weight_bytes, 5280 + 4 * 50);

  m.rule->precision = LayerPrecision::Int4W;
  r = resolve_precision(g, *m.rule);
  EXPECT_EQ(r[1], LayerPrecision::Int4W);
  EXPECT_EQ(r[0], LayerPrecision::Int8);  // the Input stays int8
  const CostEstimate e4 = m.estimate(g);
  EXPECT_EQ(e4.weight_bytes, 5280 / 2 + 4 * 50);
  EXPECT_LT(e4.weight_bytes, e8.weight_bytes);

  // first_last = fp16: the head converts (its int8 input, its output into the Output).
  m.rule->precision = LayerPrecision::Int8;
  m.rule->first_last = LayerPrecision::FP16;
  r = resolve_precision(g, *m.rule);
  EXPECT_EQ(r[6], LayerPrecision::FP16);
  const CostEstimate ef = m.estimate(g);
  EXPECT_EQ(ef.weight_bytes, 5280 - 96 + 96 * 2 + 4 * 48 + 2 * 2);
  EXPECT_GT(ef.layers[7].us, 0.0);  // the Output quantizes the FP16 head

  // Unset rule: every node int8.
  m.rule.reset();
  EXPECT_EQ(m.estimate(g).weight_bytes, e8.weight_bytes);
}

TEST(IntegerCost, BadPrecisionListThrows) {
  EXPECT_THROW(estimate_integer(one_conv(), {P::Int8}, plain()), Error);
  CostOptions o;
  o.requests = 0;
  EXPECT_THROW(estimate_integer(one_conv(), {}, plain(), o), Error);
}

// int16 layers (TFLite 16x8) at their own rate, two-byte activations, and a conversion
// where the activation format changes (moved here from tests/device/test_int16_layers.cpp).
TEST(IntegerCost, Int16LayersCostTheirRateTheirBytesAndTheConversions) {
  using int8_test::node_named;
  const Shape kIn{3, 12, 12};
  std::mt19937 rng(5);
  DeviceGraph g8 = int8_test::residual(rng, LayerPrecision::Int8);
  g8.infer_shapes(kIn);
  IntegerCostParams p;
  p.int8_gmacs = 400.0;
  p.int16_gmacs = 100.0;
  p.layer_overhead_us = 0.0;
  p.inference_overhead_ms = 0.0;
  CostOptions o;
  o.layers = true;
  std::vector<LayerPrecision> q8(g8.nodes.size(), LayerPrecision::Int8);
  std::vector<LayerPrecision> q16 = q8;
  const int c1 = node_named(g8, "enc1.conv");
  for (const char* name : {"pool1", "enc1.conv", "enc1.dw", "enc1.add"})
    q16[static_cast<size_t>(node_named(g8, name))] = LayerPrecision::Int16;
  const CostEstimate a = estimate_integer(g8, q8, p, o);
  const CostEstimate b = estimate_integer(g8, q16, p, o);
  EXPECT_GT(b.latency_ms, a.latency_ms);
  EXPECT_GT(b.energy_mj, a.energy_mj);
  // enc1.conv: its activations in and out at 2 bytes (the pool feeding it is int16 too).
  EXPECT_GT(b.layers[static_cast<size_t>(c1)].bytes, a.layers[static_cast<size_t>(c1)].bytes);
  // The pool converts enc0's int8 output: a vector operation per value it reads.
  const int pool = node_named(g8, "pool1");
  EXPECT_GT(b.layers[static_cast<size_t>(pool)].macs, a.layers[static_cast<size_t>(pool)].macs);
}

}  // namespace
}  // namespace dalnas
