// dalnas probe export / emulate / run / fit through the executable: round trips from files,
// and bad device outputs ending in one line that names the file.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "device/profile.h"
#include "probe/fit.h"

using namespace dalnas::test;
namespace fs = std::filesystem;

namespace {
void expect_one_line_error(const RunResult& r, const std::string& must_contain) {
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("dalnas: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(must_contain), std::string::npos) << r.err;
}
}  // namespace

TEST(CliProbeSlow, ExportEmulateFitRoundTrip) {
  TempDir d;
  const std::string probes = d.str() + "/probes", outs = d.str() + "/device";
  RunResult r = run_dalnas("probe export --out " + probes);
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"probes.json", "README.txt", "run_probes.py", "accumulation_1x1.onnx",
                        "accumulation_1x1.input.npy", "input_convert.onnx"}) {
    EXPECT_TRUE(fs::exists(fs::path(probes) / f)) << f;
  }
  r = run_dalnas("probe emulate --device myriadx --out " + outs);
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_dalnas("probe fit --device-outputs " + outs + " --base fp16-ideal --out " + d.str() +
                 "/fitted.toml");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("neural_engine.accumulation"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fp16-blocked:hw"), std::string::npos) << r.out;
  const dalnas::DeviceProfile fitted = dalnas::load_profile(d.str() + "/fitted.toml");
  const dalnas::DeviceProfile truth = dalnas::load_profile("myriadx");
  EXPECT_EQ(fitted.name, "fitted");
  EXPECT_TRUE(fitted.neural_engine.acc == truth.neural_engine.acc);
  EXPECT_TRUE(fitted.neural_engine.half == truth.neural_engine.half);
  EXPECT_TRUE(fitted.shave.half == truth.shave.half);
  EXPECT_EQ(fitted.neural_engine.prescale, true);
  EXPECT_EQ(fitted.neural_engine.prescale_growing_output, true);
  EXPECT_EQ(fitted.pipeline.tiling.enabled, true);
  EXPECT_EQ(fitted.pipeline.half_pixel_resize, dalnas::ResizeCoord::Asymmetric);
  EXPECT_EQ(fitted.pipeline.hw_avgpool_counts_padding, true);
  EXPECT_EQ(fitted.shave.fp16_activations, true);
}

TEST(CliProbe, MissingOrMisshapenOutputNamesTheFile) {
  TempDir d;
  const std::string outs = d.str() + "/device";
  ASSERT_EQ(run_dalnas("probe emulate --device fp16-ideal --out " + outs).code, 0);
  const std::string resize = outs + "/resize.output.npy";
  fs::copy_file(outs + "/sigmoid.output.npy", resize, fs::copy_options::overwrite_existing);
  expect_one_line_error(run_dalnas("probe fit --device-outputs " + outs), resize);
  fs::remove(resize);
  expect_one_line_error(run_dalnas("probe fit --device-outputs " + outs), resize);
  EXPECT_FALSE(fs::exists(outs + "/fitted.toml"));
  expect_one_line_error(run_dalnas("probe fit --device-outputs " + d.str() + "/nowhere"),
                        "nowhere");
}

// The exported ONNX probes through the external-device protocol: the stand-in device imports
// each model and answers with the emulator under myriadx; the fit gives myriadx back.
TEST(CliProbeSlow, RunOnAnExternalDeviceAndFit) {
  TempDir d;
  std::ofstream(d.path / "stub.toml")
      << "name = \"stub\"\nkind = \"external\"\n[external]\ncommand = \"" << DALNAS_STUB_DEVICE
      << " --profile myriadx {model} {inputs} {outputs}\"\n";
  const std::string outs = d.str() + "/device";
  RunResult r = run_dalnas("probe run --device external:" + d.str() + "/stub.toml --out " + outs);
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_dalnas("probe fit --device-outputs " + outs + " --base fp16-ideal --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  const dalnas::DeviceProfile truth = dalnas::load_profile("myriadx");
  int determined = 0;
  for (const nlohmann::json& row : j.at("rows")) {
    if (!row.at("determined").get<bool>()) continue;
    ++determined;
    EXPECT_TRUE(row.at("exact").get<bool>()) << row.dump();
    EXPECT_EQ(row.at("value"), dalnas::probe_setting(truth, row.at("setting"))) << row.dump();
  }
  EXPECT_GE(determined, 15);
}
