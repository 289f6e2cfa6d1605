#pragma once
// TFLite's "16x8" quantization (int16 activations, int8 weights), bit for bit, on NCHW
// tensors. The arithmetic and the preconditions are those of TFLite's kernels; each function
// names its source:
//   kernels/internal/common.cc                       MultiplyByQuantizedMultiplier(int64_t x)
//   kernels/internal/reference/integer_ops/conv.h    ConvPerChannel (int16 input, int64 bias)
//   kernels/internal/reference/integer_ops/depthwise_conv.h  DepthwiseConvPerChannel (int16)
//   kernels/add.cc Prepare + kernels/internal/reference/add.h  Add / AddGeneralParamScale
//   kernels/quantize.cc + kernels/internal/reference/requantize.h  Requantize
//   kernels/internal/reference/integer_ops/pooling.h MaxPool / AveragePool (int16)
//   tools/optimize/quantization_utils.cc             GetSymmetricQuantizationParams
// TFLite's 16x8 scheme (quantization_spec.md, post-training integer quantization with int16
// activations): activations symmetric per tensor, zero point 0, scale = max|range| / 32767;
// weights as for int8 (symmetric per channel, [−127, 127], quant/quant_params.h); bias int64
// with scale s_in · s_w[c]. Where TFLite CHECKs or ENSUREs a precondition, these functions
// throw dalnas::Error naming the operation, the field and what is wrong.
#include <cstdint>
#include <limits>
#include <vector>

#include "quant/conv_params.h"
#include "quant/fixed_point.h"
#include "quant/int8_conv.h"
#include "quant/quant_params.h"

namespace dalnas {

// The 16-bit multiplier of TFLite's int64 MultiplyByQuantizedMultiplier (common.cc):
//   m < 0x7FFF0000 ? (m + 2^15) >> 16 : 0x7FFF
// (m in [0, 2^31); the cap keeps m + 2^15 from overflowing and the result below 2^15).
inline int32_t ReducedMultiplierInt16(int32_t m) {
  return m < 0x7FFF0000 ? (m + (1 << 15)) >> 16 : 0x7FFF;
}

// TFLite MultiplyByQuantizedMultiplier(int64_t x, int32_t m, int shift), common.cc; the same
// code in both builds (TFLITE_SINGLE_ROUNDING or not), so no RequantRounding here:
//   r = ReducedMultiplierInt16(m); total_shift = 15 − shift
//   result = (x · r + 2^(total_shift − 1)) >> total_shift   (int64, >> arithmetic)
//   return (int32) result                                    (the low 32 bits)
// One rounding: the nearest integer to x·r / 2^total_shift, ties toward +infinity
// (−1.5 → −1, 1.5 → 2). TFLite's preconditions (DCHECK/assert, not checked here: int16_conv
// checks them once per layer): m >= 0, shift in [−31, 7], |x| < 2^47. The product and the
// sum wrap modulo 2^64 here (TFLITE_NO_SANITIZE_INTEGER_OVERFLOW there).
inline int32_t MultiplyByQuantizedMultiplierInt64(int64_t x, int32_t m, int shift) {
  const int total_shift = 15 - shift;
  const uint64_t prod = static_cast<uint64_t>(x) *
                        static_cast<uint64_t>(static_cast<int64_t>(ReducedMultiplierInt16(m)));
  const uint64_t sum = prod + (uint64_t{1} << (total_shift - 1));
  const int64_t result = static_cast<int64_t>(sum) >> total_shift;
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(result)));
}

// ---------------------------------------------------------------------------------------
// Parameters and float <-> int16.

// TFLite GetSymmetricQuantizationParams (tools/optimize/quantization_utils.cc) with
// half_quant_range = 32767, as GetQuantizationParams calls it for TensorType_INT16
// activations, all in float:
//   min = min(min, 0); max = max(max, 0)
//   scale = max(|max|, |min|) / 32767;  zero point 0
// min > max or a non-finite bound throws dalnas::Error. (The range [min, max] maps into
// [−32767, 32767]; −32768 stays representable and is what the kernels' clamps allow.)
QuantParams symmetric_int16_params(float min, float max);

// The int64 bias of a 16x8 convolution: quantize_bias_int64_per_channel (conv_params.h).

// TFLite QUANTIZE float -> int16 (reference_ops::AffineQuantize, OutputT = int16_t):
//   unclamped = TfLiteRound(x / float(scale)) + zero_point   (std::round on the float
//                                                              quotient: ties away from 0)
//   q = clamp(unclamped, −32768, 32767)                       (numeric_limits<int16_t>)
// The sum and the clamp are done in double here, so that a quotient beyond int32 saturates
// (TFLite's int32 cast is undefined there). NaN gives the zero point.
int16_t quantize_int16(float x, const QuantParams& p);
void quantize_int16(const float* x, int64_t n, const QuantParams& p, int16_t* out);

