// The scalar reference kernels of the emulator, and what the SIMD paths share with them.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "device/kernels.h"

namespace dalnas {
namespace kernels {

float activate(float x, ActType act, float act_min, float act_max, float alpha, float beta) {
  switch (act) {
    case ActType::None:
      return x;
    case ActType::ReLU:
      return x > 0.0f ? x : (x != x ? x : 0.0f);
    case ActType::ReLU6:
      return clip(x, 0.0f, 6.0f);
    case ActType::Clip:
      return clip(x, act_min, act_max);
    case ActType::GELU:
      return x * 0.5f * (1.0f + std::erf(x * 0.70710678118654752440f));
    case ActType::HardSwish:
      return x * clip(x + 3.0f, 0.0f, 6.0f) / 6.0f;
    case ActType::Sigmoid:
      return 1.0f / (1.0f + std::exp(-x));
    case ActType::HardSigmoid:
      return clip(alpha * x + beta, 0.0f, 1.0f);
    case ActType::Swish:
      return x / (1.0f + std::exp(-x));
  }
  return x;
}

void activate(float* y, int64_t n, ActType act, float act_min, float act_max, float alpha,
              float beta) {
  switch (act) {
    case ActType::None:
      return;
    case ActType::ReLU:
      for (int64_t i = 0; i < n; ++i) y[i] = activate(y[i], ActType::ReLU, 0, 0, 0, 0);
      return;
    case ActType::ReLU6:
      for (int64_t i = 0; i < n; ++i) y[i] = clip(y[i], 0.0f, 6.0f);
      return;
    case ActType::Clip:
      for (int64_t i = 0; i < n; ++i) y[i] = clip(y[i], act_min, act_max);
      return;
    default:
      for (int64_t i = 0; i < n; ++i) y[i] = activate(y[i], act, act_min, act_max, alpha, beta);
  }
}

void finish(float* y, int64_t n, const ConvArgs& a, bool simd) {
  activate(y, n, a.act, a.act_min, a.act_max, a.alpha, a.beta);
  if (a.store_fp16) {
    if (simd) {
      round_to_half(y, y, static_cast<size_t>(n), a.half);
    } else {
      round_to_half_scalar(y, y, static_cast<size_t>(n), a.half);
    }
  }
}

int pad_input(const float* in, const Shape& s, int pad, int min_wp, std::vector<float>& out) {
  const int hp = s.h + 2 * pad;
  const int wp = std::max(s.w + 2 * pad, min_wp);
  out.assign(static_cast<size_t>(s.c) * hp * wp, 0.0f);
  for (int c = 0; c < s.c; ++c) {
    for (int y = 0; y < s.h; ++y) {
      const float* src = in + (static_cast<int64_t>(c) * s.h + y) * s.w;
      float* dst = out.data() + (static_cast<int64_t>(c) * hp + y + pad) * wp + pad;
      std::memcpy(dst, src, sizeof(float) * s.w);
    }
  }
  return wp;
}

// Output row by output row: for each reduction index (input channel, ky, kx) the products
// of the whole row are added to per-pixel accumulators, so that every output element sees
// its products in the reduction order.
void conv_scalar(const ConvArgs& a) {
  const int k = a.kernel, s = a.stride;
  const Shape& is = a.in_shape;
  const Shape& os = a.out_shape;
  thread_local std::vector<float> padded;  // reused: no allocation per call
  const int wp = pad_input(a.in, is, a.pad, 0, padded);
  const int hp = is.h + 2 * a.pad;
  const int cin_g = is.c / a.groups, cout_g = os.c / a.groups;
  const int K = cin_g * k * k;
  const HalfMode m = a.half;
  std::vector<float> acc(os.w), sum(os.w);
  for (int oc = 0; oc < os.c; ++oc) {
    const int g = oc / cout_g;
    const float* w = a.weight + static_cast<int64_t>(oc) * K;
    const float b = a.bias[oc];
    for (int oy = 0; oy < os.h; ++oy) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      int count = 0;
      for (int ci = 0; ci < cin_g; ++ci) {
        for (int ky = 0; ky < k; ++ky) {
          const float* row =
              padded.data() + (static_cast<int64_t>(g * cin_g + ci) * hp + oy * s + ky) * wp;
          for (int kx = 0; kx < k; ++kx) {
            const float wv = w[(ci * k + ky) * k + kx];
            const float* x = row + kx;
            if (a.block == 0) {
              for (int ox = 0; ox < os.w; ++ox) acc[ox] += wv * x[ox * s];
            } else {
              // A block sum starts with the block's first product.
              if (count == 0) {
                for (int ox = 0; ox < os.w; ++ox) sum[ox] = wv * x[ox * s];
              } else {
                for (int ox = 0; ox < os.w; ++ox) sum[ox] += wv * x[ox * s];
              }
              if (++count == a.block) {
                for (int ox = 0; ox < os.w; ++ox) {
                  acc[ox] = round_to_half(acc[ox] + round_to_half(sum[ox], m), m);
                }
                count = 0;
              }
            }
          }
        }
      }
      if (a.block != 0 && count != 0) {
        for (int ox = 0; ox < os.w; ++ox) {
          acc[ox] = round_to_half(acc[ox] + round_to_half(sum[ox], m), m);
        }
      }
      float* y = a.out + (static_cast<int64_t>(oc) * os.h + oy) * os.w;
      for (int ox = 0; ox < os.w; ++ox) {
        float v = acc[ox] + b;
        if (a.block != 0) v = round_to_half(v, m);
        if (a.unscale) v = v * a.unscale_factor;
        v = activate(v, a.act, a.act_min, a.act_max, a.alpha, a.beta);
        if (a.store_fp16) v = round_to_half(v, m);
        y[ox] = v;
      }
    }
  }
}

}  // namespace kernels
}  // namespace dalnas
