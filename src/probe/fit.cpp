#include "probe/fit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "core/parallel_for.h"

namespace dalnas {

namespace {

std::string bool_string(bool b) {
  return b ? "true" : "false";
}

std::vector<HalfMode> all_modes() {
  std::vector<HalfMode> m;
  for (Rounding r : {Rounding::NearestEven, Rounding::NearestAway}) {
    for (Overflow o : {Overflow::Inf, Overflow::Saturate}) {
      for (Subnormals s : {Subnormals::Keep, Subnormals::Flush, Subnormals::MinNormal}) {
        m.push_back(HalfMode{o, s, r});
      }
    }
  }
  return m;
}

// fp32, fp16, fp16-blocked:2..512 and (with `hw`) fp16-blocked:hw.
std::vector<Accumulation> accumulations(bool hw) {
  std::vector<Accumulation> a;
  a.push_back(Accumulation{Accumulation::FP32, 0});
  a.push_back(Accumulation{Accumulation::FP16, 0});
  for (int n = 2; n <= 512; ++n) a.push_back(Accumulation{Accumulation::FP16Blocked, n});
  if (hw) a.push_back(Accumulation{Accumulation::FP16Blocked, 0});
  return a;
}

HalfMode plugin_mode(const DeviceProfile& p) {
  return p.pipeline.plugin_constants.value_or(p.neural_engine.half);
}

// A candidate per value of one key.
template <typename T>
std::vector<ProbeCandidate> one_key(const std::string& key, const std::vector<T>& values,
                                    std::function<std::string(const T&)> name,
                                    std::function<void(DeviceProfile&, const T&)> set) {
  std::vector<ProbeCandidate> c;
  for (const T& v : values) {
    c.push_back({{{key, name(v)}}, [set, v](DeviceProfile& p) { set(p, v); }});
  }
  return c;
}

// Storage fp32, or fp16 with each of the 12 modes, of one engine ("shave" /
// "neural_engine").
std::vector<ProbeCandidate> storage_candidates(const std::string& engine) {
  auto numerics = [engine](DeviceProfile& p) -> Numerics& {
    return engine == "shave" ? p.shave : p.neural_engine;
  };
  std::vector<ProbeCandidate> c;
  // An engine that stores fp32 is taken to accumulate in fp32 while its storage is fitted
  // (with a rounding accumulator it would round like fp16 storage on the storage probes);
  // the accumulation step fits the accumulation afterwards.
  c.push_back({{{engine + ".storage", "fp32"}}, [numerics](DeviceProfile& p) {
                 numerics(p).storage = Storage::FP32;
                 numerics(p).acc = Accumulation{};
               }});
  for (const HalfMode& m : all_modes()) {
    c.push_back({{{engine + ".storage", "fp16"},
                  {engine + ".rounding", to_string(m.rounding)},
                  {engine + ".overflow", to_string(m.overflow)},
                  {engine + ".subnormals", to_string(m.subnormals)}},
                 [numerics, m](DeviceProfile& p) {
                   numerics(p).storage = Storage::FP16;
                   numerics(p).half = m;
                 }});
  }
  return c;
}

std::string no_reason(const DeviceProfile&) {
  return "";
}

struct Score {
  int64_t mismatches = 0, values = 0;
  double max_diff = 0;
  bool better_than(const Score& o) const {
    return mismatches != o.mismatches ? mismatches < o.mismatches : max_diff < o.max_diff;
  }
};

void compare(const std::vector<float>& emulated, const std::vector<float>& device, Score& s) {
  for (size_t i = 0; i < emulated.size(); ++i) {
    const float a = emulated[i], b = device[i];
    ++s.values;
    if (a == b || (a != a && b != b)) continue;
    ++s.mismatches;
    const double d = std::isfinite(a) && std::isfinite(b)
                         ? std::fabs(static_cast<double>(a) - static_cast<double>(b))
                         : std::numeric_limits<double>::infinity();
    s.max_diff = std::max(s.max_diff, d);
  }
}

std::string format_diff(double d) {
  if (std::isinf(d)) return "inf";
  std::ostringstream ss;
  ss.precision(4);
  ss << d;
  return ss.str();
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

}  // namespace

std::string ProbeCandidate::label() const {
  std::vector<std::string> v;
  for (const auto& kv : values) v.push_back(kv.second);
  return join(v, ", ");
}

std::vector<ProbeStep> probe_steps() {
  std::vector<ProbeStep> s;
  // 1. Whether SHAVE stores FP16, and the device's conversion of an FP32 input.
  s.push_back({"input_convert",
               {"shave.storage", "conversions.device_convert"},
               {"input_convert"},
               [](const DeviceProfile&) {
                 std::vector<ProbeCandidate> c;
                 c.push_back({{{"shave.storage", "fp32"}},
                              [](DeviceProfile& p) { p.shave.storage = Storage::FP32; }});
                 for (const HalfMode& m : all_modes()) {
                   c.push_back({{{"shave.storage", "fp16"},
                                 {"conversions.device_convert", conversion_name(m)}},
                                [m](DeviceProfile& p) {
                                  p.shave.storage = Storage::FP16;
                                  p.pipeline.device_convert = m;
                                }});
                 }
                 return c;
               },
               no_reason});
  // 2. SHAVE's rounding of stored results.
  s.push_back({"shave_storage",
               {"shave.rounding", "shave.overflow", "shave.subnormals"},
               {"shave_storage"},
               [](const DeviceProfile&) {
                 std::vector<ProbeCandidate> c = storage_candidates("shave");
                 c.erase(c.begin());  // storage is known: fp16
                 for (ProbeCandidate& x : c) x.values.erase(x.values.begin());
                 return c;
               },
               [](const DeviceProfile& p) {
                 return p.shave.storage == Storage::FP32 ? std::string("SHAVE stores fp32")
                                                         : std::string();
               }});
  // 3. The neural engine's storage and its rounding.
  s.push_back({"nce_storage",
               {"neural_engine.storage", "neural_engine.rounding", "neural_engine.overflow",
                "neural_engine.subnormals"},
               {"nce_storage"},
               [](const DeviceProfile&) { return storage_candidates("neural_engine"); },
               no_reason});
  // 4. The neural engine's accumulation.
  s.push_back({"accumulation",
               {"neural_engine.accumulation"},
               {"accumulation_1x1", "accumulation_3x3"},
               [](const DeviceProfile&) {
                 return one_key<Accumulation>(
                     "neural_engine.accumulation", accumulations(true),
                     [](const Accumulation& a) { return to_string(a); },
                     [](DeviceProfile& p, const Accumulation& a) { p.neural_engine.acc = a; });
               },
               no_reason});
  // 5. Tiling over input channels (the sizes stay the base profile's).
  s.push_back({"tiling",
               {"tiling.enabled"},
               {"tiling"},
               [](const DeviceProfile&) {
                 return one_key<bool>(
                     "tiling.enabled", {false, true}, bool_string,
                     [](DeviceProfile& p, const bool& b) { p.pipeline.tiling.enabled = b; });
               },
               no_reason});
  // 6. Pre-scaling, and the overflow of the plugin's conversion of re-scaled constants.
  s.push_back({"prescale",
               {"neural_engine.prescale", "conversions.plugin_constants.overflow"},
               {"prescale"},
               [](const DeviceProfile&) {
                 std::vector<ProbeCandidate> c;
                 c.push_back({{{"neural_engine.prescale", "false"}},
                              [](DeviceProfile& p) { p.neural_engine.prescale = false; }});
                 for (Overflow o : {Overflow::Inf, Overflow::Saturate}) {
                   c.push_back({{{"neural_engine.prescale", "true"},
                                 {"conversions.plugin_constants.overflow", to_string(o)}},
                                [o](DeviceProfile& p) {
                                  p.neural_engine.prescale = true;
                                  HalfMode m = plugin_mode(p);
                                  m.overflow = o;
                                  p.pipeline.plugin_constants = m;
                                }});
                 }
                 return c;
               },
               no_reason});
  // 7. The cap of a convolution's shift: 0 .. 14 (the probe's layer has a raw shift of 14,
  //    so a cap of 14 or more fits as 14).
  s.push_back({"prescale_cap",
               {"neural_engine.prescale_cap"},
               {"prescale_cap"},
               [](const DeviceProfile&) {
                 std::vector<int> caps;
                 for (int c = 0; c <= 14; ++c) caps.push_back(c);
                 return one_key<int>(
                     "neural_engine.prescale_cap", caps,
                     [](const int& c) { return std::to_string(c); },
                     [](DeviceProfile& p, const int& c) { p.neural_engine.prescale_cap = c; });
               },
               [](const DeviceProfile& p) {
                 return p.neural_engine.prescale ? std::string() : std::string("no pre-scaling");
               }});
  // 8. OpenVINO's growing-output rule (normalVal).
  s.push_back({"growing_output",
               {"neural_engine.prescale_growing_output"},
               {"growing_output"},
               [](const DeviceProfile&) {
                 return one_key<bool>("neural_engine.prescale_growing_output", {false, true},
                                      bool_string, [](DeviceProfile& p, const bool& b) {
                                        p.neural_engine.prescale_growing_output = b;
                                      });
               },
               [](const DeviceProfile& p) {
                 return p.neural_engine.prescale ? std::string() : std::string("no pre-scaling");
               }});
  // 9. SHAVE's accumulation (fp16-blocked:hw is fp16-blocked:256 on these probes).
  s.push_back({"shave_accumulation",
               {"shave.accumulation"},
               {"shave_accumulation"},
               [](const DeviceProfile&) {
                 return one_key<Accumulation>(
                     "shave.accumulation", accumulations(false),
                     [](const Accumulation& a) { return to_string(a); },
                     [](DeviceProfile& p, const Accumulation& a) { p.shave.acc = a; });
               },
               no_reason});
  // 10. SHAVE's activation arithmetic.
  s.push_back({"activations",
               {"shave.activations"},
               {"sigmoid"},
               [](const DeviceProfile&) {
                 return one_key<bool>(
                     "shave.activations", {false, true},
                     [](const bool& b) { return std::string(b ? "fp16" : "fp32"); },
                     [](DeviceProfile& p, const bool& b) { p.shave.fp16_activations = b; });
               },
               no_reason});
  // 11. Which activations the neural engine fuses.
  s.push_back(
      {"fused_activations",
       {"fused_activations"},
       {"fused_activation"},
       [](const DeviceProfile&) {
         return one_key<bool>(
             "fused_activations", {false, true},
             [](const bool& b) { return std::string(b ? "relu-clamp" : "all"); },
             [](DeviceProfile& p, const bool& b) { p.pipeline.nce_fuses_only_relu_clamp = b; });
       },
       no_reason});
  // 12. What a half_pixel bilinear resize runs as.
  s.push_back(
      {"resize",
       {"resize_half_pixel_as"},
       {"resize"},
       [](const DeviceProfile&) {
         return one_key<ResizeCoord>(
             "resize_half_pixel_as",
             {ResizeCoord::HalfPixel, ResizeCoord::Asymmetric, ResizeCoord::AlignCorners},
             [](const ResizeCoord& c) { return to_string(c); },
             [](DeviceProfile& p, const ResizeCoord& c) { p.pipeline.half_pixel_resize = c; });
       },
       no_reason});
  // 13. Hardware average pooling borders.
  s.push_back(
      {"avgpool",
       {"hw_avgpool_borders"},
       {"avgpool"},
       [](const DeviceProfile&) {
         return one_key<bool>(
             "hw_avgpool_borders", {false, true},
             [](const bool& b) { return std::string(b ? "count-padding" : "exclude-padding"); },
             [](DeviceProfile& p, const bool& b) { p.pipeline.hw_avgpool_counts_padding = b; });
       },
       no_reason});
  return s;
}

std::string probe_setting(const DeviceProfile& p, const std::string& key) {
  const EmulatorConfig& c = p.pipeline;
  if (key == "conversions.device_convert") {
    return conversion_name(c.device_convert.value_or(p.shave.half));
  }
  if (key == "conversions.plugin_constants.overflow") return to_string(plugin_mode(p).overflow);
  if (key == "tiling.enabled") return bool_string(c.tiling.enabled);
  if (key == "resize_half_pixel_as") return to_string(c.half_pixel_resize);
  if (key == "hw_avgpool_borders") {
    return c.hw_avgpool_counts_padding ? "count-padding" : "exclude-padding";
  }
  if (key == "fused_activations") return c.nce_fuses_only_relu_clamp ? "relu-clamp" : "all";
  const auto dot = key.find('.');
  if (dot != std::string::npos) {
    const std::string engine = key.substr(0, dot), field = key.substr(dot + 1);
    if (engine == "shave" || engine == "neural_engine") {
      const Numerics& n = engine == "shave" ? p.shave : p.neural_engine;
      if (field == "storage") return to_string(n.storage);
      if (field == "rounding") return to_string(n.half.rounding);
      if (field == "overflow") return to_string(n.half.overflow);
      if (field == "subnormals") return to_string(n.half.subnormals);
      if (field == "accumulation") return to_string(n.acc);
      if (field == "prescale") return bool_string(n.prescale);
      if (field == "prescale_cap") return std::to_string(n.prescale_cap);
      if (field == "prescale_growing_output") return bool_string(n.prescale_growing_output);
      if (field == "activations") return n.fp16_activations ? "fp16" : "fp32";
    }
  }
  throw Error("probe fit: unknown setting '" + key + "'");
}

std::string FitRow::evidence() const {
  std::string s = probes + ": ";
  if (!determined) return s + "not determined (" + note + ")";
  if (exact) {
    s += "exact";
    if (!also.empty()) s += "; also matches " + join(also, ", ");
    return s;
  }
  return s + "closest, " + std::to_string(mismatches) + " of " + std::to_string(values) +
         " values differ (max |diff| " + format_diff(max_diff) + ")";
}

const FitRow* FitResult::row(const std::string& key) const {
  for (const FitRow& r : rows) {
    if (r.key == key) return &r;
  }
  return nullptr;
}

FitResult fit_probes(const std::vector<Probe>& probes,
                     const std::map<std::string, std::vector<float>>& outputs,
                     const DeviceProfile& base, int threads) {
  FitResult result;
  result.profile = base;
  DeviceProfile& current = result.profile;
  for (const ProbeStep& step : probe_steps()) {
    std::vector<const Probe*> ps;
    std::vector<const std::vector<float>*> device;
    for (const std::string& name : step.probes) {
      const Probe* p = find_probe(probes, name);
      if (p == nullptr) throw Error("probe fit: no probe named '" + name + "'");
      auto it = outputs.find(name);
      if (it == outputs.end()) throw Error("probe fit: no device output for probe '" + name + "'");
      const int64_t n = p->graph.nodes[static_cast<size_t>(p->graph.output)].shape.numel();
      if (static_cast<int64_t>(it->second.size()) != n) {
        throw Error("probe fit: the device output of probe '" + name + "' has " +
                    std::to_string(it->second.size()) + " values, expected " + std::to_string(n));
      }
      ps.push_back(p);
      device.push_back(&it->second);
    }
    auto make_row = [&](const std::string& key) {
      FitRow r;
      r.key = key;
      r.base_value = probe_setting(base, key);
      r.step = step.name;
      r.probes = join(step.probes, ", ");
      return r;
    };
    const std::string moot = step.moot(current);
    if (!moot.empty()) {
      for (const std::string& key : step.keys) {
        FitRow r = make_row(key);
        r.value = probe_setting(current, key);
        r.note = moot;
        result.rows.push_back(r);
      }
      continue;
    }
    const std::vector<ProbeCandidate> cands = step.candidates(current);
    std::vector<Score> scores(cands.size());
    parallel_for(static_cast<int>(cands.size()), threads, [&](int i) {
      DeviceProfile p = current;
      cands[static_cast<size_t>(i)].apply(p);
      const EmulatorConfig cfg = p.emulator_config();
      for (size_t k = 0; k < ps.size(); ++k) {
        compare(emulate_probe(*ps[k], cfg), *device[k], scores[static_cast<size_t>(i)]);
      }
    });
    std::vector<size_t> exact;
    for (size_t i = 0; i < cands.size(); ++i) {
      if (scores[i].mismatches == 0) exact.push_back(i);
    }
    // How many of a candidate's keys already have their value in the current profile.
    auto agreement = [&](const ProbeCandidate& c) {
      int n = 0;
      for (const auto& kv : c.values) n += probe_setting(current, kv.first) == kv.second;
      return n;
    };
    size_t chosen = 0;
    if (!exact.empty()) {
      chosen = exact[0];
      for (size_t i : exact) {
        if (agreement(cands[i]) > agreement(cands[chosen])) chosen = i;
      }
    } else {
      for (size_t i = 1; i < cands.size(); ++i) {
        if (scores[i].better_than(scores[chosen])) chosen = i;
      }
    }
    const ProbeCandidate& best = cands[chosen];
    best.apply(current);
    for (const std::string& key : step.keys) {
      FitRow r = make_row(key);
      r.value = probe_setting(current, key);
      r.mismatches = scores[chosen].mismatches;
      r.values = scores[chosen].values;
      r.max_diff = scores[chosen].max_diff;
      r.exact = !exact.empty();
      auto value_in = [&](const ProbeCandidate& c, std::string& v) {
        for (const auto& kv : c.values) {
          if (kv.first == key) {
            v = kv.second;
            return true;
          }
        }
        return false;
      };
      std::string v;
      if (!value_in(best, v)) {
        r.note = "moot under " + best.label();
      } else if (exact.size() == cands.size()) {
        r.note = "every candidate matches";
      } else {
        r.determined = true;
        for (size_t i : exact) {
          std::string other;
          if (!value_in(cands[i], other) || other != v) {
            r.determined = false;
            r.note = "candidates " + best.label() + " and " + cands[i].label() + " both match";
          }
        }
      }
      if (r.determined) {
        for (size_t i : exact) {
          if (i != chosen) r.also.push_back(cands[i].label());
        }
      }
      result.rows.push_back(r);
    }
  }
  return result;
}

nlohmann::json fitted_profile_doc(const nlohmann::json& base_doc, const FitResult& fit,
                                  const std::string& name, const std::string& description) {
  nlohmann::json doc = base_doc.is_object() ? base_doc : nlohmann::json::object();
  doc["name"] = name;
  doc["description"] = description;
  nlohmann::json& num = doc["numerics"];
  if (!num.is_object()) num = nlohmann::json::object();
  const DeviceProfile& p = fit.profile;
  auto table = [&](const std::string& t) -> nlohmann::json& {
    nlohmann::json& x = num[t];
    if (!x.is_object()) x = nlohmann::json::object();
    return x;
  };
  for (const FitRow& r : fit.rows) {
    if (!r.determined) continue;
    const std::string& k = r.key;
    const auto dot = k.find('.');
    const std::string head = dot == std::string::npos ? k : k.substr(0, dot);
    const std::string field = dot == std::string::npos ? "" : k.substr(dot + 1);
    if (head == "shave" || head == "neural_engine") {
      if (field == "prescale" || field == "prescale_growing_output") {
        table(head)[field] = r.value == "true";
      } else if (field == "prescale_cap") {
        table(head)[field] = std::stoi(r.value);
      } else {
        table(head)[field] = r.value;
      }
    } else if (k == "conversions.device_convert") {
      table("conversions")["device_convert"] = r.value;
    } else if (k == "conversions.plugin_constants.overflow") {
      table("conversions")["plugin_constants"] = conversion_name(plugin_mode(p));
    } else if (k == "tiling.enabled") {
      nlohmann::json& t = table("tiling");
      t["enabled"] = r.value == "true";
      t["max_coeff_per_block"] = p.pipeline.tiling.max_coeff_per_block;
      t["max_blocks"] = p.pipeline.tiling.max_blocks;
      t["max_channels"] = p.pipeline.tiling.max_channels;
    } else {
      num[k] = r.value;
    }
  }
  return doc;
}

std::string format_fit(const FitResult& fit) {
  std::vector<std::vector<std::string>> rows = {{"setting", "fitted", "base", "evidence"}};
  for (const FitRow& r : fit.rows) {
    rows.push_back(
        {r.key, r.determined ? r.value : "(" + r.value + ")", r.base_value, r.evidence()});
  }
  std::vector<size_t> width(3, 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < 3; ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string s;
  for (const auto& row : rows) {
    for (size_t i = 0; i < 3; ++i) s += row[i] + std::string(width[i] + 2 - row[i].size(), ' ');
    s += row[3] + "\n";
  }
  return s;
}

}  // namespace dalnas
