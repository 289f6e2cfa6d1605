#pragma once
// ONNX export of a DeviceGraph (device/graph.h): a standard ONNX model (the ONNX library's
// protobuf types, libonnx) that OpenVINO's Model Optimizer, OpenCV DNN or onnxruntime load.
//
// The model: one input "input" [1, C, H, W] float32 and one output "output" [1, C, H, W]
// float32 (NCHW, batch 1), static shapes unless `dynamic_spatial` (then H and W are the
// symbolic dimensions "height" and "width"). Opset 11 by default (11 to 17 accepted).
//
// Mapping (every OpType):
//   Input            the graph input (FP16: followed by Cast to float16)
//   Conv             Conv (kernel_shape, strides, pads, group; weight W, bias B)
//   ConvTranspose    ConvTranspose (as Conv, plus output_padding)
//   MaxPool          MaxPool; AvgPool: AveragePool (count_include_pad = 0)
//   GlobalAvgPool    GlobalAveragePool
//   Resize           Resize, linear with half_pixel coordinates, or nearest with asymmetric
//                    coordinates and floor rounding; `scales` when the node has a scale,
//                    else constant `sizes` (dynamic: sizes from Shape of the reference)
//   Concat, Add, Mul Concat (axis 1), Add, Mul (the C×1×1 operand broadcasts)
//   FullyConnected   Flatten, Gemm (transB = 1), Reshape to [1, out_c, 1, 1]
//   Softmax          Softmax (axis 1; opsets below 13: Transpose, Softmax(axis 3), Transpose)
//   Output           the graph output (FP16: preceded by Cast to float32)
// Activations (fused or stand-alone): ReLU Relu; ReLU6 / Clip Clip (min, max inputs);
// Sigmoid Sigmoid; HardSigmoid HardSigmoid; HardSwish HardSwish from opset 14, below it
// Mul(x, HardSigmoid(x; alpha 1/6, beta 0.5)); Swish Mul(x, Sigmoid(x)); GELU
// Mul(Mul(x, Add(Erf(Mul(x, 1/√2)), 1)), 0.5) (the decompositions torch.onnx writes and
// OpenVINO fuses back into one Swish / GELU).
//
// BatchNorm is never present (lower() folds it); input normalisation is in the model only
// when the graph folded it (DeviceGraph::norm_folded), else the host must apply it: it is
// recorded in the metadata either way.
//
// FP16 (`fp16`): weights, biases and constants are float16 initializers (rounded to nearest
// even, subnormals kept, beyond ±65504 saturated); the graph computes in float16 between a
// Cast at the input and a Cast at the output, so the model's interface stays float32 — the
// form OpenVINO's Model Optimizer turns into an FP16 IR.
//
// Metadata (metadata_props): every key of `metadata` (strings as they are, other values as
// JSON), plus "dalnas.version", "dalnas.precision" (fp32 / fp16), "dalnas.input_layout" (NCHW),
// "dalnas.normalization_folded" (true / false) and, when the graph has one and `metadata`
// has no "normalization" key, "normalization" ({"mean": [...], "std": [...]}).
#include <nlohmann/json.hpp>
#include <string>

#include "device/graph.h"

namespace dalnas {

class Int8Emulator;

struct ExportOptions {
  bool fp16 = false;
  int opset = 11;
  bool dynamic_spatial = false;
  // genome, bands, normalisation, version, ...: written as metadata_props
  nlohmann::json metadata = nlohmann::json::object();
};

// The serialized ModelProto. The graph's shapes are computed for `g.input`, or where that
// is unset (lower() leaves it so) for the input shape infer_shapes() stored in node 0. Throws
// dalnas::Error for an opset out of range or a node the export cannot express; the result passes
// onnx::checker::check_model.
std::string to_onnx_bytes(const DeviceGraph& g, const ExportOptions& opt);

// Writes to_onnx_bytes atomically (temporary file + rename) after running the ONNX checker
// on the model. Throws dalnas::Error naming `path`.
void write_onnx(const DeviceGraph& g, const std::string& path, const ExportOptions& opt);

// The int8 QDQ model of a post-training quantized network (opset 13 or later; ONNX
// Runtime's "QDQ format"): the Int8Emulator's graph (device/int8_emulator.h, int8 form),
// each node its float ONNX op as above, and
//   - the input and every node's output through QuantizeLinear and DequantizeLinear with
//     the emulator's (scale, zero point) of that tensor (int8);
//   - convolution weights an int8 initializer (per-channel symmetric) and the bias an int32
//     initializer (scale s_in · s_w[c]), each through a per-channel DequantizeLinear
//     (axis 0);
//   - fused ReLU / ReLU6 between the op and its QuantizeLinear (ONNX Runtime folds them
//     into the quantization's clamp when the zero point allows).
// The model's interface is float32 like the FP32 export's: the host normalises unless the
// graph folded it. ONNX Runtime fuses the QDQ groups into its integer kernels
// (QLinearConv, QLinearAdd, ...) when graph optimisation is on; profile onnxruntime-int8
// emulates those kernels. Throws dalnas::Error for an opset below 13 or `opt.fp16`.
std::string to_onnx_qdq_bytes(const Int8Emulator& q, const ExportOptions& opt);
void write_onnx_qdq(const Int8Emulator& q, const std::string& path, const ExportOptions& opt);

// Runs onnx::checker::check_model on serialized bytes; throws dalnas::Error "<what>: <the
// checker's message>" when the model is invalid.
void check_onnx_bytes(const std::string& bytes, const std::string& what);

}  // namespace dalnas
