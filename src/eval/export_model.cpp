#include "eval/export_model.h"

#include <algorithm>

#include "core/error.h"
#include "device/int8_emulator.h"
#include "device/lower.h"
#include "device/trained_ranges.h"
#include "onnx/onnx_export.h"

namespace dalnas {

void export_tile(const Checkpoint& ck, const ModelExportOptions& opt, int& height, int& width) {
  if (opt.height > 0 && opt.width > 0) {
    height = opt.height;
    width = opt.width;
    return;
  }
  int tile = 256;
  if (ck.config.is_object()) {
    auto it = ck.config.find("eval_tile");
    if (it != ck.config.end() && it->is_number_integer() && it->get<int>() > 0)
      tile = it->get<int>();
  }
  height = width = tile;
}

DeviceGraph lower_checkpoint(Checkpoint& ck, const ModelExportOptions& opt) {
  int h = 0, w = 0;
  export_tile(ck, opt, h, w);
  LowerOptions lo;
  lo.norm_mean = ck.norm.mean;
  lo.norm_std = ck.norm.std;
  lo.fold_normalization = opt.fold_normalization;
  lo.weight_steps = trained_weight_steps(ck);
  ck.net->eval();
  DeviceGraph g = lower(ck.net, lo);
  g.input = {ck.bands, h, w};
  g.infer_shapes(g.input);
  return g;
}

nlohmann::json export_metadata(const Checkpoint& ck, const ModelExportOptions& opt) {
  int h = 0, w = 0;
  export_tile(ck, opt, h, w);
  nlohmann::json m;
  m["genome"] = ck.genome.str();
  m["bands"] = ck.bands;
  m["normalization"] = {{"mean", ck.norm.mean}, {"std", ck.norm.std}};
  m["tile"] = {h, w};
  m["input"] = opt.fold_normalization
                   ? "NCHW float32, raw band values (normalisation folded into the model)"
                   : "NCHW float32, (raw - mean) / std per band (normalisation on the host)";
  m["output"] = "NCHW float32, 1 channel: vessel logit per pixel (sigmoid on the host)";
  return m;
}

void export_checkpoint_onnx(Checkpoint& ck, const std::string& path, bool fp16,
                            const ModelExportOptions& opt) {
  ExportOptions eo;
  eo.fp16 = fp16;
  eo.opset = opt.opset;
  eo.dynamic_spatial = opt.dynamic_spatial;
  eo.metadata = export_metadata(ck, opt);
  write_onnx(lower_checkpoint(ck, opt), path, eo);
}

void export_checkpoint_int8(Checkpoint& ck, const std::string& path, const Int8Config& config,
                            const float* calibration, int n, const ModelExportOptions& opt) {
  if (opt.dynamic_spatial) {
    throw Error(path +
                ": an int8 export has static shapes (its quantization is calibrated "
                "for one tile); drop --dynamic");
  }
  if (n < 1 || calibration == nullptr) throw Error(path + ": no calibration tiles");
  const DeviceGraph g = lower_checkpoint(ck, opt);
  const DeviceGraph form = int8_form(g, g.input);
  auto ranges = calibrate_ranges(form, calibration, n, g.input, config);
  const int trained =
      config.trained_ranges ? apply_trained_ranges(form, trained_act_ranges(ck), ranges) : 0;
  const Int8Emulator q(form, ranges, config);
  ExportOptions eo;
  eo.opset = std::max(opt.opset, 13);
  eo.metadata = export_metadata(ck, opt);
  eo.metadata["int8_format"] = to_string(config.format);
  eo.metadata["calibration_tiles"] = n;
  eo.metadata["trained_ranges"] = trained;  // nodes at quantization-aware training's ranges
  write_onnx_qdq(q, path, eo);
}

std::vector<std::string> export_checkpoint(Checkpoint& ck, const std::string& out_dir,
                                           const ModelExportOptions& opt) {
  const std::string dir = out_dir.empty() ? "." : out_dir;
  std::vector<std::string> paths = {dir + "/model-fp32.onnx", dir + "/model-fp16.onnx"};
  export_checkpoint_onnx(ck, paths[0], false, opt);
  export_checkpoint_onnx(ck, paths[1], true, opt);
  return paths;
}

}  // namespace dalnas
