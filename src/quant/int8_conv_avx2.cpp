// AVX2 path of the int8 convolution (quant/int8_conv.h): 8 output pixels per vector,
// bit-identical to int8_conv_scalar. Compiled for AVX2 through `#pragma GCC target` (the
// library is built without -m flags, as device/kernels_avx2.cpp); called only when
// int8_isa_supported(Int8Isa::AVX2).
//
// The input is converted to int16 x − z_in (0 for taps outside the image, which is
// TFLite's "omit"), two input channels to a packed group; vpmaddwd multiplies a pair by
// the pair of weights and adds the two int32 products: |w·(x − z)| <= 127·255, so nothing
// saturates and the int32 sums equal the scalar ones modulo 2^32 (integer addition is
// associative). The convolution is int8_conv_direct.inc's (no im2col gather; 4 output
// channels × 16 pixels of a row in 8 accumulators: AVX2 has 16 vector registers); the
// requantization is the scalar formula lane by lane (see Ops::finish below).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "quant/int8_conv.h"

#pragma GCC push_options
#pragma GCC target("avx2,avx")

namespace dalnas {
namespace {

// gemmlowp SaturatingRoundingDoublingHighMul lane by lane: floor((a·m + 2^30) / 2^31) (the
// scalar's nudge-and-truncate; see fixed_point.h), INT32_MAX for a == m == INT32_MIN.
// The low 32 bits of (a·m + 2^30) >> 31 are the same for logical and arithmetic shifts.
inline __m256i srdhm(__m256i a, int32_t m) {
  const __m256i mv = _mm256_set1_epi32(m);
  const __m256i nudge = _mm256_set1_epi64x(int64_t{1} << 30);
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(a, mv), nudge);  // lanes 0,2,4,6
  const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(a, 32), mv), nudge);
  // Even results: bits 31..62 into the low dword; odd: into the high dword (shift left 1).
  __m256i r = _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
  if (m == INT32_MIN) {
    const __m256i sat = _mm256_cmpeq_epi32(a, _mm256_set1_epi32(INT32_MIN));
    r = _mm256_blendv_epi8(r, _mm256_set1_epi32(INT32_MAX), sat);
  }
  return r;
}

// gemmlowp RoundingDivideByPOT lane by lane (ties away from zero), exponent in [0, 31].
inline __m256i rdbpot(__m256i x, int exponent) {
  if (exponent == 0) return x;
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const __m256i zero = _mm256_setzero_si256();
  const __m256i rem = _mm256_and_si256(x, _mm256_set1_epi32(mask));
  // threshold = (mask >> 1) + (x < 0): cmpgt gives −1 where x < 0.
  const __m256i thr = _mm256_sub_epi32(_mm256_set1_epi32(mask >> 1), _mm256_cmpgt_epi32(zero, x));
  const __m256i q = _mm256_sra_epi32(x, _mm_cvtsi32_si128(exponent));
  return _mm256_sub_epi32(q, _mm256_cmpgt_epi32(rem, thr));
}

// Arithmetic right shift of 64-bit lanes by s in [1, 63] (AVX2 has no vpsraq).
inline __m256i sra64(__m256i v, int s) {
  const __m256i t = _mm256_srl_epi64(v, _mm_cvtsi32_si128(s));
  const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);
  return _mm256_or_si256(t, _mm256_sll_epi64(sign, _mm_cvtsi32_si128(64 - s)));
}

// MultiplyByQuantizedMultiplier lane by lane (fixed_point.h, both variants).
inline __m256i mbqm(__m256i x, int32_t m, int shift, RequantRounding rounding) {
  if (rounding == RequantRounding::Single) {
    const int total = 31 - shift;  // [1, 62]
    const __m256i mv = _mm256_set1_epi32(m);
    const __m256i round = _mm256_set1_epi64x(int64_t{1} << (total - 1));
    const __m256i even = sra64(_mm256_add_epi64(_mm256_mul_epi32(x, mv), round), total);
    const __m256i odd =
        sra64(_mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), mv), round), total);
    return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  }
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  if (left > 0) x = _mm256_sll_epi32(x, _mm_cvtsi32_si128(left));  // wraps, as the scalar
  return rdbpot(srdhm(x, m), right);
}

// 8 int32 lanes in [−128, 127] -> 8 int8 at p (n <= 8 of them).
inline void store8(int8_t* p, __m256i v, int n) {
  const __m256i bytes = _mm256_shuffle_epi8(
      v, _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12,
                          -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m256i packed =
      _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
  if (n == 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(packed));
  } else {
    alignas(16) int8_t tmp[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), _mm256_castsi256_si128(packed));
    std::memcpy(p, tmp, static_cast<size_t>(n));
  }
}

