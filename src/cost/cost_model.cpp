#include "cost/cost_model.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/cpu_info.h"
#include "core/error.h"
#include "cost/cost_table.h"
#include "cost/latency_table.h"
#include "device/numerics.h"
#include "device/precision_rule.h"
#include "device/profile.h"

namespace dalnas {

namespace {

// The numeric fields of CostParams by name, for the [cost] table.
template <typename P, typename F>
void visit_params(P& p, F&& f) {
  f("nce_gmacs", p.nce_gmacs);
  f("nce_channel_align", p.nce_channel_align);
  f("shave_cores", p.shave_cores);
  f("shave_gmacs", p.shave_gmacs);
  f("shave_lanes", p.shave_lanes);
  f("cmx_bytes", p.cmx_bytes);
  f("cmx_gbps", p.cmx_gbps);
  f("dram_gbps", p.dram_gbps);
  f("layer_overhead_us", p.layer_overhead_us);
  f("inference_overhead_ms", p.inference_overhead_ms);
  f("usb2_mbps", p.usb2_mbps);
  f("usb3_mbps", p.usb3_mbps);
  f("static_w", p.static_w);
  f("nce_w", p.nce_w);
  f("shave_w", p.shave_w);
}

// Overheads and powers may be zero; rates, sizes and counts must be positive.
bool may_be_zero(const std::string& key) {
  return key == "layer_overhead_us" || key == "inference_overhead_ms" || key == "static_w" ||
         key == "nce_w" || key == "shave_w";
}

// The share of `align`-wide lanes that channel count c keeps busy.
double lane_use(int c, int align) {
  if (align <= 1 || c <= 0) return 1.0;
  const int padded = (c + align - 1) / align * align;
  return static_cast<double>(c) / padded;
}

}  // namespace

CostParams parse_cost_params(const nlohmann::json& table, const std::string& where) {
  return parse_cost_table<CostParams>(
      table, where, "", [](auto& p, auto&& f) { visit_params(p, f); },
      [](const std::string& name, const std::string& key, const nlohmann::json& v, auto& field) {
        const double x = v.get<double>();
        if (!std::isfinite(x) || x < 0.0 || (x == 0.0 && !may_be_zero(key))) {
          throw Error(name + ": expected a " +
                      std::string(may_be_zero(key) ? "non-negative" : "positive") + " number");
        }
        using T = std::decay_t<decltype(field)>;
        if constexpr (std::is_integral_v<T>) {
          if (!v.is_number_integer()) throw Error(name + ": expected an integer");
          field = static_cast<T>(v.get<int64_t>());
        } else {
          field = x;
        }
      });
}

namespace {

// `p` with the profile's pipeline settings the cost model follows (not [cost] keys): its
// hardware tiling and which activations the engine fuses.
CostParams with_pipeline(CostParams p, const DeviceProfile& profile) {
  p.tiling = profile.pipeline.tiling;
  p.nce_fuses_only_relu_clamp = profile.pipeline.nce_fuses_only_relu_clamp;
  return p;
}

}  // namespace

CostParams cost_params(const DeviceProfile& profile) {
  auto it = profile.sections.find("cost");
  if (it == profile.sections.end()) return with_pipeline(CostParams{}, profile);
  if (it->contains("model") && (*it)["model"] != "analytic") {
    throw Error(profile.path + ": cost.model: this needs the analytic model's parameters, but " +
                "the profile's model is " + (*it)["model"].dump());
  }
  return with_pipeline(parse_cost_params(*it, profile.path + ": cost"), profile);
}

nlohmann::json to_json(const CostParams& p) {
  nlohmann::json j = nlohmann::json::object();
  visit_params(p, [&](const char* key, const auto& field) { j[key] = field; });
  return j;
}

HostLink parse_host_link(const std::string& s) {
  std::string l = s;
  for (char& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (l == "usb2") return HostLink::USB2;
  if (l == "usb3") return HostLink::USB3;
  throw Error("host link '" + s + "': expected usb2 or usb3");
}

std::string to_string(HostLink l) {
  return l == HostLink::USB2 ? "usb2" : "usb3";
}

std::string to_string(Engine e) {
  switch (e) {
    case Engine::NeuralEngine:
      return "nce";
    case Engine::Shave:
      return "shave";
    case Engine::Cpu:
      return "cpu";
    case Engine::None:
      break;
  }
  return "-";
}

namespace {

// Measured times, shares and peak memory: the part both model kinds share. `us[i]` is node
// i's estimated time (0 for nodes that cost nothing); replaced here where the table has
// the node's signature. Returns the summed node time (µs).
double finish_nodes(const DeviceGraph& graph, const std::vector<Shape>& shapes,
                    const CostOptions& o, int value_bytes, std::vector<double>& us,
                    CostEstimate& e) {
  const size_t count = graph.nodes.size();
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
  for (size_t i = 0; i < count; ++i) node_us += us[i];
  if (o.layers) {
    for (size_t i = 0; i < count; ++i) {
      e.layers[i].us = us[i];
      e.layers[i].share = node_us > 0.0 ? us[i] / node_us : 0.0;
    }
  }
  // Peak memory: a value lives from its node to its last reader (the output to the end).
  std::vector<size_t> last(count);
  for (size_t i = 0; i < count; ++i) last[i] = i;
  for (size_t i = 0; i < count; ++i) {
    for (int x : graph.nodes[i].inputs) last[static_cast<size_t>(x)] = i;
  }
  last[static_cast<size_t>(graph.output)] = count;
  int64_t live = 0, peak = 0;
  std::vector<int64_t> ends(count + 1, 0);  // bytes freed after step i
  for (size_t i = 0; i < count; ++i) {
    const int64_t b = graph.nodes[i].op == OpType::Output ? 0 : value_bytes * shapes[i].numel();
    live += b;
    ends[last[i]] += b;
    peak = std::max(peak, live);
    live -= ends[i];
  }
  e.peak_memory_bytes = e.weight_bytes + peak;
  return node_us;
}

std::vector<Shape> checked_shapes(const DeviceGraph& graph, Shape& in) {
  if (graph.output < 0) throw Error("cost model: the device graph has no Output node");
  if (graph.nodes.empty()) throw Error("cost model: the device graph is empty");
  in = graph.input.numel() > 0 ? graph.input : graph.nodes.at(0).shape;
  return graph.compute_shapes(in);
}

}  // namespace

CostEstimate estimate(const DeviceGraph& graph, const CostParams& p, const CostOptions& o) {
  if (o.requests < 1) throw Error("cost model: requests must be >= 1");
  if (o.input_bytes < 1 || o.output_bytes < 1) {
    throw Error("cost model: input_bytes and output_bytes must be >= 1");
  }
  const int shaves = o.shaves == 0 ? p.shave_cores : o.shaves;
  if (shaves < 1 || shaves > p.shave_cores) {
    throw Error("cost model: shaves " + std::to_string(o.shaves) + " is not in 1.." +
                std::to_string(p.shave_cores));
  }
  Shape in;
  const std::vector<Shape> shapes = checked_shapes(graph, in);
  const size_t count = graph.nodes.size();

  CostEstimate e;
  if (o.layers) e.layers.resize(count);
  std::vector<double> node_times(count, 0.0);
  std::vector<Engine> placement(count, Engine::None);
  std::vector<double> shave_extra(count, 0.0);  // µs of SHAVE stages a node adds (tiling)
  const double nce_rate = p.nce_gmacs * 1e9;
  const double shave_rate = p.shave_gmacs * 1e9 * shaves;
  for (size_t i = 0; i < count; ++i) {
    const Node& n = graph.nodes[i];
    const Shape& os = shapes[i];
    const Shape is = n.inputs.empty() ? in : shapes[static_cast<size_t>(n.inputs[0])];
    const int64_t out_n = os.numel();
    int64_t in_n = 0;
    for (int x : n.inputs) in_n += shapes[static_cast<size_t>(x)].numel();
    Engine where = on_neural_engine(n) ? Engine::NeuralEngine : Engine::Shave;
    int parts = 1;
    double ops = 0.0;  // at the engine's full rate
    int64_t work = 0;  // reported MACs / operations
    switch (n.op) {
      case OpType::Conv:
      case OpType::FullyConnected: {
        const int64_t pixels = n.op == OpType::Conv ? int64_t(os.h) * os.w : 1;
        work = static_cast<int64_t>(n.weight.size()) * pixels;
        const int cin_g = n.op == OpType::Conv ? is.c / n.groups : static_cast<int>(is.numel());
        ops = work / (lane_use(cin_g, p.nce_channel_align) * lane_use(os.c, p.nce_channel_align));
        parts = n.op == OpType::Conv ? p.tiling.parts(n, is.c) : 1;
        if (parts > 1) {
          // P - 1 Sum stages (dense) and the activation after them, on SHAVE.
          const int sums = n.groups == 1 ? parts - 1 : 0;
          const double shave_ops = double(sums) * out_n + (n.act != ActType::None ? out_n : 0);
          shave_extra[i] = shave_ops / shave_rate * 1e6 + sums * p.layer_overhead_us;
          e.sum_stages += sums;
        } else if (where == Engine::NeuralEngine && p.nce_fuses_only_relu_clamp &&
                   !nce_fusable(n)) {
          // An activation the engine cannot apply (Sigmoid, Swish, HardSwish, GELU, ...):
          // a SHAVE stage of its own after the convolution, timed as an element-wise node.
          const double cmx = 4.0 * out_n / (p.cmx_gbps * 1e9);
          shave_extra[i] = std::max(out_n / shave_rate, cmx) * 1e6 + p.layer_overhead_us;
        }
        break;
      }
      case OpType::ConvTranspose: {
        work = static_cast<int64_t>(n.weight.size()) * is.h * is.w;
        ops = work / (lane_use(is.c / n.groups, p.shave_lanes) * lane_use(os.c, p.shave_lanes));
        break;
      }
      case OpType::Slice:
      case OpType::Shuffle:  // a copy on SHAVE
        work = out_n;
        ops = static_cast<double>(work);
        break;
      case OpType::MaxPool:
      case OpType::AvgPool:
        work = out_n * n.kernel * n.kw();
        ops = static_cast<double>(work);
        break;
      case OpType::Resize:
        work = out_n * (n.nearest ? 1 : 4);
        ops = static_cast<double>(work);
        break;
      case OpType::Softmax:
        work = 3 * out_n;
        ops = static_cast<double>(work);
        break;
      case OpType::GlobalAvgPool:
        work = in_n;
        ops = static_cast<double>(work);
        break;
      case OpType::Concat:
        where = Engine::None;  // written in place by its producers
        break;
      case OpType::Input:
      case OpType::Output:
      case OpType::Add:
      case OpType::Mul:
      case OpType::Activation:
        work = out_n;
        ops = static_cast<double>(work);
        break;
    }
    const int64_t params = static_cast<int64_t>(n.weight.size() + n.bias.size());
    const int64_t bytes = where == Engine::None ? 0 : 2 * (in_n + out_n + params);
    const int64_t wbytes = 2 * params;
    const bool dram = static_cast<double>(bytes - wbytes) > p.cmx_bytes;
    if (where != Engine::None) {
      const double compute = ops / (where == Engine::NeuralEngine ? nce_rate : shave_rate);
      const double cmx = dram ? 0.0 : (bytes - wbytes) / (p.cmx_gbps * 1e9);
      const double dram_s = ((dram ? bytes - wbytes : 0) + wbytes) / (p.dram_gbps * 1e9);
      node_times[i] = (std::max(compute, cmx) + dram_s) * 1e6 + p.layer_overhead_us;
    }
    placement[i] = where;
    e.weight_bytes += 2 * params;
    if (o.layers) {
      LayerCost& l = e.layers[i];
      l.name = n.name;
      l.op = n.op;
      l.placement = where;
      l.macs = work;
      l.bytes = bytes;
      l.dram = dram;
      l.parts = parts;
    }
  }
  // A node's SHAVE stages of tiling belong to its time (a measured time replaces both).
  for (size_t i = 0; i < count; ++i) node_times[i] += shave_extra[i];
  const double node_us = finish_nodes(graph, shapes, o, 2, node_times, e);
  for (size_t i = 0; i < count; ++i) {
    const double engine_us = node_times[i] - shave_extra[i];
    if (placement[i] == Engine::NeuralEngine) {
      e.nce_ms += engine_us * 1e-3;
      e.shave_ms += shave_extra[i] * 1e-3;
    }
    if (placement[i] == Engine::Shave) e.shave_ms += node_times[i] * 1e-3;
  }

  const double link_mbps = o.link == HostLink::USB2 ? p.usb2_mbps : p.usb3_mbps;
  const double io_bytes =
      static_cast<double>(in.numel()) * o.input_bytes +
      static_cast<double>(shapes[static_cast<size_t>(graph.output)].numel()) * o.output_bytes;
  e.transfer_ms = io_bytes / (link_mbps * 1e6) * 1e3;
  e.node_ms = node_us * 1e-3;
  e.device_ms = e.node_ms + p.inference_overhead_ms;
  const double single = e.device_ms + e.transfer_ms;
  double frame = single;
  if (o.requests == 1) {
    e.latency_ms = single;
  } else {
    frame = std::max(e.node_ms, p.inference_overhead_ms + e.transfer_ms);
    e.latency_ms = std::max(single, o.requests * frame);
  }
  e.fps = 1000.0 / frame;
  e.energy_mj = p.static_w * frame + p.nce_w * e.nce_ms +
                p.shave_w * (static_cast<double>(shaves) / p.shave_cores) * e.shave_ms;
  return e;
}

// ---------------------------------------------------------------------------------------
// The cpu model kind.

namespace {

template <typename P, typename F>
void visit_cpu_params(P& p, F&& f) {
  f("conv_gflops", p.conv_gflops);
  f("input_conv_gflops", p.input_conv_gflops);
  f("pointwise_gflops", p.pointwise_gflops);
  f("depthwise_gflops", p.depthwise_gflops);
  f("deconv_gflops", p.deconv_gflops);
  f("mem_gbps", p.mem_gbps);
  f("maxpool_gvals", p.maxpool_gvals);
  f("avgpool_gvals", p.avgpool_gvals);
  f("resize_gvals", p.resize_gvals);
  f("post_gvals", p.post_gvals);
  f("act_gvals", p.act_gvals);
  f("layer_overhead_us", p.layer_overhead_us);
  f("inference_overhead_ms", p.inference_overhead_ms);
  f("power_w", p.power_w);
  f("channel_align", p.channel_align);
}

// Feature indices (cost_model.h, kCpuFeatures).
enum CpuTerm {
  kConv,
  kInputConv,
  kPointwise,
  kDepthwise,
  kDeconv,
  kBytes,
  kMaxPool,
  kAvgPool,
  kResize,
  kPost,
  kAct,
  kNodes,
  kConst
};

bool expensive(ActType a) {
  return a == ActType::GELU || a == ActType::HardSwish || a == ActType::Sigmoid ||
         a == ActType::HardSigmoid || a == ActType::Swish;
}

// Node i's cpu features (see cost_model.h), added to f; its MACs / operations and bytes.
void node_cpu_features(const DeviceGraph& graph, const std::vector<Shape>& shapes, size_t i,
                       int align, double* f, int64_t& work, int64_t& bytes) {
  const Node& n = graph.nodes[i];
  const Shape& os = shapes[i];
  const Shape is = n.inputs.empty() ? os : shapes[static_cast<size_t>(n.inputs[0])];
  work = 0;
  bytes = 0;
  if (n.op == OpType::Input || n.op == OpType::Output) return;
  int64_t in_n = 0;
  for (int x : n.inputs) in_n += shapes[static_cast<size_t>(x)].numel();
  const int64_t out_n = os.numel();
  bytes = 4 * (in_n + out_n);
  switch (n.op) {
    case OpType::Conv: {
      work = static_cast<int64_t>(n.weight.size()) * os.h * os.w;
      const int cin_g = is.c / std::max(1, n.groups);
      const double flops = 2.0 * static_cast<double>(work);
      if (n.groups > 1) {
        f[kDepthwise] += flops / lane_use(os.c, align);
      } else {
        const double use = lane_use(cin_g, align) * lane_use(os.c, align);
        f[n.kernel == 1 ? kPointwise : cin_g < 8 ? kInputConv : kConv] += flops / use;
      }
      f[kPost] += static_cast<double>(out_n);
      break;
    }
    case OpType::FullyConnected:
      work = static_cast<int64_t>(n.weight.size());
      f[kPointwise] += 2.0 * static_cast<double>(work) / lane_use(n.out_c, align);
      break;
    case OpType::ConvTranspose:
      work = static_cast<int64_t>(n.weight.size()) * is.h * is.w;
      f[kDeconv] += 2.0 * static_cast<double>(work) /
                    (lane_use(is.c / std::max(1, n.groups), align) * lane_use(os.c, align));
      f[kPost] += static_cast<double>(out_n);
      break;
    case OpType::MaxPool:
      work = out_n * n.kernel * n.kw();
      f[kMaxPool] += static_cast<double>(in_n);
      break;
    case OpType::AvgPool:
      work = out_n * n.kernel * n.kw();
      f[kAvgPool] += static_cast<double>(in_n);
      break;
    case OpType::GlobalAvgPool:
      work = in_n;
      f[kAvgPool] += static_cast<double>(in_n);
      break;
    case OpType::Resize:
      work = out_n * (n.nearest ? 1 : 4);
      f[kResize] += static_cast<double>(out_n);
      break;
    case OpType::Softmax:
      work = 3 * out_n;
      f[kAct] += static_cast<double>(out_n);
      break;
    default:
      work = out_n;
      break;
  }
  if (expensive(n.act)) f[kAct] += static_cast<double>(out_n);
  f[kBytes] += static_cast<double>(bytes);
  f[kNodes] += 1.0;
}

}  // namespace

CpuCostParams parse_cpu_cost_params(const nlohmann::json& table, const std::string& where) {
  return parse_cost_table<CpuCostParams>(
      table, where, "cpu", [](auto& p, auto&& f) { visit_cpu_params(p, f); },
      [](const std::string& name, const std::string& key, const nlohmann::json& v, auto& field) {
        const double x = v.get<double>();
        if constexpr (std::is_integral_v<std::decay_t<decltype(field)>>) {
          if (!v.is_number_integer() || x < 1 || x > 1024) {
            throw Error(name + ": expected an integer from 1 to 1024");
          }
          field = static_cast<int>(x);
          return;
        }
        const bool zero_ok =
            key == "layer_overhead_us" || key == "inference_overhead_ms" || key == "power_w";
        if (!std::isfinite(x) || x < 0.0 || (x == 0.0 && !zero_ok)) {
          throw Error(name + ": expected a " + (zero_ok ? "non-negative" : "positive") + " number");
        }
        field = static_cast<std::decay_t<decltype(field)>>(x);
      });
}

nlohmann::json to_json(const CpuCostParams& p) {
  nlohmann::json j = nlohmann::json::object();
  visit_cpu_params(p, [&](const char* key, const auto& field) { j[key] = field; });
  return j;
}

std::vector<double> cpu_features(const DeviceGraph& graph, int channel_align) {
  Shape in;
  const std::vector<Shape> shapes = checked_shapes(graph, in);
  std::vector<double> f(kCpuFeatures, 0.0);
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    int64_t work = 0, bytes = 0;
    node_cpu_features(graph, shapes, i, channel_align, f.data(), work, bytes);
  }
  f[kConst] = 1.0;
  return f;
}

std::vector<double> cpu_coefficients(const CpuCostParams& p) {
  // µs per FLOP = 1e6 / (GFLOP/s · 1e9) = 1e-3 / GFLOP/s; likewise bytes and values.
  std::vector<double> c(kCpuFeatures);
  c[kConv] = 1e-3 / p.conv_gflops;
  c[kInputConv] = 1e-3 / p.input_conv_gflops;
  c[kPointwise] = 1e-3 / p.pointwise_gflops;
  c[kDepthwise] = 1e-3 / p.depthwise_gflops;
  c[kDeconv] = 1e-3 / p.deconv_gflops;
  c[kBytes] = 1e-3 / p.mem_gbps;
  c[kMaxPool] = 1e-3 / p.maxpool_gvals;
  c[kAvgPool] = 1e-3 / p.avgpool_gvals;
  c[kResize] = 1e-3 / p.resize_gvals;
  c[kPost] = 1e-3 / p.post_gvals;
  c[kAct] = 1e-3 / p.act_gvals;
  c[kNodes] = p.layer_overhead_us;
  c[kConst] = p.inference_overhead_ms * 1e3;
  return c;
}

CpuCostParams cpu_params_from_coefficients(const std::vector<double>& c, int channel_align,
                                           double power_w) {
  if (c.size() != static_cast<size_t>(kCpuFeatures)) {
    throw Error("cpu cost model: expected " + std::to_string(kCpuFeatures) + " coefficients");
  }
  auto rate = [](double x) { return x > 1e-12 ? 1e-3 / x : 1e9; };
  CpuCostParams p;
  p.conv_gflops = rate(c[kConv]);
  p.input_conv_gflops = rate(c[kInputConv]);
  p.pointwise_gflops = rate(c[kPointwise]);
  p.depthwise_gflops = rate(c[kDepthwise]);
  p.deconv_gflops = rate(c[kDeconv]);
  p.mem_gbps = rate(c[kBytes]);
  p.maxpool_gvals = rate(c[kMaxPool]);
  p.avgpool_gvals = rate(c[kAvgPool]);
  p.resize_gvals = rate(c[kResize]);
  p.post_gvals = rate(c[kPost]);
  p.act_gvals = rate(c[kAct]);
  p.layer_overhead_us = std::max(0.0, c[kNodes]);
  p.inference_overhead_ms = std::max(0.0, c[kConst]) * 1e-3;
  p.power_w = power_w;
  p.channel_align = channel_align;
  return p;
}

CostEstimate estimate_cpu(const DeviceGraph& graph, const CpuCostParams& p, const CostOptions& o) {
  if (o.requests < 1) throw Error("cost model: requests must be >= 1");
  Shape in;
  const std::vector<Shape> shapes = checked_shapes(graph, in);
  const size_t count = graph.nodes.size();
  const std::vector<double> c = cpu_coefficients(p);
  CostEstimate e;
  if (o.layers) e.layers.resize(count);
  std::vector<double> node_times(count, 0.0);
  for (size_t i = 0; i < count; ++i) {
    const Node& n = graph.nodes[i];
    double f[kCpuFeatures] = {0};
    int64_t work = 0, bytes = 0;
    node_cpu_features(graph, shapes, i, p.channel_align, f, work, bytes);
    double us = 0.0;
    for (int k = 0; k < kConst; ++k) us += f[k] * c[static_cast<size_t>(k)];
    node_times[i] = us;
    e.weight_bytes += 4 * static_cast<int64_t>(n.weight.size() + n.bias.size());
    if (o.layers) {
      LayerCost& l = e.layers[i];
      l.name = n.name;
      l.op = n.op;
      l.placement = f[kNodes] > 0.0 ? Engine::Cpu : Engine::None;
      l.macs = work;
      l.bytes = bytes;
    }
  }
  const double node_us = finish_nodes(graph, shapes, o, 4, node_times, e);
  e.device_ms = node_us * 1e-3 + p.inference_overhead_ms;
  e.transfer_ms = 0.0;
  e.latency_ms = e.device_ms;
  e.fps = 1000.0 / e.latency_ms;
  e.energy_mj = p.power_w * e.latency_ms;
  return e;
}

// ---------------------------------------------------------------------------------------
// Selection by the profile.

std::string to_string(CostModel::Kind k) {
  return k == CostModel::Kind::Cpu ? "cpu" : k == CostModel::Kind::Integer ? "integer" : "analytic";
}

CostEstimate CostModel::estimate(const DeviceGraph& graph, const CostOptions& options) const {
  CostOptions o = options;
  if (o.lut == nullptr) o.lut = lut.get();
  if (kind == Kind::Integer) {
    return estimate_integer(
        graph, rule ? resolve_precision(graph, *rule) : std::vector<LayerPrecision>(), integer, o);
  }
  return kind == Kind::Cpu ? estimate_cpu(graph, cpu, o) : dalnas::estimate(graph, params, o);
}

CostModel load_cost_model(const DeviceProfile& profile) {
  CostModel m;
  auto it = profile.sections.find("cost");
  if (it == profile.sections.end()) return m;
  const std::string where = profile.path + ": cost";
  if (!it->is_object()) throw Error(where + ": expected a table");
  if (it->contains("model")) {
    const nlohmann::json& k = (*it)["model"];
    if (k == "cpu") {
      m.kind = CostModel::Kind::Cpu;
    } else if (k == "integer") {
      m.kind = CostModel::Kind::Integer;
    } else if (k != "analytic") {
      throw Error(where + ".model: " + k.dump() +
                  " is not a model kind (allowed: analytic, cpu, integer)");
    }
  }
  if (m.kind == CostModel::Kind::Integer) {
    m.integer = parse_integer_cost_params(*it, where);
    m.rule = profile.integer;
  } else if (m.kind == CostModel::Kind::Cpu) {
    m.cpu = parse_cpu_cost_params(*it, where);
    auto f = profile.sections.find("fitted_on");
    if (f != profile.sections.end()) m.cpu_warning = cpu_mismatch(*f, this_cpu(), profile.path);
  } else {
    m.params = with_pipeline(parse_cost_params(*it, where), profile);
  }
  if (it->contains("lut")) {
    const nlohmann::json& l = (*it)["lut"];
    if (!l.is_string() || l.get<std::string>().empty()) {
      throw Error(where + ".lut: expected the path of a CSV file");
    }
    std::string path = l.get<std::string>();
    if (path[0] != '/') {
      const size_t slash = profile.path.find_last_of('/');
      if (slash != std::string::npos) path = profile.path.substr(0, slash + 1) + path;
    }
    m.lut_path = path;
    m.lut = std::make_shared<const LatencyTable>(LatencyTable::read_csv(path));
  }
  return m;
}

}  // namespace dalnas
