// AVX-512 VNNI path of the int8 convolution (quant/int8_conv.h): 16 output pixels per
// vector, bit-identical to int8_conv_scalar. Compiled for AVX-512 F/BW/VL + VNNI through
// `#pragma GCC target` (as device/kernels_avx512.cpp); called only when
// int8_isa_supported(Int8Isa::AVX512VNNI).
//
// vpdpbusd multiplies unsigned by signed bytes, four at a time, and adds the four products
// to an int32 lane without saturation. The input is converted to u = x + 128 in [0, 255]
// (taps outside the image as u = z_in + 128, i.e. x = z_in), four input channels to a
// packed group, and
//   Σ w·(x − z_in) = Σ w·u − (z_in + 128)·Σ w
// over all k·k·c taps (the outside taps contribute w·(z_in − z_in) = 0 either way, which is
// TFLite's "omit"). Both sides are equal modulo 2^32, so the int32 result equals the
// scalar reference's. The convolution is int8_conv_direct.inc's (no im2col gather; 8
// output channels × 32 pixels of a row in 16 accumulators); requantization is the scalar
// formula lane by lane (see mbqm()).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "quant/int8_conv.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,avx")

namespace dalnas {
namespace {

// GCC 12's plain forms of these intrinsics pass an "undefined" register through a full
// mask and trip -Wmaybe-uninitialized; the maskz forms with a full mask compile to the same
// instructions (as in precision/half_simd.h).
constexpr __mmask8 k8 = 0xff;
constexpr __mmask16 k16 = 0xffff;
inline __m512i mul_epi32(__m512i a, __m512i b) {
  return _mm512_maskz_mul_epi32(k8, a, b);
}
inline __m512i slli_epi64(__m512i a, unsigned s) {
  return _mm512_maskz_slli_epi64(k8, a, s);
}
inline __m512i srli_epi64(__m512i a, unsigned s) {
  return _mm512_maskz_srli_epi64(k8, a, s);
}
inline __m512i sra_epi64(__m512i a, __m128i c) {
  return _mm512_maskz_sra_epi64(k8, a, c);
}
inline __m512i sll_epi32(__m512i a, __m128i c) {
  return _mm512_maskz_sll_epi32(k16, a, c);
}
inline __m512i sra_epi32(__m512i a, __m128i c) {
  return _mm512_maskz_sra_epi32(k16, a, c);
}
inline __m512i max_epi32(__m512i a, __m512i b) {
  return _mm512_maskz_max_epi32(k16, a, b);
}
inline __m512i min_epi32(__m512i a, __m512i b) {
  return _mm512_maskz_min_epi32(k16, a, b);
}
inline __m128i cvtepi32_epi8(__m512i a) {
  return _mm512_maskz_cvtepi32_epi8(k16, a);
}

// gemmlowp SaturatingRoundingDoublingHighMul lane by lane (see int8_conv_avx2.cpp).
inline __m512i srdhm(__m512i a, int32_t m) {
  const __m512i mv = _mm512_set1_epi32(m);
  const __m512i nudge = _mm512_set1_epi64(int64_t{1} << 30);
  const __m512i even = _mm512_add_epi64(mul_epi32(a, mv), nudge);
  const __m512i odd = _mm512_add_epi64(mul_epi32(srli_epi64(a, 32), mv), nudge);
  __m512i r = _mm512_mask_blend_epi32(0xAAAA, srli_epi64(even, 31), slli_epi64(odd, 1));
  if (m == INT32_MIN) {
    const __mmask16 sat = _mm512_cmpeq_epi32_mask(a, _mm512_set1_epi32(INT32_MIN));
    r = _mm512_mask_mov_epi32(r, sat, _mm512_set1_epi32(INT32_MAX));
  }
  return r;
}

// gemmlowp RoundingDivideByPOT lane by lane (ties away from zero), exponent in [0, 31].
inline __m512i rdbpot(__m512i x, int exponent) {
  if (exponent == 0) return x;
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i rem = _mm512_and_si512(x, _mm512_set1_epi32(mask));
  const __m512i half = _mm512_set1_epi32(mask >> 1);
  const __mmask16 neg = _mm512_cmplt_epi32_mask(x, _mm512_setzero_si512());
  const __m512i thr = _mm512_mask_add_epi32(half, neg, half, one);
  const __m512i q = sra_epi32(x, _mm_cvtsi32_si128(exponent));
  return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(rem, thr), q, one);
}

// MultiplyByQuantizedMultiplier lane by lane (fixed_point.h, both variants).
inline __m512i mbqm(__m512i x, int32_t m, int shift, RequantRounding rounding) {
  if (rounding == RequantRounding::Single) {
    const int total = 31 - shift;  // [1, 62]
    const __m128i cnt = _mm_cvtsi32_si128(total);
    const __m512i mv = _mm512_set1_epi32(m);
    const __m512i round = _mm512_set1_epi64(int64_t{1} << (total - 1));
    const __m512i even = sra_epi64(_mm512_add_epi64(mul_epi32(x, mv), round), cnt);
    const __m512i odd = sra_epi64(_mm512_add_epi64(mul_epi32(srli_epi64(x, 32), mv), round), cnt);
    return _mm512_mask_blend_epi32(0xAAAA, even, slli_epi64(odd, 32));
  }
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  if (left > 0) x = sll_epi32(x, _mm_cvtsi32_si128(left));  // wraps, as the scalar
  return rdbpot(srdhm(x, m), right);
}

struct Ops {
  using V = __m512i;
  static constexpr int L = 16;
  static V zero() { return _mm512_setzero_si512(); }
  static V load(const int32_t* p) { return _mm512_loadu_si512(p); }
  static V mul_add(V acc, V x, int32_t w) {
    return _mm512_add_epi32(acc, _mm512_mullo_epi32(x, _mm512_set1_epi32(w)));
  }
  // Bias, requantization, output zero point, clamp; the first n of the 16 lanes to out.
  static void finish(int8_t* out, V v, int n, const Int8ConvArgs& a, int oc) {
    if (a.bias != nullptr) v = _mm512_add_epi32(v, _mm512_set1_epi32(a.bias[oc]));
    if (a.scale != nullptr) {  // ONNX Runtime: float multiply, clamp, round to even
      __m512 f =
          _mm512_maskz_mul_ps(k16, _mm512_maskz_cvtepi32_ps(k16, v), _mm512_set1_ps(a.scale[oc]));
      f = _mm512_maskz_max_ps(k16, f,
                              _mm512_set1_ps(static_cast<float>(a.act_min - a.out_zero_point)));
      f = _mm512_maskz_min_ps(k16, f,
                              _mm512_set1_ps(static_cast<float>(a.act_max - a.out_zero_point)));
      v = _mm512_maskz_cvtps_epi32(k16, f);
    } else {
      v = mbqm(v, a.multiplier[oc], a.shift[oc], a.rounding);
    }
    v = _mm512_add_epi32(v, _mm512_set1_epi32(a.out_zero_point));
    v = max_epi32(v, _mm512_set1_epi32(a.act_min));
    v = min_epi32(v, _mm512_set1_epi32(a.act_max));
    _mm_mask_storeu_epi8(out, static_cast<__mmask16>((1u << n) - 1u), cvtepi32_epi8(v));
  }
};

#include "quant/int8_conv_depthwise.inc"

// The packed operations of int8_conv_direct.inc: four input channels as u8 (x + 128).
struct Dense {
  using E = uint8_t;
  using V = __m512i;
  static constexpr int G = 4;
  static constexpr int L = 16;
  static constexpr int NB = 8;
  static E pad(const Int8ConvArgs& a) { return static_cast<E>(a.in_zero_point + 128); }
  static E convert(int8_t x, int32_t) { return static_cast<E>(x + 128); }
  static void pack_rows(E* dst, const int8_t* src, int64_t plane, int n, int32_t z) {
    const int8_t* s0 = src;
    const int8_t* s1 = src + plane;
    const int8_t* s2 = src + 2 * plane;
    const int8_t* s3 = src + 3 * plane;
    const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));  // x + 128 as a byte
    int x = 0;
    for (; x + 16 <= n; x += 16) {
      const __m128i a =
          _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s0 + x)), flip);
      const __m128i b =
          _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s1 + x)), flip);
      const __m128i c =
          _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s2 + x)), flip);
      const __m128i d =
          _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s3 + x)), flip);
      const __m128i ab_lo = _mm_unpacklo_epi8(a, b), ab_hi = _mm_unpackhi_epi8(a, b);
      const __m128i cd_lo = _mm_unpacklo_epi8(c, d), cd_hi = _mm_unpackhi_epi8(c, d);
      E* o = dst + static_cast<size_t>(x) * 4;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o), _mm_unpacklo_epi16(ab_lo, cd_lo));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 16), _mm_unpackhi_epi16(ab_lo, cd_lo));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 32), _mm_unpacklo_epi16(ab_hi, cd_hi));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + 48), _mm_unpackhi_epi16(ab_hi, cd_hi));
    }
    for (; x < n; ++x) {
      E* o = dst + static_cast<size_t>(x) * 4;
      o[0] = convert(s0[x], z);
      o[1] = convert(s1[x], z);
      o[2] = convert(s2[x], z);
      o[3] = convert(s3[x], z);
    }
  }
  static int32_t pack(const int8_t* w, int n, int stride) {
    uint32_t q = 0;
    for (int t = 0; t < n; ++t) {
      q |= static_cast<uint32_t>(static_cast<uint8_t>(w[static_cast<size_t>(t) * stride]))
           << (8 * t);
    }
    return static_cast<int32_t>(q);
  }
  // (z_in + 128)·Σ w modulo 2^32.
  static int32_t correction(int32_t sum_w, const Int8ConvArgs& a) {
    return static_cast<int32_t>(static_cast<uint32_t>(a.in_zero_point + 128) *
                                static_cast<uint32_t>(sum_w));
  }
  static V zero() { return _mm512_setzero_si512(); }
  static V load(const E* p) { return _mm512_loadu_si512(p); }
  static V dot(V acc, V x, int32_t w) { return _mm512_dpbusd_epi32(acc, x, _mm512_set1_epi32(w)); }
  static V sub(V acc, int32_t c) { return _mm512_sub_epi32(acc, _mm512_set1_epi32(c)); }
};

#include "quant/int8_conv_direct.inc"

}  // namespace

void int8_conv_avx512vnni(const Int8ConvArgs& a) {
  if (a.c_in == a.groups) {  // one input channel per group: the direct depthwise path
    depthwise<Ops>(a);
    return;
  }
  direct_dense<Dense>(a);
}

}  // namespace dalnas

#pragma GCC pop_options
