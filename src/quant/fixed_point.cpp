#include "quant/fixed_point.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace dalnas {

const char* to_string(RequantRounding r) {
  return r == RequantRounding::Single ? "single" : "double";
}

QuantizedMultiplier QuantizeMultiplier(double m, RequantRounding rounding) {
  if (!std::isfinite(m)) {
    throw Error("QuantizeMultiplier: the real multiplier " + std::to_string(m) + " is not finite");
  }
  // quantization_util.cc: `if (double_multiplier == 0.) { *quantized_multiplier = 0;
  // *shift = 0; return; }`
  if (m == 0.0) return {};
  int shift = 0;
  // `const double q = std::frexp(double_multiplier, shift);
  //  auto q_fixed = static_cast<int64_t>(TfLiteRound(q * (1LL << 31)));`
  const double q = std::frexp(m, &shift);
  int64_t q_fixed = static_cast<int64_t>(std::round(q * static_cast<double>(int64_t{1} << 31)));
  // `if (q_fixed == (1LL << 31)) { q_fixed /= 2; ++*shift; }`
  if (q_fixed == (int64_t{1} << 31)) {
    q_fixed /= 2;
    ++shift;
  }
  // `if (*shift < -31) { *shift = 0; q_fixed = 0; }`
  if (shift < -31) {
    shift = 0;
    q_fixed = 0;
  }
  // `#if TFLITE_SINGLE_ROUNDING  if (*shift > 30) { *shift = 30; q_fixed = (1LL << 31) - 1; }`
  if (rounding == RequantRounding::Single && shift > 30) {
    shift = 30;
    q_fixed = (int64_t{1} << 31) - 1;
  }
  return {static_cast<int32_t>(q_fixed), shift};
}

}  // namespace dalnas
