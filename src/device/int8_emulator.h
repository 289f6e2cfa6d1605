#pragma once
// Int8Emulator: runs a DeviceGraph as a TFLite int8 model runs it (profile format
// "int8-tflite"): every tensor int8 with its own (scale, zero point), post-training
// quantized from calibration ranges, every operation in TFLite's reference integer
// arithmetic (quant/int8_conv.h, quant/int8_ops.h), the output dequantized to float.
//
// The graph is first put in int8 form (int8_form): activations that TFLite cannot fuse
// into a convolution or an add as a clamp (everything but ReLU and ReLU6) become separate
// Activation nodes, so that calibration sees the tensor between them, as a converted
// TFLite model has it.
//
// Quantization of each node (TFLite converter + quantization_spec.md):
//   Input:        asymmetric params from its calibrated range; the host normalises in
//                 float first when the graph has an unfolded normalisation; then QUANTIZE
//                 (quantize_int8: round half away from zero, clamp).
//   Conv:         per-channel symmetric int8 weights (per-tensor with the profile's
//                 `weights = "per-tensor"`: one scale repeated per channel, the kernels
//                 unchanged), int32 bias (s_in·s_w[c]), output params from its range, ReLU / ReLU6
//                 as the clamp. Stride, pad, groups as in the graph (square kernels, dilation 1).
//   MaxPool, AvgPool, Resize: output params = input params (shared, the spec requires it).
//   GlobalAvgPool: MEAN over H × W to params from its range.
//   Add / Mul:    TFLite ADD / MUL to params from the range (fused ReLU / ReLU6 clamps).
//   Concat:       the output's params from its range; an input whose params differ is
//                 requantized to them first (the converter's inserted QUANTIZE), the
//                 others are copied.
//   Activation:   ReLU / ReLU6 / Clip: requantize to the range's params and clamp (TFLite
//                 RELU / RELU6 with their own output params); Sigmoid: a LUT with the
//                 fixed output (1/256, −128) (TFLite LOGISTIC); GELU, HardSwish,
//                 HardSigmoid: a LUT to the range's params. TFLite's int8 HARD_SWISH is
//                 int16 fixed point, not a LUT: here it is a LUT of the float function,
//                 which may differ from TFLite by one unit (not emulated bit for bit).
//   Output:       DEQUANTIZE.
// Other operations (FullyConnected, ConvTranspose, Softmax, Slice, Shuffle) and imported
// fields (dilation, rectangular kernels) are refused with an error naming the node.
//
// Format onnxruntime-int8 (Int8Config::format): the same graph, parameters and
// calibration, computed as ONNX Runtime's CPU kernels compute the QDQ export of it
// (onnx/onnx_export.h, to_onnx_qdq_bytes) after graph optimisation:
//   Input:   QuantizeLinear, ties to even (quantize_int8_even).
//   Conv:    QLinearConv: the same int32 sums, requantized in float (Int8ConvArgs::scale).
//   MaxPool, nearest Resize: the same copies; bilinear Resize: ort_resize_bilinear.
//   AvgPool, GlobalAvgPool, Add, Mul: ORT's QLinear kernels (quant/ort_int8_ops.h), or
//            its float op between DequantizeLinear and QuantizeLinear where an input
//            feeds other nodes too (OrtPath: ORT leaves such a group unfused on x86).
//   Concat:  a copy where the parameters are equal, else a requantization table.
//   Activation: a table of DequantizeLinear -> f -> QuantizeLinear (Sigmoid: its fixed
//            output parameters as above), ReLU-family then the clamp.
//
// Format dpu-int8: the Vitis AI DPU (quant/dpu_ops.h): every tensor int8 with zero point 0
// and scale 2^−pos (params(i).scale; fix_position(i) gives pos):
//   Positions: each tensor's from its calibrated range (max_fix_pos; the "diffs"
//            calibration returns the chosen position's range); MaxPool, AvgPool and
//            Resize share their input's; a Concat and its inputs take the coarsest
//            position among them, set where each input tensor is produced (vai_q
//            align_concat), before the per-layer bounds below.
//   Input:   the host normalises in float, then the fix op (std_round).
//   Conv:    per-tensor weights and an 8-bit bias at their "diffs" positions, moved by the
//            shift_cut / shift_bias bounds (dpu_conv_shifts); the int8 convolution paths
//            with multiplier 2^30, shift 1 − shift_cut, single rounding (round half up of
//            acc / 2^shift_cut); ReLU as [0, 127], ReLU6 as [0, 6·2^pos].
//   AvgPool, GlobalAvgPool: the DPU's divisors (dpu_average_pool, dpu_mean_hw).
//   Add:     dpu_add (inputs aligned with two truncated extra bits, shift_write bounded);
//   Mul:     dpu_mul. Resize: nearest copies; bilinear as Vitis's CPU runner
//            (dpu_resize_bilinear).
//   Activation: HardSwish the DPU's formula (dpu_hardswish_table); Sigmoid, GELU,
//            HardSigmoid, ReLU-family: dpu_table (the CPU runner's float function,
//            rounded half up), ReLU-family then the clamp.
//
// Mixed precision (int8-tflite; Int8Config::precision / first_last, genome precision
// genes; device/precision_rule.h gives every node its format):
//   int8:   as above.
//   int4w:  a Conv's weights per channel in [−7, 7] (kInt4WeightMax; the 4-bit grid an
//           int4-weight engine stores), then the same int8 arithmetic (int32 bias at
//           s_in·s_w, TFLite requantization); onnxruntime-int8 too (a QDQ model stores
//           them as int8).
//   fp16:   a float layer, run by the FP16 emulator (device/emulator.h, run_node: FP16
//           weights and storage, FP32 accumulation, nearest even). Its inputs: an FP16
//           producer's output as it is; the host-normalised network input unquantized;
//           any other int8 tensor dequantized (DEQUANTIZE) and rounded to FP16. Its
//           output is quantized (QUANTIZE, ties away from zero) to its own calibrated
//           parameters for int8 readers; as the last layer its FP16 output is the output.
//   int16:  TFLite's 16x8 scheme (quant/int16_ops.h): int16 activations, symmetric (zero
//           point 0, scale max|range| / 32767, params16()), int8 per-channel weights, int64
//           bias at s_in·s_w, int64 accumulation and TFLite's int64 requantization. Runs
//           Conv (dense, grouped, depthwise; ReLU / ReLU6 as clamps), MaxPool, AvgPool,
//           Add, Concat (each input requantized straight to the concat's int16
//           parameters), Resize (nearest; bilinear as ResizeBilinearInteger<int16_t>) and
//           ReLU / ReLU6 nodes; any other node of an int16 layer is refused, naming it. Its inputs:
//           an int16 producer's output as it is; an int8 tensor requantized to that tensor's int16
//           parameters (QUANTIZE int8 -> int16, as TFLite Micro runs it); an FP16 layer's output
//           quantized (QUANTIZE). Its output is requantized (int16 -> int8) to its own int8
//           parameters for int8 readers; an FP16 reader dequantizes the int16 tensor; as the last
//           layer it is dequantized from int16.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "device/graph.h"
#include "device/int8_config.h"
#include "quant/fixed_point.h"
#include "quant/int8_conv.h"
#include "quant/quant_params.h"

