#include "eval/census.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>

#include "core/error.h"
#include "device/alignment.h"
#include "device/emulator.h"
#include "device/precision_rule.h"
#include "eval/device_eval.h"
#include "quant/dpu_ops.h"
#include "train/experiment.h"

namespace dalnas {

namespace {

std::string signed4(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.4f", v);
  return buf;
}

}  // namespace

std::vector<Behaviour> device_behaviours() {
  std::vector<Behaviour> b;
  auto add = [&b](std::string name, std::string description,
                  std::function<void(DeviceProfile&)> off,
                  std::function<bool(const DeviceGraph&, const DeviceProfile&)> applies = {}) {
    Behaviour x;
    x.name = std::move(name);
    x.description = std::move(description);
    x.switch_off = std::move(off);
    x.applies = std::move(applies);
    b.push_back(std::move(x));
  };
  add("conversions", "every FP32->FP16 conversion as NumPy's (no f32tof16 rule)",
      [](DeviceProfile& p) {
        p.pipeline.host_cast = p.pipeline.device_convert = kNumpyHalf;
        p.pipeline.ir_weights = p.pipeline.plugin_constants = kNumpyHalf;
      });
  add("prescale", "no weight pre-scaling",
      [](DeviceProfile& p) { p.neural_engine.prescale = false; });
  add("growing-output", "pre-scaling without the growing-output rule",
      [](DeviceProfile& p) { p.neural_engine.prescale_growing_output = false; });
  add(
      "tiling", "no hardware tiling over input channels",
      [](DeviceProfile& p) { p.pipeline.tiling.enabled = false; },
      [](const DeviceGraph& g, const DeviceProfile& p) {
        const Emulator emu(g, p.emulator_config());
        for (size_t i = 0; i < g.nodes.size(); ++i) {
          if (g.nodes[i].op == OpType::Conv && emu.hw_parts(static_cast<int>(i)) > 1) {
            return true;
          }
        }
        return false;
      });
  add("accumulation", "fp32 accumulation on both engines", [](DeviceProfile& p) {
    p.neural_engine.acc = parse_accumulation("fp32");
    p.shave.acc = parse_accumulation("fp32");
  });
  add("interpolation", "half_pixel upsampling runs as half_pixel",
      [](DeviceProfile& p) { p.pipeline.half_pixel_resize = ResizeCoord::HalfPixel; });
  add(
      "avgpool-borders", "hardware average pooling excludes padding",
      [](DeviceProfile& p) { p.pipeline.hw_avgpool_counts_padding = false; },
      [](const DeviceGraph& g, const DeviceProfile& p) {
        const EmulatorConfig c = p.emulator_config();
        for (const Node& n : g.nodes) {
          if (n.op == OpType::AvgPool && n.pad > 0 && on_neural_engine(n, c)) return true;
        }
        return false;
      });
  add("shave-activations", "activations fused and in fp32", [](DeviceProfile& p) {
    p.shave.fp16_activations = false;
    p.neural_engine.fp16_activations = false;
    p.pipeline.nce_fuses_only_relu_clamp = false;
  });
  add("flush", "subnormals kept on both engines", [](DeviceProfile& p) {
    p.neural_engine.half.subnormals = Subnormals::Keep;
    p.shave.half.subnormals = Subnormals::Keep;
  });
  add("overflow", "saturation at ±65504 instead of infinity", [](DeviceProfile& p) {
    p.neural_engine.half.overflow = Overflow::Saturate;
    p.shave.half.overflow = Overflow::Saturate;
    p.pipeline.host_cast = HalfMode{Overflow::Saturate, Subnormals::Keep, Rounding::NearestEven};
  });
  std::vector<Behaviour> each = b;
  add("all", "every behaviour above off (an ideal FP16 machine)", [each](DeviceProfile& p) {
    for (const Behaviour& x : each) x.switch_off(p);
  });
  return b;
}

std::vector<Behaviour> integer_behaviours() {
  std::vector<Behaviour> b;
  auto add = [&b](std::string name, std::string description, std::function<void(Int8Config&)> off,
                  std::function<bool(const DeviceGraph&, const DeviceProfile&)> applies) {
    Behaviour x;
    x.name = std::move(name);
    x.description = std::move(description);
    x.switch_off = [off](DeviceProfile& p) {
      if (p.integer) off(*p.integer);
    };
    x.applies = std::move(applies);
    b.push_back(std::move(x));
  };
  // Whether some node of the graph resolves to precision `q` under the profile's rule.
  auto runs = [](const DeviceGraph& g, const DeviceProfile& p, LayerPrecision q) {
    if (!p.integer) return false;
    for (LayerPrecision r : resolve_precision(g, *p.integer))
      if (r == q) return true;
    return false;
  };
  // The rule's precision `from`, wherever the rule places it, becomes `to`.
  auto replace = [](Int8Config& c, LayerPrecision from, LayerPrecision to) {
    if (c.precision == from) c.precision = to;
    if (c.first_last == from) c.first_last = to;
  };
  add(
      "per-channel", "one weight scale per output channel instead of one a tensor",
      [](Int8Config& c) { c.weights_per_tensor = false; },
      [](const DeviceGraph&, const DeviceProfile& p) {
        return p.integer && p.integer->weights_per_tensor && p.integer->format != Int8Format::Dpu;
      });
  add(
      "reduce-range", "weights over the full [-127, 127] (no 7-bit reduce_range)",
      [](Int8Config& c) { c.weight_max = 127; },
      [](const DeviceGraph&, const DeviceProfile& p) {
        return p.integer && p.integer->weight_max < 127 && p.integer->format != Int8Format::Dpu;
      });
  add(
      "int4-weights", "the rule's int4w layers with int8 weights",
      [replace](Int8Config& c) { replace(c, LayerPrecision::Int4W, LayerPrecision::Int8); },
      [runs](const DeviceGraph& g, const DeviceProfile& p) {
        return runs(g, p, LayerPrecision::Int4W) &&
               (p.integer->precision == LayerPrecision::Int4W ||
                p.integer->first_last == LayerPrecision::Int4W);
      });
  add(
      "int8-activations", "the rule's int8 layers with 16-bit activations (TFLite's 16x8)",
      [replace](Int8Config& c) { replace(c, LayerPrecision::Int8, LayerPrecision::Int16); },
      [](const DeviceGraph&, const DeviceProfile& p) {
        return p.integer && format_runs(p.integer->format, LayerPrecision::Int16) &&
               (p.integer->precision == LayerPrecision::Int8 ||
                p.integer->first_last == LayerPrecision::Int8);
      });
  add(
      "first-last", "the first encoder block and the head in fp16 (the input read unquantized)",
      [](Int8Config& c) { c.first_last = LayerPrecision::FP16; },
      [](const DeviceGraph&, const DeviceProfile& p) {
        return p.integer && format_runs(p.integer->format, LayerPrecision::FP16) &&
               p.integer->first_last != LayerPrecision::FP16;
      });
  add(
      "calibration", "min / max ranges instead of the profile's clipping calibration",
      [](Int8Config& c) { c.calibration = CalibrationMethod::MinMax; },
      [](const DeviceGraph&, const DeviceProfile& p) {
        // percentile and entropy clip tails; dpu-int8's "diffs" picks the fix position of
        // least squared error, which may overflow where min / max's never does.
        return p.integer && p.integer->calibration != CalibrationMethod::MinMax;
      });
  // dpu-int8's arithmetic, each quirk replaced by the exact operation (int8_config.h).
  auto dpu_node = [](const DeviceGraph& g, const DeviceProfile& p,
                     const std::function<bool(const Node&)>& has) {
    if (!p.integer || p.integer->format != Int8Format::Dpu) return false;
    for (const Node& n : g.nodes)
      if (has(n)) return true;
    return false;
  };
  add(
      "bias-8bit", "an int32 bias at the accumulator's position instead of the DPU's int8 one",
      [](Int8Config& c) { c.dpu_bias_int8 = false; },
      [dpu_node](const DeviceGraph& g, const DeviceProfile& p) {
        return dpu_node(g, p,
                        [](const Node& n) { return n.op == OpType::Conv && !n.bias.empty(); });
      });
  add(
      "pool-divisor", "average pooling and the global mean divide by the count, not m / 2^s",
      [](Int8Config& c) { c.dpu_pool_divisor = false; },
      [dpu_node](const DeviceGraph& g, const DeviceProfile& p) {
        // A k x k pool whose divisor is 1 / k^2 exactly (2 x 2: 1/4) is unchanged; a global
        // mean's count is the tile's, not known here.
        return dpu_node(g, p, [](const Node& n) {
          if (n.op == OpType::GlobalAvgPool) return true;
          return n.op == OpType::AvgPool &&
                 !dpu_divisor_exact(dpu_pool_divisor(n.kernel),
                                    static_cast<int64_t>(n.kernel) * n.kernel);
        });
      });
  add(
      "add-alignment", "an add's exact sum rounded once, not its inputs truncated to align",
      [](Int8Config& c) { c.dpu_add_truncation = false; },
      [dpu_node](const DeviceGraph& g, const DeviceProfile& p) {
        return dpu_node(g, p, [](const Node& n) { return n.op == OpType::Add; });
      });
  add(
      "hardswish", "hard-swish as the float function, not the DPU's 2731 / 2^14 fixed point",
      [](Int8Config& c) { c.dpu_hardswish = false; },
      [dpu_node](const DeviceGraph& g, const DeviceProfile& p) {
        return dpu_node(g, p, [](const Node& n) { return n.act == ActType::HardSwish; });
      });
  add(
      "all", "every layer of the rule in fp16 (no integer arithmetic)",
      [](Int8Config& c) { c.precision = c.first_last = LayerPrecision::FP16; },
      [](const DeviceGraph&, const DeviceProfile& p) {
        return p.integer && format_runs(p.integer->format, LayerPrecision::FP16);
      });
  return b;
}

std::vector<Behaviour> behaviours_for(const DeviceProfile& profile) {
  return profile.integer ? integer_behaviours() : device_behaviours();
}

DeviceProfile profile_for_pipeline(const DeviceProfile& base, const std::string& pipeline) {
  DeviceProfile p = base;
  if (pipeline == "host" || pipeline == "raw") {
    p.pipeline.input = InputPipeline::Host;
    p.fold_normalization = false;
  } else if (pipeline == "model" && base.integer) {
    // An integer device normalises in the graph: a depthwise 1x1 convolution after the
    // int8 input (device/lower.h), the raw values quantized with one scale for all bands.
    p.pipeline.input = InputPipeline::Folded;
    p.fold_normalization = true;
  } else if (pipeline == "model") {
    p.pipeline.input = InputPipeline::Model;
    p.fold_normalization = false;
  } else {
    throw Error("--pipelines: unknown pipeline '" + pipeline + "' (host, model, raw)");
  }
  return p;
}

nlohmann::json CensusCell::to_json() const {
  nlohmann::json cj = {{"genome", genome},
                       {"pipeline", pipeline},
                       {"params", params},
                       {"fp32_host", fp32_host.to_json()},
                       {"ptq_device", ptq_device.to_json()},
                       {"aligned_device", aligned_device.to_json()},
                       {"control_device", control_device.to_json()},
                       {"ptq_nan_pixels", ptq_nan_pixels},
                       {"aligned_nan_pixels", aligned_nan_pixels},
                       {"aligned_failure", aligned_failure},
                       {"aligned_dropped_chips", aligned_dropped_chips},
                       {"aligned_skipped_steps", aligned_skipped_steps},
                       {"failure", failure},
                       {"gap", gap()},
                       {"seconds", seconds},
                       {"ablations", nlohmann::json::array()}};
  // NaN (not run, or the device could not run it) as null.
  const auto number = [](double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  };
  for (const Ablation& a : ablations) {
    cj["ablations"].push_back({{"behaviour", a.behaviour},
                               {"applies", a.applies},
                               {"ptq_miou", number(a.ptq_miou)},
                               {"aligned_miou", number(a.aligned_miou)},
                               {"ptq_nan_pixels", a.ptq_nan_pixels},
                               {"gap_given_back", number(attributed(a))}});
    if (!a.failure.empty()) cj["ablations"].back()["failure"] = a.failure;
  }
  return cj;
}

nlohmann::json CensusResult::to_json() const {
  nlohmann::json j = {{"device", device},
                      {"data", data},
                      {"test_scenes", test_scenes},
                      {"seconds", seconds},
                      {"cells", nlohmann::json::array()}};
  for (const CensusCell& c : cells) j["cells"].push_back(c.to_json());
  return j;
}

CensusCell CensusCell::from_json(const nlohmann::json& cj, const std::string& w) {
  CensusCell c;
  try {
    c.genome = cj.at("genome").get<std::string>();
    c.pipeline = cj.at("pipeline").get<std::string>();
    c.failure = cj.value("failure", "");
    c.seconds = cj.value("seconds", 0.0);
    if (!c.failure.empty()) return c;
    c.params = cj.at("params").get<int64_t>();
    c.fp32_host = Metrics::from_json(cj.at("fp32_host"), w + ".fp32_host");
    c.ptq_device = Metrics::from_json(cj.at("ptq_device"), w + ".ptq_device");
    c.aligned_device = Metrics::from_json(cj.at("aligned_device"), w + ".aligned_device");
    c.control_device = Metrics::from_json(cj.at("control_device"), w + ".control_device");
    c.ptq_nan_pixels = cj.value("ptq_nan_pixels", int64_t{0});
    c.aligned_nan_pixels = cj.value("aligned_nan_pixels", int64_t{0});
    c.aligned_failure = cj.value("aligned_failure", "");
    c.aligned_dropped_chips = cj.value("aligned_dropped_chips", int64_t{0});
    c.aligned_skipped_steps = cj.value("aligned_skipped_steps", int64_t{0});
    for (const nlohmann::json& aj : cj.at("ablations")) {
      Ablation a;
      a.behaviour = aj.at("behaviour").get<std::string>();
      a.applies = aj.value("applies", true);
      const auto number = [&aj](const char* key) {  // null: NaN
        const nlohmann::json& v = aj.at(key);
        return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
      };
      a.ptq_miou = number("ptq_miou");
      a.failure = aj.value("failure", "");
      a.aligned_miou = number("aligned_miou");
      a.ptq_nan_pixels = aj.value("ptq_nan_pixels", int64_t{0});
      c.ablations.push_back(std::move(a));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(w + ": not a census cell (" + e.what() + ")");
  }
  return c;
}

CensusResult CensusResult::from_json(const nlohmann::json& j, const std::string& where) {
  CensusResult r;
  try {
    r.device = j.at("device").get<std::string>();
    r.data = j.at("data").get<std::string>();
    r.test_scenes = j.at("test_scenes").get<std::vector<std::string>>();
    r.seconds = j.at("seconds").get<double>();
    const nlohmann::json& cells = j.at("cells");
    for (size_t i = 0; i < cells.size(); ++i)
      r.cells.push_back(
          CensusCell::from_json(cells.at(i), where + ": cells[" + std::to_string(i) + "]"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": not a census.json (" + e.what() + ")");
  }
  return r;
}

nlohmann::json CensusOptions::to_json() const {
  return {{"train", train.to_json()},
          {"genomes", genomes},
          {"pipelines", pipelines},
          {"raw_scale", raw_scale},
          {"finetune_epochs", finetune_epochs},
          {"finetune_lr", finetune_lr},
          {"device", device},
          {"ablate", ablate},
          {"ablate_aligned", ablate_aligned}};
}

CensusOptions CensusOptions::from_json(const nlohmann::json& j, const std::string& where) {
  CensusOptions o;
  try {
    o.train = TrainConfig::from_json(j.at("train"), where + ".train");
    o.genomes = j.at("genomes").get<std::vector<std::string>>();
    o.pipelines = j.at("pipelines").get<std::vector<std::string>>();
    o.raw_scale = j.at("raw_scale").get<float>();
    o.finetune_epochs = j.at("finetune_epochs").get<int>();
    o.finetune_lr = j.at("finetune_lr").get<double>();
    o.device = j.at("device").get<std::string>();
    o.ablate = j.at("ablate").get<bool>();
    o.ablate_aligned = j.at("ablate_aligned").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": census options: " + e.what());
  }
  return o;
}

std::vector<CensusUnit> census_units(const CensusOptions& opt) {
  std::vector<CensusUnit> units;
  for (const std::string& g : opt.genomes) {
    CensusUnit standard{g, {}}, raw{g, {}};
    for (const std::string& p : opt.pipelines) (p == "raw" ? raw : standard).pipelines.push_back(p);
    for (CensusUnit* u : {&standard, &raw})
      if (!u->pipelines.empty()) units.push_back(*u);
  }
  return units;
}

void order_cells(std::vector<CensusCell>& cells, const CensusOptions& opt) {
  const auto index = [](const std::vector<std::string>& v, const std::string& x) {
    return static_cast<size_t>(std::find(v.begin(), v.end(), x) - v.begin());
  };
  std::stable_sort(cells.begin(), cells.end(), [&](const CensusCell& a, const CensusCell& b) {
    const size_t ga = index(opt.genomes, a.genome), gb = index(opt.genomes, b.genome);
    if (ga != gb) return ga < gb;
    return index(opt.pipelines, a.pipeline) < index(opt.pipelines, b.pipeline);
  });
}

CensusResult CensusResult::merge(const std::vector<CensusResult>& parts) {
  if (parts.empty()) throw Error("census merge: nothing to merge");
  CensusResult r = parts.front();
  for (size_t i = 1; i < parts.size(); ++i) {
    const CensusResult& p = parts[i];
    if (p.device != r.device || p.data != r.data || p.test_scenes != r.test_scenes) {
      throw Error("census merge: part " + std::to_string(i + 1) + " ran on " + p.device + " / " +
                  p.data + ", part 1 on " + r.device + " / " + r.data +
                  " (device, data and test scenes must agree)");
    }
    r.cells.insert(r.cells.end(), p.cells.begin(), p.cells.end());
    r.seconds += p.seconds;
  }
  return r;
}

std::string CensusResult::csv() const {
  std::ostringstream o;
  o << "genome,pipeline,params,behaviour_off,fp32_host_miou,ptq_device_miou,aligned_device_miou,"
       "control_device_miou,ptq_nan_pixels,gap,gap_given_back\n";
  for (const CensusCell& c : cells) {
    auto row = [&](const std::string& off, double ptq, double aligned, int64_t nan, double back) {
      o << c.genome << ',' << c.pipeline << ',' << c.params << ',' << off << ','
        << c.fp32_host.cm.miou() << ',' << ptq << ',' << aligned << ','
        << c.control_device.cm.miou() << ',' << nan << ',' << c.gap() << ',' << back << '\n';
    };
    row("none", c.ptq_device.cm.miou(), c.aligned_device.cm.miou(), c.ptq_nan_pixels, 0.0);
    for (const Ablation& a : c.ablations) {
      row(a.behaviour, a.ptq_miou, a.aligned_miou, a.ptq_nan_pixels, c.attributed(a));
    }
  }
  return o.str();
}

std::string CensusResult::table() const {
  std::ostringstream o;
  o << "census on " << device << ", data " << data << ", test scenes:";
  for (const auto& s : test_scenes) o << ' ' << s;
  o << "\n\n";
  o << "mIoU per genome and input pipeline: (a) FP32 host, (b) post-conversion on the device,\n"
       "(c) aligned fine-tuning on the device, (d) FP32 fine-tuning control on the device\n\n";
  o << "pipeline  params   (a)     (b)     (c)     (d)     gap(a-b)  (c)-(d)  NaN px(b)  genome\n";
  for (const CensusCell& c : cells) {
    char buf[400];
    if (!c.failure.empty()) {
      std::snprintf(buf, sizeof buf, "%-8s failed: %s  %s\n", c.pipeline.c_str(), c.failure.c_str(),
                    c.genome.c_str());
      o << buf;
      continue;
    }
    std::snprintf(buf, sizeof buf, "%-8s %7lld  %.4f  %.4f  %.4f  %.4f  %+.4f   %+.4f  %9lld  %s\n",
                  c.pipeline.c_str(), static_cast<long long>(c.params), c.fp32_host.cm.miou(),
                  c.ptq_device.cm.miou(), c.aligned_device.cm.miou(), c.control_device.cm.miou(),
                  c.gap(), c.aligned_device.cm.miou() - c.control_device.cm.miou(),
                  static_cast<long long>(c.ptq_nan_pixels), c.genome.c_str());
    o << buf;
  }
  // Attribution: mean gap given back by switching each behaviour off, per pipeline.
  std::vector<std::string> names;
  for (const CensusCell& c : cells) {
    for (const Ablation& a : c.ablations) {
      if (std::find(names.begin(), names.end(), a.behaviour) == names.end()) {
        names.push_back(a.behaviour);
      }
    }
  }
  if (!names.empty()) {
    o << "\npost-conversion mIoU given back by switching one behaviour off (mean over genomes;\n"
         "max in brackets; n/a: no network has it), per pipeline:\n\n";
    std::vector<std::string> pipes;
    for (const CensusCell& c : cells) {
      if (std::find(pipes.begin(), pipes.end(), c.pipeline) == pipes.end()) {
        pipes.push_back(c.pipeline);
      }
    }
    o << "behaviour off        ";
    for (const auto& p : pipes) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%-20s", p.c_str());
      o << buf;
    }
    o << "\n";
    for (const std::string& b : names) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%-20s ", b.c_str());
      o << buf;
      for (const auto& p : pipes) {
        double sum = 0, mx = -1e9;
        int n = 0, ran = 0;  // ran: the rows where the behaviour applied and the device ran
        for (const CensusCell& c : cells) {
          if (c.pipeline != p) continue;
          for (const Ablation& a : c.ablations) {
            if (a.behaviour != b || !a.failure.empty()) continue;
            const double v = c.attributed(a);
            sum += v;
            mx = std::max(mx, v);
            ++n;
            ran += a.applies;
          }
        }
        // "n/a": no network of the pipeline has the behaviour (or none could run without it).
        std::snprintf(buf, sizeof buf, "%-20s",
                      ran ? (signed4(sum / n) + " [" + signed4(mx) + "]").c_str() : "n/a");
        o << buf;
      }
      o << "\n";
    }
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "\n%zu cells in %.1f min\n", cells.size(), seconds / 60.0);
  o << buf;
  return o.str();
}

