#include "quant/int16_ops.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "core/error.h"
#include "quant/conv_checks.h"
#include "quant/pool_window.h"

namespace dalnas {
namespace {

constexpr int32_t kInt16Min = std::numeric_limits<int16_t>::min();
constexpr int32_t kInt16Max = std::numeric_limits<int16_t>::max();

int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

void check_scale(const QuantParams& p, const std::string& op, const char* which) {
  if (!std::isfinite(p.scale) || p.scale <= 0.0f) {
    throw Error(op + ": " + which + " scale " + std::to_string(p.scale) +
                " is not a positive finite number");
  }
}

// int16 tensors of the 16x8 scheme: zero point 0 (TFLite ENSUREs it in the kernels' Prepare).
void check_int16_params(const QuantParams& p, const std::string& op, const char* which) {
  check_scale(p, op, which);
  if (p.zero_point != 0) {
    throw Error(op + ": " + which + " zero point " + std::to_string(p.zero_point) +
                " must be 0 for int16");
  }
}

void check_int8_params(const QuantParams& p, const std::string& op, const char* which) {
  check_scale(p, op, which);
  if (p.zero_point < -128 || p.zero_point > 127) {
    throw Error(op + ": " + which + " zero point " + std::to_string(p.zero_point) +
                " is outside [-128, 127]");
  }
}

void check_act16(int32_t act_min, int32_t act_max, const std::string& op) {
  if (act_min < kInt16Min || act_max > kInt16Max || act_min > act_max) {
    throw Error(op + ": activation range [" + std::to_string(act_min) + ", " +
                std::to_string(act_max) + "] must lie in [-32768, 32767] with min <= max");
  }
}

// TFLite QuantizeMultiplierSmallerThanOneExp (quantization_util.cc): M in (0, 1), shift <= 0.
QuantizedMultiplier smaller_than_one(double m, RequantRounding rounding, const std::string& op,
                                     const char* which) {
  if (!(m > 0.0 && m < 1.0)) {
    throw Error(op + ": " + which + " multiplier " + std::to_string(m) +
                " is outside (0, 1) (TFLite requires it; the scales are too far apart)");
  }
  const QuantizedMultiplier q = QuantizeMultiplier(m, rounding);
  if (q.shift > 0) throw Error(op + ": " + which + " multiplier shift above 0");
  return q;
}

// QuantizeMultiplier(m) for the int32 MBQM, which needs shift in [-31, 30]; `what` names
// the ratio m is in the message.
QuantizedMultiplier checked_multiplier(double m, RequantRounding rounding, const std::string& op,
                                       const char* what) {
  if (!(m > 0.0) || !std::isfinite(m)) {
    throw Error(op + ": multiplier " + std::to_string(m) + " (" + what + ") is not finite");
  }
  const QuantizedMultiplier q = QuantizeMultiplier(m, rounding);
  if (q.shift > 30 || q.shift < -31) {
    throw Error(op + ": multiplier " + std::to_string(m) + " (" + what + ") is " +
                "out of range (shift " + std::to_string(q.shift) + " outside [-31, 30])");
  }
  return q;
}

// QuantizeMultiplier(s_in / s_out) for Requantize and MEAN.
QuantizedMultiplier requant_multiplier(const QuantParams& in, const QuantParams& out,
                                       RequantRounding rounding, const std::string& op) {
  return checked_multiplier(static_cast<double>(in.scale) / static_cast<double>(out.scale),
                            rounding, op, "input scale / output scale");
}

// reference_ops::Requantize: clamp(MBQM(x − z_in, M) + z_out) to the output type's range.
template <typename In, typename Out>
void requantize(const In* x, int64_t n, int32_t z_in, int32_t z_out, QuantizedMultiplier m,
                RequantRounding rounding, Out* y) {
  constexpr int32_t lo = std::numeric_limits<Out>::min();
  constexpr int32_t hi = std::numeric_limits<Out>::max();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = MultiplyByQuantizedMultiplier(static_cast<int32_t>(x[i]) - z_in, m, rounding);
    // + output_zeropoint (|v| <= 2^31 only after a saturated multiply; wraps as int8 code)
    const int32_t r = static_cast<int32_t>(static_cast<uint32_t>(v) + static_cast<uint32_t>(z_out));
    y[i] = static_cast<Out>(clamp_i32(r, lo, hi));
  }
}

// TFLite CheckedLog2 (quantization_util.cc), in float as there.
bool checked_log2(float x, int* log2_result) {
  const float x_log2 = std::log(x) * (1.0f / std::log(2.0f));
  const float x_log2_rounded = std::round(x_log2);
  const float x_log2_fracpart = x_log2 - x_log2_rounded;
  *log2_result = static_cast<int>(x_log2_rounded);
  return std::abs(x_log2_fracpart) < 1e-3f;
}

[[noreturn]] void bad_conv(const std::string& what) {
  throw Error("int16 conv: " + what);
}

}  // namespace

