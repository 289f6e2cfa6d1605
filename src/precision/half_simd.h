#pragma once
// Vector float -> half rounding in every HalfMode, bit-identical to the scalar reference
// (float_to_half / round_to_half in precision/half.h). Shared by the array functions of
// half.cpp and the emulator's SIMD kernels (device/kernels_*.cpp).
//
// Every function carries its own target attribute, so this header may be included by a
// translation unit compiled without -m flags; call a function only where the CPU has its
// ISA (cpu_has_f16c, cpu_has_avx2_f16c, cpu_has_avx512 in half.h).
//
// The F16C-native modes (ties to even, subnormals kept or flushed) use the conversion
// instructions (vcvtps2ph / vcvtph2ps) with saturation and flushing as masks around them.
// The other modes compute the rounded float in integer arithmetic on the float's bits:
//   ax = |x| bits; r = (ax + 0x1000) & ~0x1fff (ties away) or
//                  (ax + 0x0fff + bit 13 of ax) & ~0x1fff (ties to even)
// is the value rounded to 11 significant bits with the half exponent range's upper end
// ignored (a mantissa carry moves into the exponent); it is the result for
// 2^-14 <= |x| < 65520. Below 2^-14, MinNormal gives 0 when r < 2^-15 and 2^-14 otherwise;
// Flush gives 2^-14 when |x| >= 2^-14 - 2^-25 (the result rounds up to 2^-14 in both
// rounding directions) and 0 otherwise; Keep rounds m · 2^-shift to an integer count of
// 2^-24 with variable shifts. From 65520 up, Saturate gives 65504 (min), Inf gives inf.
// Infinities stay, NaNs become quiet with the payload truncated to the top 10 bits, as
// the scalar code. The result is a value a half holds exactly, so vcvtps2ph converts it
// to half bits without further rounding.
#include <immintrin.h>

#include <cstdint>

#include "precision/half.h"

#define DALNAS_HALF_F16C __attribute__((target("avx,f16c")))
#define DALNAS_HALF_AVX2 __attribute__((target("avx2,avx,f16c")))
#define DALNAS_HALF_AVX512 \
  __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,avx,f16c")))

