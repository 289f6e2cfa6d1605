#include "cost/external_measure.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/subprocess.h"
#include "device/profile.h"

namespace dalnas {

namespace {

namespace fs = std::filesystem;

std::string last_line(const std::string& out) {
  std::istringstream in(out);
  std::string line, last;
  while (std::getline(in, line)) {
    const size_t a = line.find_first_not_of(" \t\r");
    if (a == std::string::npos) continue;
    last = line.substr(a, line.find_last_not_of(" \t\r") - a + 1);
  }
  if (last.size() > 200) last = last.substr(0, 200) + "...";
  return last.empty() ? "(no output)" : "'" + last + "'";
}

bool to_ms(const MeasureConfig& c, double value, double& ms, std::string& reason) {
  if (!std::isfinite(value) || value <= 0.0) {
    reason = "the measured value " + std::to_string(value) + " is not a positive number";
    return false;
  }
  if (c.unit == "ms") {
    ms = value;
  } else if (c.unit == "us") {
    ms = value * 1e-3;
  } else if (c.unit == "s") {
    ms = value * 1e3;
  } else {  // fps
    ms = 1000.0 / value;
  }
  return true;
}

bool parse_number(const std::string& s, double& v) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return false;
  char* end = nullptr;
  v = std::strtod(s.c_str() + a, &end);
  if (end == s.c_str() + a) return false;
  while (*end == ' ' || *end == '\t') ++end;
  return *end == '\0';
}

nlohmann::json read_cache(const std::string& path, bool& readable) {
  readable = true;
  std::error_code ec;
  if (path.empty() || !fs::exists(path, ec)) return nlohmann::json::object();
  try {
    nlohmann::json j = nlohmann::json::parse(read_file(path), nullptr, false);
    if (j.is_object()) return j;
  } catch (const std::exception&) {
  }
  readable = false;  // not ours to overwrite
  return nlohmann::json::object();
}

const char* kKeys[] = {"method", "command", "regex",   "json_path", "unit",  "timeout_s",
                       "cache",  "threads", "repeats", "rounds",    "warmup"};

}  // namespace

MeasureConfig parse_measure_config(const nlohmann::json& t, const std::string& where,
                                   const std::string& base_dir) {
  if (!t.is_object()) throw Error(where + ": expected a table");
  MeasureConfig c;
  c.where = where;
  for (auto it = t.begin(); it != t.end(); ++it) {
    bool known = false;
    for (const char* k : kKeys) known = known || it.key() == k;
    if (!known) {
      std::string keys;
      for (const char* k : kKeys) keys += (keys.empty() ? "" : ", ") + std::string(k);
      throw Error(where + ": unknown key '" + it.key() + "' (allowed: " + keys + ")");
    }
  }
  auto str = [&](const char* key, std::string& out) {
    if (!t.contains(key)) return;
    if (!t[key].is_string()) throw Error(where + "." + key + ": expected a string");
    out = t[key].get<std::string>();
  };
  auto count = [&](const char* key, int& out) {
    if (!t.contains(key)) return;
    if (!t[key].is_number_integer() || t[key].get<int64_t>() < 1 || t[key].get<int64_t>() > 100000)
      throw Error(where + "." + key + ": expected an integer from 1 to 100000");
    out = t[key].get<int>();
  };
  std::string method = "command";
  str("method", method);
  if (method == "host") {
    c.method = MeasureConfig::Method::Host;
  } else if (method != "command") {
    throw Error(where + ".method: '" + method + "' is not a method (allowed: command, host)");
  }
  str("command", c.command);
  str("regex", c.regex);
  str("json_path", c.json_path);
  str("unit", c.unit);
  str("cache", c.cache);
  count("threads", c.threads);
  count("repeats", c.repeats);
  count("rounds", c.rounds);
  if (t.contains("warmup")) {
    if (!t["warmup"].is_number_integer() || t["warmup"].get<int64_t>() < 0 ||
        t["warmup"].get<int64_t>() > 100000)
      throw Error(where + ".warmup: expected an integer from 0 to 100000");
    c.warmup = t["warmup"].get<int>();
  }
  if (t.contains("timeout_s")) {
    if (!t["timeout_s"].is_number() || !(t["timeout_s"].get<double>() > 0.0))
      throw Error(where + ".timeout_s: expected a positive number of seconds");
    c.timeout_s = t["timeout_s"].get<double>();
  }
  if (c.unit != "ms" && c.unit != "us" && c.unit != "s" && c.unit != "fps") {
    throw Error(where + ".unit: '" + c.unit + "' is not a unit (allowed: ms, us, s, fps)");
  }
  if (!c.cache.empty() && c.cache[0] != '/' && !base_dir.empty()) {
    c.cache = (fs::path(base_dir) / c.cache).string();
  }
  if (c.method == MeasureConfig::Method::Host) return c;
  if (c.command.empty()) throw Error(where + ".command: missing (the command that measures)");
  try {
    expand_placeholders(c.command, {{"onnx", "m.onnx"}, {"key", "k"}});
  } catch (const Error& e) {
    throw Error(where + ".command: " + e.what());
  }
  if (c.regex.empty() == c.json_path.empty()) {
    throw Error(where + ": give exactly one of regex and json_path (how to read the latency)");
  }
  if (!c.regex.empty()) {
    try {
      const std::regex re(c.regex);
      if (re.mark_count() < 1) {
        throw Error(where + ".regex: needs a capture group, e.g. 'Median:\\s+([0-9.]+)'");
      }
    } catch (const std::regex_error& e) {
      throw Error(where + ".regex: '" + c.regex + "' is not a regular expression (" + e.what() +
                  ")");
    }
  }
  return c;
}

