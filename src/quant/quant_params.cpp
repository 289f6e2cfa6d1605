#include "quant/quant_params.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace dalnas {

QuantParams asymmetric_int8_params(float min, float max) {
  if (!std::isfinite(min) || !std::isfinite(max)) {
    throw Error("asymmetric_int8_params: range [" + std::to_string(min) + ", " +
                std::to_string(max) + "] is not finite");
  }
  if (min > max) {
    throw Error("asymmetric_int8_params: min " + std::to_string(min) + " > max " +
                std::to_string(max));
  }
  const float quant_min = -128.0f, quant_max = 127.0f;
  // `min = std::min(static_cast<float>(min), 0.0f); max = std::max(..., 0.0f);`
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  // `const float scale = (max - min) / (quant_max_float - quant_min_float);`
  const float scale = (max - min) / (quant_max - quant_min);
  // `float zero_point_from_min = quant_min_float; if (scale != 0) { zero_point_from_min =
  //  quant_min_float - min / scale; }`
  float zero_point_from_min = quant_min;
  if (scale != 0) zero_point_from_min = quant_min - min / scale;
  int32_t zp = 0;
  if (zero_point_from_min < quant_min) {
    zp = -128;
  } else if (zero_point_from_min > quant_max) {
    zp = 127;
  } else {
    zp = static_cast<int32_t>(std::round(zero_point_from_min));
  }
  return {scale, zp};
}

namespace {
// The arguments both weight quantizers take: sizes not negative, qmax in [1, 127].
void check_weight_args(const char* who, int channels, int64_t per_channel, int qmax) {
  if (channels < 0 || per_channel < 0) {
    throw Error(std::string(who) + ": negative size (" + std::to_string(channels) + " channels × " +
                std::to_string(per_channel) + ")");
  }
  if (qmax < 1 || qmax > 127) {
    throw Error(std::string(who) + ": qmax " + std::to_string(qmax) + " is outside [1, 127]");
  }
}
}  // namespace

PerChannelWeights quantize_weights_per_channel(const float* w, int channels, int64_t per_channel,
                                               int qmax) {
  check_weight_args("quantize_weights_per_channel", channels, per_channel, qmax);
  PerChannelWeights out;
  out.values.resize(static_cast<size_t>(channels) * static_cast<size_t>(per_channel));
  out.scales.resize(static_cast<size_t>(channels));
  const float half_scale = static_cast<float>(qmax);  // kMaxQuantizedValue (127)
  for (int c = 0; c < channels; ++c) {
    const float* wc = w + static_cast<int64_t>(c) * per_channel;
    // FillPerChannelMinMax, then half_range = max(|min|, |max|).
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < per_channel; ++i) {
      if (!std::isfinite(wc[i])) {
        throw Error("quantize_weights_per_channel: channel " + std::to_string(c) + " value " +
                    std::to_string(i) + " is not finite");
      }
      if (i == 0 || wc[i] < lo) lo = wc[i];
      if (i == 0 || wc[i] > hi) hi = wc[i];
    }
    const float half_range = std::max(std::abs(lo), std::abs(hi));
    out.scales[static_cast<size_t>(c)] = half_range / half_scale;
    const float scale_inv = half_range == 0 ? 0.0f : half_scale / half_range;
    int8_t* qc = out.values.data() + static_cast<int64_t>(c) * per_channel;
    for (int64_t i = 0; i < per_channel; ++i) {
      // `static_cast<int32_t>(TfLiteRound(val * scales_inv[channel_idx]))`, clamped to
      // [kMinQuantizedValue, kMaxQuantizedValue] = [−127, 127] (here [−qmax, qmax]).
      const int32_t q = static_cast<int32_t>(std::round(wc[i] * scale_inv));
      qc[i] = static_cast<int8_t>(std::clamp(q, -qmax, qmax));
    }
  }
  return out;
}

