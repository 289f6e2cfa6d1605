#include "precision/half.h"

#include <cpuid.h>
#include <immintrin.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "precision/half_simd.h"

namespace dalnas {
namespace {

inline uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

constexpr uint32_t kExpMask = 0x7f800000u;           // float infinity
constexpr uint32_t kOverflowBits = 0x477ff000u;      // 65520.0f
constexpr uint32_t kMinNormalBits = 0x38800000u;     // 2^-14
constexpr uint32_t kHalfSubnormalTie = 0x33000000u;  // 2^-25: ties to 0
constexpr uint32_t kRebias = (127u - 15u) << 23;     // float exponent -> half exponent

// ---------------------------------------------------------------------------------------
// SIMD loops (precision/half_simd.h). Each is compiled for its ISA only and runs only
// after the CPU check said yes.

// 8 at a time, native modes: AVX + F16C suffice.
template <class M>
DALNAS_HALF_F16C void round_f16c(const float* src, float* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(src + i);
    _mm256_storeu_ps(dst + i, half_simd::round8_native<M::kSat, M::kFlush>(x));
  }
  if (i < n) {
    alignas(32) float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const size_t rest = n - i;
    std::memcpy(buf, src + i, rest * sizeof(float));
    _mm256_store_ps(buf, half_simd::round8_native<M::kSat, M::kFlush>(_mm256_load_ps(buf)));
    std::memcpy(dst + i, buf, rest * sizeof(float));
  }
}

template <class M>
DALNAS_HALF_F16C void to_half_f16c(const float* src, uint16_t* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(src + i);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     half_simd::to_half8_native<M::kSat, M::kFlush>(x));
  }
  if (i < n) {
    alignas(32) float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    alignas(16) uint16_t out[8];
    const size_t rest = n - i;
    std::memcpy(buf, src + i, rest * sizeof(float));
    _mm_store_si128(reinterpret_cast<__m128i*>(out),
                    half_simd::to_half8_native<M::kSat, M::kFlush>(_mm256_load_ps(buf)));
    std::memcpy(dst + i, out, rest * sizeof(uint16_t));
  }
}

// 8 at a time, every mode (the integer arithmetic needs AVX2).
template <class M>
DALNAS_HALF_AVX2 void round_avx2(const float* src, float* dst, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 x0 = _mm256_loadu_ps(src + i);
    const __m256 x1 = _mm256_loadu_ps(src + i + 8);
    _mm256_storeu_ps(dst + i, half_simd::round8<M>(x0));
    _mm256_storeu_ps(dst + i + 8, half_simd::round8<M>(x1));
  }
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(dst + i, half_simd::round8<M>(_mm256_loadu_ps(src + i)));
  }
  if (i < n) {
    alignas(32) float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const size_t rest = n - i;
    std::memcpy(buf, src + i, rest * sizeof(float));
    _mm256_store_ps(buf, half_simd::round8<M>(_mm256_load_ps(buf)));
    std::memcpy(dst + i, buf, rest * sizeof(float));
  }
}

template <class M>
DALNAS_HALF_AVX2 void to_half_avx2(const float* src, uint16_t* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     half_simd::to_half8<M>(_mm256_loadu_ps(src + i)));
  }
  if (i < n) {
    alignas(32) float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    alignas(16) uint16_t out[8];
    const size_t rest = n - i;
    std::memcpy(buf, src + i, rest * sizeof(float));
    _mm_store_si128(reinterpret_cast<__m128i*>(out), half_simd::to_half8<M>(_mm256_load_ps(buf)));
    std::memcpy(dst + i, out, rest * sizeof(uint16_t));
  }
}

// 16 at a time (AVX-512), masked tail.
template <class M>
DALNAS_HALF_AVX512 void round_avx512(const float* src, float* dst, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 x0 = _mm512_loadu_ps(src + i);
    const __m512 x1 = _mm512_loadu_ps(src + i + 16);
    _mm512_storeu_ps(dst + i, half_simd::round16<M>(x0));
    _mm512_storeu_ps(dst + i + 16, half_simd::round16<M>(x1));
  }
  for (; i < n; i += 16) {
    const size_t rest = n - i < 16 ? n - i : 16;
    const __mmask16 k = static_cast<__mmask16>((1u << rest) - 1u);
    _mm512_mask_storeu_ps(dst + i, k, half_simd::round16<M>(_mm512_maskz_loadu_ps(k, src + i)));
  }
}

