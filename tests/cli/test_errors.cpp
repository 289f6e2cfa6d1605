// Bad input ends with one line naming the file or field, a non-zero exit, and no output left.
#include <gtest/gtest.h>

#include "cli_util.h"

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

TEST(CliErrors, MissingDataPath) {
  TempDir d;
  auto r = run_dalnas("train --data /nonexistent/ships.json --epochs 1 --out " + d.str() + "/o");
  expect_one_line_error(r, "/nonexistent/ships.json");
  EXPECT_FALSE(fs::exists(d.path / "o")) << "a failed command leaves no output folder behind";
}

TEST(CliErrors, BadGenomeNamesTheToken) {
  auto r = run_dalnas(
      "arch describe ConvBnAct-16-k4-relu_max_ConvBnAct-16-k3-relu_max_ConvBnAct-16-k3-relu_dec-8");
  expect_one_line_error(r, "k4");
  EXPECT_NE(r.err.find("k3, k5"), std::string::npos) << r.err;
}

TEST(CliErrors, MalformedCocoJson) {
  TempDir d;
  std::ofstream(d.path / "ann.json") << "{\"images\": [ {\"id\": 1, ";
  auto r = run_dalnas("train --data " + d.str() + "/ann.json --epochs 1 --out " + d.str() + "/o");
  expect_one_line_error(r, "ann.json");
}

TEST(CliErrors, CorruptCheckpoint) {
  TempDir d;
  std::ofstream(d.path / "m.ckpt") << "DALNASCK garbage";
  auto r = run_dalnas("eval --model " + d.str() + "/m.ckpt");
  expect_one_line_error(r, "m.ckpt");
}

TEST(CliErrors, BadOptionValues) {
  expect_one_line_error(run_dalnas("train --epochs many"), "--epochs");
  expect_one_line_error(run_dalnas("train --freeze-bn-epochs often --epochs 1"),
                        "--freeze-bn-epochs: 'often' is not a number of epochs or auto");
  expect_one_line_error(run_dalnas("train --qat-weights lsq --epochs 1"),
                        "--qat-weights: 'lsq' is not max or learned");
  expect_one_line_error(run_dalnas("train --qat-ranges minmax --epochs 1"),
                        "--qat-ranges: 'minmax' is not ema or learned");
  expect_one_line_error(run_dalnas("train --monitor dice --epochs 1"),
                        "--monitor: 'dice' is not loss or miou");
  expect_one_line_error(run_dalnas("train --set monitor='\"iou\"' --epochs 1"),
                        "monitor must be loss or miou, got 'iou'");
  expect_one_line_error(run_dalnas("train --chip-size big --epochs 1"), "--chip-size: 'big'");
  expect_one_line_error(run_dalnas("train --precision fp8 --epochs 1"), "fp8");
  expect_one_line_error(run_dalnas("train --loss hinge --epochs 1"), "hinge");
  expect_one_line_error(run_dalnas("arch describe reference --size 12x"), "--size");
}

TEST(CliErrors, BadConfigFileNamesFileAndKey) {
  TempDir d;
  std::ofstream(d.path / "c.toml") << "epochs = 2\nbatchsize = 4\n";
  expect_one_line_error(run_dalnas("train --config " + d.str() + "/c.toml"), "batchsize");
  std::ofstream(d.path / "bad.toml") << "epochs = = 2\n";
  expect_one_line_error(run_dalnas("train --config " + d.str() + "/bad.toml"), "bad.toml");
}

TEST(CliErrors, ExampleConfigLoadsAndMissingDataIsNamed) {
  // The shipped example parses; with its data folder replaced by a missing one the error
  // names that folder (so no training starts).
  TempDir d;
  auto r = run_dalnas(std::string("train --config ") + DALNAS_SOURCE_DIR +
                      "/configs/train-sen2ships.toml --data " + d.str() + "/nowhere --epochs 1");
  expect_one_line_error(r, "nowhere");
}
