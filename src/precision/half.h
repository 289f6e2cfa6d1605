#pragma once
// Bit-exact IEEE 754 binary16 ("half", FP16) conversions in plain C++.
//
// float -> half rounds to nearest, ties to even, with gradual underflow (subnormals)
// unless flushing is requested. Values beyond the largest finite half (65504)
// become ±inf (Overflow::Inf, IEEE behaviour) or ±65504 (Overflow::Saturate).
// NaN stays NaN (quiet, sign kept). half -> float is exact.
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
enum class Subnormals { Keep, Flush };

struct HalfMode {
  Overflow overflow = Overflow::Inf;
  Subnormals subnormals = Subnormals::Keep;
};

constexpr float kHalfMax = 65504.0f;
constexpr float kHalfMinNormal = 6.103515625e-05f;            // 2^-14
constexpr float kHalfMinSubnormal = 5.9604644775390625e-08f;  // 2^-24
// The smallest float magnitude that rounds beyond kHalfMax (overflows).
constexpr float kHalfOverflowThreshold = 65520.0f;

uint16_t float_to_half(float f, HalfMode mode = {});
float half_to_float(uint16_t h);
// float -> half -> float in one step.
float round_to_half(float f, HalfMode mode = {});

// Rounds n floats src -> dst through half (src == dst, in place, is allowed). Uses F16C
// (8 floats at a time, run-time dispatch) when the CPU has it, with Saturate / Flush
// applied by vector masks; otherwise the scalar path. Results are bit-identical either
// way, in every mode. DALNAS_NO_SIMD=1 in the environment forces the scalar path.
void round_to_half(const float* src, float* dst, size_t n, HalfMode mode = {});
// Forces the scalar reference path (for tests and debugging).
void round_to_half_scalar(const float* src, float* dst, size_t n, HalfMode mode = {});

// Bulk conversions (storage in FP16), same dispatch and guarantees as above.
void float_to_half(const float* src, uint16_t* dst, size_t n, HalfMode mode = {});
void half_to_float(const uint16_t* src, float* dst, size_t n);
void float_to_half_scalar(const float* src, uint16_t* dst, size_t n, HalfMode mode = {});
void half_to_float_scalar(const uint16_t* src, float* dst, size_t n);

// True if the running CPU supports F16C (and AVX, with OS support).
bool cpu_has_f16c();
// True if the array functions above use the F16C path: the CPU has it and the
// environment variable DALNAS_NO_SIMD is not "1" (read once, at first use).
bool half_simd_enabled();

}  // namespace dalnas
