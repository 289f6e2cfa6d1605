#include "device/cost_model.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/error.h"
#include "device/numerics.h"
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
  if (!table.is_object()) throw Error(where + ": expected a table");
  CostParams p;
  for (auto it = table.begin(); it != table.end(); ++it) {
    bool known = false;
    visit_params(p, [&](const char* key, auto& field) {
      if (it.key() != key) return;
      known = true;
      const nlohmann::json& v = it.value();
      const std::string name = where + "." + key;
      if (!v.is_number()) throw Error(name + ": expected a number");
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
    if (!known) {
      std::string keys;
      visit_params(p, [&](const char* key, auto&) {
        keys += (keys.empty() ? "" : ", ") + std::string(key);
      });
      throw Error(where + ": unknown key '" + it.key() + "' (allowed: " + keys + ")");
    }
  }
  return p;
}

CostParams cost_params(const DeviceProfile& profile) {
  auto it = profile.sections.find("cost");
  if (it == profile.sections.end()) return {};
  return parse_cost_params(*it, profile.path + ": cost");
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
    case Engine::None:
      break;
  }
  return "-";
}

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
  if (graph.output < 0) throw Error("cost model: the device graph has no Output node");
  const Shape in = graph.input.numel() > 0 ? graph.input : graph.nodes.at(0).shape;
  const std::vector<Shape> shapes = graph.compute_shapes(in);
  const size_t count = graph.nodes.size();

  CostEstimate e;
  if (o.layers) e.layers.resize(count);
  const double nce_rate = p.nce_gmacs * 1e9;
  const double shave_rate = p.shave_gmacs * 1e9 * shaves;
  double node_us = 0.0;
  for (size_t i = 0; i < count; ++i) {
    const Node& n = graph.nodes[i];
    const Shape& os = shapes[i];
    const Shape is = n.inputs.empty() ? in : shapes[static_cast<size_t>(n.inputs[0])];
    const int64_t out_n = os.numel();
    int64_t in_n = 0;
    for (int x : n.inputs) in_n += shapes[static_cast<size_t>(x)].numel();
    Engine where = on_neural_engine(n) ? Engine::NeuralEngine : Engine::Shave;
    double ops = 0.0;  // at the engine's full rate
    int64_t work = 0;  // reported MACs / operations
    switch (n.op) {
      case OpType::Conv:
      case OpType::FullyConnected: {
        const int64_t pixels = n.op == OpType::Conv ? int64_t(os.h) * os.w : 1;
        work = static_cast<int64_t>(n.weight.size()) * pixels;
        const int cin_g = n.op == OpType::Conv ? is.c / n.groups : static_cast<int>(is.numel());
        ops = work / (lane_use(cin_g, p.nce_channel_align) * lane_use(os.c, p.nce_channel_align));
        break;
      }
      case OpType::ConvTranspose:
        work = static_cast<int64_t>(n.weight.size()) * is.h * is.w;
        ops = work / (lane_use(is.c / n.groups, p.shave_lanes) * lane_use(os.c, p.shave_lanes));
        break;
      case OpType::MaxPool:
      case OpType::AvgPool:
        work = out_n * n.kernel * n.kernel;
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
    const bool dram = static_cast<double>(bytes) > p.cmx_bytes;
    double us = 0.0;
    if (where != Engine::None) {
      const double compute = ops / (where == Engine::NeuralEngine ? nce_rate : shave_rate);
      const double memory = bytes / ((dram ? p.dram_gbps : p.cmx_gbps) * 1e9);
      us = std::max(compute, memory) * 1e6 + p.layer_overhead_us;
      (where == Engine::NeuralEngine ? e.nce_ms : e.shave_ms) += us * 1e-3;
    }
    node_us += us;
    e.weight_bytes += 2 * params;
    if (o.layers) {
      LayerCost& l = e.layers[i];
      l.name = n.name;
      l.op = n.op;
      l.placement = where;
      l.macs = work;
      l.bytes = bytes;
      l.dram = dram;
      l.us = us;
    }
  }
  if (o.layers && node_us > 0.0) {
    for (LayerCost& l : e.layers) l.share = l.us / node_us;
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
    const int64_t b = graph.nodes[i].op == OpType::Output ? 0 : 2 * shapes[i].numel();
    live += b;
    ends[last[i]] += b;
    peak = std::max(peak, live);
    live -= ends[i];
  }
  e.peak_memory_bytes = e.weight_bytes + peak;

  const double link_mbps = o.link == HostLink::USB2 ? p.usb2_mbps : p.usb3_mbps;
  const double io_bytes =
      static_cast<double>(in.numel()) * o.input_bytes +
      static_cast<double>(shapes[static_cast<size_t>(graph.output)].numel()) * o.output_bytes;
  e.transfer_ms = io_bytes / (link_mbps * 1e6) * 1e3;
  e.device_ms = node_us * 1e-3 + p.inference_overhead_ms;
  const double single = e.device_ms + e.transfer_ms;
  double frame = single;
  if (o.requests == 1) {
    e.latency_ms = single;
  } else {
    frame = std::max(e.device_ms, e.transfer_ms);
    e.latency_ms = std::max(single, o.requests * frame);
  }
  e.fps = 1000.0 / frame;
  e.energy_mj = p.static_w * frame + p.nce_w * e.nce_ms +
                p.shave_w * (static_cast<double>(shaves) / p.shave_cores) * e.shave_ms;
  return e;
}

}  // namespace dalnas
