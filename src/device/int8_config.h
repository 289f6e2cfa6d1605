#pragma once
// The settings of an integer target (a profile's [integer] table, device/profile.h): the
// requantization build, how activation ranges are calibrated. The emulator that uses them
// is device/int8_emulator.h. Header only (the profile parser needs no emulator).
#include <string>

#include "core/error.h"
#include "core/layer_precision.h"
#include "quant/fixed_point.h"

namespace dalnas {

// How activation ranges are taken from the calibration tensors.
enum class CalibrationMethod {
  MinMax,      // the smallest and largest value seen (TFLite's converter)
  Percentile,  // the `percentile` and 100 − `percentile` percentiles of the values seen
  Entropy,     // TensorRT's entropy calibrator: the clipping threshold of least KL
               // divergence (quant/entropy_calibration.h), applied to min / max
  Diffs,       // dpu-int8 only: Vitis AI's fix position of least squared error on each
               // calibration tile, the most frequent over tiles (quant/dpu_ops.h)
};
inline std::string to_string(CalibrationMethod m) {
  return m == CalibrationMethod::MinMax       ? "minmax"
         : m == CalibrationMethod::Percentile ? "percentile"
         : m == CalibrationMethod::Entropy    ? "entropy"
                                              : "diffs";
}
// "minmax" | "percentile" | "entropy" | "diffs"; anything else throws dalnas::Error naming
// the value.
inline CalibrationMethod parse_calibration_method(const std::string& s) {
  if (s == "minmax") return CalibrationMethod::MinMax;
  if (s == "percentile") return CalibrationMethod::Percentile;
  if (s == "entropy") return CalibrationMethod::Entropy;
  if (s == "diffs") return CalibrationMethod::Diffs;
  throw Error("calibration '" + s + "': expected minmax, percentile, entropy or diffs");
}

// Whose integer kernels the emulator follows.
enum class Int8Format {
  Tflite,       // "int8-tflite": TFLite's reference kernels (fixed-point requantization)
  OnnxRuntime,  // "onnxruntime-int8": ONNX Runtime's CPU kernels for a QDQ model
  Dpu,          // "dpu-int8": the Vitis AI DPU's power-of-two fixed point (quant/dpu_ops.h)
};
inline std::string to_string(Int8Format f) {
  return f == Int8Format::Tflite        ? "int8-tflite"
         : f == Int8Format::OnnxRuntime ? "onnxruntime-int8"
                                        : "dpu-int8";
}
// "int8-tflite" | "onnxruntime-int8" | "dpu-int8"; anything else throws dalnas::Error
// naming the value.
inline Int8Format parse_int8_format(const std::string& s) {
  if (s == "int8-tflite") return Int8Format::Tflite;
  if (s == "onnxruntime-int8") return Int8Format::OnnxRuntime;
  if (s == "dpu-int8") return Int8Format::Dpu;
  throw Error("'" + s + "': expected int8-tflite, onnxruntime-int8 or dpu-int8");
}

// Whether a format runs a layer precision (mixed precision, device/precision_rule.h):
// int8-tflite runs int8, int4w, int16 (TFLite's 16x8) and fp16 layers; onnxruntime-int8
// int8 and int4w; dpu-int8 int8 only.
inline bool format_runs(Int8Format f, LayerPrecision p) {
  switch (p) {
    case LayerPrecision::Default:
    case LayerPrecision::Int8:
      return true;
    case LayerPrecision::Int4W:
      return f != Int8Format::Dpu;
    case LayerPrecision::Int16:
    case LayerPrecision::FP16:
      return f == Int8Format::Tflite;
  }
  return false;
}
// What format_runs allows, in words: "int8, int4w, int16 or fp16" and so on.
inline std::string format_precisions(Int8Format f) {
  return f == Int8Format::Tflite        ? "int8, int4w, int16 or fp16"
         : f == Int8Format::OnnxRuntime ? "int8 or int4w"
                                        : "int8 only";
}

struct Int8Config {
  Int8Format format = Int8Format::Tflite;
  RequantRounding rounding = RequantRounding::Double;  // the TFLite build's rounding
  // Symmetric weights in [−weight_max, weight_max]: 127 (TFLite, the full int8 range) or 64
  // (ONNX Runtime's quantizer with reduce_range: no int16 saturation in the u8·s8 pair
  // sums of its AVX2 kernels without VNNI).
  // dpu-int8: 128 (power-of-two scales, weights in [−128, 127], no narrowing).
  int weight_max = 127;
  // Weight scales: one per output channel (TFLite's and ONNX Runtime's default), or one per
  // tensor ([integer] weights = "per-tensor": quant/quant_params.h
  // quantize_weights_per_tensor; targets whose compiler or hardware has a single weight
  // scale per layer). dpu-int8 is per tensor by construction (one fix position a tensor).
  bool weights_per_tensor = false;
  CalibrationMethod calibration = CalibrationMethod::MinMax;
  double percentile = 99.99;   // Percentile: the upper percentile (lower: 100 − it)
  int calibration_tiles = 32;  // at most this many calibration tiles
  // Percentile and entropy: a tensor after a bounded activation (ReLU6, Clip, Sigmoid,
  // HardSigmoid) keeps its min / max instead of the clipped range ([integer] keep_bounded =
  // true). TensorRT's entropy calibrator clips every tensor (false, the default); on
  // sen2ships the ReLU6 outputs it clips from [0, 6] to under 1 cost the most (README).
  bool keep_bounded = false;
  // Entropy calibration's quantization grid ([integer] entropy = "tensorrt" | "grid").
  // tensorrt (the default): TensorRT's procedure, 128 levels over |x| for every tensor.
  // grid: the grid this target has: a one-signed tensor (min >= 0 or max <= 0, e.g. after
  // a ReLU) under asymmetric parameters (int8-tflite, onnxruntime-int8) spans 256 levels
  // from 0 to the threshold, not 128, and exact zeros, which the zero point holds exactly,
  // stay out of the histogram (quant/entropy_calibration.h, skip_zeros).
  bool entropy_grid = false;
  // A network trained quantization-aware (its checkpoint carries act_ranges) deploys at the
  // ranges it learned (device/trained_ranges.h), as a TFLite converter deploys a QAT
  // model's FakeQuant ranges; the nodes those do not name are calibrated. false ([integer]
  // ranges = "calibrated"): every range calibrated, the QAT ranges ignored.
  bool trained_ranges = true;
  // dpu-int8's arithmetic where it departs from the exact operation (quant/dpu_ops.h), each
  // true as the DPU computes it; the census switches them off one at a time (eval/census.h):
  //   dpu_bias_int8       the bias an int8 at a fix position of its own (false: an int32
  //                       at the accumulator's position, round(b · 2^(pos_w + pos_in)));
  //   dpu_pool_divisor    average pooling and the global mean multiply by the hardware's
  //                       m / 2^s (false: divide by the count);
  //   dpu_add_truncation  an add reads its inputs at the coarser position plus two bits,
  //                       truncated (false: the exact sum, rounded once);
  //   dpu_hardswish       hard-swish in the hardware's fixed point, 2731 / 2^14 for 1/6 and
  //                       an intermediate at position 7 (false: a table of the float
  //                       function, rounded half up).
  bool dpu_bias_int8 = true;
  bool dpu_pool_divisor = true;
  bool dpu_add_truncation = true;
  bool dpu_hardswish = true;
  bool simd = true;  // false: the scalar convolution (also DALNAS_NO_SIMD=1)
  // Mixed precision (format_runs above): the rule that gives every
  // node without a genome precision its format (device/precision_rule.h): `precision` for
  // every node, `first_last` (Default: none) for the first encoder block and the head.
  LayerPrecision precision = LayerPrecision::Int8;
  LayerPrecision first_last = LayerPrecision::Default;
};

}  // namespace dalnas
