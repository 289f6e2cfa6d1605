// AVX-512 VNNI path of the int8 convolution (quant/int8_conv.h): 16 output pixels per
// vector, bit-identical to int8_conv_scalar. Compiled for AVX-512 F/BW/VL + VNNI through
// `#pragma GCC target` (as device/kernels_avx512.cpp); called only when
// int8_isa_supported(Int8Isa::AVX512VNNI).
//
// vpdpbusd multiplies unsigned by signed bytes, four at a time, and adds the four products
// to an int32 lane without saturation. The taps are gathered as u = x + 128 in [0, 255]
// (taps outside the image as u = z_in + 128, i.e. x = z_in), in quads of consecutive taps
// kk = ic·k·k + ky·k + kx, and
//   Σ w·(x − z_in) = Σ w·u − (z_in + 128)·Σ w
// over all k·k·c taps (the outside taps contribute w·(z_in − z_in) = 0 either way, which is
// TFLite's "omit"). Both sides are equal modulo 2^32, so the int32 result equals the
// scalar reference's. Requantization: the scalar formula lane by lane (see mbqm()).
// Per image and group the input is copied once, padded, as u (no bounds checks in the
// gather); per tile of 256 pixels the taps are gathered into quads, and each pass keeps
// 8 output channels × 32 pixels in 16 accumulators (two loads and eight broadcasts per 16
// vpdpbusd).
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

constexpr int kTile = 256;  // output pixels per tile (a multiple of 16 · kPix)
constexpr int kBlock = 8;   // output channels per pass over a tile
constexpr int kPix = 2;     // vectors of 16 output pixels per pass (kBlock · kPix accumulators)

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

// acc[b][v] = Σ_j dpbusd(cols quad j of pixels v·16.., weight quad j of channel b): NB
// output channels × kPix vectors of 16 pixels, from zero.
template <int NB>
inline void dot(const uint8_t* xp, const int32_t* wq0, int quads, __m512i (&acc)[NB][kPix]) {
  for (int b = 0; b < NB; ++b) {
    for (int v = 0; v < kPix; ++v) acc[b][v] = _mm512_setzero_si512();
  }
  for (int j = 0; j < quads; ++j) {
    __m512i xv[kPix];
    for (int v = 0; v < kPix; ++v) {
      xv[v] = _mm512_loadu_si512(xp + static_cast<size_t>(j) * kTile * 4 + 64 * v);
    }
    for (int b = 0; b < NB; ++b) {
      const __m512i w = _mm512_set1_epi32(wq0[static_cast<size_t>(b) * quads + j]);
      for (int v = 0; v < kPix; ++v) acc[b][v] = _mm512_dpbusd_epi32(acc[b][v], xv[v], w);
    }
  }
}

}  // namespace

