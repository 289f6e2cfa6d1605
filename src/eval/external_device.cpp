#include "eval/external_device.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/transient_error.h"
#include "core/npy.h"
#include "core/subprocess.h"
#include "device/lower.h"
#include "eval/device_eval.h"
#include "onnx/onnx_export.h"

namespace dalnas {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "external:";

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

// The last non-empty line of a command's output (its error message, usually).
std::string last_line(const std::string& out) {
  size_t end = out.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return "";
  const size_t start = out.rfind('\n', end);
  std::string line = out.substr(start == std::string::npos ? 0 : start + 1,
                                end + 1 - (start == std::string::npos ? 0 : start + 1));
  if (line.size() > 300) line = line.substr(0, 300) + "...";
  return line;
}

std::map<std::string, std::string> placeholders(const std::string& model, const std::string& dir,
                                                int n, const Shape& s, const ExternalProfile& p) {
  return {{"model", model},
          {"inputs", dir + "/inputs.npy"},
          {"outputs", dir + "/outputs.npy"},
          {"timing", dir + "/timing.json"},
          {"workdir", dir},
          {"batch", std::to_string(n)},
          {"channels", std::to_string(s.c)},
          {"height", std::to_string(s.h)},
          {"width", std::to_string(s.w)},
          {"precision", p.fp16 ? "fp16" : "fp32"},
          {"profile_dir", fs::path(p.path).parent_path().string()}};
}

}  // namespace

bool is_external_profile(const DeviceProfile& p) {
  auto it = p.sections.find("kind");
  return it != p.sections.end() && it->is_string() && it->get<std::string>() == "external";
}

bool is_external_device(const std::string& device) {
  return device.compare(0, std::char_traits<char>::length(kPrefix), kPrefix) == 0;
}

std::string external_profile_name(const std::string& device) {
  return is_external_device(device) ? device.substr(std::char_traits<char>::length(kPrefix))
                                    : device;
}

ExternalProfile parse_external_profile(const DeviceProfile& p) {
  const std::string& path = p.path.empty() ? p.name : p.path;
  if (!is_external_profile(p)) {
    throw Error(path + ": kind: expected \"external\" for an external device");
  }
  auto it = p.sections.find("external");
  if (it == p.sections.end() || !it->is_object()) {
    throw Error(path + ": external: missing table [external] (command, timeout_s, ...)");
  }
  const nlohmann::json& t = *it;
  ExternalProfile e;
  e.name = p.name;
  e.path = p.path;
  const std::string where = path + ": external.";
  for (auto kv = t.begin(); kv != t.end(); ++kv) {
    const std::string& k = kv.key();
    const nlohmann::json& v = *kv;
    if (k == "command" || k == "workdir" || k == "precision") {
      if (!v.is_string()) throw Error(where + k + ": expected a string");
      const std::string s = v.get<std::string>();
      if (k == "command") {
        e.command = s;
      } else if (k == "workdir") {
        e.workdir = s;
      } else if (s == "fp16" || s == "fp32") {
        e.fp16 = s == "fp16";
      } else {
        throw Error(where + "precision: '" + s + "' is not fp16 or fp32");
      }
    } else if (k == "timeout_s") {
      if (!v.is_number() || !(v.get<double>() > 0)) {
        throw Error(where + "timeout_s: expected a number of seconds > 0");
      }
      e.timeout_s = v.get<double>();
    } else if (k == "batch" || k == "opset") {
      if (!v.is_number_integer()) throw Error(where + k + ": expected an integer");
      const int64_t x = v.get<int64_t>();
      if (k == "batch") {
        if (x < 1 || x > 4096) throw Error(where + "batch: expected 1 to 4096");
        e.batch = static_cast<int>(x);
      } else {
        if (x < 11 || x > 17) throw Error(where + "opset: expected 11 to 17");
        e.opset = static_cast<int>(x);
      }
    } else if (k == "fold_normalization" || k == "keep_files") {
      if (!v.is_boolean()) throw Error(where + k + ": expected true or false");
      (k == "keep_files" ? e.keep_files : e.fold_normalization) = v.get<bool>();
    } else {
      throw Error(where + k +
                  ": unknown key (allowed: command, timeout_s, precision, batch, "
                  "fold_normalization, opset, workdir, keep_files)");
    }
  }
  if (e.command.empty()) throw Error(where + "command: missing");
  try {
    expand_placeholders(e.command, placeholders("m", "d", 1, Shape{1, 1, 1}, e));
  } catch (const Error& x) {
    throw Error(where + "command: " + x.what());
  }
  return e;
}

