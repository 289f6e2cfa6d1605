#include "precision/half.h"

#include <immintrin.h>

#include <cstdlib>
#include <cstring>

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
// F16C path. Only these functions are compiled for AVX + F16C; they run only after
// cpu_has_f16c() said yes.
#define DALNAS_F16C __attribute__((target("avx,f16c")))

// 8 floats -> 8 halves, per mode. Saturate: finite |x| > 65504 is replaced by ±65504
// before the conversion (exact: such values round to 65504 or overflow). Flush: half
// results with |h| < 0x400 become a zero of the same sign.
template <bool kSaturate, bool kFlush>
DALNAS_F16C inline __m128i to_half8(__m256 x) {
  if (kSaturate) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 sign_mask = _mm256_castsi256_ps(_mm256_set1_epi32(int32_t(0x80000000u)));
    const __m256 max_half = _mm256_set1_ps(kHalfMax);
    const __m256 inf = _mm256_castsi256_ps(_mm256_set1_epi32(int32_t(kExpMask)));
    const __m256 ax = _mm256_and_ps(x, abs_mask);
    const __m256 big =
        _mm256_and_ps(_mm256_cmp_ps(ax, max_half, _CMP_GT_OQ), _mm256_cmp_ps(ax, inf, _CMP_LT_OQ));
    const __m256 clamped = _mm256_or_ps(_mm256_and_ps(x, sign_mask), max_half);
    x = _mm256_blendv_ps(x, clamped, big);
  }
  __m128i h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT);
  if (kFlush) {
    const __m128i abs_h = _mm_and_si128(h, _mm_set1_epi16(0x7fff));
    const __m128i tiny = _mm_cmplt_epi16(abs_h, _mm_set1_epi16(0x0400));
    const __m128i sign_only = _mm_and_si128(h, _mm_set1_epi16(int16_t(0x8000)));
    h = _mm_or_si128(_mm_and_si128(tiny, sign_only), _mm_andnot_si128(tiny, h));
  }
  return h;
}

template <bool kSaturate, bool kFlush>
DALNAS_F16C void round_f16c(const float* src, float* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(src + i);
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(to_half8<kSaturate, kFlush>(x)));
  }
  if (i < n) {
    alignas(32) float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const size_t rest = n - i;
    std::memcpy(buf, src + i, rest * sizeof(float));
    const __m256 x = _mm256_load_ps(buf);
    _mm256_store_ps(buf, _mm256_cvtph_ps(to_half8<kSaturate, kFlush>(x)));
    std::memcpy(dst + i, buf, rest * sizeof(float));
  }
}

template <bool kSaturate, bool kFlush>
DALNAS_F16C void to_half_f16c(const float* src, uint16_t* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(src + i);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), to_half8<kSaturate, kFlush>(x));
  }
  if (i < n) {
    alignas(32) float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    alignas(16) uint16_t out[8];
    const size_t rest = n - i;
    std::memcpy(buf, src + i, rest * sizeof(float));
    _mm_store_si128(reinterpret_cast<__m128i*>(out),
                    to_half8<kSaturate, kFlush>(_mm256_load_ps(buf)));
    std::memcpy(dst + i, out, rest * sizeof(uint16_t));
  }
}

DALNAS_F16C void from_half_f16c(const uint16_t* src, float* dst, size_t n) {
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

#undef DALNAS_F16C

void round_fast(const float* src, float* dst, size_t n, HalfMode mode) {
  const bool sat = mode.overflow == Overflow::Saturate;
  const bool flush = mode.subnormals == Subnormals::Flush;
  if (sat) {
    flush ? round_f16c<true, true>(src, dst, n) : round_f16c<true, false>(src, dst, n);
  } else {
    flush ? round_f16c<false, true>(src, dst, n) : round_f16c<false, false>(src, dst, n);
  }
}

void to_half_fast(const float* src, uint16_t* dst, size_t n, HalfMode mode) {
  const bool sat = mode.overflow == Overflow::Saturate;
  const bool flush = mode.subnormals == Subnormals::Flush;
  if (sat) {
    flush ? to_half_f16c<true, true>(src, dst, n) : to_half_f16c<true, false>(src, dst, n);
  } else {
    flush ? to_half_f16c<false, true>(src, dst, n) : to_half_f16c<false, false>(src, dst, n);
  }
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

bool cpu_has_f16c() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx") && __builtin_cpu_supports("f16c");
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

void round_to_half(const float* src, float* dst, size_t n, HalfMode mode) {
  if (half_simd_enabled() && mode.f16c_native()) {
    round_fast(src, dst, n, mode);
  } else {
    round_to_half_scalar(src, dst, n, mode);
  }
}

void float_to_half(const float* src, uint16_t* dst, size_t n, HalfMode mode) {
  if (half_simd_enabled() && mode.f16c_native()) {
    to_half_fast(src, dst, n, mode);
  } else {
    float_to_half_scalar(src, dst, n, mode);
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
