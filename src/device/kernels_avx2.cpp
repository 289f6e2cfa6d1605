// AVX2 + F16C convolution kernel: 8 output pixels per vector. Compiled for AVX2 (and FMA,
// used only where the CPU has it and only where it is exact: see kernels_simd.inc)
// through `#pragma GCC target` (the library itself is built without -m flags, and with
// -ffp-contract=off, so no mul + add is contracted); called only when
// kernels::cpu_has_avx2_f16c() says yes.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "device/kernels.h"
#include "precision/half_simd.h"

#pragma GCC push_options
#pragma GCC target("avx2,avx,f16c,fma")

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
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static bool has_fma() {
    static const bool has = [] {
      __builtin_cpu_init();
      return __builtin_cpu_supports("fma") != 0;
    }();
    return has;
  }
  // True if all n values are FP16 values (round_to_half(x) == x: finite halves and ±inf;
  // not NaN).
  static bool half_values(const float* p, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const __m256 x = _mm256_loadu_ps(p + i);
      const __m256 r = _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
      if (_mm256_movemask_ps(_mm256_cmp_ps(r, x, _CMP_EQ_OQ)) != 0xff) return false;
    }
    for (; i < n; ++i) {
      if (!(round_to_half(p[i]) == p[i])) return false;
    }
    return true;
  }
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
  // Round to FP16 and back, as precision/half.h's round_to_half in the mode M (a
  // half_simd::Mode).
  template <class M>
  static V round(V x) {
    return half_simd::round8<M>(x);
  }
};

// fp32: 12 accumulators + 3 input vectors + 1 weight = 16 ymm registers (with FMA, 12
// independent chains keep both FMA ports busy at latency 4); 2 or 3 channels left over
// after the blocks of 4 take 2 channels × 4 vectors.
constexpr int kFp32R1 = 4, kFp32T1 = 3;
constexpr int kFp32R2 = 2, kFp32T2 = 4;
constexpr int kBlkR1 = 4, kBlkT1 = 2;  // 8 block sums in registers (accumulators in memory)
constexpr int kOneT = 4;               // single channels (depthwise, fp16 accumulation)

}  // namespace

#define DALNAS_SIMD_ENTRY conv_avx2
#include "device/kernels_simd.inc"
#undef DALNAS_SIMD_ENTRY

}  // namespace kernels
}  // namespace dalnas

#pragma GCC pop_options