template <class M>
DALNAS_HALF_AVX512 void to_half_avx512(const float* src, uint16_t* dst, size_t n) {
  size_t i = 0;
  for (; i < n; i += 16) {
    const size_t rest = n - i < 16 ? n - i : 16;
    const __mmask16 k = static_cast<__mmask16>((1u << rest) - 1u);
    _mm256_mask_storeu_epi16(dst + i, k,
                             half_simd::to_half16<M>(_mm512_maskz_loadu_ps(k, src + i)));
  }
}

DALNAS_HALF_F16C void from_half_f16c(const uint16_t* src, float* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  if (i < n) {
    alignas(16) uint16_t in[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    alignas(32) float out[8];
    const size_t rest = n - i;
    std::memcpy(in, src + i, rest * sizeof(uint16_t));
    _mm256_store_ps(out, _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(in))));
    std::memcpy(dst + i, out, rest * sizeof(float));
  }
}

void round_simd(HalfIsa isa, const float* src, float* dst, size_t n, HalfMode mode) {
  half_simd::with_mode(mode, [&](auto m) {
    using M = decltype(m);
    if (isa == HalfIsa::AVX512) {
      round_avx512<M>(src, dst, n);
    } else if constexpr (M::kNative) {
      round_f16c<M>(src, dst, n);  // also where the CPU has F16C but not AVX2
    } else {
      round_avx2<M>(src, dst, n);
    }
  });
}

void to_half_simd(HalfIsa isa, const float* src, uint16_t* dst, size_t n, HalfMode mode) {
  half_simd::with_mode(mode, [&](auto m) {
    using M = decltype(m);
    if (isa == HalfIsa::AVX512) {
      to_half_avx512<M>(src, dst, n);
    } else if constexpr (M::kNative) {
      to_half_f16c<M>(src, dst, n);
    } else {
      to_half_avx2<M>(src, dst, n);
    }
  });
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Scalar reference.

uint16_t float_to_half(float f, HalfMode mode) {
  const uint32_t x = bits_of(f);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7fffffffu;
  if (ax >= kExpMask) {
    if (ax == kExpMask) return uint16_t(sign | 0x7c00u);      // ±inf stays ±inf
    return uint16_t(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));  // quiet NaN
  }
  if (ax >= kOverflowBits) {
    return uint16_t(sign | (mode.overflow == Overflow::Saturate ? 0x7bffu : 0x7c00u));
  }
  const bool away = mode.rounding == Rounding::NearestAway;
  uint32_t h;
  if (mode.subnormals == Subnormals::MinNormal && ax < kMinNormalBits) {
    // Round to 11 significant bits (exponent unbounded), then compare with 2^-15 / 2^-14
    // (OpenVINO's f32tof16 adds half an ULP and compares; truncating to the grid does not
    // move a value across a power of two).
    const uint32_t r =
        away ? (ax + 0x1000u) & ~0x1fffu : (ax + 0x0fffu + ((ax >> 13) & 1u)) & ~0x1fffu;
    h = r < 0x38000000u ? 0u : 0x400u;  // 0x38000000: 2^-15
  } else if (ax >= kMinNormalBits) {
    // Rebias the exponent and round the 13 dropped mantissa bits; a mantissa carry moves
    // into the exponent, which is the correct result.
    h = away ? (ax - kRebias + 0x1000u) >> 13 : (ax - kRebias + 0x0fffu + ((ax >> 13) & 1u)) >> 13;
  } else if (ax > kHalfSubnormalTie || (away && ax == kHalfSubnormalTie)) {
    // Result is a half subnormal (or 2^-14 after rounding up): h = value / 2^-24.
    const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    const int shift = 126 - int(ax >> 23);  // 14 .. 24
    h = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1u);
    const uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (away || (h & 1u)))) ++h;
  } else {
    h = 0;  // |f| <= 2^-25 (2^-25 itself ties to the even 0)
  }
  if (mode.subnormals == Subnormals::Flush && h < 0x400u) h = 0;
  return uint16_t(sign | h);
}

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu;
  const uint32_t m = h & 0x3ffu;
  if (e == 0x1f) {
    if (m == 0) return float_of(sign | kExpMask);
    return float_of(sign | 0x7fc00000u | (m << 13));
  }
  if (e != 0) return float_of(sign | ((e + 112u) << 23) | (m << 13));
  if (m == 0) return float_of(sign);
  // Subnormal half: m * 2^-24, exact and a normal float.
  const float v = float(m) * kHalfMinSubnormal;
  return float_of(sign | bits_of(v));
}

