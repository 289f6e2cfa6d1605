#pragma once
// Bit-exact IEEE 754 binary16 ("half", FP16) conversions in plain C++.
//
// float -> half rounds to nearest, ties to even, with gradual underflow (subnormals)
// unless flushing is requested. Values beyond the largest finite half (65504)
// become ±inf (Overflow::Inf, IEEE behaviour) or ±65504 (Overflow::Saturate).
// NaN stays NaN (quiet, sign kept). half -> float is exact.
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
constexpr float kHalfMinNormal = 6.103515625e-05f;      // 2^-14
constexpr float kHalfMinSubnormal = 5.9604644775390625e-08f;  // 2^-24

uint16_t float_to_half(float f, HalfMode mode = {});
float half_to_float(uint16_t h);
// float -> half -> float in one step.
float round_to_half(float f, HalfMode mode = {});

// Rounds n floats in place (or src -> dst) through half. Uses F16C when the CPU has it
// and the mode allows (F16C implements IEEE behaviour: Inf overflow, kept subnormals);
// otherwise the scalar path. Results are identical either way.
void round_to_half(const float* src, float* dst, size_t n, HalfMode mode = {});
// Forces the scalar reference path (for tests and debugging).
void round_to_half_scalar(const float* src, float* dst, size_t n, HalfMode mode = {});
// True if the running CPU supports F16C.
bool cpu_has_f16c();

}  // namespace dalnas
