#include "quant/conv_params.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"

namespace dalnas {

namespace {

void need_positive(float s, const char* what) {
  if (!std::isfinite(s) || s <= 0.0f) {
    throw Error(std::string(what) + " " + std::to_string(s) + " must be finite and > 0");
  }
}

}  // namespace

ConvRequant conv_requant(float input_scale, const std::vector<float>& weight_scales,
                         float output_scale, RequantRounding rounding) {
  need_positive(input_scale, "conv_requant: input scale");
  need_positive(output_scale, "conv_requant: output scale");
  ConvRequant r;
  for (size_t c = 0; c < weight_scales.size(); ++c) {
    const float s = weight_scales[c];
    if (!std::isfinite(s) || s < 0.0f) {
      throw Error("conv_requant: weight scale of channel " + std::to_string(c) + " is " +
                  std::to_string(s) + " (must be finite and >= 0)");
    }
    // `const double effective_output_scale = static_cast<double>(input_scale) *
    //  filter_scale / static_cast<double>(output_scale);`
    const double m = static_cast<double>(input_scale) * static_cast<double>(s) /
                     static_cast<double>(output_scale);
    const QuantizedMultiplier q = QuantizeMultiplier(m, rounding);
    r.multiplier.push_back(q.multiplier);
    r.shift.push_back(q.shift);
  }
  return r;
}

ActivationRange activation_range_int8(FusedActivation act, const QuantParams& out) {
  need_positive(out.scale, "activation_range_int8: output scale");
  // `auto quantize = [scale, zero_point](float f) {
  //    return zero_point + static_cast<int32_t>(TfLiteRound(f / scale)); };`
  const auto quantize = [&out](float f) {
    return out.zero_point + static_cast<int32_t>(std::round(f / out.scale));
  };
  const int32_t qmin = -128, qmax = 127;
  switch (act) {
    case FusedActivation::Relu:
      return {std::max(qmin, quantize(0.0f)), qmax};
    case FusedActivation::Relu6:
      return {std::max(qmin, quantize(0.0f)), std::min(qmax, quantize(6.0f))};
    case FusedActivation::ReluN1To1:
      return {std::max(qmin, quantize(-1.0f)), std::min(qmax, quantize(1.0f))};
    case FusedActivation::None:
      break;
  }
  return {qmin, qmax};
}

namespace {

// TFLite's SymmetricPerChannelBiasQuantize<B> (tools/optimize/quantization_utils.cc) for
// an int32 (int8 layers) or int64 (16x8 layers) bias; `what` names the function in errors.
template <typename B>
std::vector<B> symmetric_bias(const std::vector<float>& bias, float input_scale,
                              const std::vector<float>& weight_scales, const char* what) {
  if (bias.size() != weight_scales.size()) {
    throw Error(std::string(what) + ": " + std::to_string(bias.size()) + " biases but " +
                std::to_string(weight_scales.size()) + " weight scales");
  }
  constexpr B k_scale = std::numeric_limits<B>::max();
  // 2^(bits − 1) as a float: the first value SafeCast saturates.
  const float limit = std::ldexp(1.0f, std::numeric_limits<B>::digits);
  std::vector<B> q(bias.size());
  for (size_t c = 0; c < bias.size(); ++c) {
    if (!std::isfinite(bias[c])) {
      throw Error(std::string(what) + ": bias of channel " + std::to_string(c) + " is not finite");
    }
    // `scales[i] = input_scale * weight_scales[i];` (float)
    const float scaling_factor = input_scale * weight_scales[c];
    // `float scaling_factor_inv = (scaling_factor == 0) ? 0 : 1.0 / scaling_factor;`
    const float inv = scaling_factor == 0 ? 0.0f : static_cast<float>(1.0 / scaling_factor);
    // `SafeCast<BiasType>(TfLiteRound(float_data[channel_idx] * scaling_factor_inv))`, then
    // clamped to [-kScale, kScale]. SafeCast saturates at the type's limits.
    const float r = std::round(bias[c] * inv);
    B v = 0;
    if (r >= limit) {
      v = k_scale;
    } else if (r < -limit) {
      v = std::numeric_limits<B>::min();
    } else {
      v = static_cast<B>(r);
    }
    q[c] = std::min(k_scale, std::max<B>(-k_scale, v));
  }
  return q;
}

}  // namespace

std::vector<int32_t> quantize_bias_per_channel(const std::vector<float>& bias, float input_scale,
                                               const std::vector<float>& weight_scales) {
  return symmetric_bias<int32_t>(bias, input_scale, weight_scales, "quantize_bias_per_channel");
}

std::vector<int64_t> quantize_bias_int64_per_channel(const std::vector<float>& bias,
                                                     float input_scale,
                                                     const std::vector<float>& weight_scales) {
  return symmetric_bias<int64_t>(bias, input_scale, weight_scales,
                                 "quantize_bias_int64_per_channel");
}

}  // namespace dalnas