namespace dalnas {

class Emulator;
// The weight range of a weight-only int4 layer (LayerPrecision::Int4W): per-channel
// symmetric [−7, 7].
constexpr int kInt4WeightMax = 7;

struct TensorRange {
  float min = 0.0f, max = 0.0f;
};

// The graph in int8 form (see above); shapes inferred for `in`.
DeviceGraph int8_form(const DeviceGraph& g, const Shape& in);

// Ranges of every node of `form` (an int8_form graph) over n images (raw values, n × C ×
// H × W, the graph normalises them as it says), computed in FP32 (the float model the
// converter calibrates), by config.calibration: minmax (the values seen), percentile,
// entropy (TensorRT's KL threshold clipping min / max; both on up to 2^16 evenly strided
// values per node and image) or diffs (dpu-int8: the modal fix position's int8 range).
// Throws dalnas::Error for n < 1 or a non-finite value.
std::vector<TensorRange> calibrate_ranges(const DeviceGraph& form, const float* images, int n,
                                          const Shape& in, const Int8Config& config,
                                          int threads = 1);

class Int8Emulator {
 public:
  // `form` from int8_form, `ranges` from calibrate_ranges on it. Throws dalnas::Error naming
  // the node for an operation it cannot run in int8.
  Int8Emulator(const DeviceGraph& form, const std::vector<TensorRange>& ranges,
               const Int8Config& config);

