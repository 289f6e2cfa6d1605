#include "quant/dpu_ops.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <map>
#include <string>

#include "core/error.h"

namespace dalnas {

int8_t dpu_round(double v) {
  if (!(v < 127.0)) return v >= 127.0 ? int8_t{127} : int8_t{0};  // NaN: 0
  if (v < -128.0) return -128;
  return static_cast<int8_t>(std::floor(v + 0.5));
}

int8_t std_round_int8(double v) {
  if (!(v < 127.0)) return v >= 127.0 ? int8_t{127} : int8_t{0};
  if (v < -128.0) return -128;
  return static_cast<int8_t>(std::max(-128.0, std::min(127.0, std::round(v))));
}

int8_t fix_quantize(float x, int pos, FixRound r) {
  const double v = static_cast<double>(x) * std::ldexp(1.0, pos);
  return r == FixRound::Std ? std_round_int8(v) : dpu_round(v);
}

float fix_dequantize(int8_t q, int pos) {
  return static_cast<float>(std::ldexp(static_cast<double>(q), -pos));
}

int max_fix_pos(float lo, float hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    throw Error("fix position: the range [" + std::to_string(lo) + ", " + std::to_string(hi) +
                "] is not finite");
  }
  const double step = std::max(static_cast<double>(lo) / -128.5, static_cast<double>(hi) / 127.5);
  if (step <= static_cast<double>(FLT_MIN)) return 18;
  return static_cast<int>(std::floor(std::log2(1.0 / step)));
}

int diffs_fix_pos(const float* x, int64_t n, FixRound r, int range) {
  if (n < 1) throw Error("fix position: no values");
  const auto mm = std::minmax_element(x, x + n);
  const int p = max_fix_pos(*mm.first, *mm.second);
  int best = p;
  double best_err = std::numeric_limits<double>::infinity();
  for (int pos = p; pos < p + std::max(1, range); ++pos) {
    double err = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(x[i]) - fix_dequantize(fix_quantize(x[i], pos, r), pos);
      err += d * d;
    }
    if (err < best_err) {
      best_err = err;
      best = pos;
    }
  }
  return best;
}

int modal_fix_pos(const std::vector<int>& positions) {
  if (positions.empty()) throw Error("fix position: no calibration batches");
  std::map<int, int> count;
  for (int p : positions) ++count[p];
  int best = count.begin()->first, most = 0;
  for (const auto& [p, c] : count) {
    if (c > most) {
      most = c;
      best = p;
    }
  }
  return best;
}

DpuConvShifts dpu_conv_shifts(int pos_in, int pos_out, int pos_w, int pos_b) {
  DpuConvShifts s;
  s.shift_cut = std::clamp(pos_w + pos_in - pos_out, 0, 16);
  s.pos_w = s.shift_cut + pos_out - pos_in;
  s.shift_bias = std::clamp(s.pos_w + pos_in - pos_b, 0, 16);
  s.pos_b = s.pos_w + pos_in - s.shift_bias;
  return s;
}

int32_t dpu_relu6_max(int pos_out) {
  return static_cast<int32_t>(dpu_round(6.0 * std::ldexp(1.0, pos_out)));
}

namespace {

int8_t clamp_act(int8_t q, int32_t lo, int32_t hi) {
  return static_cast<int8_t>(std::min<int32_t>(std::max<int32_t>(q, lo), hi));
}

// floor(4·q / 2^sr): q read at a coarser position with two extra bits (sr >= 0).
int64_t read_aligned(int8_t q, int sr) {
  return static_cast<int64_t>(std::floor(4.0 * q / std::ldexp(1.0, sr)));
}

// dpu_round(v · m / 2^s · 2^e) for an integer v, exactly: the value is a dyadic rational.
int8_t round_scaled(int64_t v, int64_t m, int s, int e) {
  return dpu_round(std::ldexp(static_cast<double>(v * m), e - s));
}
// dpu_round(v · 2^e / n): one correctly rounded division (a tie k + 1/2 is representable,
// so it is found exactly).
int8_t round_divided(int64_t v, int64_t n, int e) {
  return dpu_round(std::ldexp(static_cast<double>(v), e) / static_cast<double>(n));
}

}  // namespace

