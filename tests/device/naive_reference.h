#pragma once
// A naive, independent implementation of the emulator's documented semantics
// (src/device/emulator.h), node by node: straightforward loops with round_to_half.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "device/graph.h"
#include "device/numerics.h"
#include "precision/half.h"

namespace dalnas {
namespace naive {

inline uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
// Bit-equal, or both NaN.
inline bool same(float a, float b) {
  return (a != a && b != b) || bits(a) == bits(b);
}

inline float H(float x, HalfMode m) {
  return round_to_half(x, m);
}

inline float act(float x, const Node& n) {
  auto clip = [](float v, float lo, float hi) {
    if (std::isnan(v)) return v;
    if (v < lo) return lo;
    if (v > hi) return hi;
    return v;
  };
  switch (n.act) {
    case ActType::None:
      return x;
    case ActType::ReLU:
      if (std::isnan(x)) return x;
      return x > 0.0f ? x : 0.0f;
    case ActType::ReLU6:
      return clip(x, 0.0f, 6.0f);
    case ActType::Clip:
      return clip(x, n.act_min, n.act_max);
    case ActType::GELU: {
      const float half_x = x * 0.5f;
      const float e = std::erf(x * 0.70710678118654752440f);
      return half_x * (1.0f + e);
    }
    case ActType::HardSwish: {
      const float t = clip(x + 3.0f, 0.0f, 6.0f);
      const float xt = x * t;
      return xt / 6.0f;
    }
    case ActType::Sigmoid: {
      const float e = std::exp(-x);
      return 1.0f / (1.0f + e);
    }
    case ActType::HardSigmoid: {
      const float ax = n.alpha * x;
      return clip(ax + n.beta, 0.0f, 1.0f);
    }
    case ActType::Swish: {  // x·sigmoid(x), written as one division
      const float e = std::exp(-x);
      return x / (1.0f + e);
    }
  }
  return x;
}

// FP16 exponent (field - 15) of a value already in FP16: -15 for zeros and subnormals,
// 16 for inf / NaN.
inline int fp16_exponent(float v) {
  if (std::isnan(v) || std::isinf(v)) return 16;
  if (std::fabs(v) < kHalfMinNormal) return -15;
  int e = 0;
  std::frexp(v, &e);
  return e - 1;
}

inline int shift_of(const std::vector<float>& w16, int cap, bool first) {
  int mx = -15;
  long sum = 0, count = 0;
  for (float v : w16) {
    const int e = fp16_exponent(v);
    if (e > mx) mx = e;
    if (e != -15) {
      sum += e;
      ++count;
    }
  }
  int mean = -15;
  if (count > 0) mean = static_cast<int>(static_cast<double>(sum) / static_cast<double>(count));
  int s = 15 - mx < -mean ? 15 - mx : -mean;
  if (first && s > 10) s -= 8;
  if (s > cap) s = cap;
  if (s < 1) s = 0;  // OpenVINO scales from shift 1 (scaleThreshold)
  return s;
}

struct Prepared {
  std::vector<float> w, b;
  int shift = 0;
};

// Weights as stored on the device, for every Conv / FC node (in graph order).
inline std::vector<Prepared> prepare(const DeviceGraph& g, const EmulatorConfig& c) {
  std::vector<Prepared> out(g.nodes.size());
  bool first = true;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.op != OpType::Conv && n.op != OpType::FullyConnected && n.op != OpType::ConvTranspose) {
      continue;
    }
    const Numerics& num = on_neural_engine(n) ? c.nce : c.shave;
    const HalfMode ir{num.half.overflow, Subnormals::Keep};
    std::vector<float> w16, b16;
    for (float v : n.weight) w16.push_back(H(v, ir));
    for (int k = 0; k < n.out_c; ++k) b16.push_back(n.bias.empty() ? 0.0f : H(n.bias[k], ir));
    Prepared& p = out[i];
    if (num.prescale && on_neural_engine(n)) {
      p.shift = shift_of(
          w16, n.op == OpType::FullyConnected ? num.prescale_cap_fc : num.prescale_cap, first);
      first = false;
    }
    const float scale = std::ldexp(1.0f, p.shift);
    for (size_t k = 0; k < w16.size(); ++k) {
      p.w.push_back(num.storage == Storage::FP16 ? H(w16[k] * scale, num.half)
                                                 : n.weight[k] * scale);
    }
    for (int k = 0; k < n.out_c; ++k) {
      const float b = n.bias.empty() ? 0.0f : n.bias[k];
      p.b.push_back(num.storage == Storage::FP16 ? H(b16[k] * scale, num.half) : b * scale);
    }
  }
  return out;
}

