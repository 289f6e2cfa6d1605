// Checkpoints as ONNX files: export_checkpoint (the search's best/ folder) and the
// `dalnas export` command, run as a user would.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "../cli/cli_util.h"
#include "core/atomic_file.h"
#include "eval/export_model.h"
#include "export_test_util.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"

using namespace dalnas;
using namespace dalnas::testing_export;
namespace fs = std::filesystem;

namespace {

Checkpoint tiny_checkpoint(int eval_tile) {
  Case c = make_case(Genome::parse("ConvBnAct-6-k3-relu_max_ConvSE-8-k3-hswish_max_MBConv-8-k3-"
                                   "e3-gelu_dec-4"),
                     4, 8, 8, 7);
  Checkpoint ck;
  ck.genome = c.net->genome;
  ck.bands = 4;
  ck.net = c.net;
  ck.norm.mean = c.mean;
  ck.norm.std = c.std;
  ck.config = {{"eval_tile", eval_tile}};
  return ck;
}

std::map<std::string, std::string> metadata(const std::string& path) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(read_file(path)));
  std::map<std::string, std::string> out;
  for (const auto& p : m.metadata_props()) out[p.key()] = p.value();
  return out;
}

}  // namespace

TEST(ExportModel, WritesBothPrecisionsForTheCheckpointsTile) {
  test::TempDir d;
  Checkpoint ck = tiny_checkpoint(48);
  const auto paths = export_checkpoint(ck, d.str() + "/best");
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[0], d.str() + "/best/model-fp32.onnx");
  EXPECT_EQ(paths[1], d.str() + "/best/model-fp16.onnx");
  for (const std::string& p : paths) {
    const std::string bytes = read_file(p);
    EXPECT_NO_THROW(check_onnx_bytes(bytes, p));
    const DeviceGraph g = import_onnx_bytes(bytes, p);
    EXPECT_EQ(g.input, (Shape{4, 48, 48})) << p;  // the checkpoint's eval tile
    const auto md = metadata(p);
    EXPECT_EQ(md.at("genome"), ck.genome.str());
    EXPECT_EQ(md.at("bands"), "4");
    EXPECT_EQ(md.at("tile"), "[48,48]");
    EXPECT_EQ(nlohmann::json::parse(md.at("normalization"))["std"].get<std::vector<float>>(),
              ck.norm.std);
  }
  EXPECT_EQ(metadata(paths[1]).at("dalnas.precision"), "fp16");
  // The FP32 file computes what libtorch computes (the emulator in FP32 as the runtime).
  ModelExportOptions o;
  o.height = 16, o.width = 24;
  export_checkpoint_onnx(ck, d.str() + "/small.onnx", false, o);
  DeviceGraph g = import_onnx(d.str() + "/small.onnx");
  ASSERT_EQ(g.input, (Shape{4, 16, 24}));
  Case c;
  c.net = ck.net;
  c.mean = ck.norm.mean;
  c.std = ck.norm.std;
  c.shape = g.input;
  c.raw = random_input(c.shape, 3, 0, 6000);
  const std::vector<float> x = normalised(c);
  EXPECT_LE(max_rel_error(Emulator(g, EmulatorConfig{}).run(x.data(), g.input), torch_logits(c)),
            1e-4);
}

TEST(ExportCommand, WritesTheRequestedFileAndExplainsErrors) {
  test::TempDir d;
  Checkpoint ck = tiny_checkpoint(32);
  const std::string ckpt = d.str() + "/model.ckpt";
  save_checkpoint(ckpt, ck);
  const std::string out = d.str() + "/m16.onnx";
  auto r = test::run_dalnas("export --model " + ckpt + " --precision fp16 --fold-bn " +
                            "--fold-normalization --tile 32x48 --out " + out + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["input"], "1x4x32x48");
  EXPECT_EQ(j["precision"], "fp16");
  EXPECT_EQ(j["normalization_folded"], true);
  const DeviceGraph g = import_onnx(out);
  EXPECT_EQ(g.input, (Shape{4, 32, 48}));
  EXPECT_EQ(g.nodes[1].name, "normalize");  // the folded normalisation comes first
  EXPECT_EQ(metadata(out).at("dalnas.normalization_folded"), "true");

  // Plain text, default tile (the checkpoint's eval tile), FP32, opset 13.
  r = test::run_dalnas("export --model " + ckpt + " --opset 13 --out " + d.str() + "/m.onnx");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1x4x32x32"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("normalised on the host"), std::string::npos) << r.out;

  // Errors: one line, naming what is wrong.
  r = test::run_dalnas("export --model " + d.str() + "/missing.ckpt --out " + out);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("missing.ckpt"), std::string::npos) << r.err;
  EXPECT_EQ(test::count_lines(r.err), 1) << r.err;
  r = test::run_dalnas("export --model " + ckpt + " --precision int8 --out " + out);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--precision"), std::string::npos) << r.err;
  r = test::run_dalnas("export --model " + ckpt + " --opset 9 --out " + out);
  EXPECT_NE(r.code, 0);
  r = test::run_dalnas("export --model " + ckpt + " --tile 0 --out " + out);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--tile"), std::string::npos) << r.err;
}
