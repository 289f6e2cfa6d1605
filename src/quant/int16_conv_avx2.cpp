// AVX2 path of the int16 (16x8) convolution (quant/int16_ops.h): 8 output pixels per vector,
// bit-identical to int16_conv_scalar. Compiled for AVX2 through `#pragma GCC target` (the
// library is built without -m flags, as quant/int8_conv_avx2.cpp); called only when
// int16_isa_supported(Int8Isa::AVX2).
//
// Per image and group, the input is copied once, padded with 0 (a zero tap adds 0: TFLite's
// "omit"), as int16. Output pixels are taken in tiles of kTile; for a tile the taps are
// gathered in pairs of consecutive taps kk = ic·k·k + ky·k + kx, pixel-major inside a pair
// row, and vpmaddwd multiplies a pair by the weight pair (w[2j], w[2j+1]) (int8 widened to
// int16) and adds the two int32 products. |w·x| <= 128·32768 = 2^22, so one vpmaddwd lane is
// at most 2^23 in magnitude (no saturation: the weights are never −32768) and an int32 sum of
// kChunk = 128 of them at most 2^30: the partial sums are exact. After each chunk they are
// widened (vpmovsxdq) and added to int64 accumulators, so the int64 total equals the scalar
// one (integer addition is associative; the bias add wraps modulo 2^64 in both). The int64
// MultiplyByQuantizedMultiplier is then done lane by lane (see mbqm64).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "quant/int16_ops.h"

#pragma GCC push_options
#pragma GCC target("avx2,avx")

namespace dalnas {
namespace {

constexpr int kTile = 256;   // output pixels per tile (a multiple of 8 · kPix)
constexpr int kBlock = 4;    // output channels per pass over a tile
constexpr int kPix = 2;      // vectors of 8 output pixels per pass
constexpr int kChunk = 128;  // tap pairs per int32 partial sum: 128 · 2^23 = 2^30 < 2^31

static_assert(int64_t{kChunk} * (int64_t{2} * 128 * 32768) < (int64_t{1} << 31),
              "int32 partial sums of kChunk vpmaddwd results must not overflow");

// Arithmetic right shift of 64-bit lanes by s in [1, 63] (AVX2 has no vpsraq).
inline __m256i sra64(__m256i v, int s) {
  const __m256i t = _mm256_srl_epi64(v, _mm_cvtsi32_si128(s));
  const __m256i sign = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);
  return _mm256_or_si256(t, _mm256_sll_epi64(sign, _mm_cvtsi32_si128(64 - s)));
}

// MultiplyByQuantizedMultiplierInt64 on 4 int64 lanes; the int32 results in the low dword
// of each lane. x · r modulo 2^64 with r in [0, 2^15): lo32(x)·r + (hi32(x)·r << 32), both
// products unsigned 32×32 -> 64 (the high product's bits above 2^32 fall off, as they do
// in the scalar wrap).
inline __m256i mbqm64(__m256i x, int64_t r, int total_shift) {
  const __m256i rv = _mm256_set1_epi64x(r);
  const __m256i lo = _mm256_mul_epu32(x, rv);
  const __m256i hi = _mm256_slli_epi64(_mm256_mul_epu32(_mm256_srli_epi64(x, 32), rv), 32);
  const __m256i round = _mm256_set1_epi64x(int64_t{1} << (total_shift - 1));
  return sra64(_mm256_add_epi64(_mm256_add_epi64(lo, hi), round), total_shift);
}

// Bias, requantization, clamp of 8 pixels (two int64 halves: lanes 0-3 and 4-7); the first
// n of them to out.
inline void finish(int16_t* out, __m256i lo, __m256i hi, int n, const Int16ConvArgs& a, int oc) {
  if (a.bias != nullptr) {
    const __m256i b = _mm256_set1_epi64x(a.bias[oc]);
    lo = _mm256_add_epi64(lo, b);
    hi = _mm256_add_epi64(hi, b);
  }
  const int64_t r = ReducedMultiplierInt16(a.multiplier[oc]);
  const int total_shift = 15 - a.shift[oc];  // [8, 46]
  const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  const __m256i q0 = _mm256_permutevar8x32_epi32(mbqm64(lo, r, total_shift), even);
  const __m256i q1 = _mm256_permutevar8x32_epi32(mbqm64(hi, r, total_shift), even);
  __m256i v = _mm256_inserti128_si256(q0, _mm256_castsi256_si128(q1), 1);
  v = _mm256_max_epi32(v, _mm256_set1_epi32(a.act_min));
  v = _mm256_min_epi32(v, _mm256_set1_epi32(a.act_max));
  // In range now: packs does not saturate. [v0..3 v0..3 | v4..7 v4..7] -> qwords 0, 2.
  const __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi32(v, v), 0x08);
  if (n == 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(packed));
  } else {
    alignas(16) int16_t tmp[8];
    _mm_store_si128(reinterpret_cast<__m128i*>(tmp), _mm256_castsi256_si128(packed));
    std::memcpy(out, tmp, static_cast<size_t>(n) * sizeof(int16_t));
  }
}

