// The probe files: what `dalnas probe export` writes and `probe fit` reads.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/npy.h"
#include "onnx/onnx_import.h"
#include "device/profile.h"
#include "probe/probe_files.h"
#include "temp_dir.h"

using namespace dalnas;
using dalnas::test_util::TempDir;
namespace fs = std::filesystem;

TEST(ProbeFiles, ExportWritesModelsInputsManifestAndScript) {
  TempDir dir("probe-export");
  const std::vector<Probe> probes = make_probes();
  ProbeExportOptions opt;
  opt.fp32 = true;
  export_probes(dir.path.string(), probes, opt);
  const nlohmann::json m = nlohmann::json::parse(read_file((dir.path / "probes.json").string()));
  EXPECT_EQ(m.at("format"), "dalnas-probes/1");
  ASSERT_EQ(m.at("probes").size(), probes.size());
  for (size_t i = 0; i < probes.size(); ++i) {
    const Probe& p = probes[i];
    const nlohmann::json& j = m.at("probes")[i];
    EXPECT_EQ(j.at("name"), p.name);
    EXPECT_TRUE(fs::exists(dir.path / (p.name + ".onnx"))) << p.name;
    EXPECT_TRUE(fs::exists(dir.path / (p.name + ".fp32.onnx"))) << p.name;
    const NpyArray x = read_npy((dir.path / (p.name + ".input.npy")).string());
    EXPECT_EQ(x.shape,
              (std::vector<int64_t>{1, p.graph.input.c, p.graph.input.h, p.graph.input.w}));
    EXPECT_EQ(x.data, p.input) << p.name;
    EXPECT_EQ(j.at("input_shape").get<std::vector<int64_t>>(), x.shape);
  }
  const std::string readme = read_file((dir.path / "README.txt").string());
  EXPECT_NE(readme.find("NOT RUN ON HARDWARE"), std::string::npos);
  EXPECT_NE(readme.find("MYRIAD_ENABLE_WEIGHTS_ANALYSIS=NO"), std::string::npos);
  const std::string script = read_file((dir.path / "run_probes.py").string());
  EXPECT_NE(script.find("from openvino.runtime import Core"), std::string::npos);
}

TEST(ProbeFiles, ReadsBackEmulatedOutputsBatchedOrNot) {
  TempDir dir("probe-read");
  const std::vector<Probe> probes = make_probes();
  const EmulatorConfig cfg = load_profile("myriadx").emulator_config();
  write_probe_outputs(dir.path.string(), probes, cfg);
  // An unbatched float16 file is accepted too.
  const Probe& r = *find_probe(probes, "resize");
  const std::vector<float> y = emulate_probe(r, cfg);
  const Shape s = r.graph.nodes[static_cast<size_t>(r.graph.output)].shape;
  write_npy((dir.path / "resize.output.npy").string(), {s.c, s.h, s.w}, y.data(),
            NpyDtype::Float16);
  const auto out = read_probe_outputs(dir.path.string(), probes);
  EXPECT_EQ(out.at("resize"), y);
  EXPECT_EQ(out.at("sigmoid"), emulate_probe(*find_probe(probes, "sigmoid"), cfg));
}

TEST(ProbeFiles, MissingOrMisshapenOutputNamesTheFile) {
  TempDir dir("probe-bad");
  const std::vector<Probe> probes = make_probes();
  write_probe_outputs(dir.path.string(), probes, load_profile("fp16-ideal").emulator_config());
  const std::string tiling = (dir.path / "tiling.output.npy").string();
  fs::remove(tiling);
  try {
    read_probe_outputs(dir.path.string(), probes);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(tiling), std::string::npos) << e.what();
  }
  const std::vector<float> wrong(6, 0.0f);
  write_npy(tiling, {1, 1, 2, 3}, wrong.data());
  try {
    read_probe_outputs(dir.path.string(), probes);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(tiling), std::string::npos) << m;
    EXPECT_NE(m.find("[1, 1, 2, 3]"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

// The exported FP16 ONNX files mean what the probes' graphs mean: imported back and
// emulated under myriadx, every probe gives the output of its graph.
TEST(ProbeFiles, ExportedModelsImportToTheSameComputation) {
  TempDir dir("probe-onnx");
  const std::vector<Probe> probes = make_probes();
  export_probes(dir.path.string(), probes);
  for (const char* profile : {"myriadx", "fp16-ideal"}) {
    const EmulatorConfig cfg = load_profile(profile).emulator_config();
    for (const Probe& p : probes) {
      Probe imported = p;
      imported.graph = import_onnx((dir.path / (p.name + ".onnx")).string(), &p.graph.input);
      const std::vector<float> a = emulate_probe(p, cfg), b = emulate_probe(imported, cfg);
      ASSERT_EQ(a.size(), b.size()) << p.name;
      for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_TRUE(a[i] == b[i] || (a[i] != a[i] && b[i] != b[i]))
            << profile << " " << p.name << " value " << i << ": " << a[i] << " vs " << b[i];
      }
    }
  }
}
