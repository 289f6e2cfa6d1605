// External measurement: small shell scripts stand in for the device (success by regex and by
// JSON path, units, timeout, garbage output, non-zero exit, a missing model), the cache
// (hit, another command's entry, persisted atomically), and configuration errors.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "cost/external_measure.h"
#include "device/profile.h"
#include "temp_dir.h"

namespace dalnas {
namespace {

namespace fs = std::filesystem;

using test_util::TempDir;
int count_lines(const test_util::TempDir& d, const std::string& name) {
  std::ifstream in(d.path / name);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) ++n;
  return n;
}

MeasureConfig config(const nlohmann::json& t) {
  return parse_measure_config(t, "p: measure");
}

std::string config_error(const nlohmann::json& t) {
  try {
    config(t);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A fake benchmark tool: prints what benchmark_app prints around the latency, logs each call
// (its arguments) to calls.log, checks that the model it was given exists.
std::string fake_device(const TempDir& d) {
  return d.write("bench.sh",
                 "#!/bin/sh\n"
                 "echo \"$@\" >> '" +
                     (d.path / "calls.log").string() +
                     "'\n"
                     "[ -f \"$2\" ] || { echo \"no model $2\" >&2; exit 3; }\n"
                     "echo '[ INFO ] Loading the model'\n"
                     "echo '[ INFO ] Latency:'\n"
                     "echo '[ INFO ]    Median:     12.75 ms'\n"
                     "echo '[ INFO ] Throughput: 78.43 FPS'\n",
                 true);
}

TEST(ExternalMeasure, ParsesTheLatencyByRegex) {
  TempDir d("measure");
  const std::string model = d.write("my model.onnx", "x");
  const MeasureConfig c = config({{"command", fake_device(d) + " -m {onnx} -d MYRIAD"},
                                  {"regex", R"(Median:\s+([0-9.]+)\s*ms)"}});
  const MeasureResult r = measure_latency(c, model, "k1");
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_DOUBLE_EQ(r.latency_ms, 12.75);
  EXPECT_FALSE(r.cached);
  EXPECT_GT(r.seconds, 0.0);
  // The path with a space arrived as one argument.
  std::ifstream log(d.path / "calls.log");
  std::string line;
  std::getline(log, line);
  EXPECT_NE(line.find("my model.onnx -d MYRIAD"), std::string::npos) << line;
  // Throughput in FPS as the number: latency = 1000 / fps.
  const MeasureConfig f = config({{"command", fake_device(d) + " -m {onnx}"},
                                  {"regex", R"(Throughput:\s+([0-9.]+))"},
                                  {"unit", "fps"}});
  const MeasureResult rf = measure_latency(f, model, "k1");
  ASSERT_TRUE(rf.ok) << rf.reason;
  EXPECT_NEAR(rf.latency_ms, 1000.0 / 78.43, 1e-9);
}

TEST(ExternalMeasure, ParsesTheLatencyByJsonPath) {
  TempDir d("measure");
  const std::string model = d.write("m.onnx", "x");
  const std::string cmd =
      "echo 'log line before'; echo '{\"runs\": [{\"latency\": {\"median_us\": 1500}}]}'";
  MeasureConfig c =
      config({{"command", cmd}, {"json_path", "runs.0.latency.median_us"}, {"unit", "us"}});
  MeasureResult r = measure_latency(c, model, "k");
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_DOUBLE_EQ(r.latency_ms, 1.5);
  // A number written as a string counts; seconds convert.
  c = config({{"command", "echo '{\"t\": \"0.25\"}'"}, {"json_path", "t"}, {"unit", "s"}});
  r = measure_latency(c, model, "k");
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_DOUBLE_EQ(r.latency_ms, 250.0);
  // A path that is not there.
  c = config({{"command", cmd}, {"json_path", "runs.3.latency"}});
  r = measure_latency(c, model, "k");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("nothing at 'runs.3'"), std::string::npos) << r.reason;
  // Not JSON at all.
  c = config({{"command", "echo garbage"}, {"json_path", "a"}});
  r = measure_latency(c, model, "k");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("not JSON"), std::string::npos) << r.reason;
}

TEST(ExternalMeasure, FailuresAreResultsNotExceptions) {
  TempDir d("measure");
  const std::string model = d.write("m.onnx", "x");
  const std::string re = R"(Median:\s+([0-9.]+))";
  // Timeout: a device that hangs is killed promptly.
  MeasureConfig c = config({{"command", "sleep 30"}, {"regex", re}, {"timeout_s", 0.3}});
  MeasureResult r = measure_latency(c, model, "k");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(std::isnan(r.latency_ms));
  EXPECT_NE(r.reason.find("timed out after 0.3 s"), std::string::npos) << r.reason;
  EXPECT_LT(r.seconds, 1.5);
  // Garbage output.
  c = config({{"command", "echo 'E: device busy'; echo '%%%'"}, {"regex", re}});
  r = measure_latency(c, model, "k");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("no line of the output matches"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("'%%%'"), std::string::npos) << r.reason;  // the last line shown
  // Non-zero exit, with the tool's last words.
  c = config({{"command", "echo 'Median: 5 ms'; echo 'No MYRIAD device found' >&2; exit 4"},
              {"regex", re}});
  r = measure_latency(c, model, "k");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("exited with code 4"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("No MYRIAD device found"), std::string::npos) << r.reason;
  // A match that is not a number, and a latency that is not positive.
  c = config({{"command", "echo 'Median: n/a'"}, {"regex", R"(Median:\s+(\S+))"}});
  r = measure_latency(c, model, "k");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("'n/a' is not a number"), std::string::npos) << r.reason;
  c = config({{"command", "echo 'Median: 0 ms'"}, {"regex", re}});
  EXPECT_FALSE(measure_latency(c, model, "k").ok);
  // A command that does not exist, and a model that does not.
  c = config({{"command", "/nonexistent/benchmark_app -m {onnx}"}, {"regex", re}});
  r = measure_latency(c, model, "k");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("exited with code 127"), std::string::npos) << r.reason;
  c = config({{"command", "echo 'Median: 1 ms'"}, {"regex", re}});
  r = measure_latency(c, (d.path / "gone.onnx").string(), "k");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("gone.onnx: no such model file"), std::string::npos) << r.reason;
}