std::vector<CensusCell> census_cells_kept(const CensusOptions& opt, const CensusResult& previous,
                                          std::vector<bool>* unit_done) {
  const std::vector<CensusUnit> units = census_units(opt);
  if (unit_done) unit_done->assign(units.size(), false);
  std::vector<CensusCell> kept;
  for (size_t u = 0; u < units.size(); ++u) {
    std::vector<const CensusCell*> cells;
    for (const std::string& p : units[u].pipelines) {
      const auto it =
          std::find_if(previous.cells.begin(), previous.cells.end(), [&](const CensusCell& c) {
            return c.genome == units[u].genome && c.pipeline == p && c.failure.empty();
          });
      if (it == previous.cells.end()) break;
      cells.push_back(&*it);
    }
    if (cells.size() != units[u].pipelines.size()) continue;
    for (const CensusCell* c : cells) kept.push_back(*c);
    if (unit_done) (*unit_done)[u] = true;
  }
  order_cells(kept, opt);
  return kept;
}

std::string census_options_mismatch(const CensusOptions& before, const CensusOptions& now) {
  nlohmann::json a = before.to_json(), b = now.to_json();
  a["train"].erase("threads");  // thread counts change the time, not what is computed
  b["train"].erase("threads");
  const nlohmann::json fa = a.flatten(), fb = b.flatten();
  for (auto it = fa.begin(); it != fa.end(); ++it) {
    if (!fb.contains(it.key()))
      return it.key() + " is " + it.value().dump() + " in the folder and absent now";
    if (fb.at(it.key()) != it.value())
      return it.key() + " is " + it.value().dump() + " in the folder and " +
             fb.at(it.key()).dump() + " now";
  }
  for (auto it = fb.begin(); it != fb.end(); ++it) {
    if (!fa.contains(it.key()))
      return it.key() + " is absent in the folder and " + it.value().dump() + " now";
  }
  return "";
}

