#pragma once
// The integer parameters of one TFLite int8 convolution, from the float scales (what the
// TFLite interpreter computes when it prepares a CONV_2D / DEPTHWISE_CONV_2D node, and what
// its converter stores for the bias):
//   requantization: kernels/kernel_util.cc, PopulateConvolutionQuantizationParams
//   fused activation clamp: kernels/kernel_util.cc, CalculateActivationRangeQuantized
//   int32 bias: tools/optimize/quantization_utils.cc, SymmetricPerChannelBiasQuantize
#include <cstdint>
#include <vector>

#include "quant/fixed_point.h"
#include "quant/quant_params.h"

namespace dalnas {

// Per output channel: M_c = double(s_in) · double(s_w[c]) / double(s_out), then
// QuantizeMultiplier(M_c) (in the rounding variant's form). Throws dalnas::Error for a
// scale that is not finite, s_in or s_out <= 0, or s_w[c] < 0.
struct ConvRequant {
  std::vector<int32_t> multiplier;
  std::vector<int> shift;
};
ConvRequant conv_requant(float input_scale, const std::vector<float>& weight_scales,
                         float output_scale, RequantRounding rounding = RequantRounding::Double);

// TFLite's fused activations (TfLiteFusedActivation) that become clamps.
enum class FusedActivation { None, Relu, ReluN1To1, Relu6 };

// The int8 clamp [act_min, act_max] of a fused activation on an output with params `out`:
//   q(f) = z_out + (int32) TfLiteRound(f / s_out)     (float division, ties away from 0)
//   Relu:      [max(−128, q(0)), 127]
//   Relu6:     [max(−128, q(0)), min(127, q(6))]
//   ReluN1To1: [max(−128, q(−1)), min(127, q(1))]
//   None:      [−128, 127]
// Throws dalnas::Error if s_out is not finite and > 0.
struct ActivationRange {
  int32_t min = -128, max = 127;
};
ActivationRange activation_range_int8(FusedActivation act, const QuantParams& out);

// int32 bias per output channel: s_c = s_in · s_w[c] (float), inv = s_c == 0 ? 0 : 1.0/s_c
// (stored as float), q = clamp(SafeCast<int32>(std::round(b · inv)), −(2^31−1), 2^31−1)
// (SafeCast saturates to the int32 range). Throws dalnas::Error for a non-finite bias or
// a size mismatch.
std::vector<int32_t> quantize_bias_per_channel(const std::vector<float>& bias, float input_scale,
                                               const std::vector<float>& weight_scales);

// The int64 bias of a 16x8 convolution (quant/int16_ops.h): the same rule with
// SafeCast<int64> and the clamp to [−(2^63−1), 2^63−1] (the converter's
// SymmetricPerChannelBiasQuantize<int64_t>).
std::vector<int64_t> quantize_bias_int64_per_channel(const std::vector<float>& bias,
                                                     float input_scale,
                                                     const std::vector<float>& weight_scales);

}  // namespace dalnas