ExternalProfile load_external_profile(const std::string& name_or_path) {
  return parse_external_profile(load_profile(name_or_path));
}

ExternalDevice::ExternalDevice(DeviceGraph graph, ExternalProfile profile)
    : graph_(std::move(graph)), profile_(std::move(profile)) {
  if (graph_.output < 0) fail("the network has no output");
  std::error_code ec;
  if (!profile_.workdir.empty()) {
    fs::create_directories(profile_.workdir, ec);
    if (ec) fail("workdir " + profile_.workdir + ": cannot create (" + ec.message() + ")");
    workdir_ = fs::absolute(profile_.workdir).string();
  } else {
    std::string tmpl = (fs::temp_directory_path(ec) / "dalnas-external-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) fail("cannot create a temporary folder " + tmpl);
    workdir_ = tmpl;
    own_workdir_ = true;
  }
}

ExternalDevice::~ExternalDevice() {
  if (own_workdir_ && !profile_.keep_files) {
    std::error_code ec;
    fs::remove_all(workdir_, ec);
  }
}

void ExternalDevice::fail(const std::string& what, bool transient) const {
  const std::string msg = "device '" + profile_.name + "' (" + profile_.path + "): " + what;
  if (transient) throw TransientError(msg);
  throw Error(msg);
}

const std::string& ExternalDevice::model_for(const Shape& s) {
  for (const auto& m : models_) {
    if (m.first == s) return m.second;
  }
  const std::string path = workdir_ + "/model-" + std::to_string(s.h) + "x" + std::to_string(s.w) +
                           (profile_.fp16 ? "-fp16" : "-fp32") + ".onnx";
  DeviceGraph g = graph_;
  g.input = s;
  g.infer_shapes(s);
  ExportOptions o;
  o.fp16 = profile_.fp16;
  o.opset = profile_.opset;
  o.metadata = {{"device", profile_.name}};
  write_onnx(g, path, o);
  models_.emplace_back(s, path);
  return models_.back().second;
}

void ExternalDevice::run(const float* in, int n, const Shape& s, float* out) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string& model = model_for(s);
  const Shape os = graph_.compute_shapes(s)[static_cast<size_t>(graph_.output)];
  const bool normalise = !graph_.norm_folded && !graph_.norm_mean.empty();
  if (normalise && (static_cast<int>(graph_.norm_mean.size()) != s.c ||
                    static_cast<int>(graph_.norm_std.size()) != s.c)) {
    fail("the normalisation has " + std::to_string(graph_.norm_mean.size()) + " bands, the input " +
         std::to_string(s.c));
  }
  const int64_t hw = int64_t(s.h) * s.w;
  std::vector<float> batch;
  for (int first = 0; first < n; first += profile_.batch) {
    const int k = std::min(profile_.batch, n - first);
    const float* x = in + first * s.numel();
    batch.assign(x, x + k * s.numel());
    if (normalise) {  // the host's job, as the emulator does it: (x - mean) / std in fp32
      for (int i = 0; i < k; ++i) {
        for (int c = 0; c < s.c; ++c) {
          float* p = batch.data() + (int64_t(i) * s.c + c) * hw;
          const float mean = graph_.norm_mean[c], sd = graph_.norm_std[c];
          for (int64_t j = 0; j < hw; ++j) p[j] = (p[j] - mean) / sd;
        }
      }
    }
    const auto values = placeholders(model, workdir_, k, s, profile_);
    const std::string &inputs = values.at("inputs"), &outputs = values.at("outputs"),
                      &timing = values.at("timing");
    std::error_code ec;
    fs::remove(outputs, ec);
    fs::remove(timing, ec);
    write_npy(inputs, {k, s.c, s.h, s.w}, batch.data());
    const ProcessResult r =
        run_command(expand_placeholders(profile_.command, values), profile_.timeout_s);
    ++stats_.calls;
    stats_.tiles += k;
    stats_.command_seconds += r.seconds;
    if (r.timed_out) {
      fail("the command timed out after " + seconds_text(profile_.timeout_s) +
               " s (external.timeout_s)",
           /*transient=*/true);
    }
    if (r.exit_code != 0) {
      const std::string tail = last_line(r.output);
      fail("the command exited with status " + std::to_string(r.exit_code) +
           (r.exit_code > 128 ? " (signal " + std::to_string(r.exit_code - 128) + ")" : "") +
           (tail.empty() ? "" : ": " + tail));
    }
    if (!fs::exists(outputs, ec)) fail("the command exited 0 but wrote no " + outputs);
    NpyArray a;
    try {
      a = read_npy(outputs);
    } catch (const Error& e) {
      fail(e.what());
    }
    const std::vector<int64_t> want = {k, os.c, os.h, os.w};
    if (a.shape != want) {
      fail(outputs + " has shape " + shape_string(a.shape) + ", expected " + shape_string(want) +
           " (N x C x H x W)");
    }
    std::copy(a.data.begin(), a.data.end(), out + first * os.numel());
    if (fs::exists(timing, ec)) {
      nlohmann::json t;
      try {
        t = nlohmann::json::parse(read_file(timing));
      } catch (const std::exception&) {
        fail(timing + ": not a JSON object");
      }
      if (!t.is_object()) fail(timing + ": not a JSON object");
      auto lat = t.find("latency_ms");
      if (lat != t.end()) {
        if (!lat->is_number() || !(lat->get<double>() >= 0)) {
          fail(timing + ": latency_ms: expected a number >= 0");
        }
        stats_.device_ms += lat->get<double>() * k;
        stats_.timed_tiles += k;
      }
    }
    if (!profile_.keep_files) {
      fs::remove(inputs, ec);
      fs::remove(outputs, ec);
      fs::remove(timing, ec);
    }
  }
}

