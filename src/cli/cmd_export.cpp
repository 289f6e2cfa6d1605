// dalnas export: a trained model as a deployable ONNX file (FP32, FP16, or int8 QDQ for an
// integer profile), checked by the ONNX checker; docs/deploy.md turns it into a MYRIAD blob
// with OpenVINO 2022.3.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/checkpoint_data.h"
#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "device/profile.h"
#include "eval/device_eval.h"
#include "eval/export_model.h"
#include "train/checkpoint.h"

namespace dalnas::cli {

namespace {
struct ExportArgs {
  std::string model, format = "onnx", precision = "fp32", out, tile, device, data;
  int opset = 11;
  bool fold_bn = true, fold_normalization = false, dynamic = false, json = false;
};

std::string floats(const std::vector<float>& v) {
  std::string s;
  for (float x : v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", static_cast<double>(x));
    s += (s.empty() ? "" : ", ") + std::string(buf);
  }
  return "[" + s + "]";
}
}  // namespace

void add_export(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Export a trained model for deployment (ONNX)");
  auto a = std::make_shared<ExportArgs>();
  cmd->add_option("--model", a->model, "Checkpoint (model.ckpt)")->required();
  cmd->add_option("--format", a->format, "Output format")->check(CLI::IsMember({"onnx"}));
  cmd->add_option("--precision", a->precision,
                  "fp32, or fp16: float16 weights, computing in float16 between a Cast at the "
                  "input and one at the output (what OpenVINO makes an FP16 IR of)")
      ->check(CLI::IsMember({"fp32", "fp16", "int8"}));
  cmd->add_option("--device", a->device,
                  "With --precision int8: the integer profile whose quantization the QDQ model "
                  "carries (onnxruntime-int8, int8-tflite, or a profile file)");
  cmd->add_option("--data", a->data,
                  "With --precision int8: the dataset whose training scenes calibrate the "
                  "activation ranges (default: the one the model was trained on)");
  cmd->add_option("--opset", a->opset, "ONNX opset (11 to 17; int8: 13 at least)")
      ->check(CLI::Range(11, 17));
  cmd->add_flag("--fold-bn", a->fold_bn,
                "Fold BatchNorm into the convolutions (always done: the exported graph has no "
                "BatchNorm; accepted for compatibility)");
  cmd->add_flag("--fold-normalization", a->fold_normalization,
                "Make the per-band normalisation the model's first op, so the device receives "
                "raw band values (default: the host normalises; mean and std are in the "
                "metadata)");
  cmd->add_flag("--dynamic", a->dynamic,
                "Symbolic height and width (default: static shapes, as MYRIAD needs)");
  cmd->add_option("--tile", a->tile, "Input tile S or HxW (default: the model's eval tile)");
  cmd->add_option("--out", a->out, "Output file (.onnx)")->required();
  cmd->add_flag("--json", a->json, "Print a summary as one JSON object");

  cmd->callback([a]() {
    Checkpoint ck = load_checkpoint(a->model);
    ModelExportOptions o;
    if (!a->tile.empty()) parse_size(a->tile, "--tile", o.height, o.width);
    o.fold_normalization = a->fold_normalization;
    o.opset = a->opset;
    o.dynamic_spatial = a->dynamic;
    const bool fp16 = a->precision == "fp16";
    const bool int8 = a->precision == "int8";
    if (int8 && a->device.empty()) {
      throw Error("--precision int8 needs --device: an integer profile (e.g. onnxruntime-int8)");
    }
    if (!int8 && !a->device.empty()) throw Error("--device applies to --precision int8 only");
    if (int8) o.opset = std::max(o.opset, 13);
    {
      // A temporary file of an export killed mid-write sits beside the output: clear it.
      const std::filesystem::path parent = std::filesystem::path(a->out).parent_path();
      remove_stale_temp_files(parent.empty() ? "." : parent.string(), false);
    }
    int calibration = 0;
    if (int8) {
      const DeviceProfile profile = load_profile(a->device);
      if (!profile.integer) {
        throw Error("--device " + a->device + ": not an integer profile (no [integer] table)");
      }
      int th = 0, tw = 0;
      export_tile(ck, o, th, tw);
      if (th != tw) throw Error("--tile: an int8 export needs a square tile (calibration tiles)");
      // The calibration scenes: the model's training split, in --data or its own dataset.
      const TrainConfig trained = trained_config(ck, a->model);
      const std::string data = a->data.empty() ? trained.data : a->data;
      const std::vector<Scene> scenes = load_model_scenes(ck, trained, data);
      const std::vector<int> train = split_scene_indices(ck, scenes, "train");
      if (train.empty()) {
        throw Error(data +
                    ": none of the model's training scenes is here (int8 calibration "
                    "uses them; give --data)");
      }
      TileOptions to;
      to.tile = th;
      to.overlap = std::min(trained.eval_overlap, th / 2 - 1);
      std::vector<float> tiles;
      calibration = calibration_tiles(scenes, train, to, profile.integer->calibration_tiles, tiles);
      export_checkpoint_int8(ck, a->out, *profile.integer, tiles.data(), calibration, o);
    } else {
      export_checkpoint_onnx(ck, a->out, fp16, o);
    }
    int h = 0, w = 0;
    export_tile(ck, o, h, w);
    const auto bytes = std::filesystem::file_size(a->out);
    const std::string in =
        "1x" + std::to_string(ck.bands) + "x" +
        (a->dynamic ? std::string("HxW") : std::to_string(h) + "x" + std::to_string(w));
    const std::string out =
        "1x1x" + (a->dynamic ? std::string("HxW") : std::to_string(h) + "x" + std::to_string(w));
    if (a->json) {
      nlohmann::json j = {{"out", a->out},
                          {"precision", a->precision},
                          {"opset", o.opset},
                          {"input", in},
                          {"output", out},
                          {"bytes", bytes},
                          {"genome", ck.genome.str()},
                          {"normalization_folded", a->fold_normalization}};
      if (int8) {
        j["device"] = a->device;
        j["calibration_tiles"] = calibration;
      }
      std::printf("%s\n", j.dump().c_str());
      return;
    }
    std::printf("wrote %s (%s, opset %d, %.1f KiB)\n", a->out.c_str(), a->precision.c_str(),
                o.opset, static_cast<double>(bytes) / 1024.0);
    std::printf("input   'input' %s float32 NCHW, %s\n", in.c_str(),
                a->fold_normalization ? "raw band values (normalisation folded into the model)"
                                      : "normalised on the host: (raw - mean) / std per band");
    std::printf("output  'output' %s float32: vessel logits (sigmoid on the host)\n", out.c_str());
    std::printf("norm    mean %s\n        std  %s\n", floats(ck.norm.mean).c_str(),
                floats(ck.norm.std).c_str());
    std::printf("genome  %s\n", ck.genome.str().c_str());
    if (int8) {
      std::printf("int8    QDQ for %s, calibrated on %d training tiles\n", a->device.c_str(),
                  calibration);
    }
  });
}

}  // namespace dalnas::cli