int dpu_add_out_pos(int pos_a, int pos_b, int pos_out) {
  const int p = std::min(pos_a, pos_b);
  return std::clamp(pos_out, p - 15, p + 15);
}

void dpu_add(const int8_t* a, int pos_a, const int8_t* b, int pos_b, int64_t n, int pos_out,
             int32_t act_min, int32_t act_max, int8_t* y, bool truncate) {
  if (!truncate) {  // dyadic values of a few bits: exact in double
    for (int64_t i = 0; i < n; ++i) {
      const double v = std::ldexp(static_cast<double>(a[i]), pos_out - pos_a) +
                       std::ldexp(static_cast<double>(b[i]), pos_out - pos_b);
      y[i] = clamp_act(dpu_round(v), act_min, act_max);
    }
    return;
  }
  const int p = std::min(pos_a, pos_b);
  const int ra = pos_a - p, rb = pos_b - p;
  const double scale = std::ldexp(1.0, pos_out - p - 2);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = read_aligned(a[i], ra) + read_aligned(b[i], rb);
    y[i] = clamp_act(dpu_round(static_cast<double>(t) * scale), act_min, act_max);
  }
}

void dpu_mul(const int8_t* a, int pos_a, const int8_t* b, int pos_b, int c, int h, int w,
             bool b_per_channel, int pos_out, int32_t act_min, int32_t act_max, int8_t* y) {
  const int e = pos_out - pos_a - pos_b;
  const int64_t hw = static_cast<int64_t>(h) * w;
  for (int ch = 0; ch < c; ++ch) {
    for (int64_t k = 0; k < hw; ++k) {
      const int64_t i = ch * hw + k;
      const int32_t qb = b_per_channel ? b[ch] : b[i];
      y[i] = clamp_act(round_scaled(int64_t{a[i]} * qb, 1, 0, e), act_min, act_max);
    }
  }
}

DpuDivisor dpu_mean_divisor(int64_t n) {
  if (n < 1) throw Error("dpu average: window of " + std::to_string(n) + " values");
  const double rec = static_cast<double>(n);
  const int max_s = static_cast<int>(std::ceil(std::log2(rec * 128.0)));
  DpuDivisor best{0, 0};
  double diff = 1.0;
  for (int s = 0; s < max_s; ++s) {
    // Python's round(): half to even.
    const double f = std::nearbyint(std::ldexp(1.0, s) / rec);
    const double d = std::fabs(f / std::ldexp(1.0, s) - 1.0 / rec);
    if (d < diff) {
      diff = d;
      best = DpuDivisor{static_cast<int64_t>(f), s};
    }
  }
  return best;
}

DpuDivisor dpu_pool_divisor(int kernel) {
  switch (kernel) {
    case 3:
      return {7, 6};
    case 5:
      return {10, 8};
    case 6:
      return {7, 8};
    case 7:
      return {21, 10};
    case 14:
      return {21, 12};
    default:
      return dpu_mean_divisor(static_cast<int64_t>(kernel) * kernel);
  }
}

bool dpu_divisor_exact(const DpuDivisor& d, int64_t n) {
  return d.m * n == (int64_t{1} << d.s);
}