TileForward ExternalDevice::forward() {
  return [this](const float* in, int n, int bands, int t, float* logits) {
    const Shape s{bands, t, t};
    const Shape os = graph_.compute_shapes(s)[static_cast<size_t>(graph_.output)];
    if (os.c != 1 || os.h != t || os.w != t) {
      fail("the network's output is " + to_string(os) + ", expected 1x" + std::to_string(t) + "x" +
           std::to_string(t));
    }
    run(in, n, s, logits);
  };
}

DeviceGraph lower_for_external(Network& net, const Normalization& norm, const ExternalProfile& p) {
  return lower_for(net, norm, p.fold_normalization);
}

DeviceMetrics evaluate_external(Checkpoint& ck, const ExternalProfile& p,
                                const std::vector<Scene>& scenes, const std::vector<int>& which,
                                const TileOptions& opt) {
  DeviceMetrics r;
  r.device = kPrefix + p.name;
  ck.net->eval();
  ExternalDevice dev(lower_for_external(ck.net, ck.norm, p), p);
  const TileForward run = dev.forward();
  for (int i : which) {
    const Scene& s = scenes[static_cast<size_t>(i)];
    const auto prob = predict_scene_with(run, s, nullptr, opt);
    r.metrics.add_scene(prob.data(), s.mask.data(), s.height, s.width);
    r.nan_pixels += std::count_if(prob.begin(), prob.end(), [](float v) { return std::isnan(v); });
  }
  r.metrics.params = count_parameters(*ck.net);
  r.device_ms_per_tile = dev.stats().ms_per_tile();
  return r;
}

}  // namespace dalnas