// A sum with an accumulation rule, term by term.
struct Acc {
  int block;
  HalfMode m;
  float acc = 0.0f, s = 0.0f;
  int count = 0;
  void add(float p) {
    if (block == 0) {
      acc = acc + p;
    } else {
      s = count == 0 ? p : s + p;  // a block sum starts with its first term
      if (++count == block) {
        acc = H(acc + H(s, m), m);
        count = 0;
      }
    }
  }
  float total() {
    if (block != 0 && count != 0) acc = H(acc + H(s, m), m);
    return acc;
  }
};

inline int block_of(const Numerics& num) {
  if (num.acc.kind == Accumulation::FP16) return 1;
  if (num.acc.kind == Accumulation::FP16Blocked) return num.acc.block;
  return 0;
}

inline float store(float y, const Numerics& num) {
  return num.storage == Storage::FP16 ? H(y, num.half) : y;
}

// The output of node `n` from its inputs' stored values.
inline std::vector<float> run_node(const Node& n, const Numerics& num, const Prepared& p,
                                   const std::vector<const std::vector<float>*>& in,
                                   const std::vector<Shape>& in_shape, const Shape& os,
                                   const std::vector<float>& graph_input, const DeviceGraph& g) {
  std::vector<float> y(static_cast<size_t>(os.numel()));
  const int blk = block_of(num);
  auto at = [&](int k, int c, int yy, int xx) {
    const Shape& s = in_shape[k];
    return (*in[k])[(static_cast<size_t>(c) * s.h + yy) * s.w + xx];
  };
  switch (n.op) {
    case OpType::Input: {
      const int64_t hw = static_cast<int64_t>(os.h) * os.w;
      for (int64_t i = 0; i < os.numel(); ++i) {
        float v = graph_input[i];
        if (!g.norm_folded && !g.norm_mean.empty()) {
          v = (v - g.norm_mean[i / hw]) / g.norm_std[i / hw];
        }
        y[i] = store(v, num);
      }
      break;
    }
    case OpType::Conv: {
      const Shape& is = in_shape[0];
      const int cin_g = is.c / n.groups, cout_g = n.out_c / n.groups, k = n.kernel;
      for (int oc = 0; oc < os.c; ++oc) {
        const int g0 = (oc / cout_g) * cin_g;
        for (int oy = 0; oy < os.h; ++oy) {
          for (int ox = 0; ox < os.w; ++ox) {
            Acc a{blk, num.half};
            for (int ci = 0; ci < cin_g; ++ci) {
              for (int ky = 0; ky < k; ++ky) {
                for (int kx = 0; kx < k; ++kx) {
                  const int iy = oy * n.stride + ky - n.pad, ix = ox * n.stride + kx - n.pad;
                  const bool inside = iy >= 0 && iy < is.h && ix >= 0 && ix < is.w;
                  const float x = inside ? at(0, g0 + ci, iy, ix) : 0.0f;
                  const float w = p.w[((static_cast<size_t>(oc) * cin_g + ci) * k + ky) * k + kx];
                  const float prod = w * x;
                  a.add(prod);
                }
              }
            }
            float v = a.total() + p.b[oc];
            if (blk != 0) v = H(v, num.half);
            if (p.shift != 0) v = v * std::ldexp(1.0f, -p.shift);
            v = act(v, n);
            y[(static_cast<size_t>(oc) * os.h + oy) * os.w + ox] = store(v, num);
          }
        }
      }
      break;
    }
    case OpType::FullyConnected: {
      const size_t in_n = in[0]->size();
      for (int oc = 0; oc < n.out_c; ++oc) {
        Acc a{blk, num.half};
        for (size_t i = 0; i < in_n; ++i) {
          const float prod = p.w[oc * in_n + i] * (*in[0])[i];
          a.add(prod);
        }
        float v = a.total() + p.b[oc];
        if (blk != 0) v = H(v, num.half);
        if (p.shift != 0) v = v * std::ldexp(1.0f, -p.shift);
        y[oc] = store(act(v, n), num);
      }
      break;
    }
    case OpType::ConvTranspose: {
      // Gathered: output (oc, oy, ox) takes input (ci, iy, ix) through tap (ky, kx) where
      // iy·stride - pad + ky = oy.
      const Shape& is = in_shape[0];
      const int cin_g = is.c / n.groups, cout_g = n.out_c / n.groups, k = n.kernel;
      for (int oc = 0; oc < os.c; ++oc) {
        const int grp = oc / cout_g, j = oc % cout_g;
        for (int oy = 0; oy < os.h; ++oy) {
          for (int ox = 0; ox < os.w; ++ox) {
            Acc a{blk, num.half};
            for (int ci = grp * cin_g; ci < (grp + 1) * cin_g; ++ci) {
              for (int ky = 0; ky < k; ++ky) {
                for (int kx = 0; kx < k; ++kx) {
                  for (int iy = 0; iy < is.h; ++iy) {
                    if (iy * n.stride - n.pad + ky != oy) continue;
                    for (int ix = 0; ix < is.w; ++ix) {
                      if (ix * n.stride - n.pad + kx != ox) continue;
                      const float w =
                          p.w[((static_cast<size_t>(ci) * cout_g + j) * k + ky) * k + kx];
                      const float prod = w * at(0, ci, iy, ix);
                      a.add(prod);
                    }
                  }
                }
              }
            }
            float v = a.total() + p.b[oc];
            if (blk != 0) v = H(v, num.half);
            if (p.shift != 0) v = v * std::ldexp(1.0f, -p.shift);
            y[(static_cast<size_t>(oc) * os.h + oy) * os.w + ox] = store(act(v, n), num);
          }
        }
      }
      break;
    }
    case OpType::Softmax: {
      const size_t hw = static_cast<size_t>(os.h) * os.w;
      for (size_t px = 0; px < hw; ++px) {
        float m = (*in[0])[px];
        for (int c = 1; c < os.c; ++c) m = std::max(m, (*in[0])[c * hw + px]);
        std::vector<float> e(static_cast<size_t>(os.c));
        float total = 0.0f;
        for (int c = 0; c < os.c; ++c) {
          e[c] = std::exp((*in[0])[c * hw + px] - m);
          total += e[c];
        }
        for (int c = 0; c < os.c; ++c) y[c * hw + px] = store(e[c] / total, num);
      }
      break;
    }
    case OpType::MaxPool:
    case OpType::AvgPool:
      for (int c = 0; c < os.c; ++c) {
        for (int oy = 0; oy < os.h; ++oy) {
          for (int ox = 0; ox < os.w; ++ox) {
            float m = 0.0f;
            bool first = true, nan = false;
            float nan_value = 0.0f;
            int count = 0;
            Acc a{blk, num.half};
            for (int ky = 0; ky < n.kernel; ++ky) {
              for (int kx = 0; kx < n.kernel; ++kx) {
                const int iy = oy * n.stride + ky - n.pad, ix = ox * n.stride + kx - n.pad;
                if (iy < 0 || ix < 0 || iy >= in_shape[0].h || ix >= in_shape[0].w) continue;
                ++count;
                const float v = at(0, c, iy, ix);
                a.add(v);
                if (std::isnan(v) && !nan) {
                  nan = true;
                  nan_value = v;
                }
                if (first || v > m) m = v;
                first = false;
              }
            }
            float v;
            if (n.op == OpType::MaxPool) {
              v = nan ? nan_value : m;
            } else {
              v = a.total() * (1.0f / static_cast<float>(count));
            }
            y[(static_cast<size_t>(c) * os.h + oy) * os.w + ox] = store(v, num);
          }
        }
      }
      break;
    case OpType::GlobalAvgPool: {
      const Shape& is = in_shape[0];
      for (int c = 0; c < is.c; ++c) {
        Acc a{blk, num.half};
        for (int yy = 0; yy < is.h; ++yy) {
          for (int xx = 0; xx < is.w; ++xx) a.add(at(0, c, yy, xx));
        }
        y[c] = store(a.total() * (1.0f / static_cast<float>(is.h * is.w)), num);
      }
      break;
    }
    case OpType::Resize: {
      const Shape& is = in_shape[0];
      if (n.nearest) {
        for (int c = 0; c < os.c; ++c) {
          for (int oy = 0; oy < os.h; ++oy) {
            for (int ox = 0; ox < os.w; ++ox) {
              const int sy =
                  std::min(static_cast<int>(std::floor(double(oy) * is.h / os.h)), is.h - 1);
              const int sx =
                  std::min(static_cast<int>(std::floor(double(ox) * is.w / os.w)), is.w - 1);
              y[(static_cast<size_t>(c) * os.h + oy) * os.w + ox] = store(at(0, c, sy, sx), num);
            }
          }
        }
        break;
      }
      auto src = [&](int d, int in_size, int out_size, int& i0, int& i1, float& l0, float& l1) {
        const float ratio = n.scale > 0.0f ? static_cast<float>(1.0 / double(n.scale))
                                           : float(in_size) / float(out_size);
        float s = ratio * (float(d) + 0.5f) - 0.5f;
        if (s < 0.0f) s = 0.0f;
        i0 = static_cast<int>(std::floor(s));
        if (i0 > in_size - 1) i0 = in_size - 1;
        i1 = i0 + 1 < in_size ? i0 + 1 : in_size - 1;
        l1 = s - float(i0);
        l0 = 1.0f - l1;
      };
      for (int c = 0; c < os.c; ++c) {
        for (int oy = 0; oy < os.h; ++oy) {
          int y0, y1;
          float a0, a1;
          src(oy, is.h, os.h, y0, y1, a0, a1);
          for (int ox = 0; ox < os.w; ++ox) {
            int x0, x1;
            float b0, b1;
            src(ox, is.w, os.w, x0, x1, b0, b1);
            const float top = b0 * at(0, c, y0, x0) + b1 * at(0, c, y0, x1);
            const float bottom = b0 * at(0, c, y1, x0) + b1 * at(0, c, y1, x1);
            const float v = a0 * top + a1 * bottom;
            y[(static_cast<size_t>(c) * os.h + oy) * os.w + ox] = store(v, num);
          }
        }
      }
      break;
    }
    case OpType::Concat: {
      size_t k = 0;
      for (const std::vector<float>* x : in) {
        for (float v : *x) y[k++] = v;
      }
      break;
    }
    case OpType::Add:
      for (size_t i = 0; i < y.size(); ++i) y[i] = store(act((*in[0])[i] + (*in[1])[i], n), num);
      break;
    case OpType::Mul: {
      const size_t hw = static_cast<size_t>(os.h) * os.w;
      const bool bcast = in[1]->size() != y.size();
      for (size_t i = 0; i < y.size(); ++i) {
        const float b = bcast ? (*in[1])[i / hw] : (*in[1])[i];
        y[i] = store(act((*in[0])[i] * b, n), num);
      }
      break;
    }
    case OpType::Activation:
      for (size_t i = 0; i < y.size(); ++i) y[i] = store(act((*in[0])[i], n), num);
      break;
    case OpType::Output:
      y = *in[0];
      break;
    case OpType::Slice:
    case OpType::Shuffle:
      // Imported-graph ops the cost model reads; the emulator refuses them, so the naive
      // reference has no semantics for them to compare against.
      throw std::logic_error("naive reference: no reference for Slice / Shuffle");
  }
  return y;
}

}  // namespace naive
}  // namespace dalnas