// TFLite reference Dequantize: real = (float)(double(scale) · (q − zero_point)).
float dequantize_int16(int16_t q, const QuantParams& p);
void dequantize_int16(const int16_t* q, int64_t n, const QuantParams& p, float* out);

// The int16 clamp of a fused activation (kernels/kernel_util.cc,
// CalculateActivationRangeQuantized for kTfLiteInt16: qmin −32768, qmax 32767):
//   q(f) = z_out + (int32) TfLiteRound(f / s_out)
//   Relu: [max(qmin, q(0)), qmax]; Relu6: [max(qmin, q(0)), min(qmax, q(6))];
//   ReluN1To1: [max(qmin, q(−1)), min(qmax, q(1))]; None: [qmin, qmax]
// Throws dalnas::Error if s_out is not finite and > 0.
ActivationRange activation_range_int16(FusedActivation act, const QuantParams& out);

// ---------------------------------------------------------------------------------------
// CONV_2D / DEPTHWISE_CONV_2D with int16 input and output, int8 weights, int64 bias
// (reference_integer_ops::ConvPerChannel<int64_t> for int16 input; DepthwiseConvPerChannel
// for int16 is the same arithmetic with groups == c_in, out channel = m + ic · multiplier):
//   acc  = Σ_{taps inside the image} w[oc][ic][ky][kx] · x[ic][iy][ix]     (int64; no input
//          offset: TFLite requires zero point 0 and omits taps outside the image)
//   acc += bias[oc]                                     (int64, if bias != nullptr)
//   r    = MultiplyByQuantizedMultiplierInt64(acc, multiplier[oc], shift[oc])  (above)
//   out  = (int16) clamp(r, act_min, act_max)           (no output offset: zero point 0)
// |w · x| <= 128 · 32768 = 2^22, so the int64 sum cannot overflow below 2^41 taps; a bias
// near the int64 limits wraps modulo 2^64 here (undefined in TFLite).
// Multipliers as for int8 (kernel_util.cc PopulateConvolutionQuantizationParams:
// QuantizeMultiplier(double(s_in) · double(s_w[c]) / double(s_out)); conv_requant() in
// quant/conv_params.h computes them). Layout and grouping as Int8ConvArgs
// (quant/int8_conv.h): NCHW input, OIHW weights c_out × (c_in / groups) × k × k, group =
// oc / (c_out / groups); dilation 1; square kernel; symmetric padding.
//
// One scalar reference and an AVX2 path equal to it bit for bit. The AVX2 path multiplies
// with vpmaddwd into int32 partial sums over at most 128 tap pairs (|sum| <= 2^30) and widens
// them to int64 before they could overflow. There is no AVX-512 VNNI path: VNNI's vpdpwssd
// is an int32 accumulation of the same int16 pairs, so it would need the same chunking;
// best_int16_isa() is AVX2 on a VNNI CPU.
struct Int16ConvArgs {
  const int16_t* in = nullptr;  // batch × c_in × h × w
  int batch = 1, c_in = 1, h = 1, w = 1;
  // Must be 0 (the 16x8 scheme's zero point): TFLite's int16 ConvPerChannel has no input or
  // output offset at all, so another value would be silently ignored there.
  int32_t in_zero_point = 0;
  const int8_t* weight = nullptr;  // c_out × (c_in / groups) × kernel × kernel
  const int64_t* bias = nullptr;   // c_out values, or nullptr
  int c_out = 1, kernel = 1, stride = 1, pad = 0, groups = 1;
  const int32_t* multiplier = nullptr;  // c_out, >= 0 (QuantizeMultiplier)
  const int* shift = nullptr;           // c_out, in [−31, 7] (common.cc's DCHECK)
  int32_t out_zero_point = 0;           // must be 0
  int32_t act_min = -32768, act_max = 32767;
  int16_t* out = nullptr;  // batch × c_out × out_h() × out_w()

  int out_h() const { return (h + 2 * pad - kernel) / stride + 1; }
  int out_w() const { return (w + 2 * pad - kernel) / stride + 1; }
};

// Throws dalnas::Error naming the field when the arguments are inconsistent: null pointers,
// sizes, groups, a zero point != 0, an activation range outside [−32768, 32767] or with
// min > max, a multiplier < 0 or a shift outside [−31, 7].
void check(const Int16ConvArgs& a);

