// dalnas profile: measured tables (lut-plan, --lut), external measurement (--measure with a
// script standing in for the device), the host-cpu profile and calibrate-host.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "cli_util.h"

using namespace dalnas::test;
namespace fs = std::filesystem;

namespace {

const char* kGenome = "ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_dec-8";

void expect_one_line_error(const RunResult& r, const std::string& must_contain) {
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(must_contain), std::string::npos) << r.err;
}

TEST(CliProfileLut, PlanFillAndOverride) {
  TempDir d;
  std::ofstream(d.path / "space.toml")
      << "[search_space]\nblock_types = [\"ConvAct\"]\nwidths = [8]\nkernels = [3]\n"
         "activations = [\"relu\"]\npoolings = [\"max\"]\nstages = {min = 3, max = 3}\n"
         "decoder_widths = [8]\n";
  auto p = run_dalnas("profile lut-plan --space " + d.str() + "/space.toml --out " + d.str() +
                      "/plan --size 32");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_NE(p.out.find("signatures"), std::string::npos) << p.out;
  // Fill every row with 100 µs.
  std::ifstream in(d.path / "plan" / "signatures.csv");
  std::string line, filled;
  std::getline(in, line);
  filled = line + "\n";
  int rows = 0;
  while (std::getline(in, line)) {
    filled += line.substr(0, line.size() - 2) + "100,1,50\n";
    const std::string model =
        line.substr(line.find("models/"), line.find(".onnx") + 5 - line.find("models/"));
    EXPECT_TRUE(fs::exists(d.path / "plan" / model)) << model;
    ++rows;
  }
  EXPECT_GT(rows, 5);
  std::ofstream(d.path / "lut.csv") << filled;
  auto r = run_dalnas(std::string("profile ") + kGenome + " --size 32 --lut " + d.str() +
                      "/lut.csv --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  int measured = 0;
  for (const auto& l : j["layers"]) {
    const bool io = l["op"] == "input" || l["op"] == "output";
    EXPECT_EQ(l["source"], io ? "estimate" : "lut") << l.dump();
    if (!io) {
      EXPECT_DOUBLE_EQ(l["us"].get<double>(), 100.0);
      ++measured;
    }
  }
  EXPECT_EQ(j["measured_layers"].get<int>(), measured);
  EXPECT_GT(measured, 10);
  // The text table marks the source of each row.
  auto t =
      run_dalnas(std::string("profile ") + kGenome + " --size 32 --lut " + d.str() + "/lut.csv");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find(" lut "), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("measured times (lut"), std::string::npos) << t.out;
  // A broken table names its file and line.
  std::ofstream(d.path / "bad.csv") << "op,input,output,mean_us\nconv,8x8,8x8x8,1\n";
  expect_one_line_error(
      run_dalnas(std::string("profile ") + kGenome + " --lut " + d.str() + "/bad.csv"),
      "bad.csv:2: input:");
  std::ofstream(d.path / "badspace.toml") << "[search_space]\nwidth = [8]\n";
  expect_one_line_error(
      run_dalnas("profile lut-plan --space " + d.str() + "/badspace.toml --out " + d.str() + "/x"),
      "width");
}

TEST(CliProfileMeasure, ExternalCommandCachedAndFailing) {
  TempDir d;
  std::ofstream(d.path / "bench.sh") << "#!/bin/sh\n[ -f \"$2\" ] || exit 9\n"
                                        "echo \"runs $(cat count 2>/dev/null)\"\n"
                                        "echo x >> count\necho 'Latency: Median: 12.5 ms'\n";
  ::chmod((d.path / "bench.sh").c_str(), 0755);
  std::ofstream(d.path / "dev.toml")
      << "name = \"stub\"\n[measure]\ncommand = \"" << d.str()
      << "/bench.sh -m {onnx}\"\nregex = 'Median:\\s+([0-9.]+)\\s*ms'\ncache = \"cache.json\"\n"
         "timeout_s = 20\n";
  const std::string cmd =
      std::string("profile ") + kGenome + " --size 32 --device " + d.str() + "/dev.toml --measure";
  auto r = run_dalnas(cmd + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["measured"]["ok"].get<bool>());
  EXPECT_DOUBLE_EQ(j["measured"]["latency_ms"].get<double>(), 12.5);
  EXPECT_FALSE(j["measured"]["cached"].get<bool>());
  EXPECT_TRUE(fs::exists(d.path / "cache.json"));
  auto again = run_dalnas(cmd);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("measured 12.50 ms (cached), estimated"), std::string::npos)
      << again.out;
  // A failing device: the estimate is printed, the failure is one line and a non-zero exit.
  std::ofstream(d.path / "fail.toml") << "name = \"stub\"\n[measure]\ncommand = \"echo 'no "
                                         "device' >&2; exit 3\"\nregex = '([0-9]+)'\n";
  auto f = run_dalnas(std::string("profile ") + kGenome + " --size 32 --device " + d.str() +
                      "/fail.toml --measure");
  expect_one_line_error(f, "exited with code 3");
  EXPECT_NE(f.err.find("no device"), std::string::npos) << f.err;
  EXPECT_NE(f.out.find("latency"), std::string::npos) << f.out;
  // No [measure] table: the profile file is named.
  expect_one_line_error(run_dalnas(std::string("profile ") + kGenome + " --measure"),
                        "myriadx.toml: no [measure] table");
}

TEST(CliProfileHost, HostCpuProfileEstimatesAndMeasures) {
  auto r = run_dalnas(std::string("profile ") + kGenome + " --device host-cpu --size 32 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["cost_model"], "cpu");
  EXPECT_GT(j["latency_ms"].get<double>(), 0.0);
  EXPECT_EQ(j["transfer_ms"].get<double>(), 0.0);
  auto m = run_dalnas(std::string("profile ") + kGenome +
                      " --device host-cpu --size 32 --measure --json");
  ASSERT_EQ(m.code, 0) << m.err;
  j = nlohmann::json::parse(m.out);
  EXPECT_TRUE(j["measured"]["ok"].get<bool>());
  EXPECT_GT(j["measured"]["latency_ms"].get<double>(), 0.0);
}

TEST(CliProfileHost, CalibrateHostWritesALoadableProfileAndRefits) {
  TempDir d;
  auto r = run_dalnas(
      "profile calibrate-host --genomes 4 --folds 2 --rounds 1 --repeats 1 "
      "--warmup 0 --size 32 --timings-out " +
      d.str() + "/t.csv --write " + d.str() + "/p.toml --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["rows"].size(), 4u);
  EXPECT_TRUE(j.contains("cross_validation"));
  const std::string toml = slurp(d.str() + "/p.toml");
  EXPECT_NE(toml.find("dalnas profile calibrate-host --genomes 4"), std::string::npos) << toml;
  auto p = run_dalnas(std::string("profile ") + kGenome + " --device " + d.str() +
                      "/p.toml --size 32 --json");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(nlohmann::json::parse(p.out)["cost_model"], "cpu");
  // The saved timings give the same fit.
  auto again =
      run_dalnas("profile calibrate-host --folds 2 --timings " + d.str() + "/t.csv --json");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["fitted"], j["fitted"]);
}

}  // namespace