namespace dalnas {
namespace half_simd {

// A HalfMode as a type (template parameter of kernels and loops).
template <Overflow O, Subnormals S, Rounding R>
struct Mode {
  static constexpr bool kSat = O == Overflow::Saturate;
  static constexpr Subnormals kSub = S;
  static constexpr bool kAway = R == Rounding::NearestAway;
  static constexpr bool kNative = R == Rounding::NearestEven && S != Subnormals::MinNormal;
  static constexpr bool kFlush = S == Subnormals::Flush;
  static constexpr HalfMode value() { return HalfMode{O, S, R}; }
};

// Calls f(Mode<...>{}) for the mode `m` (one instantiation of f per mode).
template <class F>
inline decltype(auto) with_mode(const HalfMode& m, F&& f) {
  constexpr auto kInf = Overflow::Inf;
  constexpr auto kSat = Overflow::Saturate;
  constexpr auto kEven = Rounding::NearestEven;
  constexpr auto kAway = Rounding::NearestAway;
  const bool sat = m.overflow == kSat;
  const bool away = m.rounding == kAway;
  switch (m.subnormals) {
    case Subnormals::Keep:
      if (away) {
        return sat ? f(Mode<kSat, Subnormals::Keep, kAway>{})
                   : f(Mode<kInf, Subnormals::Keep, kAway>{});
      }
      return sat ? f(Mode<kSat, Subnormals::Keep, kEven>{})
                 : f(Mode<kInf, Subnormals::Keep, kEven>{});
    case Subnormals::Flush:
      if (away) {
        return sat ? f(Mode<kSat, Subnormals::Flush, kAway>{})
                   : f(Mode<kInf, Subnormals::Flush, kAway>{});
      }
      return sat ? f(Mode<kSat, Subnormals::Flush, kEven>{})
                 : f(Mode<kInf, Subnormals::Flush, kEven>{});
    case Subnormals::MinNormal:
    default:
      if (away) {
        return sat ? f(Mode<kSat, Subnormals::MinNormal, kAway>{})
                   : f(Mode<kInf, Subnormals::MinNormal, kAway>{});
      }
      return sat ? f(Mode<kSat, Subnormals::MinNormal, kEven>{})
                 : f(Mode<kInf, Subnormals::MinNormal, kEven>{});
  }
}

namespace bits {
constexpr int32_t kAbs = 0x7fffffff;
constexpr int32_t kSign = int32_t(0x80000000u);
constexpr int32_t kKeep11 = ~0x1fff;          // clears the 13 bits a half drops
constexpr int32_t kHalfMaxBits = 0x477fe000;  // 65504
constexpr int32_t kInfBits = 0x7f800000;
constexpr int32_t kMinNormalBits = 0x38800000;  // 2^-14
constexpr int32_t kMinNormalHalf = 0x38000000;  // 2^-15
constexpr int32_t kFlushUpBits = 0x387fe000;    // 2^-14 - 2^-25: rounds up to 2^-14
constexpr int32_t kOverflowBits = 0x477ff000;   // 65520
constexpr int32_t kNanPayload = 0x7fffe000;     // exponent and the top 10 payload bits
constexpr int32_t kQuietBit = 0x00400000;
}  // namespace bits

// ---------------------------------------------------------------------------------------
// 8 lanes (AVX2 + F16C; the native modes need AVX + F16C only).

// Native modes: float -> half bits.
template <bool kSat, bool kFlush>
DALNAS_HALF_F16C inline __m128i to_half8_native(__m256 x) {
  if (kSat) {
    // Finite |x| > 65504 -> ±65504 before the conversion (exact: such values round to
    // 65504 or overflow).
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(bits::kAbs));
    const __m256 sign_mask = _mm256_castsi256_ps(_mm256_set1_epi32(bits::kSign));
    const __m256 max_half = _mm256_set1_ps(kHalfMax);
    const __m256 inf = _mm256_castsi256_ps(_mm256_set1_epi32(bits::kInfBits));
    const __m256 ax = _mm256_and_ps(x, abs_mask);
    const __m256 big =
        _mm256_and_ps(_mm256_cmp_ps(ax, max_half, _CMP_GT_OQ), _mm256_cmp_ps(ax, inf, _CMP_LT_OQ));
    x = _mm256_blendv_ps(x, _mm256_or_ps(_mm256_and_ps(x, sign_mask), max_half), big);
  }
  __m128i h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT);
  if (kFlush) {
    // Half results with |h| < 0x400 become a zero of the same sign.
    const __m128i abs_h = _mm_and_si128(h, _mm_set1_epi16(0x7fff));
    const __m128i tiny = _mm_cmplt_epi16(abs_h, _mm_set1_epi16(0x0400));
    const __m128i sign_only = _mm_and_si128(h, _mm_set1_epi16(int16_t(0x8000)));
    h = _mm_or_si128(_mm_and_si128(tiny, sign_only), _mm_andnot_si128(tiny, h));
  }
  return h;
}

// Native modes: float -> half -> float.
template <bool kSat, bool kFlush>
DALNAS_HALF_F16C inline __m256 round8_native(__m256 x) {
  const __m256 sign_mask = _mm256_castsi256_ps(_mm256_set1_epi32(bits::kSign));
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(bits::kAbs));
  if (kSat) {
    const __m256 ax = _mm256_and_ps(x, abs_mask);
    const __m256 big = _mm256_and_ps(
        _mm256_cmp_ps(ax, _mm256_set1_ps(kHalfMax), _CMP_GT_OQ),
        _mm256_cmp_ps(ax, _mm256_castsi256_ps(_mm256_set1_epi32(bits::kInfBits)), _CMP_LT_OQ));
    x = _mm256_blendv_ps(x, _mm256_or_ps(_mm256_and_ps(x, sign_mask), _mm256_set1_ps(kHalfMax)),
                         big);
  }
  __m256 r = _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
  if (kFlush) {
    const __m256 tiny =
        _mm256_cmp_ps(_mm256_and_ps(r, abs_mask), _mm256_set1_ps(kHalfMinNormal), _CMP_LT_OQ);
    r = _mm256_blendv_ps(r, _mm256_and_ps(r, sign_mask), tiny);
  }
  return r;
}

