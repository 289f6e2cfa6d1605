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

template <bool kMax, class Args>
void pool_window(const Args& a, int32_t lowest) {
  using T = std::remove_cv_t<std::remove_pointer_t<decltype(a.in)>>;
  const int oh = a.out_h(), ow = a.out_w();
  for (int ch = 0; ch < a.c; ++ch) {
    const T* x = a.in + static_cast<int64_t>(ch) * a.h * a.w;
    T* y = a.out + static_cast<int64_t>(ch) * oh * ow;
    for (int oy = 0; oy < oh; ++oy) {
      for (int ox = 0; ox < ow; ++ox) {
        const int y0 = oy * a.stride - a.pad, x0 = ox * a.stride - a.pad;
        int32_t acc = kMax ? lowest : 0;
        int32_t count = 0;
        for (int ky = std::max(0, -y0); ky < std::min(a.kernel, a.h - y0); ++ky) {
          for (int kx = std::max(0, -x0); kx < std::min(a.kernel, a.w - x0); ++kx) {
            const int32_t v = x[(y0 + ky) * a.w + (x0 + kx)];
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
        y[oy * ow + ox] = static_cast<T>(std::min(std::max(acc, a.act_min), a.act_max));
      }
    }
  }
}

}  // namespace pool_detail
}  // namespace dalnas
