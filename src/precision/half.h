#pragma once
// Bit-exact IEEE 754 binary16 ("half", FP16) conversions in plain C++.
//
// float -> half rounds to nearest, ties to even (or away from zero, Rounding), with
// gradual underflow (subnormals) unless flushing or MinNormal is requested. Values beyond the
// largest finite half (65504) become ±inf (Overflow::Inf, IEEE behaviour) or ±65504
// (Overflow::Saturate). NaN stays NaN (quiet, sign kept). half -> float is exact.
//
// Precise rules (identical to the x86 F16C instructions in the default mode):
// - Overflow: a finite float rounds beyond the half range iff |f| >= 65520 (the tie
//   between 65504 and 2^16 goes "to even", i.e. up). Such values become ±inf, or ±65504
//   with Overflow::Saturate. An input that is already ±inf stays ±inf in both modes.
// - Subnormals::Flush flushes *results*: a value whose correctly rounded half is
//   subnormal (|result| < 2^-14) becomes a zero of the input's sign. A float just below
//   2^-14 that rounds up to 2^-14 is kept. (Subnormal float inputs are far below the half
//   range and become ±0 in every mode.) Half subnormals given to half_to_float are
//   always converted exactly; flushing applies only on the way into half.
// - NaN: the result is sign | 0x7e00 | (top 10 payload bits of the float), i.e. quiet
//   with the sign and the top payload bits kept. half_to_float of a NaN half gives
//   sign | 0x7fc00000 | payload << 13 (quietened, as F16C's vcvtph2ps does).
#include <cstddef>
#include <cstdint>

namespace dalnas {

enum class Overflow { Inf, Saturate };
// Keep: gradual underflow (IEEE). Flush: subnormal results become a signed zero.
// MinNormal: OpenVINO's f32tof16 rule (no subnormals): a value whose magnitude, rounded
// to 11 significant bits with the mode's rounding (exponent unbounded), is below 2^-15
// becomes a signed zero, and one in [2^-15, 2^-14) becomes ±2^-14.
enum class Subnormals { Keep, Flush, MinNormal };
// Ties of the rounding to 11 significant bits: to even (IEEE, NumPy, F16C) or away from
// zero (OpenVINO's InferenceEngine::PrecisionUtils::f32tof16: adds half an ULP and
// truncates).
enum class Rounding { NearestEven, NearestAway };

struct HalfMode {
  Overflow overflow = Overflow::Inf;
  Subnormals subnormals = Subnormals::Keep;
  Rounding rounding = Rounding::NearestEven;

  // True for the modes F16C's conversion computes directly (ties to even, subnormals
  // kept or flushed after the conversion).
  bool f16c_native() const {
    return rounding == Rounding::NearestEven && subnormals != Subnormals::MinNormal;
  }
  bool operator==(const HalfMode& o) const {
    return overflow == o.overflow && subnormals == o.subnormals && rounding == o.rounding;
  }
  bool operator!=(const HalfMode& o) const { return !(*this == o); }
};

// The two FP32 -> FP16 conversions of an OpenVINO deployment:
//   numpy: Model Optimizer's --data_type FP16 (NumPy astype: ties to even, overflow to
//          infinity, subnormals kept);
//   ie:    the plugin's InferenceEngine::PrecisionUtils::f32tof16 (ties away from zero,
//          saturation at ±65504, MinNormal underflow).
constexpr HalfMode kNumpyHalf{Overflow::Inf, Subnormals::Keep, Rounding::NearestEven};
constexpr HalfMode kIeHalf{Overflow::Saturate, Subnormals::MinNormal, Rounding::NearestAway};

constexpr float kHalfMax = 65504.0f;
constexpr float kHalfMinNormal = 6.103515625e-05f;            // 2^-14
constexpr float kHalfMinSubnormal = 5.9604644775390625e-08f;  // 2^-24
// The smallest float magnitude that rounds beyond kHalfMax (overflows).
constexpr float kHalfOverflowThreshold = 65520.0f;

uint16_t float_to_half(float f, HalfMode mode = {});
float half_to_float(uint16_t h);
// float -> half -> float in one step.
float round_to_half(float f, HalfMode mode = {});

// Rounds n floats src -> dst through half (src == dst, in place, is allowed). Uses SIMD
// (run-time dispatch, half_isa()) when the CPU has it: AVX-512 16 floats at a time, else
// AVX2 + F16C 8 at a time (the F16C-native modes need only AVX + F16C); the native modes
// use the F16C conversion with Saturate / Flush applied by vector masks, the others
// integer arithmetic on the float bits (precision/half_simd.h). Otherwise the scalar path.
// Results are bit-identical either way, in every mode. DALNAS_NO_SIMD=1 in the
// environment forces the scalar path.
void round_to_half(const float* src, float* dst, size_t n, HalfMode mode = {});
// Forces the scalar reference path (for tests and debugging).
void round_to_half_scalar(const float* src, float* dst, size_t n, HalfMode mode = {});

// Bulk conversions (storage in FP16), same dispatch and guarantees as above.
void float_to_half(const float* src, uint16_t* dst, size_t n, HalfMode mode = {});
void half_to_float(const uint16_t* src, float* dst, size_t n);
void float_to_half_scalar(const float* src, uint16_t* dst, size_t n, HalfMode mode = {});
void half_to_float_scalar(const uint16_t* src, float* dst, size_t n);

// The code paths of the array conversions float -> half.
enum class HalfIsa { Scalar, AVX2, AVX512 };
const char* to_string(HalfIsa isa);  // "scalar", "avx2", "avx512"
// True if this CPU runs `isa` for `mode`: Scalar always; AVX2: F16C (native modes) or
// AVX2 + F16C (the others); AVX512: AVX-512 F/DQ/BW/VL with AVX2 and F16C.
bool half_isa_supported(HalfIsa isa, HalfMode mode);
// The path round_to_half / float_to_half (arrays) take for `mode`: the widest supported
// one, Scalar when half_simd_enabled() is false.
HalfIsa half_isa(HalfMode mode);
// The array conversions on a given path (tests, benchmarks); throw std::invalid_argument if
// !half_isa_supported(isa, mode). DALNAS_NO_SIMD does not apply.
void round_to_half_isa(HalfIsa isa, const float* src, float* dst, size_t n, HalfMode mode = {});
void float_to_half_isa(HalfIsa isa, const float* src, uint16_t* dst, size_t n, HalfMode mode = {});

// True if the running CPU supports F16C (and AVX, with OS support).
bool cpu_has_f16c();
// AVX2 and F16C.
bool cpu_has_avx2_f16c();
// AVX-512 F, DQ, BW and VL, with AVX2 and F16C.
bool cpu_has_avx512();
// True if the array functions above use a SIMD path: the CPU has F16C and the
// environment variable DALNAS_NO_SIMD is not "1" (read once, at first use).
bool half_simd_enabled();

}  // namespace dalnas
