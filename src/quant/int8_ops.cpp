#include "quant/int8_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "core/error.h"
#include "quant/pool_window.h"

namespace dalnas {
namespace {

int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

void check_params(const QuantParams& p, const char* op, const char* which) {
  if (!std::isfinite(p.scale) || p.scale <= 0.0f) {
    throw Error(std::string(op) + ": " + which + " scale " + std::to_string(p.scale) +
                " is not a positive finite number");
  }
  if (p.zero_point < -128 || p.zero_point > 127) {
    throw Error(std::string(op) + ": " + which + " zero point " + std::to_string(p.zero_point) +
                " is outside [-128, 127]");
  }
}

void check_act(int32_t act_min, int32_t act_max, const char* op) {
  if (act_min < -128 || act_max > 127 || act_min > act_max) {
    throw Error(std::string(op) + ": activation range [" + std::to_string(act_min) + ", " +
                std::to_string(act_max) + "] is not inside [-128, 127]");
  }
}

// TFLite QuantizeMultiplierSmallerThanOneExp (quantization_util.cc): M in (0, 1), shift <= 0.
QuantizedMultiplier smaller_than_one(double m, RequantRounding rounding, const char* op) {
  if (!(m > 0.0 && m < 1.0)) {
    throw Error(std::string(op) + ": multiplier " + std::to_string(m) +
                " is outside (0, 1) (TFLite requires it; the scales are too far apart)");
  }
  const QuantizedMultiplier q = QuantizeMultiplier(m, rounding);
  if (q.shift > 0) throw Error(std::string(op) + ": multiplier shift above 0");
  return q;
}

// A multiplier MBQM accepts (shift in [-31, 30]).
QuantizedMultiplier any_multiplier(double m, RequantRounding rounding, const char* op) {
  if (!(m > 0.0) || !std::isfinite(m)) {
    throw Error(std::string(op) + ": multiplier " + std::to_string(m) +
                " is not a positive finite number");
  }
  const QuantizedMultiplier q = QuantizeMultiplier(m, rounding);
  if (q.shift > 30 || q.shift < -31) {
    throw Error(std::string(op) + ": multiplier " + std::to_string(m) + " is out of range");
  }
  return q;
}

// Q10 source coordinate of output index i (ComputeInterpolationValuesInteger).
struct Q10 {
  int32_t v = 0, i0 = 0, i1 = 0;
};
Q10 q10_coordinate(int32_t i, int32_t scale10, bool half_pixel, int32_t in) {
  Q10 q;
  q.v = half_pixel ? i * scale10 + scale10 / 2 - (1 << 9) : i * scale10;
  q.i0 = std::max(q.v / (1 << 10), 0);
  q.i1 = std::min((q.v + (1 << 10) - 1) / (1 << 10), in - 1);
  return q;
}

}  // namespace

void int8_requantize(const int8_t* x, int64_t n, const QuantParams& in, const QuantParams& out,
                     RequantRounding rounding, int8_t* y) {
  check_params(in, "requantize", "input");
  check_params(out, "requantize", "output");
  if (in.scale == out.scale && in.zero_point == out.zero_point) {
    std::copy(x, x + n, y);
    return;
  }
  const QuantizedMultiplier m = any_multiplier(
      static_cast<double>(in.scale) / static_cast<double>(out.scale), rounding, "requantize");
  const auto f = [&](int8_t q) {
    const int32_t v =
        MultiplyByQuantizedMultiplier(q - in.zero_point, m, rounding) + out.zero_point;
    return static_cast<int8_t>(clamp_i32(v, -128, 127));
  };
  if (n < 1024) {
    for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
    return;
  }
  // Long tensors through a table of the 256 inputs (the same formula, evaluated once each).
  int8_t table[256];
  for (int v = -128; v < 128; ++v) table[v + 128] = f(static_cast<int8_t>(v));
  for (int64_t i = 0; i < n; ++i) y[i] = table[x[i] + 128];
}

void int8_add(const int8_t* a, const QuantParams& pa, const int8_t* b, const QuantParams& pb,
              int64_t n, const QuantParams& out, int32_t act_min, int32_t act_max,
              RequantRounding rounding, int8_t* y) {
  check_params(pa, "add", "first input");
  check_params(pb, "add", "second input");
  check_params(out, "add", "output");
  check_act(act_min, act_max, "add");
  constexpr int kLeftShift = 20;
  // Types as in add.cc: 2 * std::max(float, float) is a float, stored in a double.
  const double twice_max = 2 * std::max(pa.scale, pb.scale);
  const QuantizedMultiplier m1 = smaller_than_one(pa.scale / twice_max, rounding, "add");
  const QuantizedMultiplier m2 = smaller_than_one(pb.scale / twice_max, rounding, "add");
  const QuantizedMultiplier mo =
      smaller_than_one(twice_max / ((1 << kLeftShift) * out.scale), rounding, "add");
  for (int64_t i = 0; i < n; ++i) {
    const int32_t s1 =
        MultiplyByQuantizedMultiplier((a[i] - pa.zero_point) * (1 << kLeftShift), m1, rounding);
    const int32_t s2 =
        MultiplyByQuantizedMultiplier((b[i] - pb.zero_point) * (1 << kLeftShift), m2, rounding);
    const int32_t v = MultiplyByQuantizedMultiplier(s1 + s2, mo, rounding) + out.zero_point;
    y[i] = static_cast<int8_t>(clamp_i32(v, act_min, act_max));
  }
}

void int8_mul(const int8_t* a, const QuantParams& pa, const int8_t* b, const QuantParams& pb, int c,
              int h, int w, bool b_per_channel, const QuantParams& out, int32_t act_min,
              int32_t act_max, RequantRounding rounding, int8_t* y) {
  check_params(pa, "mul", "first input");
  check_params(pb, "mul", "second input");
  check_params(out, "mul", "output");
  check_act(act_min, act_max, "mul");
  const QuantizedMultiplier m =
      any_multiplier(static_cast<double>(pa.scale) * static_cast<double>(pb.scale) /
                         static_cast<double>(out.scale),
                     rounding, "mul");
  const int64_t hw = static_cast<int64_t>(h) * w;
  for (int ch = 0; ch < c; ++ch) {
    for (int64_t p = 0; p < hw; ++p) {
      const int64_t i = ch * hw + p;
      const int32_t bv = b_per_channel ? b[ch] : b[i];
      const int32_t prod = (a[i] - pa.zero_point) * (bv - pb.zero_point);
      const int32_t v = MultiplyByQuantizedMultiplier(prod, m, rounding) + out.zero_point;
      y[i] = static_cast<int8_t>(clamp_i32(v, act_min, act_max));
    }
  }
}

void check_pool(const Int8PoolArgs& a, const char* op) {
  if (a.in == nullptr || a.out == nullptr) throw Error(std::string(op) + ": null tensor");
  if (a.c < 1 || a.h < 1 || a.w < 1 || a.kernel < 1 || a.stride < 1 || a.pad < 0 ||
      a.pad >= a.kernel || a.out_h() < 1 || a.out_w() < 1) {
    throw Error(std::string(op) + ": window " + std::to_string(a.kernel) + " stride " +
                std::to_string(a.stride) + " pad " + std::to_string(a.pad) + " does not fit " +
                std::to_string(a.h) + "x" + std::to_string(a.w));
  }
  check_act(a.act_min, a.act_max, op);
}

void int8_max_pool(const Int8PoolArgs& a) {
  check_pool(a, "int8 max pool");
  pool_detail::pool_window<true>(a, -128);
}

void int8_average_pool(const Int8PoolArgs& a) {
  check_pool(a, "int8 average pool");
  pool_detail::pool_window<false>(a, -128);
}

void int8_mean_hw(const int8_t* x, int c, int h, int w, const QuantParams& in,
                  const QuantParams& out, RequantRounding rounding, int8_t* y) {
  check_params(in, "mean", "input");
  check_params(out, "mean", "output");
  const int64_t n = static_cast<int64_t>(h) * w;
  if (c < 1 || n < 1 || n > (int64_t{1} << 23)) {
    throw Error("mean: " + std::to_string(h) + "x" + std::to_string(w) +
                " is empty or too large for an int32 sum");
  }
  const QuantizedMultiplier m =
      MeanMultiplier(any_multiplier(static_cast<double>(in.scale) / static_cast<double>(out.scale),
                                    rounding, "mean"),
                     n);
  for (int ch = 0; ch < c; ++ch) {
    int32_t sum = 0;
    const int8_t* p = x + ch * n;
    for (int64_t i = 0; i < n; ++i) sum += p[i];
    const int32_t centred = static_cast<int32_t>(sum - in.zero_point * n);
    const int32_t v = MultiplyByQuantizedMultiplier(centred, m, rounding) + out.zero_point;
    y[ch] = static_cast<int8_t>(clamp_i32(v, -128, 127));
  }
}

namespace {

// TFLite's ResizeBilinearInteger<T> and the nearest copy, for int8 and int16 (the same
// arithmetic: int64 sums of Q10 weights; `what` names the operation in errors).
template <typename T>
void resize_bilinear(const T* x, int c, int in_h, int in_w, int out_h, int out_w,
                     bool align_corners, bool half_pixel_centers, RequantRounding rounding, T* y,
                     const char* what) {
  if (align_corners && half_pixel_centers) {
    throw Error(std::string(what) + ": align_corners and half_pixel_centers cannot both be set");
  }
  if (c < 1 || in_h < 1 || in_w < 1 || out_h < 1 || out_w < 1 || in_h > (1 << 20) ||
      in_w > (1 << 20)) {
    throw Error(std::string(what) + ": bad sizes");
  }
  auto scale10 = [&](int32_t in, int32_t out) {
    if (align_corners && out > 1) {
      --in;
      --out;
    }
    return static_cast<int32_t>(((int64_t{1} << 10) * in + out / 2) / out);
  };
  const int32_t sy = scale10(in_h, out_h), sx = scale10(in_w, out_w);
  // TFLite's sum over the four taps,
  //   s = r0[i0]·(2^10 − fy)·(2^10 − fx) + r1[i0]·fy·(2^10 − fx)
  //     + r0[i1]·(2^10 − fy)·fx + r1[i1]·fy·fx,
  // taken as (2^10 − fx)·t[i0] + fx·t[i1] with t = r0·(2^10 − fy) + r1·fy per input
  // column: the same integer. fy, fx lie in [−512, 2^10) (half-pixel centres make them
  // negative at the border), so |s| <= 2^7·2^11·2^11 < 2^31 for int8: int32 is exact there;
  // int16 needs int64.
  using Acc = std::conditional_t<sizeof(T) == 1, int32_t, int64_t>;
  std::vector<int32_t> x0(static_cast<size_t>(out_w)), x1(static_cast<size_t>(out_w));
  std::vector<Acc> fxs(static_cast<size_t>(out_w));
  for (int ox = 0; ox < out_w; ++ox) {
    const Q10 q = q10_coordinate(ox, sx, half_pixel_centers, in_w);
    x0[static_cast<size_t>(ox)] = q.i0;
    x1[static_cast<size_t>(ox)] = q.i1;
    fxs[static_cast<size_t>(ox)] = q.v - (1 << 10) * q.i0;
  }
  std::vector<Acc> t(static_cast<size_t>(in_w));
  for (int ch = 0; ch < c; ++ch) {
    const T* xc = x + static_cast<int64_t>(ch) * in_h * in_w;
    T* yc = y + static_cast<int64_t>(ch) * out_h * out_w;
    for (int oy = 0; oy < out_h; ++oy) {
      const Q10 qy = q10_coordinate(oy, sy, half_pixel_centers, in_h);
      const Acc fy = qy.v - (1 << 10) * qy.i0;
      const T* r0 = xc + static_cast<int64_t>(qy.i0) * in_w;
      const T* r1 = xc + static_cast<int64_t>(qy.i1) * in_w;
      for (int ix = 0; ix < in_w; ++ix) {
        t[static_cast<size_t>(ix)] = Acc{r0[ix]} * ((1 << 10) - fy) + Acc{r1[ix]} * fy;
      }
      T* yr = yc + static_cast<int64_t>(oy) * out_w;
      for (int ox = 0; ox < out_w; ++ox) {
        const Acc fx = fxs[static_cast<size_t>(ox)];
        const Acc s = t[static_cast<size_t>(x0[static_cast<size_t>(ox)])] * ((1 << 10) - fx) +
                      t[static_cast<size_t>(x1[static_cast<size_t>(ox)])] * fx;
        Acc v;
        if (rounding == RequantRounding::Single) {
          v = (s + (Acc{1} << 19)) >> 20;
        } else {
          const Acc round = s > 0 ? (Acc{1} << 19) : -(Acc{1} << 19);
          v = (s + round) / (Acc{1} << 20);
        }
        yr[ox] = static_cast<T>(v);
      }
    }
  }
}

template <typename T>
void resize_nearest(const T* x, int c, int in_h, int in_w, int out_h, int out_w, T* y,
                    const char* what) {
  if (c < 1 || in_h < 1 || in_w < 1 || out_h < 1 || out_w < 1) {
    throw Error(std::string(what) + ": bad sizes");
  }
  std::vector<int> xs(static_cast<size_t>(out_w));
  for (int ox = 0; ox < out_w; ++ox) {
    xs[ox] = static_cast<int>(
        std::min<int64_t>(static_cast<int64_t>(ox) * in_w / out_w, int64_t{in_w} - 1));
  }
  for (int ch = 0; ch < c; ++ch) {
    const T* xc = x + static_cast<int64_t>(ch) * in_h * in_w;
    T* yc = y + static_cast<int64_t>(ch) * out_h * out_w;
    for (int oy = 0; oy < out_h; ++oy) {
      const int64_t iy =
          std::min<int64_t>(static_cast<int64_t>(oy) * in_h / out_h, int64_t{in_h} - 1);
      for (int ox = 0; ox < out_w; ++ox) yc[oy * out_w + ox] = xc[iy * in_w + xs[ox]];
    }
  }
}

}  // namespace

void int8_resize_bilinear(const int8_t* x, int c, int in_h, int in_w, int out_h, int out_w,
                          bool align_corners, bool half_pixel_centers, RequantRounding rounding,
                          int8_t* y) {
  resize_bilinear(x, c, in_h, in_w, out_h, out_w, align_corners, half_pixel_centers, rounding, y,
                  "int8 resize bilinear");
}

void int8_resize_nearest(const int8_t* x, int c, int in_h, int in_w, int out_h, int out_w,
                         int8_t* y) {
  resize_nearest(x, c, in_h, in_w, out_h, out_w, y, "int8 resize nearest");
}

void int16_resize_bilinear(const int16_t* x, int c, int in_h, int in_w, int out_h, int out_w,
                           bool align_corners, bool half_pixel_centers, RequantRounding rounding,
                           int16_t* y) {
  resize_bilinear(x, c, in_h, in_w, out_h, out_w, align_corners, half_pixel_centers, rounding, y,
                  "int16 resize bilinear");
}

void int16_resize_nearest(const int16_t* x, int c, int in_h, int in_w, int out_h, int out_w,
                          int16_t* y) {
  resize_nearest(x, c, in_h, in_w, out_h, out_w, y, "int16 resize nearest");
}

Int8Table int8_table(const QuantParams& in, const QuantParams& out, float (*f)(float)) {
  check_params(in, "int8 table", "input");
  check_params(out, "int8 table", "output");
  Int8Table t(256);
  const float inverse_scale = 1 / out.scale;
  for (int32_t q = -128; q <= 127; ++q) {
    const float dequantized = in.scale * static_cast<float>(q - in.zero_point);
    const float transformed = f(dequantized);
    const float rescaled = std::round(transformed * inverse_scale);
    const float shifted = rescaled + static_cast<float>(out.zero_point);
    int32_t v;
    if (std::isnan(shifted)) {
      v = out.zero_point;  // outside TFLite's contract (its cast is undefined)
    } else if (shifted >= 127.0f) {
      v = 127;
    } else if (shifted <= -128.0f) {
      v = -128;
    } else {
      v = static_cast<int32_t>(shifted);
    }
    t[static_cast<size_t>(q + 128)] = static_cast<int8_t>(v);
  }
  return t;
}

void int8_apply_table(const int8_t* x, int64_t n, const Int8Table& table, int8_t* y) {
  if (table.size() != 256) throw Error("int8 table: expected 256 entries");
  const int8_t* t = table.data();  // a local: stores through y may alias the vector
  for (int64_t i = 0; i < n; ++i) y[i] = t[x[i] + 128];
}

QuantParams logistic_output_params() {
  return QuantParams{1.0f / 256.0f, -128};
}

}  // namespace dalnas
