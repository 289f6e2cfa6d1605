#pragma once
// A trained checkpoint as deployable ONNX files (onnx/onnx_export.h): lowered with
// BatchNorm folded and activations fused (device/lower.h), for a fixed tile size, with the
// genome, bands and normalisation in the metadata. Used by `dalnas export` and by the
// search for its best/ folder.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "device/graph.h"
#include "device/int8_config.h"
#include "train/checkpoint.h"

namespace dalnas {

struct ModelExportOptions {
  int height = 0, width = 0;  // the model's input tile; 0: the checkpoint's eval_tile (256)
  // true: normalisation is the model's first op and the device receives raw values; false:
  // the host normalises (mean / std in the metadata).
  bool fold_normalization = false;
  int opset = 11;
  bool dynamic_spatial = false;
};

// The input tile of an export: opt's size, else the training config's eval_tile, else 256.
void export_tile(const Checkpoint& ck, const ModelExportOptions& opt, int& height, int& width);

// The checkpoint lowered for export (BatchNorm always folded), shapes inferred for the tile.
DeviceGraph lower_checkpoint(Checkpoint& ck, const ModelExportOptions& opt);

// {"genome", "bands", "normalization": {"mean", "std"}, "normalization_folded", "tile":
// [H, W], "input": "NCHW float32 ...", "output": "...logits..."}.
nlohmann::json export_metadata(const Checkpoint& ck, const ModelExportOptions& opt);

// One ONNX file (atomic write, checked by the ONNX checker).
void export_checkpoint_onnx(Checkpoint& ck, const std::string& path, bool fp16,
                            const ModelExportOptions& opt = {});

// The int8 QDQ model (onnx/onnx_export.h, to_onnx_qdq_bytes) of the checkpoint
// post-training quantized as the integer profile `config` says: activation ranges
// calibrated on `n` raw tiles (n × bands × H × W of the export tile, from the training
// scenes: eval/device_eval.h, calibration_tiles), opset max(opt.opset, 13), static shapes.
// A quantization-aware checkpoint's own activation ranges replace the calibrated ones
// where config.trained_ranges (device/trained_ranges.h). The metadata adds "int8_format",
// "calibration_tiles" and "trained_ranges" (how many nodes took a trained range). Throws
// dalnas::Error for a dynamic export, n < 1, or a network the int8 emulation cannot run.
void export_checkpoint_int8(Checkpoint& ck, const std::string& path, const Int8Config& config,
                            const float* calibration, int n, const ModelExportOptions& opt = {});

// <out_dir>/model-fp32.onnx and <out_dir>/model-fp16.onnx (the folder is created); returns
// their paths, FP32 first. Throws dalnas::Error naming the file on failure.
std::vector<std::string> export_checkpoint(Checkpoint& ck, const std::string& out_dir,
                                           const ModelExportOptions& opt = {});

}  // namespace dalnas
