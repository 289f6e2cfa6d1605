// AVX2 path of the int8 convolution (quant/int8_conv.h): 8 output pixels per vector,
// bit-identical to int8_conv_scalar. Compiled for AVX2 through `#pragma GCC target` (the
// library is built without -m flags, as device/kernels_avx2.cpp); called only when
// int8_isa_supported(Int8Isa::AVX2).
//
// Per image and group, the output pixels are taken in tiles of kTile. For a tile, the
// taps (x − z_in) are gathered as int16 (0 for taps outside the image, which is TFLite's
// "omit") in pairs of consecutive taps kk = ic·k·k + ky·k + kx, pixel-major inside a pair
// row; vpmaddwd multiplies a pair by the pair of weights (w[2j], w[2j+1]) and adds the two
// int32 products: |w·(x − z)| <= 127·255, so nothing saturates and the int32 sums equal the
// scalar ones modulo 2^32 (integer addition is associative). The requantization is the
// scalar formula lane by lane (see Ops::finish below). Per image and group the input is
// copied once, padded, as int16 x − z (no bounds checks in the gather); each pass keeps 4
// output channels × 16 pixels in 8 accumulators.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "quant/int8_conv.h"

#pragma GCC push_options
#pragma GCC target("avx2,avx")

namespace dalnas {
namespace {

constexpr int kTile = 256;  // output pixels per tile (a multiple of 8 · kPix)
constexpr int kBlock = 4;   // output channels per pass over a tile
constexpr int kPix = 2;     // vectors of 8 output pixels per pass (kBlock · kPix accumulators)

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
    v = _mm256_min_epi32(v, _mm256_set1_epi32(a.act_max));
    store8(out, v, n);
  }
};

#include "quant/int8_conv_depthwise.inc"

// acc[b][v] = Σ_j madd(cols pair j of pixels v·8.., weight pair j of channel b): NB output
// channels × kPix vectors of 8 pixels, from zero.
template <int NB>
inline void dot(const int16_t* xp, const int32_t* wp0, int pairs, __m256i (&acc)[NB][kPix]) {
  for (int b = 0; b < NB; ++b) {
    for (int v = 0; v < kPix; ++v) acc[b][v] = _mm256_setzero_si256();
  }
  for (int j = 0; j < pairs; ++j) {
    __m256i xv[kPix];
    for (int v = 0; v < kPix; ++v) {
      xv[v] = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(xp + static_cast<size_t>(j) * kTile * 2 + 16 * v));
    }
    for (int b = 0; b < NB; ++b) {
      const __m256i w = _mm256_set1_epi32(wp0[static_cast<size_t>(b) * pairs + j]);
      for (int v = 0; v < kPix; ++v) {
        acc[b][v] = _mm256_add_epi32(acc[b][v], _mm256_madd_epi16(xv[v], w));
      }
    }
  }
}

}  // namespace