std::optional<MeasureConfig> measure_config(const DeviceProfile& profile) {
  auto it = profile.sections.find("measure");
  if (it == profile.sections.end()) return std::nullopt;
  const fs::path dir = fs::path(profile.path).parent_path();
  return parse_measure_config(*it, profile.path + ": measure", dir.string());
}

std::string measure_cache_key(uint64_t genome_hash, const Shape& input,
                              const std::string& precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%016llx@", static_cast<unsigned long long>(genome_hash));
  return buf + to_string(input) + "@" + precision;
}

bool parse_latency(const MeasureConfig& c, const std::string& output, double& ms,
                   std::string& reason) {
  if (!c.regex.empty()) {
    const std::regex re(c.regex);
    std::istringstream in(output);
    std::string line;
    while (std::getline(in, line)) {  // line by line: std::regex recurses per character
      std::smatch m;
      if (!std::regex_search(line, m, re)) continue;
      double v = 0.0;
      if (!parse_number(m[1].str(), v)) {
        reason = "regex matched '" + line.substr(0, 200) + "' but its first group '" + m[1].str() +
                 "' is not a number";
        return false;
      }
      return to_ms(c, v, ms, reason);
    }
    reason = "no line of the output matches regex '" + c.regex + "' (last line " +
             last_line(output) + ")";
    return false;
  }
  nlohmann::json j = nlohmann::json::parse(output, nullptr, false);
  if (j.is_discarded()) {  // text around the JSON: take the outermost braces
    const size_t a = output.find('{'), b = output.rfind('}');
    if (a != std::string::npos && b != std::string::npos && b > a) {
      j = nlohmann::json::parse(output.substr(a, b - a + 1), nullptr, false);
    }
  }
  if (j.is_discarded()) {
    reason = "the output is not JSON (last line " + last_line(output) + ")";
    return false;
  }
  const nlohmann::json* v = &j;
  std::istringstream path(c.json_path);
  std::string part, walked;
  while (std::getline(path, part, '.')) {
    walked += (walked.empty() ? "" : ".") + part;
    if (v->is_object() && v->contains(part)) {
      v = &(*v)[part];
    } else if (v->is_array() && !part.empty() &&
               part.find_first_not_of("0123456789") == std::string::npos &&
               std::stoul(part) < v->size()) {
      v = &(*v)[std::stoul(part)];
    } else {
      reason = "json_path '" + c.json_path + "': nothing at '" + walked + "' in the output";
      return false;
    }
  }
  double x = 0.0;
  if (v->is_number()) {
    x = v->get<double>();
  } else if (!(v->is_string() && parse_number(v->get<std::string>(), x))) {
    reason = "json_path '" + c.json_path + "' holds " + v->dump().substr(0, 100) + ", not a number";
    return false;
  }
  return to_ms(c, x, ms, reason);
}

MeasureResult measure_latency(const MeasureConfig& c, const std::string& onnx_path,
                              const std::string& key) {
  MeasureResult r;
  if (c.method != MeasureConfig::Method::Command) {
    r.reason = "method 'host' is measured with libtorch by the caller, not by a command";
    return r;
  }
  bool cache_ok = true;
  if (!c.cache.empty()) {
    const nlohmann::json cache = read_cache(c.cache, cache_ok);
    auto it = cache.find(key);
    if (it != cache.end() && it->is_object() && it->value("command", "") == c.command &&
        it->contains("latency_ms") && (*it)["latency_ms"].is_number() &&
        (*it)["latency_ms"].get<double>() > 0.0) {
      r.ok = true;
      r.cached = true;
      r.latency_ms = (*it)["latency_ms"].get<double>();
      return r;
    }
  }
  std::error_code ec;
  if (!fs::is_regular_file(onnx_path, ec)) {
    r.reason = onnx_path + ": no such model file";
    return r;
  }
  const fs::path model = fs::absolute(onnx_path, ec);
  ProcessResult p;
  try {
    const std::string cmd =
        expand_placeholders(c.command, {{"onnx", model.string()}, {"key", key}});
    p = run_command(cmd, c.timeout_s, model.parent_path().string());
  } catch (const std::exception& e) {
    r.reason = std::string("cannot run the measure command: ") + e.what();
    return r;
  }
  r.seconds = p.seconds;
  if (p.timed_out) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", c.timeout_s);
    r.reason = std::string("the measure command timed out after ") + buf + " s";
    return r;
  }
  if (p.exit_code != 0) {
    r.reason = "the measure command exited with code " + std::to_string(p.exit_code) +
               " (last line " + last_line(p.output) + ")";
    return r;
  }
  double ms = 0.0;
  if (!parse_latency(c, p.output, ms, r.reason)) return r;
  r.ok = true;
  r.latency_ms = ms;
  if (!c.cache.empty() && cache_ok) {
    try {
      bool readable = true;
      nlohmann::json cache = read_cache(c.cache, readable);  // what others added meanwhile
      if (readable) {
        cache[key] = {{"latency_ms", ms}, {"command", c.command}};
        write_file_atomic(c.cache, cache.dump(1) + "\n");
      }
    } catch (const std::exception&) {
      // A cache that cannot be written costs a re-measurement later, nothing else.
    }
  }
  return r;
}

}  // namespace dalnas