// Any mode, in integer arithmetic: the bits of round_to_half(x, M).
template <class M>
DALNAS_HALF_AVX2 inline __m256i round_bits8(__m256 xf) {
  const __m256i x = _mm256_castps_si256(xf);
  const __m256i ax = _mm256_and_si256(x, _mm256_set1_epi32(bits::kAbs));
  __m256i add;
  if (M::kAway) {
    add = _mm256_set1_epi32(0x1000);
  } else {
    add = _mm256_add_epi32(_mm256_set1_epi32(0x0fff),
                           _mm256_and_si256(_mm256_srli_epi32(ax, 13), _mm256_set1_epi32(1)));
  }
  __m256i r = _mm256_and_si256(_mm256_add_epi32(ax, add), _mm256_set1_epi32(bits::kKeep11));
  const __m256i min_normal = _mm256_set1_epi32(bits::kMinNormalBits);
  if (M::kSub == Subnormals::MinNormal) {
    // r < 2^-15 -> 0; [2^-15, 2^-14] -> 2^-14; larger r unchanged.
    const __m256i keep = _mm256_cmpgt_epi32(r, _mm256_set1_epi32(bits::kMinNormalHalf - 1));
    r = _mm256_and_si256(_mm256_max_epi32(r, min_normal), keep);
  } else if (M::kSub == Subnormals::Flush) {
    const __m256i keep = _mm256_cmpgt_epi32(ax, _mm256_set1_epi32(bits::kFlushUpBits - 1));
    r = _mm256_and_si256(_mm256_max_epi32(r, min_normal), keep);
  } else {
    // Half subnormals: h = round(m / 2^shift), m the significand with its implicit bit,
    // shift = 126 - exponent (>= 32 for tiny values: the shifts then give 0).
    const __m256i shift = _mm256_sub_epi32(_mm256_set1_epi32(126), _mm256_srli_epi32(ax, 23));
    const __m256i m = _mm256_or_si256(_mm256_and_si256(ax, _mm256_set1_epi32(0x7fffff)),
                                      _mm256_set1_epi32(0x800000));
    const __m256i one = _mm256_set1_epi32(1);
    __m256i half_ulp = _mm256_sllv_epi32(one, _mm256_sub_epi32(shift, one));
    if (!M::kAway) {
      // Ties to even: add half an ULP minus one plus the kept part's lowest bit.
      const __m256i lsb = _mm256_and_si256(_mm256_srlv_epi32(m, shift), one);
      half_ulp = _mm256_add_epi32(_mm256_sub_epi32(half_ulp, one), lsb);
    }
    const __m256i h = _mm256_srlv_epi32(_mm256_add_epi32(m, half_ulp), shift);
    const __m256i sub = _mm256_castps_si256(
        _mm256_mul_ps(_mm256_cvtepi32_ps(h), _mm256_set1_ps(kHalfMinSubnormal)));
    r = _mm256_blendv_epi8(r, sub, _mm256_cmpgt_epi32(min_normal, ax));
  }
  // Infinities and NaNs: exponent and top payload bits kept, NaNs quietened.
  const __m256i nan = _mm256_cmpgt_epi32(ax, _mm256_set1_epi32(bits::kInfBits));
  const __m256i special =
      _mm256_or_si256(_mm256_and_si256(ax, _mm256_set1_epi32(bits::kNanPayload)),
                      _mm256_and_si256(nan, _mm256_set1_epi32(bits::kQuietBit)));
  if (M::kSat) {
    r = _mm256_min_epi32(r, _mm256_set1_epi32(bits::kHalfMaxBits));
    const __m256i nonfinite = _mm256_cmpgt_epi32(ax, _mm256_set1_epi32(bits::kInfBits - 1));
    r = _mm256_blendv_epi8(r, special, nonfinite);
  } else {
    // From 65520 up: inf, or the NaN (special is below inf for finite values).
    const __m256i big = _mm256_cmpgt_epi32(ax, _mm256_set1_epi32(bits::kOverflowBits - 1));
    r = _mm256_blendv_epi8(r, _mm256_max_epi32(special, _mm256_set1_epi32(bits::kInfBits)), big);
  }
  return _mm256_or_si256(r, _mm256_and_si256(x, _mm256_set1_epi32(bits::kSign)));
}