// Whether this CPU runs the int16 path `isa` (Scalar; AVX2; AVX512VNNI: never, see above).
bool int16_isa_supported(Int8Isa isa);
// The best supported path: AVX2 if this CPU has it, else Scalar; Scalar when
// DALNAS_NO_SIMD=1.
Int8Isa best_int16_isa();

// Checks the arguments and runs the convolution on `isa` (throws dalnas::Error if the path
// is not available here).
void int16_conv(const Int16ConvArgs& a, Int8Isa isa);
// The same on best_int16_isa().
void int16_conv(const Int16ConvArgs& a);

// The paths themselves, without checks (internal; the tests call them through int16_conv).
void int16_conv_scalar(const Int16ConvArgs& a);
void int16_conv_avx2(const Int16ConvArgs& a);

// ---------------------------------------------------------------------------------------
// QUANTIZE between quantized types (reference_ops::Requantize, requantize.h), with
// M = double(s_in) / double(s_out) by QuantizeMultiplier (quantize.cc Prepare):
//   y = clamp(MultiplyByQuantizedMultiplier(x − z_in, M) + z_out, out_min, out_max)
// (the int32 MultiplyByQuantizedMultiplier of fixed_point.h, in `rounding`'s variant;
// [out_min, out_max] the output type's full range). Equal parameters give M = 1 exactly
// ({2^30, 1}), i.e. a copy.
// int16 -> int8 and int16 -> int16 are TFLite's QUANTIZE (quantize.cc; int16 -> int16 requires
// both zero points 0). int8 -> int16 is not a TFLite (kernels/quantize.cc) path; it is TFLite
// Micro's (micro/kernels/quantize_common.cc), with the same Requantize.
// Zero points: int8 in [−128, 127]; int16 must be 0. Scales finite and > 0; M's shift must
// be in [−31, 30].
void int8_to_int16_requantize(const int8_t* x, int64_t n, const QuantParams& in,
                              const QuantParams& out, RequantRounding rounding, int16_t* y);
void int16_to_int8_requantize(const int16_t* x, int64_t n, const QuantParams& in,
                              const QuantParams& out, RequantRounding rounding, int8_t* y);
void int16_requantize(const int16_t* x, int64_t n, const QuantParams& in, const QuantParams& out,
                      RequantRounding rounding, int16_t* y);

// ADD with int16 inputs and output (all zero points 0: add.cc Prepare ENSUREs it).
// General path (pot_scale_int16 false, or any scale not a power of two; the
// AddGeneralParamScale / AddElementwise of reference/add.h):
//   left_shift = 15; T = 2·max(s1, s2) (float, stored in double)
//   M1 = s1 / T, M2 = s2 / T, Mo = T / (2^15 · s_out), each by
//   QuantizeMultiplierSmallerThanOneExp (must be in (0, 1): TFLite CHECKs it)
//   y = clamp(MBQM(MBQM(a·2^15, M1) + MBQM(b·2^15, M2), Mo), act_min, act_max)
//   (int32 throughout: |a·2^15| <= 2^30; MBQM = fixed_point.h, in `rounding`'s variant)
// Power-of-two path (TfLiteAddParams::pot_scale_int16 true and CheckedLog2 finds
// all three scales powers of two: |log2 s − round(log2 s)| < 1e-3 in float):
//   e_i = round(log2 s_i) − round(log2 s_out); TFLite ENSUREs e1 <= 0, e2 <= 0 and one of
//   them 0; the shifted input is divided by 2^−e with gemmlowp's int16 RoundingDivideByPOT
//   (ties away from zero; the int16 instantiation, exponent in [0, 31]), then
//   y = clamp(SaturatingAdd16(shifted, other), act_min, act_max)  (saturating to int16)
void int16_add(const int16_t* a, const QuantParams& pa, const int16_t* b, const QuantParams& pb,
               int64_t n, const QuantParams& out, int32_t act_min, int32_t act_max,
               RequantRounding rounding, int16_t* y, bool pot_scale_int16 = false);

// gemmlowp RoundingDivideByPOT<int16_t> (fixedpoint.h) as TFLite's POT add calls it:
// every intermediate is an int16 (mask = int16(2^e − 1), so that for e >= 16 the mask is
// −1: x >= 0 gives 1 and x < 0 gives −1). e in [0, 31].
int16_t RoundingDivideByPOTInt16(int16_t x, int exponent);

