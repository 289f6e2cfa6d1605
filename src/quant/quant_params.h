#pragma once
// TFLite int8 quantization parameters and the float <-> int8 conversions, as TFLite's
// converter and reference kernels compute them (real = scale · (q − zero_point)):
//   activations: asymmetric, per tensor, int8 [−128, 127], zero point in [−128, 127]
//   weights:     symmetric, per output channel, int8 [−127, 127], zero point 0
// (tensorflow/lite/g3doc/performance/quantization_spec.md). Sources per function below.
#include <cstdint>
#include <vector>

namespace dalnas {

struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

// TFLite GetAsymmetricQuantizationParams (tools/optimize/quantization_utils.cc) with
// quant_min = −128, quant_max = 127, all in float as there:
//   min = min(min, 0); max = max(max, 0)            (0 is always representable)
//   scale = (max − min) / 255
//   zp_from_min = scale != 0 ? −128 − min / scale : −128
//   zp = zp_from_min < −128 ? −128 : zp_from_min > 127 ? 127 : std::round(zp_from_min)
// (std::round: ties away from zero). min > max or a non-finite bound throws dalnas::Error.
QuantParams asymmetric_int8_params(float min, float max);

// Symmetric per-channel int8 weights (TFLite SymmetricPerChannelQuantization and
// SymmetricPerChannelQuantizeValues, tools/optimize/quantization_utils.cc):
//   half_range = max(|min_c|, |max_c|) = max |w| over the channel
//   scale_c = half_range / 127                      (float)
//   scale_inv_c = half_range == 0 ? 0 : 127 / half_range   (float)
//   q = clamp((int32) std::round(w · scale_inv_c), −127, 127)
// An all-zero channel gets scale 0 and all-zero values (as TFLite; such a channel's
// requantization multiplier is 0 and its outputs are the bias term alone).
struct PerChannelWeights {
  std::vector<int8_t> values;  // same layout as the float weights
  std::vector<float> scales;   // one per channel
};
// `w` holds `channels` consecutive blocks of `per_channel` values (channel = the outer
// dimension: dim 0 of an OIHW convolution weight). Non-finite weights throw dalnas::Error.
// `qmax` < 127 narrows the range to [−qmax, qmax] with scale_c = half_range / qmax (ONNX
// Runtime's reduce_range: qmax 64).
PerChannelWeights quantize_weights_per_channel(const float* w, int channels, int64_t per_channel,
                                               int qmax = 127);

// Symmetric per-tensor int8 weights: one scale for the whole tensor (TFLite's per-tensor
// weight quantization, tensor_utils::SymmetricQuantizeFloats as
// tools/optimize/quantization_utils.cc SymmetricQuantizeTensor calls it):
//   range = max(|min|, |max|) over the tensor
//   scale = range / 127;  q = clamp((int32) round(w · (127 / range)), −127, 127)   (float)
//   range == 0: every value 0 and scale 1 (not 0, as a per-channel all-zero channel)
// Returned in the per-channel form, the one scale repeated for each of the `channels`
// channels: TFLite's kernels run per-tensor weights through the same per-channel arrays.
// Same layout, `qmax` and errors as quantize_weights_per_channel.
PerChannelWeights quantize_weights_per_tensor(const float* w, int channels, int64_t per_channel,
                                              int qmax = 127);

// Symmetric per-channel weights at given scales (a quantization-aware network's trained
// weight quantizers, as a TFLite converter quantizes a constant behind a FakeQuant with
// given min / max):  q = clamp((int32) std::round(w / scale_c), −qmax, qmax)   (float
// division, the rounding of precision/learned_step.h's forward); a channel of scale 0
// holds zeros (its weights are all 0: a BatchNorm gamma of 0). Same layout, `qmax` and
// errors as quantize_weights_per_channel; throws dalnas::Error for a scale count that is
// not `channels` or a negative or non-finite scale.
PerChannelWeights quantize_weights_at_scales(const float* w, int channels, int64_t per_channel,
                                             const std::vector<float>& scales, int qmax = 127);

// TFLite reference AffineQuantize (kernels/internal/reference/quantize.h) for int8:
//   unclamped = double(TfLiteRound(x / float(scale))) + zero_point
//   q = (int8) clamp(unclamped, −128, 127)
// TfLiteRound is std::round (kernels/internal/cppmath.h): round half AWAY from zero
// (2.5 → 3, −2.5 → −3), on the float quotient x / scale (float division). NaN input is
// out of TFLite's contract (its cast is undefined); here NaN gives the zero point.
int8_t quantize_int8(float x, const QuantParams& p);
void quantize_int8(const float* x, int64_t n, const QuantParams& p, int8_t* out);

// ONNX Runtime's QuantizeLinear to int8 (MLAS MlasQuantizeLinear, ONNX's definition
// "saturate(round(x / y_scale) + y_zero_point)", round half to EVEN):
//   q = clamp(nearbyint(x / scale), −128 − z, 127 − z) + z       (float division)
// 2.5 → 2, 3.5 → 4, −2.5 → −2. NaN gives the zero point.
// Inline: resize and the input quantization call it once per value.
inline int8_t quantize_int8_even(float x, const QuantParams& p) {
  const int32_t z = p.zero_point;
  const float lo = static_cast<float>(-128 - z);
  const float hi = static_cast<float>(127 - z);
  const float q = x / p.scale;
  if (q != q) return static_cast<int8_t>(z < -128 ? -128 : z > 127 ? 127 : z);
  const float c = q < lo ? lo : q > hi ? hi : q;  // |c| <= 255
  // nearbyint (ties to even in the default rounding mode) without the library call: the
  // truncation t is exact, c − t is exact, and a tie goes to the even one of t, t ± 1.
  const int32_t t = static_cast<int32_t>(c);
  const float d = c - static_cast<float>(t);
  // Bitwise, not short-circuit: no data-dependent branches (they cost a misprediction on
  // every other random value).
  const int32_t odd = t & 1;
  const int32_t up = static_cast<int32_t>(d > 0.5f) | (static_cast<int32_t>(d == 0.5f) & odd);
  const int32_t down = static_cast<int32_t>(d < -0.5f) | (static_cast<int32_t>(d == -0.5f) & odd);
  return static_cast<int8_t>(t + up - down + z);
}

void quantize_int8_even(const float* x, int64_t n, const QuantParams& p, int8_t* out);

// TFLite reference Dequantize (kernels/internal/reference/dequantize.h):
//   real = (float)(double(scale) · (q − zero_point))
// (equal to ONNX Runtime's float(q − z) · scale: both round the exact product once)
float dequantize_int8(int8_t q, const QuantParams& p);
void dequantize_int8(const int8_t* q, int64_t n, const QuantParams& p, float* out);

}  // namespace dalnas
