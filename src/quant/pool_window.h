#pragma once
// The pooling loop shared by the int8 and int16 kernels (quant/int8_ops.h,
// quant/int16_ops.h): TFLite's reference_integer_ops::MaxPool / AveragePool for either
// element type, on one C × H × W tensor, taps outside the image skipped:
//   max: y = clamp(max over taps (from `lowest`), act_min, act_max)
//   average: acc = Σ taps (int32), n = taps inside the image,
//            y = clamp(acc > 0 ? (acc + n/2) / n : (acc − n/2) / n, act_min, act_max)
// `Args` is Int8PoolArgs or Int16PoolArgs (checked by the caller).
#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace dalnas {
namespace pool_detail {

// One output: the window at (y0, x0) (top-left, may lie partly outside), taps clipped.
template <bool kMax, class T>
inline T pool_one(const T* x, int h, int w, int kernel, int y0, int x0, int32_t lowest,
                  int32_t act_min, int32_t act_max) {
  int32_t acc = kMax ? lowest : 0;
  int32_t count = 0;
  for (int ky = std::max(0, -y0); ky < std::min(kernel, h - y0); ++ky) {
    for (int kx = std::max(0, -x0); kx < std::min(kernel, w - x0); ++kx) {
      const int32_t v = x[(y0 + ky) * w + (x0 + kx)];
      if (kMax) {
        acc = std::max(acc, v);
      } else {
        acc += v;
      }
      ++count;
    }
  }
  if (!kMax) {
    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
  }
  return static_cast<T>(std::min(std::max(acc, act_min), act_max));
}

template <bool kMax, class Args>
void pool_window(const Args& a, int32_t lowest) {
  using T = std::remove_cv_t<std::remove_pointer_t<decltype(a.in)>>;
  const int oh = a.out_h(), ow = a.out_w(), k = a.kernel, s = a.stride, pad = a.pad;
  // Outputs whose window lies wholly inside the image: ox in [ox_lo, ox_hi), the same for
  // rows. Their taps need no clipping and their count is k·k; every other output takes
  // pool_one. Both compute the same value (the taps inside the image, in the same order
  // for the sum; max and integer sums do not depend on the order anyway).
  auto inside = [&](int n, int size, int& lo, int& hi) {
    lo = std::min(n, (pad + s - 1) / s);  // first o with o·s − pad >= 0
    hi = size - k + pad < 0 ? 0 : std::min(n, (size - k + pad) / s + 1);  // o·s − pad + k <= size
    if (hi < lo) hi = lo;
  };
  int oy_lo, oy_hi, ox_lo, ox_hi;
  inside(oh, a.h, oy_lo, oy_hi);
  inside(ow, a.w, ox_lo, ox_hi);
  const int32_t count = k * k;
  for (int ch = 0; ch < a.c; ++ch) {
    const T* x = a.in + static_cast<int64_t>(ch) * a.h * a.w;
    T* y = a.out + static_cast<int64_t>(ch) * oh * ow;
    for (int oy = 0; oy < oh; ++oy) {
      const int y0 = oy * s - pad;
      T* yr = y + static_cast<int64_t>(oy) * ow;
      const bool row_inside = oy >= oy_lo && oy < oy_hi;
      for (int ox = 0; ox < ow; ++ox) {
        if (row_inside && ox == ox_lo) {
          const T* r0 = x + static_cast<int64_t>(y0) * a.w - pad;
          if (kMax && k == 2 && s == 2) {  // the U-Net's pooling: a loop that vectorises
            const T* r1 = r0 + a.w;
            for (; ox < ox_hi; ++ox) {
              const int32_t m0 = std::max<int32_t>(r0[2 * ox], r0[2 * ox + 1]);
              const int32_t m1 = std::max<int32_t>(r1[2 * ox], r1[2 * ox + 1]);
              const int32_t m = std::max(std::max(m0, m1), lowest);
              yr[ox] = static_cast<T>(std::min(std::max(m, a.act_min), a.act_max));
            }
          } else {
            for (; ox < ox_hi; ++ox) {
              const T* p = r0 + static_cast<int64_t>(ox) * s;
              int32_t acc = kMax ? lowest : 0;
              for (int ky = 0; ky < k; ++ky, p += a.w) {
                for (int kx = 0; kx < k; ++kx) {
                  if (kMax) {
                    acc = std::max<int32_t>(acc, p[kx]);
                  } else {
                    acc += p[kx];
                  }
                }
              }
              if (!kMax) {
                acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
              }
              yr[ox] = static_cast<T>(std::min(std::max(acc, a.act_min), a.act_max));
            }
          }
          if (ox >= ow) break;
        }
        yr[ox] = pool_one<kMax>(x, a.h, a.w, k, y0, ox * s - pad, lowest, a.act_min, a.act_max);
      }
    }
  }
}

}  // namespace pool_detail
}  // namespace dalnas