TEST(ExternalMeasure, CacheHitsSkipTheDevice) {
  TempDir d("measure");
  const std::string model = d.write("m.onnx", "x");
  const std::string cache = (d.path / "sub" / "cache.json").string();
  const MeasureConfig c = config({{"command", fake_device(d) + " -m {onnx} --tag {key}"},
                                  {"regex", R"(Median:\s+([0-9.]+))"},
                                  {"cache", cache}});
  const std::string key = measure_cache_key(0x1234abcdULL, Shape{4, 128, 128}, "fp16");
  EXPECT_EQ(key, "000000001234abcd@4x128x128@fp16");
  // The export precision is part of the key: the FP32 model of the same genome is another
  // model with another latency.
  EXPECT_NE(measure_cache_key(0x1234abcdULL, Shape{4, 128, 128}, "fp32"), key);
  MeasureResult r = measure_latency(c, model, key);
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_FALSE(r.cached);
  EXPECT_EQ(count_lines(d, "calls.log"), 1);
  r = measure_latency(c, model, key);
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.cached);
  EXPECT_DOUBLE_EQ(r.latency_ms, 12.75);
  EXPECT_EQ(count_lines(d, "calls.log"), 1);  // the device was not asked again
  // Another key is measured; the file holds both, as JSON.
  measure_latency(c, model, "other@1x8x8");
  EXPECT_EQ(count_lines(d, "calls.log"), 2);
  std::ifstream in(cache);
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j.size(), 2u);
  EXPECT_DOUBLE_EQ(j[key]["latency_ms"].get<double>(), 12.75);
  // A different command does not reuse the entries.
  MeasureConfig c2 = c;
  c2.command += " -niter 10";
  r = measure_latency(c2, model, key);
  EXPECT_FALSE(r.cached);
  EXPECT_EQ(count_lines(d, "calls.log"), 3);
  // Failures are not cached.
  MeasureConfig bad = c;
  bad.command = "exit 1";
  EXPECT_FALSE(measure_latency(bad, model, "failing").ok);
  std::ifstream in2(cache);
  EXPECT_FALSE(nlohmann::json::parse(in2).contains("failing"));
  // A corrupt cache is neither trusted nor overwritten.
  std::ofstream(cache) << "{not json";
  r = measure_latency(c, model, key);
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.cached);
  std::ifstream in3(cache);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in3), {}), "{not json");
}