void int8_conv_avx512vnni(const Int8ConvArgs& a) {
  if (a.c_in == a.groups) {  // one input channel per group: the direct depthwise path
    depthwise<Ops>(a);
    return;
  }
  const int ho = a.out_h(), wo = a.out_w();
  const int64_t npix = static_cast<int64_t>(ho) * wo;
  const int cig = a.c_in / a.groups, cog = a.c_out / a.groups;
  const int k = a.kernel, kk_n = cig * k * k;
  const int quads = (kk_n + 3) / 4;
  const uint8_t u_pad = static_cast<uint8_t>(a.in_zero_point + 128);

  // Weight quads (4 int8, w[4j] in the low byte) and Σ w per output channel.
  std::vector<int32_t> wquad(static_cast<size_t>(a.c_out) * quads);
  std::vector<int32_t> correction(static_cast<size_t>(a.c_out));
  for (int oc = 0; oc < a.c_out; ++oc) {
    const int8_t* w = a.weight + static_cast<int64_t>(oc) * kk_n;
    int32_t sum = 0;
    for (int kk = 0; kk < kk_n; ++kk) sum += w[kk];  // |Σ w| <= 127·kk_n: no overflow here
    for (int j = 0; j < quads; ++j) {
      uint32_t q = 0;
      for (int t = 0; t < 4; ++t) {
        const int kk = 4 * j + t;
        const uint8_t byte = kk < kk_n ? static_cast<uint8_t>(w[kk]) : 0;
        q |= static_cast<uint32_t>(byte) << (8 * t);
      }
      wquad[static_cast<size_t>(oc) * quads + j] = static_cast<int32_t>(q);
    }
    // (z_in + 128)·Σ w modulo 2^32.
    correction[static_cast<size_t>(oc)] = static_cast<int32_t>(
        static_cast<uint32_t>(a.in_zero_point + 128) * static_cast<uint32_t>(sum));
  }

  // The group's input, padded, as uint8 x + 128 (padding: z_in + 128, TFLite's "omit"
  // after the correction below), so that the gather needs no bounds checks.
  const int hp = a.h + 2 * a.pad, wp = a.w + 2 * a.pad;
  // Per-thread buffers, kept between calls (the emulator runs layer after layer).
  thread_local std::vector<uint8_t> padded, cols;
  thread_local std::vector<int32_t> tile_off;
  padded.resize(static_cast<size_t>(cig) * hp * wp);
  // cols: slots beyond kk_n are never written here; whatever an earlier call left there
  // meets a zero weight.
  cols.resize(static_cast<size_t>(quads) * kTile * 4);
  tile_off.resize(kTile);
  for (int n = 0; n < a.batch; ++n) {
    for (int g = 0; g < a.groups; ++g) {
      const int8_t* in_g = a.in + (static_cast<int64_t>(n) * a.c_in + g * cig) * a.h * a.w;
      std::fill(padded.begin(), padded.end(), u_pad);
      for (int ic = 0; ic < cig; ++ic) {
        for (int y = 0; y < a.h; ++y) {
          const int8_t* src = in_g + (static_cast<int64_t>(ic) * a.h + y) * a.w;
          uint8_t* dst = padded.data() + (static_cast<size_t>(ic) * hp + y + a.pad) * wp + a.pad;
          for (int x = 0; x < a.w; ++x) dst[x] = static_cast<uint8_t>(src[x] + 128);
        }
      }
      for (int64_t p0 = 0; p0 < npix; p0 += kTile) {
        const int tp = static_cast<int>(std::min<int64_t>(kTile, npix - p0));
        for (int p = 0; p < tp; ++p) {
          const int64_t q = p0 + p;
          tile_off[p] =
              static_cast<int>(q / wo) * a.stride * wp + static_cast<int>(q % wo) * a.stride;
        }
        // Gather: cols[(j·kTile + p)·4 + (kk & 3)] = the padded input at tap kk of pixel p.
        for (int kk = 0; kk < kk_n; ++kk) {
          const int ic = kk / (k * k), ky = (kk / k) % k, kx = kk % k;
          const uint8_t* src = padded.data() + (static_cast<size_t>(ic) * hp + ky) * wp + kx;
          uint8_t* dst = cols.data() + static_cast<size_t>(kk / 4) * kTile * 4 + (kk & 3);
          for (int p = 0; p < tp; ++p) dst[4 * p] = src[tile_off[p]];
        }
        for (int ob = 0; ob < cog; ob += kBlock) {
          const int nb = std::min(kBlock, cog - ob);
          const int32_t* wq0 = wquad.data() + static_cast<size_t>(g * cog + ob) * quads;
          for (int p = 0; p < tp; p += 16 * kPix) {
            const uint8_t* xp = cols.data() + static_cast<size_t>(p) * 4;
            auto finish = [&](int b, __m512i(&acc)[kPix]) {
              const int oc = g * cog + ob + b;
              const __m512i corr = _mm512_set1_epi32(correction[static_cast<size_t>(oc)]);
              int8_t* out = a.out + (static_cast<int64_t>(n) * a.c_out + oc) * npix + p0 + p;
              for (int v = 0; v < kPix && p + 16 * v < tp; ++v) {
                Ops::finish(out + 16 * v, _mm512_sub_epi32(acc[v], corr),
                            std::min(16, tp - p - 16 * v), a, oc);
              }
            };
            if (nb == kBlock) {
              __m512i acc[kBlock][kPix];
              dot<kBlock>(xp, wq0, quads, acc);
              for (int b = 0; b < kBlock; ++b) finish(b, acc[b]);
            } else {
              for (int b = 0; b < nb; ++b) {
                __m512i acc[1][kPix];
                dot<1>(xp, wq0 + static_cast<size_t>(b) * quads, quads, acc);
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
