#pragma once
// Max and average pooling as TFLite's reference loops have them, for the int8 and int16
// pooling tests (test_int8_ops.cpp, test_int16_ops.cpp): every output's window clipped to
// the image, the average over the taps inside rounded half away from zero, then the
// activation clamp. `Args` is Int8PoolArgs or Int16PoolArgs; `lowest` the type's minimum.
#include <algorithm>
#include <cstdint>
#include <vector>

namespace dalnas {
namespace naive {

template <class T, class Args>
std::vector<T> pool(bool max, const std::vector<T>& x, const Args& a, int32_t lowest) {
  std::vector<T> y(static_cast<size_t>(a.c) * a.out_h() * a.out_w());
  for (int ch = 0; ch < a.c; ++ch) {
    for (int oy = 0; oy < a.out_h(); ++oy) {
      for (int ox = 0; ox < a.out_w(); ++ox) {
        int32_t acc = max ? lowest : 0, count = 0;
        for (int ky = 0; ky < a.kernel; ++ky) {
          for (int kx = 0; kx < a.kernel; ++kx) {
            const int iy = oy * a.stride - a.pad + ky, ix = ox * a.stride - a.pad + kx;
            if (iy < 0 || iy >= a.h || ix < 0 || ix >= a.w) continue;
            const int32_t v = x[(static_cast<size_t>(ch) * a.h + iy) * a.w + ix];
            acc = max ? std::max(acc, v) : acc + v;
            ++count;
          }
        }
        if (!max) acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
        y[(static_cast<size_t>(ch) * a.out_h() + oy) * a.out_w() + ox] =
            static_cast<T>(std::clamp(acc, a.act_min, a.act_max));
      }
    }
  }
  return y;
}

}  // namespace naive
}  // namespace dalnas