// ---------------------------------------------------------------------------------------

QuantParams symmetric_int16_params(float min, float max) {
  if (!std::isfinite(min) || !std::isfinite(max) || min > max) {
    throw Error("symmetric_int16_params: range [" + std::to_string(min) + ", " +
                std::to_string(max) + "] is not finite with min <= max");
  }
  min = std::min(min, 0.0f);
  max = std::max(max, 0.0f);
  QuantParams p;
  p.scale = std::max(std::abs(max), std::abs(min)) / 32767;  // float / int -> float
  p.zero_point = 0;
  return p;
}

int16_t quantize_int16(float x, const QuantParams& p) {
  const float r = std::round(x / p.scale);
  if (r != r) return static_cast<int16_t>(clamp_i32(p.zero_point, kInt16Min, kInt16Max));
  const double unclamped = static_cast<double>(r) + static_cast<double>(p.zero_point);
  return static_cast<int16_t>(std::min(std::max(unclamped, -32768.0), 32767.0));
}

void quantize_int16(const float* x, int64_t n, const QuantParams& p, int16_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = quantize_int16(x[i], p);
}

float dequantize_int16(int16_t q, const QuantParams& p) {
  return static_cast<float>(static_cast<double>(p.scale) * (int32_t{q} - p.zero_point));
}

void dequantize_int16(const int16_t* q, int64_t n, const QuantParams& p, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = dequantize_int16(q[i], p);
}