// MAX_POOL_2D / AVERAGE_POOL_2D for int16 (reference_integer_ops::MaxPool / AveragePool,
// int16 overloads), one C × H × W tensor, taps outside the image skipped:
//   max: y = clamp(max over taps, act_min, act_max)
//   average: acc = Σ taps (int32), n = taps inside the image,
//            y = clamp(acc > 0 ? (acc + n/2) / n : (acc − n/2) / n, act_min, act_max)
// The window must hold at most 2^16 taps (the int32 sum of int16 values).
struct Int16PoolArgs {
  const int16_t* in = nullptr;
  int c = 1, h = 1, w = 1;
  int kernel = 2, stride = 2, pad = 0;
  int32_t act_min = -32768, act_max = 32767;
  int16_t* out = nullptr;
  int out_h() const { return (h + 2 * pad - kernel) / stride + 1; }
  int out_w() const { return (w + 2 * pad - kernel) / stride + 1; }
};
// Throws dalnas::Error naming `op` when the window does not fit, a pointer is null, the
// activation range is not inside [−32768, 32767] or the window exceeds 2^16 taps.
void check_pool(const Int16PoolArgs& a, const char* op);
void int16_max_pool(const Int16PoolArgs& a);
void int16_average_pool(const Int16PoolArgs& a);

// MUL with int16 inputs and output (kernels/mul.cc Prepare: M = double(s1)·double(s2) /
// double(s_out) by QuantizeMultiplier; reference_integer_ops::MulElementwise<int16_t,
// int16_t> and its broadcast), all zero points 0:
//   y = clamp(MBQM(a·b, M), act_min, act_max)      (|a·b| <= 2^30: int32, no overflow)
// (MBQM = fixed_point.h's int32 MultiplyByQuantizedMultiplier, in `rounding`'s variant.)
// `b` has c·h·w values or c values (one per channel, broadcast over h × w: the SE gate).
void int16_mul(const int16_t* a, const QuantParams& pa, const int16_t* b, const QuantParams& pb,
               int c, int h, int w, bool b_per_channel, const QuantParams& out, int32_t act_min,
               int32_t act_max, RequantRounding rounding, int16_t* y);

// MEAN over H × W with int16 input and output (kernels/reduce.cc Prepare: M = double(s_in)
// / double(s_out) by QuantizeMultiplier, zero points 0 ENSUREd; reference_ops::
// QuantizedMeanOrSum<int16_t, int32_t>), per channel, the arithmetic of int8_mean_hw
// (quant/int8_ops.h) with int16's clamp:
//   N = h·w; sum = Σ q (int32); sh = min(floor(log2 N), 32, 31 + e)
//   M' = (int32)((int64(M0) << sh) / N); y = clamp(MBQM(sum, M', e − sh), −32768, 32767)
// N must be at most 2^16 (the int32 sum of int16 values). Output c × 1 × 1.
void int16_mean_hw(const int16_t* x, int c, int h, int w, const QuantParams& in,
                   const QuantParams& out, RequantRounding rounding, int16_t* y);

// LOGISTIC int16 -> int16 (kernels/activations.cc SigmoidPrepare for kTfLiteInt16;
// reference_integer_ops::Logistic, the int16 overload). Output parameters are fixed: scale
// exactly 1/32768, zero point 0 (int16_logistic_output_params()); the input's zero point 0.
// Prepare, from s_in:
//   if CheckedLog2(s_in) finds s_in = 2^−12 (a left shift of 0): multiplier 3, shift 0;
//   else m = s_in · 4096 · 3 (double), shift = 0, and while m <= 32767 / 2 and shift <= 30:
//        shift += 1, m *= 2; multiplier = (int32) m (TFLite DCHECKs multiplier <= 32767;
//        here a larger one, s_in > 32767 / 12288, throws dalnas::Error).
// Per value (int32 arithmetic, >> arithmetic):
//   v = (x · multiplier + (shift > 0 ? 2^(shift − 1) : 0)) >> shift    (1/(3·4096) units)
//   a = |v|; u = a >> 9
//   r = u >= 255 ? 0x7FFF << 10 : (T[u] << 9) + (a & 511) · (T[u + 1] − T[u])
//   r = v >= 0 ? r + 2^9 : 2^25 − r + 2^9 − 1;  y = r >> 10
// T is TFLite's sigmoid_table_uint16 (kernels/internal/common.h): sigmoid(i / 24) in 0.16
// fixed point, i = 0 .. 255. Its entries are not all round(65536 · sigmoid(i / 24)) (44 of
// the 256 are one above or below), so int16_sigmoid_table() returns TFLite's own values.
struct Int16Logistic {
  int32_t multiplier = 3;
  int shift = 0;
};
Int16Logistic int16_logistic_prepare(const QuantParams& in);
void int16_logistic(const int16_t* x, int64_t n, const QuantParams& in, int16_t* y);
QuantParams int16_logistic_output_params();
const uint16_t* int16_sigmoid_table();  // 256 entries

}  // namespace dalnas