void dpu_average_pool(const Int8PoolArgs& a, int pos_in, int pos_out, bool exact) {
  check_pool(a, "dpu average pool");
  const DpuDivisor d = dpu_pool_divisor(a.kernel);
  const int64_t count = static_cast<int64_t>(a.kernel) * a.kernel;
  const int oh = a.out_h(), ow = a.out_w();
  for (int ch = 0; ch < a.c; ++ch) {
    const int8_t* x = a.in + static_cast<int64_t>(ch) * a.h * a.w;
    int8_t* y = a.out + static_cast<int64_t>(ch) * oh * ow;
    for (int oy = 0; oy < oh; ++oy) {
      for (int ox = 0; ox < ow; ++ox) {
        int64_t sum = 0;
        for (int ky = 0; ky < a.kernel; ++ky) {
          const int iy = oy * a.stride - a.pad + ky;
          if (iy < 0 || iy >= a.h) continue;
          for (int kx = 0; kx < a.kernel; ++kx) {
            const int ix = ox * a.stride - a.pad + kx;
            if (ix >= 0 && ix < a.w) sum += x[iy * a.w + ix];
          }
        }
        const int8_t q = exact ? round_divided(sum, count, pos_out - pos_in)
                               : round_scaled(sum, d.m, d.s, pos_out - pos_in);
        y[oy * ow + ox] = clamp_act(q, a.act_min, a.act_max);
      }
    }
  }
}

void dpu_mean_hw(const int8_t* x, int c, int h, int w, int pos_in, int pos_out, int8_t* y,
                 bool exact) {
  const int64_t hw = static_cast<int64_t>(h) * w;
  const DpuDivisor d = dpu_mean_divisor(hw);
  for (int ch = 0; ch < c; ++ch) {
    int64_t sum = 0;
    for (int64_t k = 0; k < hw; ++k) sum += x[ch * hw + k];
    y[ch] = exact ? round_divided(sum, hw, pos_out - pos_in)
                  : round_scaled(sum, d.m, d.s, pos_out - pos_in);
  }
}

void dpu_resize_bilinear(const int8_t* x, int c, int in_h, int in_w, int out_h, int out_w,
                         OrtCoord coord, int pos, int8_t* y) {
  (void)pos;  // input and output share the position: the values interpolate as integers
  const BilinearAxis ay = ort_bilinear_axis(in_h, out_h, coord);
  const BilinearAxis ax = ort_bilinear_axis(in_w, out_w, coord);
  for (int ch = 0; ch < c; ++ch) {
    const int8_t* xc = x + static_cast<int64_t>(ch) * in_h * in_w;
    int8_t* yc = y + static_cast<int64_t>(ch) * out_h * out_w;
    auto at = [&](int yy, int xx) { return static_cast<float>(xc[yy * in_w + xx]); };
    for (int oy = 0; oy < out_h; ++oy) {
      for (int ox = 0; ox < out_w; ++ox) {
        const int y1 = ay.i1[oy], y2 = ay.i2[oy], x1 = ax.i1[ox], x2 = ax.i2[ox];
        const float v = ax.d2[ox] * ay.d2[oy] * at(y1, x1) + ax.d1[ox] * ay.d2[oy] * at(y1, x2) +
                        ax.d2[ox] * ay.d1[oy] * at(y2, x1) + ax.d1[ox] * ay.d1[oy] * at(y2, x2);
        yc[oy * out_w + ox] = dpu_round(v);
      }
    }
  }
}

Int8Table dpu_table(int pos_in, int pos_out, float (*f)(float)) {
  Int8Table t(256);
  for (int q = -128; q <= 127; ++q) {
    const float x = fix_dequantize(static_cast<int8_t>(q), pos_in);
    const float v = f != nullptr ? f(x) : x;
    t[static_cast<size_t>(q + 128)] = dpu_round(static_cast<double>(v) * std::ldexp(1.0, pos_out));
  }
  return t;
}

Int8Table dpu_hardswish_table(int pos_in, int pos_out) {
  Int8Table t(256);
  for (int q = -128; q <= 127; ++q) {
    const double lin = (q + 3.0 * std::ldexp(1.0, pos_in)) * 2731.0;
    const int8_t hs = dpu_round(std::ldexp(std::max(0.0, lin), -(pos_in + 7)));
    t[static_cast<size_t>(q + 128)] =
        dpu_round(std::ldexp(static_cast<double>(q) * hs, pos_out - pos_in - 7));
  }
  return t;
}

}  // namespace dalnas