// acc[b][v][h] (int64, h = lanes 0-3 / 4-7) = Σ_j madd(cols pair j of pixels v·8.., weight
// pair j of channel b), summed in int32 over chunks of kChunk pairs.
template <int NB>
inline void dot(const int16_t* xp, const int32_t* wp0, int pairs, __m256i (&acc64)[NB][kPix][2]) {
  for (int b = 0; b < NB; ++b) {
    for (int v = 0; v < kPix; ++v) acc64[b][v][0] = acc64[b][v][1] = _mm256_setzero_si256();
  }
  for (int j0 = 0; j0 < pairs; j0 += kChunk) {
    const int j1 = std::min(pairs, j0 + kChunk);
    __m256i acc[NB][kPix];
    for (int b = 0; b < NB; ++b) {
      for (int v = 0; v < kPix; ++v) acc[b][v] = _mm256_setzero_si256();
    }
    for (int j = j0; j < j1; ++j) {
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
    for (int b = 0; b < NB; ++b) {
      for (int v = 0; v < kPix; ++v) {
        acc64[b][v][0] = _mm256_add_epi64(acc64[b][v][0],
                                          _mm256_cvtepi32_epi64(_mm256_castsi256_si128(acc[b][v])));
        acc64[b][v][1] = _mm256_add_epi64(
            acc64[b][v][1], _mm256_cvtepi32_epi64(_mm256_extracti128_si256(acc[b][v], 1)));
      }
    }
  }
}

}  // namespace

void int16_conv_avx2(const Int16ConvArgs& a) {
  const int ho = a.out_h(), wo = a.out_w();
  const int64_t npix = static_cast<int64_t>(ho) * wo;
  const int cig = a.c_in / a.groups, cog = a.c_out / a.groups;
  const int k = a.kernel, kk_n = cig * k * k;
  const int pairs = (kk_n + 1) / 2;

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

  const int hp = a.h + 2 * a.pad, wp = a.w + 2 * a.pad;
  // Per-thread buffers, kept between calls (the emulator runs layer after layer).
  thread_local std::vector<int16_t> padded, cols;
  thread_local std::vector<int32_t> tile_off;
  padded.resize(static_cast<size_t>(cig) * hp * wp);
  // cols: slots beyond kk_n are never written here; whatever an earlier call left there (an
  // int16) meets a zero weight. Lanes of pixels beyond the tile are computed, not stored.
  cols.resize(static_cast<size_t>(pairs) * kTile * 2);
  tile_off.resize(kTile);
  for (int n = 0; n < a.batch; ++n) {
    for (int g = 0; g < a.groups; ++g) {
      const int16_t* in_g = a.in + (static_cast<int64_t>(n) * a.c_in + g * cig) * a.h * a.w;
      std::fill(padded.begin(), padded.end(), int16_t{0});
      for (int ic = 0; ic < cig; ++ic) {
        for (int y = 0; y < a.h; ++y) {
          const int16_t* src = in_g + (static_cast<int64_t>(ic) * a.h + y) * a.w;
          int16_t* dst = padded.data() + (static_cast<size_t>(ic) * hp + y + a.pad) * wp + a.pad;
          std::memcpy(dst, src, static_cast<size_t>(a.w) * sizeof(int16_t));
        }
      }
      for (int64_t p0 = 0; p0 < npix; p0 += kTile) {
        const int tp = static_cast<int>(std::min<int64_t>(kTile, npix - p0));
        for (int p = 0; p < tp; ++p) {
          const int64_t q = p0 + p;
          tile_off[p] =
              static_cast<int>(q / wo) * a.stride * wp + static_cast<int>(q % wo) * a.stride;
        }
        // Gather the taps: cols[(j·kTile + p)·2 + (kk & 1)] = x at tap kk of pixel p.
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
            auto store = [&](int b, __m256i(&acc)[kPix][2]) {
              const int oc = g * cog + ob + b;
              int16_t* out = a.out + (static_cast<int64_t>(n) * a.c_out + oc) * npix + p0 + p;
              for (int v = 0; v < kPix && p + 8 * v < tp; ++v) {
                finish(out + 8 * v, acc[v][0], acc[v][1], std::min(8, tp - p - 8 * v), a, oc);
              }
            };
            if (nb == kBlock) {
              __m256i acc[kBlock][kPix][2];
              dot<kBlock>(xp, wp0, pairs, acc);
              for (int b = 0; b < kBlock; ++b) store(b, acc[b]);
            } else {
              for (int b = 0; b < nb; ++b) {
                __m256i acc[1][kPix][2];
                dot<1>(xp, wp0 + static_cast<size_t>(b) * pairs, pairs, acc);
                store(b, acc[0]);
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
