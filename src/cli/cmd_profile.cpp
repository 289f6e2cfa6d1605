// dalnas profile: latency, throughput, memory and energy of a model or genome on a device,
// from the analytic cost model (device/cost_model.h); `profile calibrate` fits the model's
// free parameters to measured timings with leave-one-out cross-validation.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/genome.h"
#include "device/calibrate.h"
#include "device/cost_model.h"
#include "device/lower.h"
#include "device/onnx_import.h"
#include "device/profile.h"

namespace dalnas::cli {

namespace {
struct ProfileArgs {
  std::string model;
  std::string device = "myriadx";
  std::string size;
  int bands = 0;
  std::string interface = "usb3";
  int shaves = 0;
  int requests = 1;
  bool json = false;
  std::string table = std::string(DALNAS_SHARED_DIR) + "/devices/myriadx-measured/measured.csv";
};

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

DeviceGraph graph_of(const ProfileArgs& a) {
  int h = 0, w = 0;
  if (!a.size.empty()) parse_size(a.size, "--size", h, w);
  if (ends_with(a.model, ".onnx") || ends_with(a.model, ".onnx.gz")) {
    if (a.size.empty() && a.bands == 0) return import_onnx(a.model);
    DeviceGraph probe = import_onnx(a.model);
    Shape in{a.bands > 0 ? a.bands : probe.input.c, h > 0 ? h : probe.input.h,
             w > 0 ? w : probe.input.w};
    return import_onnx(a.model, &in);
  }
  const int bands = a.bands > 0 ? a.bands : 4;
  if (h == 0) h = w = 256;
  const Genome g = resolve_arch(a.model, bands);
  torch::manual_seed(0);  // timing does not depend on the weights
  Network net = build_network(g, bands);
  net->eval();
  DeviceGraph graph = lower(net, LowerOptions{});
  graph.infer_shapes(Shape{bands, h, w});
  return graph;
}
}  // namespace

void add_profile(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "profile", "Latency, FPS, peak memory and energy of a model or genome on a device");
  auto a = std::make_shared<ProfileArgs>();
  cmd->add_option("model", a->model, "An ONNX model (.onnx or .onnx.gz) or a genome");
  cmd->add_option("--device", a->device, "Device profile (default myriadx)");
  cmd->add_option("--size", a->size, "Input size S or HxW (genomes: default 256)");
  cmd->add_option("--bands", a->bands, "Input bands (genomes: default 4)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--interface", a->interface, "Host link: usb2 or usb3 (default usb3)")
      ->check(CLI::IsMember({"usb2", "usb3"}));
  cmd->add_option("--shaves", a->shaves, "SHAVE cores the blob uses (default: all)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--requests", a->requests,
                  "Inferences in flight: 1 synchronous, 2+ pipelined (fps = throughput)")
      ->check(CLI::Range(1, 64));
  cmd->add_flag("--json", a->json,
                "One JSON object: latency_ms, fps, peak_memory_bytes, energy_mj, layers");

  auto* cal = cmd->add_subcommand("calibrate",
                                  "Fit the cost model to measured timings; leave-one-out figures");
  cal->add_option("--table", a->table, "Measured timings CSV (default: the shared Myriad X table)");
  cal->add_option("--device", a->device, "Device profile whose [cost] table is the start point");
  cal->add_flag("--json", a->json, "Print the figures as JSON");
  cal->callback([a]() {
    const DeviceProfile p = load_profile(a->device);
    const Calibration c = calibrate(a->table, cost_params(p));
    if (!a->json) {
      std::printf("%s", format_report(c).c_str());
      return;
    }
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : c.rows)
      rows.push_back({{"model", r.model_file},
                      {"measured_ms", r.measured_ms},
                      {"fitted_ms", r.fitted_ms},
                      {"loo_ms", r.loo_ms}});
    auto stats = [](const FitStats& s) {
      return nlohmann::json{{"mape", s.mape}, {"within10", s.within10}, {"spearman", s.spearman}};
    };
    std::printf("%s\n", nlohmann::json{{"rows", rows},
                                       {"in_sample", stats(c.in_sample)},
                                       {"leave_one_out", stats(c.loo)},
                                       {"free", c.free},
                                       {"fitted", to_json(c.fitted)}}
                            .dump()
                            .c_str());
  });

  cmd->callback([a, cmd, cal]() {
    if (cal->parsed()) return;
    if (a->model.empty()) throw Error("profile: give an ONNX model or a genome (or 'calibrate')");
    const DeviceProfile p = load_profile(a->device);
    const DeviceGraph g = graph_of(*a);
    CostOptions o;
    o.link = parse_host_link(a->interface);
    o.shaves = a->shaves;
    o.requests = a->requests;
    const CostEstimate e = estimate(g, cost_params(p), o);
    if (a->json) {
      nlohmann::json layers = nlohmann::json::array();
      for (const auto& l : e.layers)
        layers.push_back({{"name", l.name},
                          {"op", to_string(l.op)},
                          {"placement", to_string(l.placement)},
                          {"macs", l.macs},
                          {"bytes", l.bytes},
                          {"dram", l.dram},
                          {"us", l.us},
                          {"share", l.share}});
      std::printf("%s\n", nlohmann::json{{"model", a->model},
                                         {"device", p.name},
                                         {"latency_ms", e.latency_ms},
                                         {"fps", e.fps},
                                         {"device_ms", e.device_ms},
                                         {"transfer_ms", e.transfer_ms},
                                         {"peak_memory_bytes", e.peak_memory_bytes},
                                         {"weight_bytes", e.weight_bytes},
                                         {"energy_mj", e.energy_mj},
                                         {"macs", g.macs()},
                                         {"params", g.params()},
                                         {"layers", layers}}
                              .dump()
                              .c_str());
      return;
    }
    std::printf("%-28s %-14s %-6s %14s %12s %10s %7s\n", "layer", "op", "engine", "MACs", "bytes",
                "us", "share");
    for (const auto& l : e.layers)
      std::printf("%-28s %-14s %-6s %14lld %12lld %10.1f %6.1f%%\n", l.name.c_str(),
                  to_string(l.op).c_str(), to_string(l.placement).c_str(),
                  static_cast<long long>(l.macs), static_cast<long long>(l.bytes), l.us,
                  100.0 * l.share);
    std::printf("\n%s on %s (%s, %s, %d request%s in flight)\n", a->model.c_str(), p.name.c_str(),
                a->interface.c_str(),
                a->shaves ? (std::to_string(a->shaves) + " shaves").c_str() : "all shaves",
                a->requests, a->requests > 1 ? "s" : "");
    std::printf("latency %.2f ms (device %.2f ms + transfer %.2f ms), %.1f FPS\n", e.latency_ms,
                e.device_ms, e.transfer_ms, e.fps);
    std::printf("peak memory %.2f MiB (weights %.2f MiB), energy %.2f mJ per inference\n",
                e.peak_memory_bytes / 1048576.0, e.weight_bytes / 1048576.0, e.energy_mj);
    std::printf("%.1f MMAC, %lld parameters\n", g.macs() / 1e6, static_cast<long long>(g.params()));
    (void)cmd;
  });
}

}  // namespace dalnas::cli