TEST(ExternalMeasure, ConfigurationErrorsNameTheKey) {
  EXPECT_NE(config_error({{"regex", "(x)"}}).find("p: measure.command: missing"),
            std::string::npos);
  EXPECT_NE(config_error({{"command", "b {model}"}, {"regex", "(x)"}})
                .find("p: measure.command: command 'b {model}': unknown placeholder {model}"),
            std::string::npos);
  EXPECT_NE(config_error({{"command", "b"}}).find("exactly one of regex and json_path"),
            std::string::npos);
  EXPECT_NE(
      config_error({{"command", "b"}, {"regex", "(x)"}, {"json_path", "a"}}).find("exactly one of"),
      std::string::npos);
  EXPECT_NE(config_error({{"command", "b"}, {"regex", "Median: [0-9]+"}})
                .find("p: measure.regex: needs a capture group"),
            std::string::npos);
  EXPECT_NE(config_error({{"command", "b"}, {"regex", "(unclosed"}})
                .find("p: measure.regex: '(unclosed' is not a regular expression"),
            std::string::npos);
  EXPECT_NE(config_error({{"command", "b"}, {"regex", "(x)"}, {"unit", "min"}})
                .find("p: measure.unit: 'min'"),
            std::string::npos);
  EXPECT_NE(config_error({{"command", "b"}, {"regex", "(x)"}, {"timeout_s", -1}})
                .find("p: measure.timeout_s"),
            std::string::npos);
  EXPECT_NE(config_error({{"command", "b"}, {"regex", "(x)"}, {"retries", 3}})
                .find("p: measure: unknown key 'retries'"),
            std::string::npos);
  EXPECT_NE(config_error({{"method", "gpu"}}).find("p: measure.method: 'gpu'"), std::string::npos);
  // The host method needs no command.
  const MeasureConfig h = config({{"method", "host"}, {"threads", 1}, {"repeats", 3}});
  EXPECT_EQ(h.method, MeasureConfig::Method::Host);
  EXPECT_EQ(h.repeats, 3);
  EXPECT_FALSE(measure_latency(h, "x.onnx", "k").ok);
}

TEST(ExternalMeasure, ProfileTableAndCachePathRelativeToTheProfile) {
  TempDir d("measure");
  const std::string prof = d.write("dev.toml",
                                   "name = \"dev\"\n[measure]\ncommand = \"bench -m {onnx}\"\n"
                                   "regex = 'Median:\\s+([0-9.]+)'\ncache = \"c.json\"\n"
                                   "timeout_s = 20\n");
  const std::optional<MeasureConfig> c = measure_config(load_profile(prof));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->cache, (d.path / "c.json").string());
  EXPECT_EQ(c->timeout_s, 20.0);
  EXPECT_EQ(c->regex, R"(Median:\s+([0-9.]+))");
  EXPECT_FALSE(measure_config(load_profile("myriadx")).has_value());
}

}  // namespace
}  // namespace dalnas