void int8_conv_avx2(const Int8ConvArgs& a) {
  if (a.c_in == a.groups) {  // one input channel per group: the direct depthwise path
    depthwise<Ops>(a);
    return;
  }
  const int ho = a.out_h(), wo = a.out_w();
  const int64_t npix = static_cast<int64_t>(ho) * wo;
  const int cig = a.c_in / a.groups, cog = a.c_out / a.groups;
  const int k = a.kernel, kk_n = cig * k * k;
  const int pairs = (kk_n + 1) / 2;
  const int16_t z = static_cast<int16_t>(a.in_zero_point);

  // Weight pairs (w[2j] low, w[2j+1] high, int16 each) per output channel.
  std::vector<int32_t> wpair(static_cast<size_t>(a.c_out) * pairs);
  for (int oc = 0; oc < a.c_out; ++oc) {
    const int8_t* w = a.weight + static_cast<int64_t>(oc) * kk_n;
    for (int j = 0; j < pairs; ++j) {
      const int16_t lo = w[2 * j];
      const int16_t hi = 2 * j + 1 < kk_n ? w[2 * j + 1] : 0;
      wpair[static_cast<size_t>(oc) * pairs + j] = static_cast<int32_t>(
          static_cast<uint16_t>(lo) | (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16));
    }
  }

  // The group's input, padded, as int16 x − z (padding 0: TFLite's "omit"), so that the
  // gather needs no bounds checks.
  const int hp = a.h + 2 * a.pad, wp = a.w + 2 * a.pad;
  // Per-thread buffers, kept between calls (the emulator runs layer after layer).
  thread_local std::vector<int16_t> padded, cols;
  thread_local std::vector<int32_t> tile_off;
  padded.resize(static_cast<size_t>(cig) * hp * wp);
  // cols: slots beyond kk_n are never written here; whatever an earlier call left there
  // meets a zero weight.
  cols.resize(static_cast<size_t>(pairs) * kTile * 2);
  tile_off.resize(kTile);
  for (int n = 0; n < a.batch; ++n) {
    for (int g = 0; g < a.groups; ++g) {
      const int8_t* in_g = a.in + (static_cast<int64_t>(n) * a.c_in + g * cig) * a.h * a.w;
      std::fill(padded.begin(), padded.end(), int16_t{0});
      for (int ic = 0; ic < cig; ++ic) {
        for (int y = 0; y < a.h; ++y) {
          const int8_t* src = in_g + (static_cast<int64_t>(ic) * a.h + y) * a.w;
          int16_t* dst = padded.data() + (static_cast<size_t>(ic) * hp + y + a.pad) * wp + a.pad;
          for (int x = 0; x < a.w; ++x) dst[x] = static_cast<int16_t>(src[x] - z);
        }
      }
      for (int64_t p0 = 0; p0 < npix; p0 += kTile) {
        const int tp = static_cast<int>(std::min<int64_t>(kTile, npix - p0));
        for (int p = 0; p < tp; ++p) {
          const int64_t q = p0 + p;
          tile_off[p] =
              static_cast<int>(q / wo) * a.stride * wp + static_cast<int>(q % wo) * a.stride;
        }
        // Gather the taps: cols[(j·kTile + p)·2 + (kk & 1)] = x − z at tap kk of pixel p.
        for (int kk = 0; kk < kk_n; ++kk) {
          const int ic = kk / (k * k), ky = (kk / k) % k, kx = kk % k;
          const int16_t* src = padded.data() + (static_cast<size_t>(ic) * hp + ky) * wp + kx;
          int16_t* dst = cols.data() + static_cast<size_t>(kk / 2) * kTile * 2 + (kk & 1);
          for (int p = 0; p < tp; ++p) dst[2 * p] = src[tile_off[p]];
        }
        for (int ob = 0; ob < cog; ob += kBlock) {
          const int nb = std::min(kBlock, cog - ob);
          const int32_t* wp0 = wpair.data() + static_cast<size_t>(g * cog + ob) * pairs;
          for (int p = 0; p < tp; p += 8 * kPix) {
            const int16_t* xp = cols.data() + static_cast<size_t>(p) * 2;
            auto finish = [&](int b, __m256i(&acc)[kPix]) {
              const int oc = g * cog + ob + b;
              int8_t* out = a.out + (static_cast<int64_t>(n) * a.c_out + oc) * npix + p0 + p;
              for (int v = 0; v < kPix && p + 8 * v < tp; ++v) {
                Ops::finish(out + 8 * v, acc[v], std::min(8, tp - p - 8 * v), a, oc);
              }
            };
            if (nb == kBlock) {
              __m256i acc[kBlock][kPix];
              dot<kBlock>(xp, wp0, pairs, acc);
              for (int b = 0; b < kBlock; ++b) finish(b, acc[b]);
            } else {
              for (int b = 0; b < nb; ++b) {
                __m256i acc[1][kPix];
                dot<1>(xp, wp0 + static_cast<size_t>(b) * pairs, pairs, acc);
                finish(b, acc[0]);
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace dalnas

#pragma GCC pop_options