CensusStart census_start(const CensusOptions& opt, const std::string& device,
                         const CensusResult* previous, const CensusProgress& progress) {
  CensusStart s;
  s.result.device = device;
  s.result.data = opt.train.data;
  s.units = census_units(opt);
  s.done.assign(s.units.size(), false);
  if (previous) {
    s.result.cells = census_cells_kept(opt, *previous, &s.done);
    s.result.test_scenes = previous->test_scenes;
    s.result.seconds = previous->seconds;
    const size_t left = static_cast<size_t>(std::count(s.done.begin(), s.done.end(), false));
    if (progress) {
      progress("resumed: " + std::to_string(s.result.cells.size()) + " cells kept, " +
               std::to_string(left) + " of " + std::to_string(s.done.size()) + " units to run");
    }
  }
  return s;
}

CensusResult run_census(const CensusOptions& opt, const CensusProgress& progress,
                        const std::function<void(const CensusResult&)>& on_cell,
                        const CensusResult* previous) {
  using Clock = std::chrono::steady_clock;
  const auto t_start = Clock::now();
  const auto since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };
  if (opt.genomes.empty()) throw Error("census: no genomes");
  if (opt.pipelines.empty()) throw Error("census: no pipelines");
  const DeviceProfile base = load_profile(opt.device);
  for (const std::string& p : opt.pipelines) profile_for_pipeline(base, p);  // validate names
  const std::vector<Behaviour> behaviours = behaviours_for(base);

  // Data per normalisation: standard (host, model) and none / reflectance (raw).
  std::map<std::string, PreparedData> data;
  auto data_for = [&](const std::string& normalization) -> PreparedData& {
    auto it = data.find(normalization);
    if (it != data.end()) return it->second;
    TrainConfig c = opt.train;
    c.precision = PrecisionMode::FP32;
    c.normalization = normalization;
    return data.emplace(normalization, prepare_data(c)).first->second;
  };
  const std::string raw_norm = opt.raw_scale == 1.0f ? "none" : "reflectance";
  if (opt.raw_scale != 1.0f && std::fabs(opt.raw_scale - 1e-4f) > 1e-9f) {
    throw Error("census: raw_scale must be 1 (digital numbers) or 0.0001 (reflectance)");
  }

  CensusStart start = census_start(opt, base.name, previous, progress);
  CensusResult& res = start.result;
  const std::vector<CensusUnit>& units = start.units;
  const std::vector<bool>& done = start.done;
  const double seconds_before = res.seconds;  // a resumed census's time so far
  TileOptions to;
  to.tile = opt.train.eval_tile;
  to.overlap = opt.train.eval_overlap;

  // Unit by unit (census_units): (a) and (d) depend only on the normalisation, so the host
  // and model pipelines of a genome share them; cells are put back in the options' order.
  for (size_t u = 0; u < units.size(); ++u) {
    if (done[u]) continue;
    const std::string& genome = units[u].genome;
    struct Trained {
      TrainOutcome a, d;
    };
    std::map<std::string, Trained> trained;
    for (const std::string& pipeline : units[u].pipelines) {
      const auto t0 = Clock::now();
      const std::string norm = pipeline == "raw" ? raw_norm : "standard";
      PreparedData& d = data_for(norm);
      if (res.test_scenes.empty()) res.test_scenes = scene_names(d.scenes, d.split.test);
      const auto& evalset = d.split.test.empty() ? d.split.val : d.split.test;
      TrainConfig cfg = opt.train;
      cfg.arch = genome;
      cfg.precision = PrecisionMode::FP32;
      cfg.normalization = norm;
      cfg.freeze_bn_epochs = 0;  // the fine-tuning arms' setting, not (a)'s
      TrainConfig ft = cfg;
      ft.epochs = opt.finetune_epochs;
      ft.lr = opt.finetune_lr;
      ft.patience = 0;
      ft.init.clear();
      // Both fine-tuning arms alike; auto: 1 for an integer target (from trained weights).
      ft.freeze_bn_epochs = opt.train.resolved_freeze_bn_epochs(base.integer.has_value(), true);
      const std::string tag = genome + " [" + pipeline + "]";
      if (!trained.count(norm)) {
        Trained t;
        try {
          say(tag + ": (a) FP32 training, " + std::to_string(cfg.epochs) + " epochs");
          t.a = train_model(cfg, d);
          say(tag + ": (d) FP32 fine-tuning control, " + std::to_string(ft.epochs) + " epochs");
          t.d = train_model(ft, d, {}, &t.a.ck);
        } catch (const Error& e) {
          // E.g. FP32 training that diverges on raw values: the cell records why.
          CensusCell failed;
          failed.genome = genome;
          failed.pipeline = pipeline;
          failed.failure = e.what();
          say(tag + ": failed: " + failed.failure);
          res.cells.push_back(std::move(failed));
          order_cells(res.cells, opt);
          res.seconds = seconds_before + since(t_start);
          if (on_cell) on_cell(res);
          continue;
        }
        trained.emplace(norm, std::move(t));
      }
      Trained& t = trained.at(norm);
      const DeviceProfile profile = profile_for_pipeline(base, pipeline);
      CensusCell cell;
      cell.genome = t.a.ck.genome.str();
      cell.pipeline = pipeline;
      cell.params = count_parameters(*t.a.ck.net);
      cell.fp32_host = t.a.test.cm.total() ? t.a.test : t.a.val;
      say(tag + ": (b) post-conversion on " + profile.name);
      const auto b =
          evaluate_on_device(t.a.ck, profile.name, d.scenes, evalset, to, &profile, &d.split.train);
      cell.ptq_device = b.metrics;
      cell.ptq_nan_pixels = b.nan_pixels;
      TrainConfig al = ft;
      al.precision = PrecisionMode::Aligned;
      al.align = alignment_for(profile);
      al.align_device = profile.name;
      say(tag + ": (c) aligned fine-tuning, " + std::to_string(al.epochs) + " epochs");
      // Chips the device reads as non-finite (raw values beyond FP16 reach the network as
      // infinity) are left out of aligned training (train/trainer.h); should it diverge
      // all the same, that is recorded and (c) falls back to (a).
      TrainOutcome c;
      try {
        c = train_model(al, d, {}, &t.a.ck);
        for (const EpochStats& e : c.history.epochs) {
          cell.aligned_dropped_chips += e.dropped_chips;
          cell.aligned_skipped_steps += e.skipped_steps;
        }
        if (cell.aligned_dropped_chips || cell.aligned_skipped_steps) {
          say(tag + ": (c) " + std::to_string(cell.aligned_dropped_chips) +
              " chip-epochs left out (input non-finite on the device), " +
              std::to_string(cell.aligned_skipped_steps) + " steps skipped");
        }
      } catch (const Error& e) {
        cell.aligned_failure = e.what();
        say(tag + ": (c) failed: " + cell.aligned_failure + " - (c) scored with (a)'s weights");
        c.ck = t.a.ck;
      }
      c.ck.net->policy->mode = PrecisionMode::FP32;
      const auto cm =
          evaluate_on_device(c.ck, profile.name, d.scenes, evalset, to, &profile, &d.split.train);
      cell.aligned_device = cm.metrics;
      cell.aligned_nan_pixels = cm.nan_pixels;
      const auto dm =
          evaluate_on_device(t.d.ck, profile.name, d.scenes, evalset, to, &profile, &d.split.train);
      cell.control_device = dm.metrics;
      if (opt.ablate) {
        const DeviceGraph lowered = lower_for(t.a.ck.net, t.a.ck.norm, profile);
        for (const Behaviour& beh : behaviours) {
          DeviceProfile p = profile;
          beh.switch_off(p);
          Ablation ab;
          ab.behaviour = beh.name;
          if (beh.applies && !beh.applies(lowered, profile)) {
            ab.applies = false;
            ab.ptq_miou = cell.ptq_device.cm.miou();
            ab.aligned_miou = cell.aligned_device.cm.miou();
            ab.ptq_nan_pixels = cell.ptq_nan_pixels;
            cell.ablations.push_back(ab);
            continue;
          }
          ab.aligned_miou = std::numeric_limits<double>::quiet_NaN();
          try {
            const auto pb =
                evaluate_on_device(t.a.ck, p.name, d.scenes, evalset, to, &p, &d.split.train);
            ab.ptq_miou = pb.metrics.cm.miou();
            ab.ptq_nan_pixels = pb.nan_pixels;
            if (opt.ablate_aligned) {
              ab.aligned_miou =
                  evaluate_on_device(c.ck, p.name, d.scenes, evalset, to, &p, &d.split.train)
                      .metrics.cm.miou();
            }
          } catch (const Error& e) {
            // The device cannot run this network with the behaviour off: recorded, and
            // the census goes on.
            ab.failure = e.what();
            ab.ptq_miou = ab.aligned_miou = std::numeric_limits<double>::quiet_NaN();
            say(tag + ": " + beh.name + " off: " + ab.failure);
          }
          cell.ablations.push_back(ab);
        }
      }
      cell.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      char buf[300];
      std::snprintf(buf, sizeof buf, "%s: mIoU (a) %.4f (b) %.4f (c) %.4f (d) %.4f [%.0f s]",
                    tag.c_str(), cell.fp32_host.cm.miou(), cell.ptq_device.cm.miou(),
                    cell.aligned_device.cm.miou(), cell.control_device.cm.miou(), cell.seconds);
      say(buf);
      res.cells.push_back(std::move(cell));
      order_cells(res.cells, opt);
      res.seconds = seconds_before + since(t_start);
      if (on_cell) on_cell(res);
    }
  }
  res.seconds = seconds_before + since(t_start);
  return res;
}

}  // namespace dalnas
