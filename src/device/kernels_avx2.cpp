// AVX2 + F16C convolution kernel: 8 output pixels per vector. Compiled for AVX2 through
// `#pragma GCC target` (the library itself is built without -m flags); called only when
// kernels::cpu_has_avx2_f16c() says yes. FMA is deliberately not enabled.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "device/kernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,avx,f16c")

namespace dalnas {
namespace kernels {
namespace {

struct Ops {
  using V = __m256;
  static constexpr int L = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V bcast(float x) { return _mm256_set1_ps(x); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  // 16 consecutive floats -> the 8 at even positions (stride-2 convolution).
  static V load_s2(const float* p) {
    const __m256 t = _mm256_shuffle_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8),
                                       _MM_SHUFFLE(2, 0, 2, 0));  // a0 a2 b0 b2 | a4 a6 b4 b6
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
  }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static void store_n(float* p, V v, int n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane), v);
  }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V abs(V x) { return _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
  static V sign(V x) {
    return _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(int32_t(0x80000000u))));
  }
  static V relu(V x) {
    const V keep = _mm256_or_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ),
                                _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    return _mm256_and_ps(x, keep);
  }
  static V clip(V x, V lo, V hi) {
    const V r = _mm256_blendv_ps(x, hi, _mm256_cmp_ps(x, hi, _CMP_GT_OQ));
    return _mm256_blendv_ps(r, lo, _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
  }
  template <bool kSat, bool kFlush>
  static V round(V x) {
    if (kSat) {
      const V ax = abs(x);
      const V big = _mm256_and_ps(
          _mm256_cmp_ps(ax, _mm256_set1_ps(kHalfMax), _CMP_GT_OQ),
          _mm256_cmp_ps(ax, _mm256_castsi256_ps(_mm256_set1_epi32(0x7f800000)), _CMP_LT_OQ));
      x = _mm256_blendv_ps(x, _mm256_or_ps(sign(x), _mm256_set1_ps(kHalfMax)), big);
    }
    V r = _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
    if (kFlush) {
      const V tiny = _mm256_cmp_ps(abs(r), _mm256_set1_ps(kHalfMinNormal), _CMP_LT_OQ);
      r = _mm256_blendv_ps(r, sign(r), tiny);
    }
    return r;
  }
};

constexpr int kFp32R1 = 4, kFp32T1 = 2;  // 8 accumulators (16 ymm registers)
constexpr int kFp32R2 = 2, kFp32T2 = 2;
constexpr int kBlkR1 = 2, kBlkT1 = 2;  // 4 accumulators + 4 block sums
constexpr int kOneT = 2;

}  // namespace

#define DALNAS_SIMD_ENTRY conv_avx2
#include "device/kernels_simd.inc"
#undef DALNAS_SIMD_ENTRY

}  // namespace kernels
}  // namespace dalnas

#pragma GCC pop_options