template <class M>
DALNAS_HALF_AVX2 inline __m256 round8(__m256 x) {
  if constexpr (M::kNative) {
    return round8_native<M::kSat, M::kFlush>(x);
  } else {
    return _mm256_castsi256_ps(round_bits8<M>(x));
  }
}

template <class M>
DALNAS_HALF_AVX2 inline __m128i to_half8(__m256 x) {
  if constexpr (M::kNative) {
    return to_half8_native<M::kSat, M::kFlush>(x);
  } else {
    return _mm256_cvtps_ph(_mm256_castsi256_ps(round_bits8<M>(x)), _MM_FROUND_TO_NEAREST_INT);
  }
}

// ---------------------------------------------------------------------------------------
// 16 lanes (AVX-512 F/DQ/BW/VL).

template <class M>
DALNAS_HALF_AVX512 inline __m512i round_bits16(__m512 xf) {
  // (maskz forms with a full mask: see round16_native.)
  const __mmask16 all = 0xffff;
  const __m512i x = _mm512_castps_si512(xf);
  const __m512i ax = _mm512_and_si512(x, _mm512_set1_epi32(bits::kAbs));
  __m512i add;
  if (M::kAway) {
    add = _mm512_set1_epi32(0x1000);
  } else {
    add = _mm512_add_epi32(
        _mm512_set1_epi32(0x0fff),
        _mm512_and_si512(_mm512_maskz_srli_epi32(all, ax, 13), _mm512_set1_epi32(1)));
  }
  __m512i r = _mm512_and_si512(_mm512_add_epi32(ax, add), _mm512_set1_epi32(bits::kKeep11));
  const __m512i min_normal = _mm512_set1_epi32(bits::kMinNormalBits);
  if (M::kSub == Subnormals::MinNormal) {
    const __mmask16 keep = _mm512_cmpgt_epi32_mask(r, _mm512_set1_epi32(bits::kMinNormalHalf - 1));
    r = _mm512_maskz_max_epi32(keep, r, min_normal);
  } else if (M::kSub == Subnormals::Flush) {
    const __mmask16 keep = _mm512_cmpgt_epi32_mask(ax, _mm512_set1_epi32(bits::kFlushUpBits - 1));
    r = _mm512_maskz_max_epi32(keep, r, min_normal);
  } else {
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i shift =
        _mm512_sub_epi32(_mm512_set1_epi32(126), _mm512_maskz_srli_epi32(all, ax, 23));
    const __m512i m = _mm512_or_si512(_mm512_and_si512(ax, _mm512_set1_epi32(0x7fffff)),
                                      _mm512_set1_epi32(0x800000));
    __m512i half_ulp = _mm512_maskz_sllv_epi32(all, one, _mm512_sub_epi32(shift, one));
    if (!M::kAway) {
      const __m512i lsb = _mm512_and_si512(_mm512_maskz_srlv_epi32(all, m, shift), one);
      half_ulp = _mm512_add_epi32(_mm512_sub_epi32(half_ulp, one), lsb);
    }
    const __m512i h = _mm512_maskz_srlv_epi32(all, _mm512_add_epi32(m, half_ulp), shift);
    const __m512i sub = _mm512_castps_si512(
        _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(all, h), _mm512_set1_ps(kHalfMinSubnormal)));
    r = _mm512_mask_mov_epi32(r, _mm512_cmpgt_epi32_mask(min_normal, ax), sub);
  }
  const __mmask16 nan = _mm512_cmpgt_epi32_mask(ax, _mm512_set1_epi32(bits::kInfBits));
  const __m512i trunc = _mm512_and_si512(ax, _mm512_set1_epi32(bits::kNanPayload));
  const __m512i special =
      _mm512_mask_or_epi32(trunc, nan, trunc, _mm512_set1_epi32(bits::kQuietBit));
  if (M::kSat) {
    r = _mm512_maskz_min_epi32(all, r, _mm512_set1_epi32(bits::kHalfMaxBits));
    const __mmask16 nonfinite = _mm512_cmpgt_epi32_mask(ax, _mm512_set1_epi32(bits::kInfBits - 1));
    r = _mm512_mask_mov_epi32(r, nonfinite, special);
  } else {
    const __mmask16 big = _mm512_cmpgt_epi32_mask(ax, _mm512_set1_epi32(bits::kOverflowBits - 1));
    r = _mm512_mask_max_epi32(r, big, special, _mm512_set1_epi32(bits::kInfBits));
  }
  // r | (x & sign)
  return _mm512_ternarylogic_epi32(r, x, _mm512_set1_epi32(bits::kSign), 0xF8);
}