PerChannelWeights quantize_weights_per_tensor(const float* w, int channels, int64_t per_channel,
                                              int qmax) {
  check_weight_args("quantize_weights_per_tensor", channels, per_channel, qmax);
  const int64_t n = static_cast<int64_t>(channels) * per_channel;
  // std::minmax_element over the tensor, then range = max(|min|, |max|).
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(w[i])) {
      throw Error("quantize_weights_per_tensor: value " + std::to_string(i) + " (channel " +
                  std::to_string(i / std::max<int64_t>(1, per_channel)) + ") is not finite");
    }
    if (i == 0 || w[i] < lo) lo = w[i];
    if (i == 0 || w[i] > hi) hi = w[i];
  }
  const float k_scale = static_cast<float>(qmax);  // kScale (127)
  const float range = std::max(std::abs(lo), std::abs(hi));
  PerChannelWeights out;
  out.values.assign(static_cast<size_t>(n), 0);
  // `if (range == 0) { memset(quantized, 0); *scaling_factor = 1; }`
  out.scales.assign(static_cast<size_t>(channels), range == 0 ? 1.0f : range / k_scale);
  if (range == 0) return out;
  const float scale_inv = k_scale / range;
  for (int64_t i = 0; i < n; ++i) {
    // `static_cast<int32_t>(round(values[i] * scaling_factor_inv))`, clamped to ±kScale.
    const int32_t q = static_cast<int32_t>(std::round(w[i] * scale_inv));
    out.values[static_cast<size_t>(i)] = static_cast<int8_t>(std::clamp(q, -qmax, qmax));
  }
  return out;
}

PerChannelWeights quantize_weights_at_scales(const float* w, int channels, int64_t per_channel,
                                             const std::vector<float>& scales, int qmax) {
  check_weight_args("quantize_weights_at_scales", channels, per_channel, qmax);
  if (scales.size() != static_cast<size_t>(channels)) {
    throw Error("quantize_weights_at_scales: " + std::to_string(scales.size()) + " scales for " +
                std::to_string(channels) + " channels");
  }
  PerChannelWeights out;
  out.values.resize(static_cast<size_t>(channels) * static_cast<size_t>(per_channel));
  out.scales = scales;
  for (int c = 0; c < channels; ++c) {
    const float s = scales[static_cast<size_t>(c)];
    if (!std::isfinite(s) || s < 0) {
      throw Error("quantize_weights_at_scales: channel " + std::to_string(c) + " scale " +
                  std::to_string(s) + " is negative or not finite");
    }
    const float* wc = w + static_cast<int64_t>(c) * per_channel;
    int8_t* qc = out.values.data() + static_cast<int64_t>(c) * per_channel;
    for (int64_t i = 0; i < per_channel; ++i) {
      if (!std::isfinite(wc[i])) {
        throw Error("quantize_weights_at_scales: channel " + std::to_string(c) + " value " +
                    std::to_string(i) + " is not finite");
      }
      const float u = s > 0 ? wc[i] / s : 0.0f;
      const float r = std::round(std::clamp(u, -256.0f, 256.0f));  // no int overflow
      qc[i] = static_cast<int8_t>(std::clamp(static_cast<int32_t>(r), -qmax, qmax));
    }
  }
  return out;
}

int8_t quantize_int8(float x, const QuantParams& p) {
  // `static_cast<double>(TfLiteRound(val / static_cast<float>(scale))) + zero_point`,
  // clamped in double to [−128, 127].
  const float v = x / p.scale;
  if (v > -4194304.0f && v < 4194304.0f) {
    // std::round without the library call: |v| < 2^22, so the truncation t is exact, v − t
    // is exact, and v rounds away from t by one exactly when |v − t| >= 0.5 (ties away
    // from zero). The result is std::round's, bit for bit.
    const int32_t t = static_cast<int32_t>(v);
    const float d = v - static_cast<float>(t);
    const int32_t r = t + (d >= 0.5f ? 1 : 0) - (d <= -0.5f ? 1 : 0);
    return static_cast<int8_t>(std::clamp(r + p.zero_point, -128, 127));
  }
  const float r = std::round(v);
  if (r != r) return static_cast<int8_t>(std::clamp(p.zero_point, -128, 127));
  const double unclamped = static_cast<double>(r) + static_cast<double>(p.zero_point);
  return static_cast<int8_t>(std::min(std::max(unclamped, -128.0), 127.0));
}

