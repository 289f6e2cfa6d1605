#pragma once
// TFLite's fixed-point requantization, bit for bit: a real multiplier M as an int32 Q0.31
// mantissa and a power-of-two exponent (QuantizeMultiplier), and x·M computed in integers
// (MultiplyByQuantizedMultiplier) in TFLite's two build variants. The names are TFLite's,
// kept so that each function can be read side by side with its source:
//   tensorflow/lite/kernels/internal/quantization_util.cc  QuantizeMultiplier
//   tensorflow/lite/kernels/internal/common.cc             MultiplyByQuantizedMultiplier
//   gemmlowp fixedpoint/fixedpoint.h (TFLite's dependency) SaturatingRoundingDoublingHighMul,
//                                                          RoundingDivideByPOT
// Integer overflow: where TFLite's C++ would overflow a signed int (functions marked
// TFLITE_NO_SANITIZE_INTEGER_OVERFLOW there), these functions wrap modulo 2^32, which is
// what TFLite's builds do on every two's-complement target; here it is defined behaviour.
#include <cstdint>
#include <limits>

namespace dalnas {

// Which MultiplyByQuantizedMultiplier TFLite was built with:
//   Double: the default (TFLITE_SINGLE_ROUNDING unset or 0): gemmlowp's rounding doubling
//           high multiply, then a rounding right shift; two roundings.
//   Single: TFLITE_SINGLE_ROUNDING=1: one 64-bit product, one rounding (ties up).
// (Not `Rounding`: precision/half.h has dalnas::Rounding for float -> half.)
enum class RequantRounding { Double, Single };

const char* to_string(RequantRounding r);

// M ≈ multiplier · 2^(shift − 31), multiplier in [2^30, 2^31) (or 0).
struct QuantizedMultiplier {
  int32_t multiplier = 0;
  int shift = 0;  // > 0: left shift; < 0: right shift
};

// TFLite QuantizeMultiplier (quantization_util.cc), non-TFLITE_EMULATE_FLOAT branch:
//   M == 0                → {0, 0}
//   q, shift = frexp(M)   (q in [0.5, 1))
//   q_fixed = round(q·2^31) with TfLiteRound = std::round (cppmath.h): ties away from zero
//   q_fixed == 2^31       → q_fixed /= 2, ++shift
//   shift < −31           → {0, 0} (flush to zero)
//   Single only: shift > 30 → {2^31 − 1, 30}
// TFLite TFLITE_CHECKs q_fixed <= 2^31 (true for every finite M); a NaN or infinite M
// throws dalnas::Error here.
QuantizedMultiplier QuantizeMultiplier(double m,
                                       RequantRounding rounding = RequantRounding::Double);

// gemmlowp SaturatingRoundingDoublingHighMul (int32 specialisation, = ARM VQRDMULH):
//   overflow = (a == b == INT32_MIN) → INT32_MAX
//   ab = int64(a)·b; nudge = ab >= 0 ? 2^30 : 1 − 2^30; result = (ab + nudge) / 2^31
//   with C++ division truncating toward zero. That is floor((ab + 2^30) / 2^31): the
//   nearest integer to ab/2^31, ties toward +infinity (see the test for the proof cases).
inline int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  const bool overflow = a == b && a == std::numeric_limits<int32_t>::min();
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  const int32_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  const int32_t high = static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
  return overflow ? std::numeric_limits<int32_t>::max() : high;
}

// gemmlowp RoundingDivideByPOT (scalar int32): x / 2^exponent rounded to nearest, ties
// away from zero, exponent in [0, 31]:
//   mask = 2^exponent − 1; remainder = x & mask
//   threshold = (mask >> 1) + (x < 0 ? 1 : 0)
//   result = (x >> exponent) + (remainder > threshold ? 1 : 0)   (>> arithmetic)
inline int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// TFLite MultiplyByQuantizedMultiplier(int32 x, int32 m, int shift), common.cc.
// Double (default build):
//   left = max(shift, 0); right = max(−shift, 0)
//   RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x · 2^left, m), right)
//   (x · 2^left wraps modulo 2^32 as in TFLite's unsanitised build)
// Single (TFLITE_SINGLE_ROUNDING):
//   total = 31 − shift; r = (int64(x)·m + 2^(total−1)) >> total; (int32) r
//   (the cast keeps the low 32 bits; TFLite only DCHECKs that r fits)
// Preconditions (TFLite's DCHECKs; not checked here, in the inner loop): shift in
// [−31, 30]; for Single also m >= 0. int8_conv checks them once per layer.
inline int32_t MultiplyByQuantizedMultiplier(int32_t x, int32_t m, int shift,
                                             RequantRounding rounding = RequantRounding::Double) {
  if (rounding == RequantRounding::Single) {
    const int total_shift = 31 - shift;
    const int64_t round = int64_t{1} << (total_shift - 1);
    const int64_t result = (static_cast<int64_t>(x) * m + round) >> total_shift;
    return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(result)));
  }
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const int32_t shifted = static_cast<int32_t>(static_cast<uint32_t>(x) << left_shift);
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(shifted, m), right_shift);
}

// Overload taking a QuantizedMultiplier.
inline int32_t MultiplyByQuantizedMultiplier(int32_t x, QuantizedMultiplier q,
                                             RequantRounding rounding = RequantRounding::Double) {
  return MultiplyByQuantizedMultiplier(x, q.multiplier, q.shift, rounding);
}

// MEAN's 1/N folded into the multiplier q of s_in / s_out, as reference_ops::
// QuantizedMeanOrSum does it (n >= 1):
//   sh = min(floor(log2 n), 32, 31 + q.shift)    (63 − CountLeadingZeros(n) = floor(log2 n))
//   {(int32)((int64(q.multiplier) << sh) / n), q.shift − sh}
inline QuantizedMultiplier MeanMultiplier(QuantizedMultiplier q, int64_t n) {
  int sh = 0;
  while ((n >> (sh + 1)) != 0) ++sh;
  sh = sh < 32 ? sh : 32;
  sh = sh < 31 + q.shift ? sh : 31 + q.shift;
  QuantizedMultiplier r;
  r.multiplier = static_cast<int32_t>((static_cast<int64_t>(q.multiplier) << sh) / n);
  r.shift = q.shift - sh;
  return r;
}

}  // namespace dalnas