struct Ops {
  using V = __m256i;
  static constexpr int L = 8;
  static V zero() { return _mm256_setzero_si256(); }
  static V load(const int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  static V mul_add(V acc, V x, int32_t w) {
    return _mm256_add_epi32(acc, _mm256_mullo_epi32(x, _mm256_set1_epi32(w)));
  }
  // Bias, requantization, output zero point, clamp; the first n of the 8 lanes to out.
  static void finish(int8_t* out, V v, int n, const Int8ConvArgs& a, int oc) {
    store8(out, requant(v, a, oc), n);
  }
  // Bias, requantization, output zero point, clamp: 8 int32 lanes in [act_min, act_max].
  static V requant(V v, const Int8ConvArgs& a, int oc) {
    if (a.bias != nullptr) v = _mm256_add_epi32(v, _mm256_set1_epi32(a.bias[oc]));
    if (a.scale != nullptr) {  // ONNX Runtime: float multiply, clamp, round to even
      __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(v), _mm256_set1_ps(a.scale[oc]));
      f = _mm256_max_ps(f, _mm256_set1_ps(static_cast<float>(a.act_min - a.out_zero_point)));
      f = _mm256_min_ps(f, _mm256_set1_ps(static_cast<float>(a.act_max - a.out_zero_point)));
      v = _mm256_cvtps_epi32(f);
    } else {
      v = mbqm(v, a.multiplier[oc], a.shift[oc], a.rounding);
    }
    v = _mm256_add_epi32(v, _mm256_set1_epi32(a.out_zero_point));
    v = _mm256_max_epi32(v, _mm256_set1_epi32(a.act_min));
    return _mm256_min_epi32(v, _mm256_set1_epi32(a.act_max));
  }
};

#include "quant/int8_conv_depthwise.inc"

// The packed operations of int8_conv_direct.inc: two input channels as int16 x − z_in.
struct Dense {
  using E = int16_t;
  using V = __m256i;
  static constexpr int G = 2;
  static constexpr int L = 8;
  static constexpr int NB = 4;
  static E pad(const Int8ConvArgs&) { return 0; }
  static E convert(int8_t x, int32_t z) { return static_cast<E>(x - z); }
  static void pack_rows(E* dst, const int8_t* src, int64_t plane, int n, int32_t z) {
    const int8_t* s0 = src;
    const int8_t* s1 = src + plane;
    const __m256i zv = _mm256_set1_epi16(static_cast<int16_t>(z));
    int x = 0;
    for (; x + 16 <= n; x += 16) {
      const __m256i a = _mm256_sub_epi16(
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s0 + x))), zv);
      const __m256i b = _mm256_sub_epi16(
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s1 + x))), zv);
      // Pairs (a[i], b[i]) in order: unpack within 128-bit lanes, then reorder the lanes.
      const __m256i lo = _mm256_unpacklo_epi16(a, b);  // pixels 0-3 | 8-11
      const __m256i hi = _mm256_unpackhi_epi16(a, b);  // pixels 4-7 | 12-15
      E* o = dst + static_cast<size_t>(x) * 2;
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), _mm256_permute2x128_si256(lo, hi, 0x20));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 16),
                          _mm256_permute2x128_si256(lo, hi, 0x31));
    }
    for (; x < n; ++x) {
      dst[static_cast<size_t>(x) * 2] = convert(s0[x], z);
      dst[static_cast<size_t>(x) * 2 + 1] = convert(s1[x], z);
    }
  }
  static int32_t pack(const int8_t* w, int n, int stride) {
    const uint16_t lo = static_cast<uint16_t>(static_cast<int16_t>(w[0]));
    const uint16_t hi = n > 1 ? static_cast<uint16_t>(static_cast<int16_t>(w[stride])) : 0;
    return static_cast<int32_t>(lo | (static_cast<uint32_t>(hi) << 16));
  }
  static int32_t correction(int32_t, const Int8ConvArgs&) { return 0; }
  static V zero() { return _mm256_setzero_si256(); }
  static V load(const E* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static V dot(V acc, V x, int32_t w) {
    const V t = _mm256_madd_epi16(x, _mm256_set1_epi32(w));
    // acc += t in acc's own register: written as an intrinsic, GCC puts the sum in t's
    // register and copies it back, a move per update (seen in perf annotate).
    __asm__("vpaddd %1, %0, %0" : "+x"(acc) : "x"(t));
    return acc;
  }
  static V sub(V acc, int32_t c) {
    return c == 0 ? acc : _mm256_sub_epi32(acc, _mm256_set1_epi32(c));
  }
};

#include "quant/int8_conv_direct.inc"
#include "quant/int8_conv_winograd.inc"

// DALNAS_INT8_WINOGRAD=0 keeps every dense convolution on the direct path (to measure what
// the Winograd path brings: the results are the same bit for bit).
bool winograd_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("DALNAS_INT8_WINOGRAD");
    return e == nullptr || std::strcmp(e, "0") != 0;
  }();
  return on;
}

}  // namespace

void int8_conv_avx2(const Int8ConvArgs& a) {
  if (a.c_in == a.groups) {  // one input channel per group: the direct depthwise path
    depthwise<Ops>(a);
    return;
  }
  if (winograd_enabled() &&
      winograd_pays(a)) {  // 3×3, stride 1: exact integer Winograd F(2×2, 3×3)
    winograd_dense(a);
    return;
  }
  direct_dense<Dense>(a);
}

bool int8_winograd_exact(const Int8ConvArgs& a) {
  return winograd_exact(a);
}

bool int8_conv_avx2_uses_winograd(const Int8ConvArgs& a) {
  return a.c_in != a.groups && winograd_enabled() && winograd_pays(a);
}

void int8_conv_avx2_winograd(const Int8ConvArgs& a) {
  winograd_dense(a);
}

void int8_conv_avx2_direct(const Int8ConvArgs& a) {
  if (a.c_in == a.groups) {
    depthwise<Ops>(a);
    return;
  }
  direct_dense<Dense>(a);
}

}  // namespace dalnas

#pragma GCC pop_options