// Floating-point comparisons need not raise exceptions here (no code reads the flags):
// with trapping math GCC keeps the selects of the two batch loops below as branches and
// the loops scalar. The values computed are the same.
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")

void quantize_int8(const float* x, int64_t n, const QuantParams& p, int8_t* out) {
  const int32_t z = p.zero_point;
  if (z < -(1 << 20) || z > (1 << 20)) {  // not an int8 zero point: the one-value form
    for (int64_t i = 0; i < n; ++i) out[i] = quantize_int8(x[i], p);
    return;
  }
  // The one-value form without branches, so that the loop vectorises: NaN gives the zero
  // point; a quotient clamped to ±2^22 rounds and saturates as the unclamped one does
  // (|z| <= 2^20), and below 2^22 the rounding is the one-value form's.
  const int32_t zc = std::clamp(z, -128, 127);
  const float scale = p.scale;
  for (int64_t i = 0; i < n; ++i) {
    float v = x[i] / scale;
    const bool nan = v != v;
    v = nan ? 0.0f : v;
    v = v < -4194304.0f ? -4194304.0f : v > 4194304.0f ? 4194304.0f : v;
    const int32_t t = static_cast<int32_t>(v);
    const float d = v - static_cast<float>(t);
    int32_t r = t + static_cast<int32_t>(d >= 0.5f) - static_cast<int32_t>(d <= -0.5f) + z;
    r = r < -128 ? -128 : r > 127 ? 127 : r;
    out[i] = static_cast<int8_t>(nan ? zc : r);
  }
}

void quantize_int8_even(const float* x, int64_t n, const QuantParams& p, int8_t* out) {
  // The inline one-value form with its NaN test as a select, so that the loop vectorises.
  const int32_t z = p.zero_point;
  const int32_t zc = z < -128 ? -128 : z > 127 ? 127 : z;
  const float lo = static_cast<float>(-128 - z);
  const float hi = static_cast<float>(127 - z);
  const float scale = p.scale;
  for (int64_t i = 0; i < n; ++i) {
    float q = x[i] / scale;
    const bool nan = q != q;
    q = nan ? 0.0f : q;
    const float c = q < lo ? lo : q > hi ? hi : q;
    const int32_t t = static_cast<int32_t>(c);
    const float d = c - static_cast<float>(t);
    const int32_t odd = t & 1;
    const int32_t up = static_cast<int32_t>(d > 0.5f) | (static_cast<int32_t>(d == 0.5f) & odd);
    const int32_t down = static_cast<int32_t>(d < -0.5f) | (static_cast<int32_t>(d == -0.5f) & odd);
    out[i] = static_cast<int8_t>(nan ? zc : t + up - down + z);
  }
}

#pragma GCC pop_options

float dequantize_int8(int8_t q, const QuantParams& p) {
  return static_cast<float>(static_cast<double>(p.scale) * (int32_t{q} - p.zero_point));
}

void dequantize_int8(const int8_t* q, int64_t n, const QuantParams& p, float* out) {
  if (n < 1024) {
    for (int64_t i = 0; i < n; ++i) out[i] = dequantize_int8(q[i], p);
    return;
  }
  // Long tensors through a table of the 256 values (the same function, evaluated once each).
  float table[256];
  for (int v = -128; v < 128; ++v) table[v + 128] = dequantize_int8(static_cast<int8_t>(v), p);
  for (int64_t i = 0; i < n; ++i) out[i] = table[q[i] + 128];
}

}  // namespace dalnas