ActivationRange activation_range_int16(FusedActivation act, const QuantParams& out) {
  check_scale(out, "activation_range_int16", "output");
  // q(f) = zero_point + (int32) TfLiteRound(f / scale); clamped in double here so that a
  // tiny scale (6 / s beyond int32) saturates instead of overflowing.
  const auto quantize = [&out](float f) {
    const double q = static_cast<double>(std::round(f / out.scale)) + out.zero_point;
    return static_cast<int32_t>(std::min(std::max(q, -2147483648.0), 2147483647.0));
  };
  ActivationRange r;
  r.min = kInt16Min;
  r.max = kInt16Max;
  switch (act) {
    case FusedActivation::Relu:
      r.min = std::max(kInt16Min, quantize(0.0f));
      break;
    case FusedActivation::Relu6:
      r.min = std::max(kInt16Min, quantize(0.0f));
      r.max = std::min(kInt16Max, quantize(6.0f));
      break;
    case FusedActivation::ReluN1To1:
      r.min = std::max(kInt16Min, quantize(-1.0f));
      r.max = std::min(kInt16Max, quantize(1.0f));
      break;
    case FusedActivation::None:
      break;
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// Convolution.

void check(const Int16ConvArgs& a) {
  if (a.in == nullptr || a.weight == nullptr || a.out == nullptr || a.multiplier == nullptr ||
      a.shift == nullptr) {
    bad_conv("in, weight, multiplier, shift and out must be given");
  }
  if (const std::string p = conv_geometry_problem(a); !p.empty()) bad_conv(p);
  if (a.in_zero_point != 0 || a.out_zero_point != 0) {
    bad_conv("in_zero_point and out_zero_point must be 0 for int16 (got " +
             std::to_string(a.in_zero_point) + ", " + std::to_string(a.out_zero_point) + ")");
  }
  if (a.act_min < kInt16Min || a.act_max > kInt16Max || a.act_min > a.act_max) {
    bad_conv("activation range [" + std::to_string(a.act_min) + ", " + std::to_string(a.act_max) +
             "] must lie in [-32768, 32767] with min <= max");
  }
  // common.cc's int64 overload: shift in [-31, 8).
  if (const std::string p = requant_problem(a.multiplier, a.shift, a.c_out, 7); !p.empty())
    bad_conv(p);
}

bool int16_isa_supported(Int8Isa isa) {
  switch (isa) {
    case Int8Isa::Scalar:
      return true;
    case Int8Isa::AVX2:
      return int8_isa_supported(Int8Isa::AVX2);
    case Int8Isa::AVX512VNNI:
      return false;  // no such int16 path (see the header)
  }
  return false;
}

Int8Isa best_int16_isa() {
  const char* env = std::getenv("DALNAS_NO_SIMD");
  if (env != nullptr && std::strcmp(env, "1") == 0) return Int8Isa::Scalar;
  if (int16_isa_supported(Int8Isa::AVX2)) return Int8Isa::AVX2;
  return Int8Isa::Scalar;
}

void int16_conv(const Int16ConvArgs& a, Int8Isa isa) {
  check(a);
  if (!int16_isa_supported(isa)) {
    bad_conv(std::string("path ") + to_string(isa) +
             (isa == Int8Isa::AVX2 ? " needs AVX2, which this CPU lacks"
                                   : " does not exist for int16 (AVX2 is the SIMD path)"));
  }
  switch (isa) {
    case Int8Isa::Scalar:
      int16_conv_scalar(a);
      return;
    case Int8Isa::AVX2:
      int16_conv_avx2(a);
      return;
    case Int8Isa::AVX512VNNI:
      return;  // rejected above
  }
}

void int16_conv(const Int16ConvArgs& a) {
  int16_conv(a, best_int16_isa());
}

// The reference: TFLite's loop nest (reference_integer_ops::ConvPerChannel<int64_t>, int16
// input) on NCHW.
void int16_conv_scalar(const Int16ConvArgs& a) {
  const int ho = a.out_h(), wo = a.out_w();
  const int cig = a.c_in / a.groups, cog = a.c_out / a.groups;
  const int k = a.kernel;
  for (int n = 0; n < a.batch; ++n) {
    for (int oc = 0; oc < a.c_out; ++oc) {
      const int group = oc / cog;  // out_channel / filters_per_group
      const int8_t* w_oc = a.weight + static_cast<int64_t>(oc) * cig * k * k;
      int16_t* out_c = a.out + (static_cast<int64_t>(n) * a.c_out + oc) * ho * wo;
      for (int oy = 0; oy < ho; ++oy) {
        const int in_y_origin = oy * a.stride - a.pad;
        for (int ox = 0; ox < wo; ++ox) {
          const int in_x_origin = ox * a.stride - a.pad;
          // int64 accumulation, kept in uint64 so that a wrap (only a bias near the int64
          // limits can cause one) is defined.
          uint64_t acc = 0;
          for (int ic = 0; ic < cig; ++ic) {
            const int16_t* in_c =
                a.in + (static_cast<int64_t>(n) * a.c_in + group * cig + ic) * a.h * a.w;
            for (int ky = 0; ky < k; ++ky) {
              const int in_y = in_y_origin + ky;
              for (int kx = 0; kx < k; ++kx) {
                const int in_x = in_x_origin + kx;
                // "Zero padding by omitting the areas outside the image."
                if (in_x < 0 || in_x >= a.w || in_y < 0 || in_y >= a.h) continue;
                const int32_t input_val = in_c[in_y * a.w + in_x];
                const int32_t filter_val = w_oc[(ic * k + ky) * k + kx];
                acc += static_cast<uint64_t>(static_cast<int64_t>(filter_val * input_val));
              }
            }
          }
          if (a.bias != nullptr) acc += static_cast<uint64_t>(a.bias[oc]);
          int32_t r = MultiplyByQuantizedMultiplierInt64(static_cast<int64_t>(acc),
                                                         a.multiplier[oc], a.shift[oc]);
          r = std::max(r, a.act_min);
          r = std::min(r, a.act_max);
          out_c[oy * wo + ox] = static_cast<int16_t>(r);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// QUANTIZE (requantize).

void int8_to_int16_requantize(const int8_t* x, int64_t n, const QuantParams& in,
                              const QuantParams& out, RequantRounding rounding, int16_t* y) {
  const std::string op = "int8 -> int16 requantize";
  check_int8_params(in, op, "input");
  check_int16_params(out, op, "output");
  requantize(x, n, in.zero_point, out.zero_point, requant_multiplier(in, out, rounding, op),
             rounding, y);
}

void int16_to_int8_requantize(const int16_t* x, int64_t n, const QuantParams& in,
                              const QuantParams& out, RequantRounding rounding, int8_t* y) {
  const std::string op = "int16 -> int8 requantize";
  check_int16_params(in, op, "input");
  check_int8_params(out, op, "output");
  requantize(x, n, in.zero_point, out.zero_point, requant_multiplier(in, out, rounding, op),
             rounding, y);
}

void int16_requantize(const int16_t* x, int64_t n, const QuantParams& in, const QuantParams& out,
                      RequantRounding rounding, int16_t* y) {
  const std::string op = "int16 -> int16 requantize";
  check_int16_params(in, op, "input");
  check_int16_params(out, op, "output");
  requantize(x, n, in.zero_point, out.zero_point, requant_multiplier(in, out, rounding, op),
             rounding, y);
}

// ---------------------------------------------------------------------------------------
// ADD.

int16_t RoundingDivideByPOTInt16(int16_t x, int exponent) {
  // Each gemmlowp step on int16 scalars: Dup<int16_t>(int32) truncates, Add / ShiftRight
  // compute in int and convert back to int16.
  const int16_t mask = static_cast<int16_t>(static_cast<int32_t>((int64_t{1} << exponent) - 1));
  const int16_t remainder = static_cast<int16_t>(x & mask);
  const int16_t less = static_cast<int16_t>(x < 0 ? 1 : 0);  // MaskIfLessThan & one
  const int16_t threshold = static_cast<int16_t>((mask >> 1) + less);
  const int16_t greater = static_cast<int16_t>(remainder > threshold ? 1 : 0);
  return static_cast<int16_t>(static_cast<int16_t>(x >> exponent) + greater);
}

void int16_add(const int16_t* a, const QuantParams& pa, const int16_t* b, const QuantParams& pb,
               int64_t n, const QuantParams& out, int32_t act_min, int32_t act_max,
               RequantRounding rounding, int16_t* y, bool pot_scale_int16) {
  const std::string op = "int16 add";
  check_int16_params(pa, op, "first input");
  check_int16_params(pb, op, "second input");
  check_int16_params(out, op, "output");
  check_act16(act_min, act_max, op);

  int l1 = 0, l2 = 0, lo = 0;
  const bool pot = pot_scale_int16 && checked_log2(pa.scale, &l1) && checked_log2(pb.scale, &l2) &&
                   checked_log2(out.scale, &lo);
  if (pot) {
    const int s1 = l1 - lo, s2 = l2 - lo;
    if (!(s1 == 0 || s2 == 0) || s1 > 0 || s2 > 0) {
      throw Error(op + ": power-of-two scales need one input scale equal to the output scale " +
                  "and the other <= it (shifts " + std::to_string(s1) + ", " + std::to_string(s2) +
                  "; TFLite ENSUREs it)");
    }
    const int16_t* not_shifted = s1 == 0 ? a : b;
    const int16_t* shifted = s1 == 0 ? b : a;
    const int right_shift = s1 == 0 ? -s2 : -s1;
    if (right_shift > 31) {
      throw Error(op + ": power-of-two input shift " + std::to_string(right_shift) +
                  " exceeds 31 (gemmlowp asserts it)");
    }
    for (int64_t i = 0; i < n; ++i) {
      const int32_t sum =
          static_cast<int32_t>(RoundingDivideByPOTInt16(shifted[i], right_shift)) + not_shifted[i];
      const int32_t sat = clamp_i32(sum, kInt16Min, kInt16Max);  // gemmlowp SaturatingAdd
      y[i] = static_cast<int16_t>(clamp_i32(sat, act_min, act_max));
    }
    return;
  }

  constexpr int kLeftShift = 15;
  // add.cc: `const double twice_max_input_scale = 2 * std::max(s1, s2);` (a float product).
  const double twice_max = 2 * std::max(pa.scale, pb.scale);
  const QuantizedMultiplier m1 = smaller_than_one(pa.scale / twice_max, rounding, op, "input 1");
  const QuantizedMultiplier m2 = smaller_than_one(pb.scale / twice_max, rounding, op, "input 2");
  const QuantizedMultiplier mo =
      smaller_than_one(twice_max / ((1 << kLeftShift) * out.scale), rounding, op, "output");
  for (int64_t i = 0; i < n; ++i) {
    const int32_t s1 = MultiplyByQuantizedMultiplier(a[i] * (1 << kLeftShift), m1, rounding);
    const int32_t s2 = MultiplyByQuantizedMultiplier(b[i] * (1 << kLeftShift), m2, rounding);
    const int32_t v = MultiplyByQuantizedMultiplier(s1 + s2, mo, rounding);  // + output offset 0
    y[i] = static_cast<int16_t>(clamp_i32(v, act_min, act_max));
  }
}

// ---------------------------------------------------------------------------------------
// Pooling.

void check_pool(const Int16PoolArgs& a, const char* op) {
  if (a.in == nullptr || a.out == nullptr) throw Error(std::string(op) + ": null tensor");
  if (a.c < 1 || a.h < 1 || a.w < 1 || a.kernel < 1 || a.stride < 1 || a.pad < 0 ||
      a.pad >= a.kernel || a.h + 2 * a.pad < a.kernel || a.w + 2 * a.pad < a.kernel) {
    throw Error(std::string(op) + ": window " + std::to_string(a.kernel) + " stride " +
                std::to_string(a.stride) + " pad " + std::to_string(a.pad) + " does not fit " +
                std::to_string(a.h) + "x" + std::to_string(a.w));
  }
  if (static_cast<int64_t>(a.kernel) * a.kernel > (int64_t{1} << 16)) {
    throw Error(std::string(op) + ": kernel " + std::to_string(a.kernel) +
                " has more than 2^16 taps (the int32 sum of int16 values could overflow)");
  }
  check_act16(a.act_min, a.act_max, op);
}

void int16_max_pool(const Int16PoolArgs& a) {
  check_pool(a, "int16 max pool");
  pool_detail::pool_window<true>(a, kInt16Min);  // numeric_limits<int16_t>::lowest()
}

void int16_average_pool(const Int16PoolArgs& a) {
  check_pool(a, "int16 average pool");
  pool_detail::pool_window<false>(a, kInt16Min);
}

// ---------------------------------------------------------------------------------------
// MUL, MEAN, LOGISTIC.

void int16_mul(const int16_t* a, const QuantParams& pa, const int16_t* b, const QuantParams& pb,
               int c, int h, int w, bool b_per_channel, const QuantParams& out, int32_t act_min,
               int32_t act_max, RequantRounding rounding, int16_t* y) {
  const std::string op = "int16 mul";
  check_int16_params(pa, op, "first input");
  check_int16_params(pb, op, "second input");
  check_int16_params(out, op, "output");
  check_act16(act_min, act_max, op);
  if (c < 1 || h < 1 || w < 1) {
    throw Error(op + ": shape " + std::to_string(c) + "x" + std::to_string(h) + "x" +
                std::to_string(w) + " is empty");
  }
  const QuantizedMultiplier m =
      checked_multiplier(static_cast<double>(pa.scale) * static_cast<double>(pb.scale) /
                             static_cast<double>(out.scale),
                         rounding, op, "s1 · s2 / s_out");
  const int64_t hw = static_cast<int64_t>(h) * w;
  for (int ch = 0; ch < c; ++ch) {
    for (int64_t p = 0; p < hw; ++p) {
      const int64_t i = ch * hw + p;
      const int32_t bv = b_per_channel ? b[ch] : b[i];
      const int32_t v = MultiplyByQuantizedMultiplier(int32_t{a[i]} * bv, m, rounding);
      y[i] = static_cast<int16_t>(clamp_i32(v, act_min, act_max));
    }
  }
}

void int16_mean_hw(const int16_t* x, int c, int h, int w, const QuantParams& in,
                   const QuantParams& out, RequantRounding rounding, int16_t* y) {
  const std::string op = "int16 mean";
  check_int16_params(in, op, "input");
  check_int16_params(out, op, "output");
  const int64_t n = static_cast<int64_t>(h) * w;
  if (c < 1 || n < 1 || n > (int64_t{1} << 16)) {
    throw Error(op + ": " + std::to_string(h) + "x" + std::to_string(w) +
                " is empty or too large for an int32 sum of int16 values (at most 65536)");
  }
  const QuantizedMultiplier m = MeanMultiplier(requant_multiplier(in, out, rounding, op), n);
  for (int ch = 0; ch < c; ++ch) {
    int32_t sum = 0;
    const int16_t* p = x + ch * n;
    for (int64_t i = 0; i < n; ++i) sum += p[i];
    const int32_t v = MultiplyByQuantizedMultiplier(sum, m, rounding);
    y[ch] = static_cast<int16_t>(clamp_i32(v, kInt16Min, kInt16Max));
  }
}

const uint16_t* int16_sigmoid_table() {
  // TFLite's sigmoid_table_uint16 (tensorflow/lite/kernels/internal/common.h; the same
  // table in CMSIS-NN's arm_nntables.c): sigmoid(i / 24) in 0.16 fixed point.
  static const uint16_t kTable[256] = {
      32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794,
      41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443,
      48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374,
      54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544,
      58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279,
      61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990,
      63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030,
      64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652,
      64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019,
      65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234,
      65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
      65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
      65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476,
      65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498, 65500, 65501,
      65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
      65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
      65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529,
      65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532,
      65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65534, 65534,
      65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535};
  return kTable;
}

QuantParams int16_logistic_output_params() {
  return QuantParams{1.0f / 32768.0f, 0};
}

Int16Logistic int16_logistic_prepare(const QuantParams& in) {
  const std::string op = "int16 logistic";
  check_int16_params(in, op, "input");
  constexpr int kInputIntegerBits = 3;
  Int16Logistic p;
  int log2_scale = 0;
  const bool pot = checked_log2(in.scale, &log2_scale);
  if (pot && (15 - kInputIntegerBits) + log2_scale == 0) return p;  // 3 << 0
  double m = static_cast<double>(in.scale) * 4096.0 * 3.0;
  p.shift = 0;
  while (m <= 32767.0 / 2.0 && p.shift <= 30) {
    ++p.shift;
    m *= 2.0;
  }
  if (m > 32767.0) {
    throw Error(op + ": input scale " + std::to_string(in.scale) +
                " is too coarse for TFLite's int16 logistic (multiplier " + std::to_string(m) +
                " above 32767; the input range must stay below about 87 000)");
  }
  p.multiplier = static_cast<int32_t>(m);
  return p;
}

void int16_logistic(const int16_t* x, int64_t n, const QuantParams& in, int16_t* y) {
  const Int16Logistic p = int16_logistic_prepare(in);
  const uint16_t* t = int16_sigmoid_table();
  const int32_t round = p.shift > 0 ? int32_t{1} << (p.shift - 1) : 0;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = (int32_t{x[i]} * p.multiplier + round) >> p.shift;
    const uint32_t a = static_cast<uint32_t>(std::abs(v));
    const uint32_t u = a >> 9;
    uint32_t r;
    if (u >= 255) {
      r = uint32_t{0x7FFF} << 10;
    } else {
      const uint32_t ua = t[u], ub = t[u + 1];
      r = (ua << 9) + (a & 0x1ff) * (ub - ua);
    }
    r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1;
    y[i] = static_cast<int16_t>(r >> 10);
  }
}

}  // namespace dalnas