// Native modes, float -> half -> float. Each mode costs as few instructions as possible:
// the fp16 accumulation modes of the emulator spend most of their time here.
template <bool kSat, bool kFlush>
DALNAS_HALF_AVX512 inline __m512 round16_native(__m512 x) {
  const __mmask16 all = 0xffff;
  if (kSat) {
    // Finite x -> sign(x) · min(|x|, 65504) (vrangeps: min of magnitudes, sign of x;
    // exact for |x| <= 65504); ±inf and NaN (fpclass 0x99: QNaN, ±inf, SNaN) unchanged.
    const __mmask16 special = _mm512_fpclass_ps_mask(x, 0x99);
    x = _mm512_mask_range_ps(x, static_cast<__mmask16>(~special), x, _mm512_set1_ps(kHalfMax),
                             0x02);
  }
  // (The maskz forms with a full mask avoid GCC 12's -Wmaybe-uninitialized on the plain
  // intrinsics; they compile to the same conversions.)
  const __m256i h = _mm512_maskz_cvtps_ph(all, x, _MM_FROUND_TO_NEAREST_INT);
  if (kFlush) {
    // Halves with a zero exponent field (zeros, subnormals) become zero; OR-ing x's sign
    // back gives a zero of the right sign and leaves the other lanes unchanged.
    const __mmask16 normal = _mm256_test_epi16_mask(h, _mm256_set1_epi16(0x7c00));
    const __m512 r = _mm512_maskz_cvtph_ps(normal, h);
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
        _mm512_castps_si512(r), _mm512_castps_si512(x), _mm512_set1_epi32(bits::kSign), 0xF8));
  }
  return _mm512_maskz_cvtph_ps(all, h);
}

template <bool kSat, bool kFlush>
DALNAS_HALF_AVX512 inline __m256i to_half16_native(__m512 x) {
  const __mmask16 all = 0xffff;
  if (kSat) {
    const __mmask16 special = _mm512_fpclass_ps_mask(x, 0x99);
    x = _mm512_mask_range_ps(x, static_cast<__mmask16>(~special), x, _mm512_set1_ps(kHalfMax),
                             0x02);
  }
  __m256i h = _mm512_maskz_cvtps_ph(all, x, _MM_FROUND_TO_NEAREST_INT);
  if (kFlush) {
    const __mmask16 normal = _mm256_test_epi16_mask(h, _mm256_set1_epi16(0x7c00));
    h = _mm256_mask_blend_epi16(normal, _mm256_and_si256(h, _mm256_set1_epi16(int16_t(0x8000))), h);
  }
  return h;
}

template <class M>
DALNAS_HALF_AVX512 inline __m512 round16(__m512 x) {
  if constexpr (M::kNative) {
    return round16_native<M::kSat, M::kFlush>(x);
  } else {
    return _mm512_castsi512_ps(round_bits16<M>(x));
  }
}

template <class M>
DALNAS_HALF_AVX512 inline __m256i to_half16(__m512 x) {
  if constexpr (M::kNative) {
    return to_half16_native<M::kSat, M::kFlush>(x);
  } else {
    return _mm512_maskz_cvtps_ph(__mmask16(0xffff), _mm512_castsi512_ps(round_bits16<M>(x)),
                                 _MM_FROUND_TO_NEAREST_INT);
  }
}

}  // namespace half_simd
}  // namespace dalnas
