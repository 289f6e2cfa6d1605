#include "cost/integer_cost.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/error.h"
#include "cost/cost_table.h"
#include "cost/latency_table.h"

namespace dalnas {

namespace {

// The fields of IntegerCostParams by name, for the [cost] table.
template <typename P, typename F>
void visit_integer_params(P& p, F&& f) {
  f("int8_gmacs", p.int8_gmacs);
  f("int4_gmacs", p.int4_gmacs);
  f("int16_gmacs", p.int16_gmacs);
  f("fp16_gmacs", p.fp16_gmacs);
  f("vector_gops", p.vector_gops);
  f("channel_align", p.channel_align);
  f("depthwise_efficiency", p.depthwise_efficiency);
  f("sram_bytes", p.sram_bytes);
  f("sram_gbps", p.sram_gbps);
  f("weight_buffer_bytes", p.weight_buffer_bytes);
  f("dram_gbps", p.dram_gbps);
  f("int4_weight_bits", p.int4_weight_bits);
  f("layer_overhead_us", p.layer_overhead_us);
  f("inference_overhead_ms", p.inference_overhead_ms);
  f("pj_mac_int8", p.pj_mac_int8);
  f("pj_mac_int4", p.pj_mac_int4);
  f("pj_mac_int16", p.pj_mac_int16);
  f("pj_mac_fp16", p.pj_mac_fp16);
  f("pj_vector_op", p.pj_vector_op);
  f("pj_sram_byte", p.pj_sram_byte);
  f("pj_dram_byte", p.pj_dram_byte);
  f("static_w", p.static_w);
}

bool zero_allowed(const std::string& key) {
  return key == "layer_overhead_us" || key == "inference_overhead_ms" || key == "static_w" ||
         key == "weight_buffer_bytes" || key == "int16_gmacs";
}

// The share of `align`-wide lanes that channel count c keeps busy.
double lane_use(int c, int align) {
  if (align <= 1 || c <= 0) return 1.0;
  const int padded = (c + align - 1) / align * align;
  return static_cast<double>(c) / padded;
}

LayerPrecision effective(LayerPrecision p) {
  return p == LayerPrecision::Default ? LayerPrecision::Int8 : p;
}

// A fused activation the requantization's clamp gives for free.
bool clamp_activation(ActType a) {
  return a == ActType::None || a == ActType::ReLU || a == ActType::ReLU6 || a == ActType::Clip;
}

bool mac_layer(OpType op) {
  return op == OpType::Conv || op == OpType::FullyConnected || op == OpType::ConvTranspose;
}

// The inputs a node reads (Resize's second input is only a size reference).
std::vector<int> read_inputs(const Node& n) {
  if (n.op == OpType::Resize && !n.inputs.empty()) return {n.inputs[0]};
  return n.inputs;
}

}  // namespace

IntegerCostParams parse_integer_cost_params(const nlohmann::json& table, const std::string& where) {
  return parse_cost_table<IntegerCostParams>(
      table, where, "integer", [](auto& p, auto&& f) { visit_integer_params(p, f); },
      [](const std::string& name, const std::string& k, const nlohmann::json& v, auto& field) {
        const double x = v.get<double>();
        if constexpr (std::is_integral_v<std::decay_t<decltype(field)>>) {
          if (k == "int4_weight_bits") {
            if (!v.is_number_integer() || (x != 4 && x != 8)) {
              throw Error(name + ": expected 4 (packed) or 8 (stored as int8)");
            }
          } else if (!v.is_number_integer() || x < 1 || x > 1024) {
            throw Error(name + ": expected an integer from 1 to 1024");
          }
          field = static_cast<int>(x);
        } else {
          const bool zero_ok = zero_allowed(k);
          if (!std::isfinite(x) || x < 0.0 || (x == 0.0 && !zero_ok)) {
            throw Error(name + ": expected a " + (zero_ok ? "non-negative" : "positive") +
                        " number");
          }
          if (k == "depthwise_efficiency" && x > 1.0) {
            throw Error(name + ": expected a share in (0, 1]");
          }
          field = x;
        }
      });
}

nlohmann::json to_json(const IntegerCostParams& p) {
  nlohmann::json j = nlohmann::json::object();
  visit_integer_params(p, [&](const char* key, const auto& field) { j[key] = field; });
  return j;
}

CostEstimate estimate_integer(const DeviceGraph& graph,
                              const std::vector<LayerPrecision>& precision,
                              const IntegerCostParams& p, const CostOptions& o) {
  if (o.requests < 1) throw Error("cost model: requests must be >= 1");
  if (graph.output < 0) throw Error("cost model: the device graph has no Output node");
  if (graph.nodes.empty()) throw Error("cost model: the device graph is empty");
  const size_t count = graph.nodes.size();
  if (!precision.empty() && precision.size() != count) {
    throw Error("integer cost model: " + std::to_string(precision.size()) +
                " precisions for a graph of " + std::to_string(count) + " nodes");
  }
  const Shape in = graph.input.numel() > 0 ? graph.input : graph.nodes.at(0).shape;
  const std::vector<Shape> shapes = graph.compute_shapes(in);
  std::vector<LayerPrecision> prec(count, LayerPrecision::Int8);
  for (size_t i = 0; i < precision.size(); ++i) prec[i] = effective(precision[i]);
  auto act_bytes = [&](size_t i) { return activation_bits(prec[i]) / 8; };

  // Liveness: a tensor lives from its node to its last reader (the output to the end);
  // live[i] = bytes alive while node i runs.
  std::vector<size_t> last(count);
  for (size_t i = 0; i < count; ++i) last[i] = i;
  for (size_t i = 0; i < count; ++i) {
    for (int x : graph.nodes[i].inputs) last[static_cast<size_t>(x)] = i;
  }
  last[static_cast<size_t>(graph.output)] = count;
  std::vector<int64_t> live(count, 0);
  int64_t alive = 0, peak = 0;
  {
    std::vector<int64_t> ends(count + 1, 0);  // bytes freed after step i
    for (size_t i = 0; i < count; ++i) {
      const int64_t b = graph.nodes[i].op == OpType::Output ? 0 : act_bytes(i) * shapes[i].numel();
      alive += b;
      ends[last[i]] += b;
      live[i] = alive;
      peak = std::max(peak, alive);
      alive -= ends[i];
    }
  }

  // Weight bytes per node at its widths; on chip when all of them fit the weight buffer.
  std::vector<int64_t> wbytes(count, 0);
  int64_t total_weights = 0;
  for (size_t i = 0; i < count; ++i) {
    const Node& n = graph.nodes[i];
    const LayerPrecision q = prec[i];
    const int wbits = q == LayerPrecision::Int4W ? p.int4_weight_bits : weight_bits(q);
    const int64_t bias_bytes = q == LayerPrecision::FP16 ? 2 : q == LayerPrecision::Int16 ? 8 : 4;
    wbytes[i] = (static_cast<int64_t>(n.weight.size()) * wbits + 7) / 8 +
                static_cast<int64_t>(n.bias.size()) * bias_bytes;
    total_weights += wbytes[i];
  }
  const bool weights_on_chip = static_cast<double>(total_weights) <= p.weight_buffer_bytes;

  CostEstimate e;
  if (o.layers) e.layers.resize(count);
  std::vector<double> us(count, 0.0);
  std::vector<Engine> placement(count, Engine::None);
  double pj = 0.0;  // dynamic energy
  const double vector_rate = p.vector_gops * 1e9;
  for (size_t i = 0; i < count; ++i) {
    const Node& n = graph.nodes[i];
    const LayerPrecision q = prec[i];
    const Shape& os = shapes[i];
    const Shape is = n.inputs.empty() ? in : shapes[static_cast<size_t>(n.inputs[0])];
    const int64_t out_n = os.numel();
    const std::vector<int> reads = read_inputs(n);
    int64_t in_n = 0, in_bytes = 0, conversions = 0;
    for (int x : reads) {
      const size_t j = static_cast<size_t>(x);
      in_n += shapes[j].numel();
      in_bytes += act_bytes(j) * shapes[j].numel();
      if (activation_format_differs(prec[j], q)) conversions += shapes[j].numel();
    }
    // The node's own work: MACs (MAC layers) or vector operations.
    int64_t macs = 0, vec = 0;
    double mac_s = 0.0;
    const bool table_act = !clamp_activation(n.act);
    switch (n.op) {
      case OpType::Conv:
      case OpType::FullyConnected:
      case OpType::ConvTranspose: {
        double eff = 1.0;
        if (n.op == OpType::Conv) {
          macs = static_cast<int64_t>(n.weight.size()) * os.h * os.w;
          const int cin_g = is.c / std::max(1, n.groups);
          eff = n.groups > 1 && cin_g == 1
                    ? lane_use(os.c, p.channel_align) * p.depthwise_efficiency
                    : lane_use(cin_g, p.channel_align) * lane_use(os.c, p.channel_align);
        } else if (n.op == OpType::FullyConnected) {
          macs = static_cast<int64_t>(n.weight.size());
          eff = lane_use(static_cast<int>(is.numel()), p.channel_align) *
                lane_use(os.c, p.channel_align);
        } else {
          macs = static_cast<int64_t>(n.weight.size()) * is.h * is.w;
          eff = lane_use(is.c / std::max(1, n.groups), p.channel_align) *
                lane_use(os.c, p.channel_align);
        }
        const double rate = q == LayerPrecision::FP16    ? p.fp16_gmacs
                            : q == LayerPrecision::Int4W ? p.int4_gmacs
                            : q == LayerPrecision::Int16
                                ? (p.int16_gmacs > 0 ? p.int16_gmacs : 0.5 * p.int8_gmacs)
                                : p.int8_gmacs;
        mac_s = static_cast<double>(macs) / (rate * 1e9 * eff);
        if (table_act) vec = out_n;
        break;
      }
      case OpType::MaxPool:
      case OpType::AvgPool:
        vec = out_n * n.kernel * n.kw();
        break;
      case OpType::GlobalAvgPool:
        vec = in_n;
        break;
      case OpType::Resize:
        vec = out_n * (n.nearest ? 1 : 4);
        break;
      case OpType::Softmax:
        vec = 3 * out_n;
        break;
      case OpType::Add:
      case OpType::Mul:
        vec = out_n * (table_act ? 2 : 1);
        break;
      case OpType::Activation:
      case OpType::Slice:
      case OpType::Shuffle:
        vec = out_n;
        break;
      case OpType::Input:
      case OpType::Output:
      case OpType::Concat:
        break;
    }
    const bool has_memory =
        n.op != OpType::Input && n.op != OpType::Output && n.op != OpType::Concat;
    const int64_t acts = has_memory ? in_bytes + act_bytes(i) * out_n : 0;
    const bool spill = static_cast<double>(live[i]) > p.sram_bytes;
    const int64_t sram = (spill ? 0 : acts) + (weights_on_chip ? wbytes[i] : 0);
    const int64_t dram = (spill ? acts : 0) + (weights_on_chip ? 0 : wbytes[i]);
    const bool runs = macs > 0 || vec > 0 || conversions > 0 || acts > 0;
    if (runs) {
      const double compute = mac_s + static_cast<double>(vec + conversions) / vector_rate;
      const double sram_s = static_cast<double>(sram) / (p.sram_gbps * 1e9);
      const double dram_s = static_cast<double>(dram) / (p.dram_gbps * 1e9);
      us[i] = (std::max(compute, sram_s) + dram_s) * 1e6 + p.layer_overhead_us;
      placement[i] = mac_layer(n.op) ? Engine::NeuralEngine : Engine::Shave;
    }
    const double pj_mac = q == LayerPrecision::FP16    ? p.pj_mac_fp16
                          : q == LayerPrecision::Int4W ? p.pj_mac_int4
                          : q == LayerPrecision::Int16 ? p.pj_mac_int16
                                                       : p.pj_mac_int8;
    pj += static_cast<double>(macs) * pj_mac +
          static_cast<double>(vec + conversions) * p.pj_vector_op +
          static_cast<double>(sram) * p.pj_sram_byte + static_cast<double>(dram) * p.pj_dram_byte;
    e.weight_bytes += wbytes[i];
    if (o.layers) {
      LayerCost& l = e.layers[i];
      l.name = n.name;
      l.op = n.op;
      l.placement = placement[i];
      l.macs = mac_layer(n.op) ? macs : vec + conversions;
      l.bytes = acts + wbytes[i];
      l.dram = spill && acts > 0;
    }
  }

  // Measured per-op times replace the estimate where the table has the node's signature.
  if (o.lut != nullptr && !o.lut->empty()) {
    for (size_t i = 0; i < count; ++i) {
      const LatencyEntry* m = o.lut->find(signature_of(graph, i, shapes));
      if (m == nullptr) continue;
      us[i] = m->mean_us;
      ++e.measured_layers;
      if (o.layers) e.layers[i].measured = true;
    }
  }
  double node_us = 0.0;
  for (size_t i = 0; i < count; ++i) {
    node_us += us[i];
    if (placement[i] == Engine::NeuralEngine) e.nce_ms += us[i] * 1e-3;
    if (placement[i] == Engine::Shave) e.shave_ms += us[i] * 1e-3;
  }
  if (o.layers) {
    for (size_t i = 0; i < count; ++i) {
      e.layers[i].us = us[i];
      e.layers[i].share = node_us > 0.0 ? us[i] / node_us : 0.0;
    }
  }
  e.node_ms = node_us * 1e-3;
  e.device_ms = e.node_ms + p.inference_overhead_ms;
  e.transfer_ms = 0.0;
  e.latency_ms = e.device_ms;
  e.fps = 1000.0 / e.latency_ms;
  e.peak_memory_bytes = e.weight_bytes + peak;
  e.energy_mj = pj * 1e-9 + p.static_w * e.latency_ms;
  return e;
}

}  // namespace dalnas
