// AVX2 path of ONNX Runtime's float bilinear resize (quant/ort_int8_ops.h): one output row,
// eight outputs per vector, bit-identical to the scalar row in ort_int8_ops.cpp. Compiled
// for AVX2 through `#pragma GCC target` (no FMA: every product and sum is rounded on its
// own, as in the scalar expression); called only when int8_isa_supported(Int8Isa::AVX2).
#include <immintrin.h>

#include <cstdint>

#include "quant/ort_int8_ops.h"

#pragma GCC push_options
#pragma GCC target("avx2,avx")

namespace dalnas {

void ort_resize_row_avx2(const float* f1, const float* f2, const int* i1, const int* i2,
                         const float* dx1, const float* dx2, float dy1, float dy2, int n,
                         const QuantParams& p, int8_t* out) {
  const int32_t z = p.zero_point;
  const int32_t zc = z < -128 ? -128 : z > 127 ? 127 : z;
  const __m256 vdy1 = _mm256_set1_ps(dy1), vdy2 = _mm256_set1_ps(dy2);
  const __m256 scale = _mm256_set1_ps(p.scale);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(-128 - z));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(127 - z));
  const __m256i vz = _mm256_set1_epi32(z), vzc = _mm256_set1_epi32(zc);
  int ox = 0;
  for (; ox + 8 <= n; ox += 8) {
    const __m256i a1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(i1 + ox));
    const __m256i a2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(i2 + ox));
    const __m256 ta = _mm256_i32gather_ps(f1, a1, 4);
    const __m256 tb = _mm256_i32gather_ps(f1, a2, 4);
    const __m256 tc = _mm256_i32gather_ps(f2, a1, 4);
    const __m256 td = _mm256_i32gather_ps(f2, a2, 4);
    const __m256 w1 = _mm256_loadu_ps(dx1 + ox), w2 = _mm256_loadu_ps(dx2 + ox);
    // (d2x·d2y)·a + (d1x·d2y)·b + (d2x·d1y)·c + (d1x·d1y)·d, left to right.
    __m256 v = _mm256_mul_ps(_mm256_mul_ps(w2, vdy2), ta);
    v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_mul_ps(w1, vdy2), tb));
    v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_mul_ps(w2, vdy1), tc));
    v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_mul_ps(w1, vdy1), td));
    // quantize_int8_even: clamp(nearbyint(v / scale)) + z; NaN gives the zero point.
    const __m256 q = _mm256_div_ps(v, scale);
    const __m256 nan = _mm256_cmp_ps(q, q, _CMP_UNORD_Q);
    const __m256 c = _mm256_min_ps(_mm256_max_ps(q, lo), hi);
    const __m256 r = _mm256_round_ps(c, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256i iv = _mm256_add_epi32(_mm256_cvtps_epi32(r), vz);
    iv = _mm256_blendv_epi8(iv, vzc, _mm256_castps_si256(nan));
    const __m128i w16 =
        _mm_packs_epi32(_mm256_castsi256_si128(iv), _mm256_extracti128_si256(iv, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + ox), _mm_packs_epi16(w16, w16));
  }
  for (; ox < n; ++ox) {
    const float v = dx2[ox] * dy2 * f1[i1[ox]] + dx1[ox] * dy2 * f1[i2[ox]] +
                    dx2[ox] * dy1 * f2[i1[ox]] + dx1[ox] * dy1 * f2[i2[ox]];
    out[ox] = quantize_int8_even(v, p);
  }
}

}  // namespace dalnas

#pragma GCC pop_options