float round_to_half(float f, HalfMode mode) {
  return half_to_float(float_to_half(f, mode));
}

void round_to_half_scalar(const float* src, float* dst, size_t n, HalfMode mode) {
  for (size_t i = 0; i < n; ++i) dst[i] = half_to_float(float_to_half(src[i], mode));
}

void float_to_half_scalar(const float* src, uint16_t* dst, size_t n, HalfMode mode) {
  for (size_t i = 0; i < n; ++i) dst[i] = float_to_half(src[i], mode);
}

void half_to_float_scalar(const uint16_t* src, float* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = half_to_float(src[i]);
}

// ---------------------------------------------------------------------------------------
// Dispatch.

// F16C from CPUID (leaf 1, ECX bit 29): clang 14's __builtin_cpu_supports does not know
// "f16c" (the fuzz targets are built with clang).
bool cpuid_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
}

bool cpu_has_f16c() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") && cpuid_f16c();
  }();
  return has;
}

bool cpu_has_avx2_f16c() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && cpuid_f16c();
  }();
  return has;
}

bool cpu_has_avx512() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx2") && cpuid_f16c();
  }();
  return has;
}

bool half_simd_enabled() {
  static const bool enabled = [] {
    const char* env = std::getenv("DALNAS_NO_SIMD");
    const bool disabled = env != nullptr && std::strcmp(env, "1") == 0;
    return !disabled && cpu_has_f16c();
  }();
  return enabled;
}

const char* to_string(HalfIsa isa) {
  switch (isa) {
    case HalfIsa::Scalar:
      return "scalar";
    case HalfIsa::AVX2:
      return "avx2";
    case HalfIsa::AVX512:
      return "avx512";
  }
  return "?";
}

bool half_isa_supported(HalfIsa isa, HalfMode mode) {
  switch (isa) {
    case HalfIsa::Scalar:
      return true;
    case HalfIsa::AVX2:
      return mode.f16c_native() ? cpu_has_f16c() : cpu_has_avx2_f16c();
    case HalfIsa::AVX512:
      return cpu_has_avx512();
  }
  return false;
}

HalfIsa half_isa(HalfMode mode) {
  if (!half_simd_enabled()) return HalfIsa::Scalar;
  if (half_isa_supported(HalfIsa::AVX512, mode)) return HalfIsa::AVX512;
  if (half_isa_supported(HalfIsa::AVX2, mode)) return HalfIsa::AVX2;
  return HalfIsa::Scalar;
}

void round_to_half_isa(HalfIsa isa, const float* src, float* dst, size_t n, HalfMode mode) {
  if (!half_isa_supported(isa, mode)) {
    throw std::invalid_argument(std::string("round_to_half: the ") + to_string(isa) +
                                " path is not supported by this CPU");
  }
  if (isa == HalfIsa::Scalar) {
    round_to_half_scalar(src, dst, n, mode);
  } else {
    round_simd(isa, src, dst, n, mode);
  }
}

void float_to_half_isa(HalfIsa isa, const float* src, uint16_t* dst, size_t n, HalfMode mode) {
  if (!half_isa_supported(isa, mode)) {
    throw std::invalid_argument(std::string("float_to_half: the ") + to_string(isa) +
                                " path is not supported by this CPU");
  }
  if (isa == HalfIsa::Scalar) {
    float_to_half_scalar(src, dst, n, mode);
  } else {
    to_half_simd(isa, src, dst, n, mode);
  }
}

void round_to_half(const float* src, float* dst, size_t n, HalfMode mode) {
  const HalfIsa isa = half_isa(mode);
  if (isa == HalfIsa::Scalar) {
    round_to_half_scalar(src, dst, n, mode);
  } else {
    round_simd(isa, src, dst, n, mode);
  }
}

void float_to_half(const float* src, uint16_t* dst, size_t n, HalfMode mode) {
  const HalfIsa isa = half_isa(mode);
  if (isa == HalfIsa::Scalar) {
    float_to_half_scalar(src, dst, n, mode);
  } else {
    to_half_simd(isa, src, dst, n, mode);
  }
}

void half_to_float(const uint16_t* src, float* dst, size_t n) {
  if (half_simd_enabled()) {
    from_half_f16c(src, dst, n);
  } else {
    half_to_float_scalar(src, dst, n);
  }
}

}  // namespace dalnas
