// AVX-512 convolution kernel: 16 output pixels per vector. Uses AVX-512F, DQ, BW and VL
// (every AVX-512 CPU since Skylake-SP / Zen 4), compiled for them through
// `#pragma GCC target` (the library itself is built without -m flags); called only when
// kernels::cpu_has_avx512() says yes.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "device/kernels.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx2,avx,f16c")

namespace dalnas {
namespace kernels {
namespace {

struct Ops {
  using V = __m512;
  static constexpr int L = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V bcast(float x) { return _mm512_set1_ps(x); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  // 32 consecutive floats -> the 16 at even positions (stride-2 convolution).
  static V load_s2(const float* p) {
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
  }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void store_n(float* p, V v, int n) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), v);
  }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V abs(V x) {
    return _mm512_castsi512_ps(
        _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff)));
  }
  static V sign(V x) {
    return _mm512_castsi512_ps(
        _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(int32_t(0x80000000u))));
  }
  // x > 0 ? x : (x is NaN ? x : +0)
  static V relu(V x) {
    const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ) |
                           _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    return _mm512_maskz_mov_ps(keep, x);
  }
  // x < lo ? lo : (x > hi ? hi : x); NaN stays NaN.
  static V clip(V x, V lo, V hi) {
    V r = _mm512_mask_mov_ps(x, _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), hi);
    return _mm512_mask_mov_ps(r, _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), lo);
  }
  // Round to FP16 and back, as precision/half.h's round_to_half in the given mode.
  // Each mode costs as few instructions as possible: the fp16 accumulation modes spend
  // most of their time here.
  template <bool kSat, bool kFlush>
  static V round(V x) {
    const __mmask16 all = 0xffff;
    if (kSat) {
      // Finite x -> sign(x) · min(|x|, 65504) (vrangeps: min of magnitudes, sign of x;
      // exact for |x| <= 65504); ±inf and NaN (fpclass 0x99: QNaN, ±inf, SNaN) unchanged.
      const __mmask16 special = _mm512_fpclass_ps_mask(x, 0x99);
      x = _mm512_mask_range_ps(x, static_cast<__mmask16>(~special), x, _mm512_set1_ps(kHalfMax),
                               0x02);
    }
    // (The maskz forms with a full mask avoid GCC 12's -Wmaybe-uninitialized on the
    // plain intrinsics; they compile to the same conversions.)
    const __m256i h = _mm512_maskz_cvtps_ph(all, x, _MM_FROUND_TO_NEAREST_INT);
    if (kFlush) {
      // Halves with a zero exponent field (zeros, subnormals) become zero; OR-ing x's sign
      // back gives a zero of the right sign and leaves the other lanes unchanged.
      const __mmask16 normal = _mm256_test_epi16_mask(h, _mm256_set1_epi16(0x7c00));
      const V r = _mm512_maskz_cvtph_ps(normal, h);
      return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(
          _mm512_castps_si512(r), _mm512_castps_si512(x), _mm512_set1_epi32(int32_t(0x80000000u)),
          0xF8));  // r | (x & sign)
    }
    return _mm512_maskz_cvtph_ps(all, h);
  }
};

constexpr int kFp32R1 = 8, kFp32T1 = 2;  // 16 accumulators
constexpr int kFp32R2 = 4, kFp32T2 = 2;
constexpr int kBlkR1 = 4, kBlkT1 = 2;  // 8 accumulators + 8 block sums
constexpr int kOneT = 4;

}  // namespace

#define DALNAS_SIMD_ENTRY conv_avx512
#include "device/kernels_simd.inc"
#undef DALNAS_SIMD_ENTRY

}  // namespace kernels
}  // namespace dalnas

#pragma GCC pop_options
