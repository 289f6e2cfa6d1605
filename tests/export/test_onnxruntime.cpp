// A real runtime: ONNX Runtime's CPU execution provider (npm onnxruntime-node, run through
// tools/onnxruntime/run.js) loads the FP32 and FP16 exports. FP32: its output matches the
// FP32 emulator and libtorch's forward within 1e-4 relative. FP16: the export stores FP16
// weights and casts at both ends; ONNX Runtime's CPU kernels compute FP16 nodes in float
// (inserting casts), so its output is compared with the fp16-ideal emulator (FP16 storage,
// FP32 accumulation) within a few FP16 steps. Skipped, saying why, when Node.js or the
// package is missing (scripts/install-deps.sh installs both).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../temp_dir.h"
#include "core/npy.h"
#include "core/subprocess.h"
#include "device/profile.h"
#include "export/onnx_export.h"
#include "export_test_util.h"

using namespace dalnas;
using namespace dalnas::testing_export;

namespace {

std::string ort_missing() {
  const std::string dir = DALNAS_ORT_DIR;
  if (run_command("command -v node", 10).exit_code != 0) return "node is not installed";
  if (!std::filesystem::exists(dir + "/node_modules/onnxruntime-node/package.json")) {
    return "npm package onnxruntime-node is not installed in " + dir;
  }
  return "";
}

#define SKIP_WITHOUT_ORT()                                                     \
  do {                                                                         \
    const std::string why = ort_missing();                                     \
    if (!why.empty()) GTEST_SKIP() << why << " (run scripts/install-deps.sh)"; \
  } while (0)

// ONNX Runtime's output for one C × H × W input.
std::vector<float> ort_forward(const std::string& bytes, const Shape& s,
                               const std::vector<float>& x, bool optimize = true) {
  test_util::TempDir d("ort");
  const std::string model = (d.path / "model.onnx").string();
  std::ofstream(model, std::ios::binary) << bytes;
  const std::string in = (d.path / "in.npy").string(), out = (d.path / "out.npy").string();
  write_npy(in, {1, s.c, s.h, s.w}, x.data());
  const std::string cmd = "node " + shell_quote(std::string(DALNAS_ORT_DIR) + "/run.js") + " " +
                          shell_quote(model) + " " + shell_quote(in) + " " + shell_quote(out) +
                          (optimize ? "" : " --no-optimize");
  const ProcessResult r = run_command(cmd, 120);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  if (r.exit_code != 0) return {};
  return read_npy(out).data;
}

TEST(OnnxRuntime, Fp32ExportsOfEveryBlockTypeMatchLibtorch) {
  SKIP_WITHOUT_ORT();
  uint64_t seed = 150;
  for (const std::string& s : block_type_genomes()) {
    Case c = make_case(Genome::parse(s), 4, 37, 45, seed++);
    const std::vector<float> want = torch_logits(c);
    ExportOptions o;
    o.opset = seed % 2 ? 11 : 13;
    EXPECT_LE(max_rel_error(
                  ort_forward(to_onnx_bytes(lowered(c, false), o), c.shape, normalised(c)), want),
              1e-4)
        << s;
    // Normalisation folded into the first convolution: raw values in.
    EXPECT_LE(max_rel_error(ort_forward(to_onnx_bytes(lowered(c, true), o), c.shape, c.raw), want),
              1e-4)
        << s << " (folded)";
  }
}

TEST(OnnxRuntime, EveryOpMatchesTheFp32EmulatorWithAndWithoutGraphOptimisation) {
  SKIP_WITHOUT_ORT();
  for (bool softmax : {false, true}) {
    const DeviceGraph g = every_op_graph(22, softmax);
    const std::vector<float> x = random_input(g.input, 23);
    const std::vector<float> want = Emulator(g, EmulatorConfig{}).run(x.data(), g.input);
    for (int opset : {11, 13, 17}) {
      ExportOptions o;
      o.opset = opset;
      const std::string bytes = to_onnx_bytes(g, o);
      EXPECT_LE(max_rel_error(ort_forward(bytes, g.input, x), want), 1e-4)
          << "opset " << opset << (softmax ? " softmax" : "");
      EXPECT_LE(max_rel_error(ort_forward(bytes, g.input, x, false), want), 1e-4)
          << "opset " << opset << " unoptimised";
    }
  }
}

TEST(OnnxRuntime, Fp16ExportsFollowTheFp16IdealEmulator) {
  SKIP_WITHOUT_ORT();
  const DeviceProfile ideal = load_profile("fp16-ideal");
  uint64_t seed = 170;
  for (const std::string& s : block_type_genomes()) {
    Case c = make_case(Genome::parse(s), 4, 32, 32, seed++);
    const DeviceGraph g = lowered(c, false);
    const std::vector<float> x = normalised(c);
    ExportOptions o;
    o.fp16 = true;
    const std::vector<float> got = ort_forward(to_onnx_bytes(g, o), c.shape, x);
    // The emulator normalises raw values itself (the graph's host normalisation).
    const std::vector<float> want = Emulator(g, ideal.emulator_config()).run(c.raw.data(), c.shape);
    const std::vector<float> fp32 = Emulator(g, EmulatorConfig{}).run(c.raw.data(), c.shape);
    ASSERT_EQ(got.size(), want.size()) << s;
    // The FP16 export is FP16 arithmetic: not the FP32 result bit for bit...
    EXPECT_GT(bit_differences(got, fp32), 0) << s;
    // ...but close to the ideal FP16 machine (rounding order and where casts sit differ).
    EXPECT_LE(max_rel_error(got, want), 2e-3) << s;
  }
}

}  // namespace