  // One image (raw values, C × H × W of shape `in`): the dequantized output.
  std::vector<float> run(const float* input, const Shape& in) const;
  // n images, in parallel on `threads` threads (0: one per hardware thread).
  std::vector<float> run_batch(const float* input, int n, const Shape& in, int threads = 0) const;
  // Every node's int8 output (index = node index), for tests and diagnostics.
  std::vector<std::vector<int8_t>> run_all(const float* input, const Shape& in) const;

  // A convolution's integer data (what a QDQ export stores: onnx/onnx_export.h).
  struct ConvData {
    std::vector<int8_t> weight;       // per-channel symmetric, OIHW
    std::vector<float> weight_scale;  // one per output channel
    std::vector<int32_t> bias;        // scale s_in · weight_scale[c], zero point 0
    std::vector<int64_t> bias64;      // int16 layers: the int64 bias (bias empty)
    std::vector<int32_t> multiplier;  // TFLite's fixed-point requantization
    std::vector<int> shift;
    std::vector<float> float_scale;  // ONNX Runtime's: float(s_in · s_w[c]) / s_out
    int32_t act_min = -128, act_max = 127;
  };

  const DeviceGraph& graph() const { return graph_; }
  const Int8Config& config() const { return config_; }
  const QuantParams& params(int node) const { return params_.at(static_cast<size_t>(node)); }
  // The node's int16 parameters (every node: what its tensor has as an int16 tensor).
  const QuantParams& params16(int node) const { return params16_.at(static_cast<size_t>(node)); }
  // The node's convolution data (Conv nodes; throws std::out_of_range past the end).
  const ConvData& conv(int node) const { return conv_.at(static_cast<size_t>(node)); }
  Int8Isa isa() const { return isa_; }
  // dpu-int8: the node's fix position (real = q · 2^−pos; throws std::out_of_range for
  // the other formats).
  int fix_position(int node) const { return pos_.at(static_cast<size_t>(node)); }
  // The node's number format after the profile's rule (device/precision_rule.h).
  LayerPrecision precision(int node) const { return precision_.at(static_cast<size_t>(node)); }
  // True when some node is not int8 (int4 weights or a float layer).
  bool mixed() const;

 private:
  // Every node's tensors: int8 (v), float (f: FP16 layers and their float inputs), int16
  // (s: int16 layers and their int16 inputs).
  struct Tensors {
    std::vector<std::vector<int8_t>> v;
    std::vector<std::vector<float>> f;
    std::vector<std::vector<int16_t>> s;
  };
  void execute(const float* input, const Shape& in, Tensors& t) const;
  void fp16_node(size_t i, const float* input, const Shape& in, const std::vector<Shape>& shapes,
                 Tensors& t, std::vector<char>& ready) const;
  void int16_node(size_t i, const std::vector<Shape>& shapes, Tensors& t,
                  std::vector<char>& ready16) const;
  void quantize_int16_layers(const std::vector<TensorRange>& ranges);
  void quantize_dpu(const std::vector<TensorRange>& ranges);

  DeviceGraph graph_;
  Int8Config config_;
  Int8Isa isa_ = Int8Isa::Scalar;
  std::vector<QuantParams> params_;
  std::vector<QuantParams> params16_;     // per node: its tensor's int16 parameters
  std::vector<ConvData> conv_;            // per node (Conv only)
  std::vector<std::vector<int8_t>> lut_;  // per node (table activations only)
  // Per Concat node and input (onnxruntime-int8, dpu-int8): the requantization table, built
  // once; empty: a copy.
  std::vector<std::vector<std::vector<int8_t>>> concat_lut_;
  // Per Add node (int8-tflite, onnxruntime-int8): its output for every input pair, index
  // (a + 128)·256 + (b + 128), computed by the kernel itself (int8_add / ort_add) once.
  std::vector<std::vector<int8_t>> add_lut_;
  std::vector<int32_t> act_min_, act_max_;  // per node: clamp of Add / Mul / ReLU-family
  std::vector<int> consumers_;              // per node: how many nodes read its output
  std::vector<int> pos_;                    // per node: fix position (dpu-int8 only)
  std::vector<LayerPrecision> precision_;   // per node (device/precision_rule.h)
  std::shared_ptr<const Emulator> fp16_;    // runs the FP16 nodes (none: no FP16 node)
};

}  // namespace dalnas
