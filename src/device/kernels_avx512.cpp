// AVX-512 convolution kernel: 16 output pixels per vector. Uses AVX-512F, DQ, BW and VL
// (every AVX-512 CPU since Skylake-SP / Zen 4), compiled for them through
// `#pragma GCC target` (the library itself is built without -m flags); called only when
// kernels::cpu_has_avx512() says yes.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "device/kernels.h"
#include "precision/half_simd.h"

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
  // (FMA is part of every AVX-512 CPU; used only where exact: see kernels_simd.inc.)
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static bool has_fma() { return true; }
  // True if all n values are FP16 values (round_to_half(x) == x: finite halves and ±inf;
  // not NaN).
  static bool half_values(const float* p, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 k =
          n - i >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1u);
      const __m512 x = _mm512_maskz_loadu_ps(k, p + i);
      const __m512 r =
          _mm512_maskz_cvtph_ps(k, _mm512_maskz_cvtps_ph(k, x, _MM_FROUND_TO_NEAREST_INT));
      if (_mm512_mask_cmp_ps_mask(k, r, x, _CMP_EQ_OQ) != k) return false;
    }
    return true;
  }
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
  // Round to FP16 and back, as precision/half.h's round_to_half in the mode M (a
  // half_simd::Mode).
  template <class M>
  static V round(V x) {
    return half_simd::round16<M>(x);
  }
};

constexpr int kFp32R1 = 8, kFp32T1 = 2;  // 16 accumulators (32 zmm registers)
constexpr int kFp32R2 = 4, kFp32T2 = 2;
constexpr int kBlkR1 = 4, kBlkT1 = 3;  // 12 block sums in registers (accumulators in memory)
constexpr int kOneT = 4;

}  // namespace

#define DALNAS_SIMD_ENTRY conv_avx512
#include "device/kernels_simd.inc"
#undef DALNAS_SIMD_ENTRY

}  // namespace kernels
}  // namespace dalnas

#pragma GCC pop_options
