// End to end through the executable, on tiny synthetic data: train, eval, arch describe.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_util.h"

using namespace dalnas::test;
namespace fs = std::filesystem;

namespace {
const std::string kTiny = " --epochs 2 --batch 8 --chip-size 64 --threads 2 --arch tiny --quiet";
}

TEST(CliTrainEval, TrainThenEvalGivesTheSameTestMetrics) {
  TempDir d;
  auto r = run_dalnas("train" + kTiny + " --json --out " + d.str() + "/run");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* k :
       {"miou", "iou_background", "iou_vessel", "precision", "recall", "f1", "params"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_GT(j["params"].get<int>(), 1000);
  ASSERT_TRUE(j.contains("objects"));  // vessel-level metrics of the whole test scenes
  EXPECT_GT(j["objects"]["vessels"].get<int>(), 0);
  EXPECT_TRUE(j["val"].contains("objects"));
  for (const char* f : {"model.ckpt", "metrics.json", "config.json", "history.csv"})
    EXPECT_TRUE(fs::exists(d.path / "run" / f)) << f;

  auto e = run_dalnas("eval --model " + d.str() + "/run/model.ckpt --split test --json");
  ASSERT_EQ(e.code, 0) << e.err;
  const auto je = nlohmann::json::parse(e.out);
  EXPECT_EQ(je["tp"], j["tp"]);
  EXPECT_EQ(je["fp"], j["fp"]);
  EXPECT_DOUBLE_EQ(je["miou"].get<double>(), j["miou"].get<double>());
  EXPECT_EQ(je["objects"], j["objects"]);
  const auto saved = nlohmann::json::parse(slurp(d.str() + "/run/metrics.json"));
  EXPECT_EQ(saved["objects"], j["objects"]);
  auto text = run_dalnas("eval --model " + d.str() + "/run/model.ckpt --split test");
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("vessels recall "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("boundary F1 "), std::string::npos) << text.out;

  auto all = run_dalnas("eval --model " + d.str() + "/run/model.ckpt --split all --json");
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_GT(nlohmann::json::parse(all.out)["tn"].get<uint64_t>(), je["tn"].get<uint64_t>());
}

TEST(CliTrainEval, Fp16AlignedTrainingAndFineTuningFromCheckpoint) {
  TempDir d;
  auto r = run_dalnas("train" + kTiny + " --json --out " + d.str() + "/fp32");
  ASSERT_EQ(r.code, 0) << r.err;
  auto f = run_dalnas(
      "train --epochs 1 --batch 8 --chip-size 64 --threads 2 --quiet --json "
      "--precision fp16-aligned --init " +
      d.str() + "/fp32/model.ckpt --out " + d.str() + "/ft");
  ASSERT_EQ(f.code, 0) << f.err;
  const auto j = nlohmann::json::parse(f.out);
  EXPECT_EQ(j["precision"], "fp16-aligned");
  EXPECT_EQ(j["genome"], nlohmann::json::parse(r.out)["genome"]);
}

// --set KEY=VALUE reaches any training key over the config file; the named flags win.
TEST(CliTrainEval, SetOverridesTheConfigFileAndNamedFlagsOverrideSet) {
  TempDir d;
  const std::string cfg = d.str() + "/train.toml";
  {
    std::ofstream f(cfg);
    f << "lr = 0.002\n[loss]\nkind = \"bce\"\n";
  }
  auto r = run_dalnas("train" + kTiny + " --config " + cfg +
                      " --set loss.kind=dice --set 'tiling={size = 48, stride = 40}'"
                      " --set epochs=1 --set lr=0.004 --json --out " +
                      d.str() + "/run");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto c = nlohmann::json::parse(slurp(d.str() + "/run/config.json"));
  EXPECT_EQ(c["loss"]["kind"], "dice") << "--set over the file";
  EXPECT_DOUBLE_EQ(c["lr"].get<double>(), 0.004);
  EXPECT_EQ(c["epochs"], 2) << "--epochs (a named flag) over --set epochs";
  EXPECT_EQ(c["tiling"]["size"], 64) << "--chip-size over --set's table";
  EXPECT_EQ(c["tiling"]["stride"], 40) << "the stride --set gave is kept";

  // A key TrainConfig does not have, and an assignment without '=': one line each,
  // naming --set and the key, and nothing written.
  auto bad = run_dalnas("train" + kTiny + " --set tiling.sise=3 --out " + d.str() + "/bad");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("--set"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("sise"), std::string::npos) << bad.err;
  auto noeq = run_dalnas("train" + kTiny + " --set epochs --out " + d.str() + "/bad");
  EXPECT_NE(noeq.code, 0);
  EXPECT_NE(noeq.err.find("--set 'epochs'"), std::string::npos) << noeq.err;
  EXPECT_FALSE(fs::exists(d.path / "bad"));
}

TEST(CliTrainEval, ArchDescribeJson) {
  auto r = run_dalnas("arch describe reference --bands 4 --size 64 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GE(j["params"].get<int>(), 90000);
  EXPECT_LE(j["params"].get<int>(), 100000);
  EXPECT_GT(j["macs"].get<int64_t>(), 0);
  EXPECT_GT(j["peak_activation_bytes"].get<int64_t>(), 64 * 64 * 4);
  auto p = run_dalnas("arch describe pynas:Lco16k3s1p1arn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE --json");
  ASSERT_EQ(p.code, 0) << p.err;
}

// dalnas export --precision int8: the QDQ model calibrated on the model's training scenes,
// evaluated the same way by `eval --device onnxruntime-int8`.
TEST(CliTrainEval, ExportInt8QdqForAnIntegerProfile) {
  TempDir d;
  auto r = run_dalnas("train" + kTiny + " --json --out " + d.str() + "/run");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string ck = d.str() + "/run/model.ckpt", out = d.str() + "/model-int8.onnx";
  auto e = run_dalnas("export --model " + ck +
                      " --precision int8 --device onnxruntime-int8 --tile 64 --json --out " + out);
  ASSERT_EQ(e.code, 0) << e.err;
  const auto j = nlohmann::json::parse(e.out);
  EXPECT_EQ(j["precision"], "int8");
  EXPECT_EQ(j["opset"], 13);  // int8 needs 13 (per-channel DequantizeLinear)
  EXPECT_GT(j["calibration_tiles"].get<int>(), 0);
  const std::string bytes = slurp(out);
  EXPECT_NE(bytes.find("QuantizeLinear"), std::string::npos);
  EXPECT_NE(bytes.find("onnxruntime-int8"), std::string::npos);  // metadata int8_format
  auto ev = run_dalnas("eval --model " + ck + " --device onnxruntime-int8 --json");
  ASSERT_EQ(ev.code, 0) << ev.err;
  EXPECT_EQ(nlohmann::json::parse(ev.out)["device"], "onnxruntime-int8");
  // Without an integer profile, or dynamic: refused, nothing written.
  for (const std::string& bad :
       {std::string(" --precision int8"), std::string(" --precision int8 --device myriadx"),
        std::string(" --precision int8 --device onnxruntime-int8 --dynamic"),
        std::string(" --device onnxruntime-int8")}) {
    const std::string o = d.str() + "/bad.onnx";
    auto b = run_dalnas("export --model " + ck + bad + " --out " + o);
    EXPECT_NE(b.code, 0) << bad;
    EXPECT_EQ(count_lines(b.err), 1) << bad << ": " << b.err;
    EXPECT_FALSE(fs::exists(o)) << bad;
  }
}

TEST(CliTrainEval, EvalOnEmulatedDevicesAndCompare) {
  TempDir d;
  auto r = run_dalnas("train" + kTiny + " --json --out " + d.str() + "/run");
  ASSERT_EQ(r.code, 0) << r.err;
  auto e = run_dalnas("eval --model " + d.str() + "/run/model.ckpt --device myriadx --json");
  ASSERT_EQ(e.code, 0) << e.err;
  const auto j = nlohmann::json::parse(e.out);
  EXPECT_EQ(j["device"], "myriadx");
  EXPECT_TRUE(j.contains("nan_pixels"));
  EXPECT_TRUE(j.contains("objects"));
  auto bad = run_dalnas("eval --model " + d.str() + "/run/model.ckpt --device nosuchchip");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("nosuchchip"), std::string::npos) << bad.err;

  // Layer-wise calibration sensitivity on an integer device; refused elsewhere, one line.
  auto sens = run_dalnas("eval --model " + d.str() +
                         "/run/model.ckpt --device int8-tflite --sensitivity percentile --json");
  ASSERT_EQ(sens.code, 0) << sens.err;
  const auto js = nlohmann::json::parse(sens.out);
  EXPECT_EQ(js["base"], "minmax");
  EXPECT_EQ(js["alternative"], "percentile");
  EXPECT_FALSE(js["nodes"].empty());
  for (const auto& [args, says] : std::vector<std::pair<std::string, std::string>>{
           {"--device host --sensitivity entropy", "needs an integer --device"},
           {"--device myriadx --sensitivity entropy", "not an integer profile"},
           {"--device int8-tflite --sensitivity kl", "--sensitivity: calibration 'kl'"}}) {
    auto b = run_dalnas("eval --model " + d.str() + "/run/model.ckpt " + args);
    EXPECT_NE(b.code, 0) << args;
    EXPECT_NE(b.err.find(says), std::string::npos) << args << ": " << b.err;
  }

  auto c = run_dalnas(
      "compare --arch tiny --epochs 1 --seeds 1 --finetune-epochs 1 --chip-size 64 "
      "--threads 2 --quiet --json --out " +
      d.str() + "/cmp");
  ASSERT_EQ(c.code, 0) << c.err;
  const auto jc = nlohmann::json::parse(c.out);
  for (const char* k : {"fp32_host", "ptq_device", "aligned_device", "control_device"})
    EXPECT_EQ(jc[k]["per_seed"].size(), 1u) << k;
  for (const char* f : {"compare.csv", "compare.json", "compare.txt"})
    EXPECT_TRUE(fs::exists(d.path / "cmp" / f)) << f;
}

TEST(CliProfile, GenomeAndOnnxModelsAndCalibration) {
  auto g = run_dalnas("profile reference --size 128 --json");
  ASSERT_EQ(g.code, 0) << g.err;
  const auto j = nlohmann::json::parse(g.out);
  for (const char* k : {"latency_ms", "fps", "peak_memory_bytes", "energy_mj", "layers"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_GT(j["latency_ms"].get<double>(), 0.0);
  EXPECT_NEAR(j["fps"].get<double>(), 1000.0 / j["latency_ms"].get<double>(), 1e-6);
  // Pipelined requests raise the throughput above the synchronous rate.
  auto p = run_dalnas("profile reference --size 128 --requests 2 --json");
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_GT(nlohmann::json::parse(p.out)["fps"].get<double>(), j["fps"].get<double>());

  const std::string models = std::string(DALNAS_SHARED_DIR) + "/devices/myriadx-published";
  if (!fs::exists(models)) GTEST_SKIP() << "shared Myriad X measurements absent: " << models;
  for (const auto& e : fs::directory_iterator(models + "/models")) {
    auto r = run_dalnas("profile " + e.path().string() + " --json");
    ASSERT_EQ(r.code, 0) << e.path() << ": " << r.err;
    EXPECT_GT(nlohmann::json::parse(r.out)["layers"].size(), 5u) << e.path();
  }
  auto c = run_dalnas("profile calibrate --json");
  ASSERT_EQ(c.code, 0) << c.err;
  const auto jc = nlohmann::json::parse(c.out);
  EXPECT_LE(jc["leave_one_out"]["mape"].get<double>(), 0.20);
  EXPECT_GE(jc["leave_one_out"]["spearman"].get<double>(), 0.9);
  EXPECT_EQ(jc["sources"].size(), 4u);
  EXPECT_GE(jc["leave_one_source_out"]["spearman"].get<double>(), 0.9);
}
