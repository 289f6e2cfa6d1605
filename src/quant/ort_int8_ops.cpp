#include "quant/ort_int8_ops.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace dalnas {

namespace {

int8_t clamp8(int32_t v, int32_t lo, int32_t hi) {
  return static_cast<int8_t>(std::min(std::max(v, std::max(lo, -128)), std::min(hi, 127)));
}

// The shift of ORT's uint8 domain on x86 (QDQS8ToU8Transformer).
constexpr int32_t kU8 = 128;

// cvtps2dq of a finite float inside the int32 range (nearest, ties to even).
int32_t round_even(float f) {
  return static_cast<int32_t>(std::nearbyint(f));
}

}  // namespace

void ort_add(const int8_t* a, const QuantParams& pa, const int8_t* b, const QuantParams& pb,
             int64_t n, const QuantParams& out, int32_t act_min, int32_t act_max, int8_t* y,
             OrtPath path) {
  if (path == OrtPath::Float) {
    for (int64_t i = 0; i < n; ++i) {
      const float v = dequantize_int8(a[i], pa) + dequantize_int8(b[i], pb);
      y[i] = clamp8(quantize_int8_even(v, out), act_min, act_max);
    }
    return;
  }
  // In the uint8 domain ORT computes in on x86 (values and zero points + 128).
  const float ra = pa.scale / out.scale, rb = pb.scale / out.scale;
  const float za = ra * static_cast<float>(pa.zero_point + kU8);
  const float zb = rb * static_cast<float>(pb.zero_point + kU8);
  const float f = static_cast<float>(out.zero_point + kU8) - (za + zb);
  for (int64_t i = 0; i < n; ++i) {
    float t = std::fma(static_cast<float>(b[i] + kU8), rb, f);
    t = std::fma(static_cast<float>(a[i] + kU8), ra, t);
    // int16 then uint8 saturation: both inside any finite clamp here.
    t = std::min(std::max(t, -32768.0f), 32767.0f);
    y[i] = clamp8(round_even(t) - kU8, act_min, act_max);
  }
}

void ort_mul(const int8_t* a, const QuantParams& pa, const int8_t* b, const QuantParams& pb, int c,
             int h, int w, bool b_per_channel, const QuantParams& out, int32_t act_min,
             int32_t act_max, int8_t* y, OrtPath path) {
  const float r = (pa.scale * pb.scale) / out.scale;
  const float zc = static_cast<float>(out.zero_point + kU8);
  const int64_t hw = static_cast<int64_t>(h) * w;
  for (int ch = 0; ch < c; ++ch) {
    for (int64_t k = 0; k < hw; ++k) {
      const int64_t i = ch * hw + k;
      const int32_t qb = b_per_channel ? b[ch] : b[i];
      if (path == OrtPath::Float) {
        const float v = dequantize_int8(a[i], pa) * dequantize_int8(static_cast<int8_t>(qb), pb);
        y[i] = clamp8(quantize_int8_even(v, out), act_min, act_max);
        continue;
      }
      const int32_t p = (int32_t{a[i]} - pa.zero_point) * (qb - pb.zero_point);
      float t = static_cast<float>(p) * r + zc;
      t = std::min(std::max(t, -32768.0f), 32767.0f);
      y[i] = clamp8(round_even(t) - kU8, act_min, act_max);
    }
  }
}

void ort_global_average_pool(const int8_t* x, int c, int h, int w, const QuantParams& in,
                             const QuantParams& out, int8_t* y, OrtPath path) {
  const int64_t n = static_cast<int64_t>(h) * w;
  if (n <= 0 || n >= (int64_t{1} << 24)) {
    throw Error("onnxruntime int8 global average pool: " + std::to_string(n) +
                " values per channel (ORT: 1 to 2^24 − 1)");
  }
  const float scale = in.scale / (out.scale * static_cast<float>(n));
  const float lo = static_cast<float>(-128 - out.zero_point);
  const float hi = static_cast<float>(127 - out.zero_point);
  for (int ch = 0; ch < c && path == OrtPath::Float; ++ch) {
    float sum = 0.0f;
    for (int64_t k = 0; k < n; ++k) sum += dequantize_int8(x[ch * n + k], in);
    y[ch] = quantize_int8_even(sum / static_cast<float>(n), out);
  }
  for (int ch = 0; ch < c && path == OrtPath::Fused; ++ch) {
    int32_t acc = static_cast<int32_t>(-in.zero_point * n);
    for (int64_t k = 0; k < n; ++k) acc += x[ch * n + k];
    const float f = std::min(std::max(static_cast<float>(acc) * scale, lo), hi);
    y[ch] = static_cast<int8_t>(round_even(f) + out.zero_point);
  }
}

void ort_average_pool(const Int8PoolArgs& a, const QuantParams& in, const QuantParams& out,
                      OrtPath path) {
  const int ho = a.out_h(), wo = a.out_w();
  for (int ch = 0; ch < a.c; ++ch) {
    const int8_t* xc = a.in + static_cast<int64_t>(ch) * a.h * a.w;
    int8_t* yc = a.out + static_cast<int64_t>(ch) * ho * wo;
    for (int oy = 0; oy < ho; ++oy) {
      for (int ox = 0; ox < wo; ++ox) {
        float sum = 0.0f;
        int count = 0;
        for (int ky = 0; ky < a.kernel; ++ky) {
          const int iy = oy * a.stride - a.pad + ky;
          if (iy < 0 || iy >= a.h) continue;
          for (int kx = 0; kx < a.kernel; ++kx) {
            const int ix = ox * a.stride - a.pad + kx;
            if (ix < 0 || ix >= a.w) continue;
            sum += in.scale * static_cast<float>(int32_t{xc[iy * a.w + ix]} - in.zero_point);
            ++count;
          }
        }
        const float v = sum / static_cast<float>(count);
        if (path == OrtPath::Float) {
          yc[oy * wo + ox] = quantize_int8_even(v, out);
          continue;
        }
        const int32_t q = round_even(v / out.scale + static_cast<float>(out.zero_point + kU8));
        yc[oy * wo + ox] = clamp8(q - kU8, -128, 127);
      }
    }
  }
}

BilinearAxis ort_bilinear_axis(int in, int out, OrtCoord coord) {
  BilinearAxis ax;
  const float scale = static_cast<float>(out) / static_cast<float>(in);
  for (int i = 0; i < out; ++i) {
    float o = 0.0f;
    switch (coord) {
      case OrtCoord::HalfPixel:
        o = (static_cast<float>(i) + 0.5f) / scale - 0.5f;
        break;
      case OrtCoord::AlignCorners:
        o = out == 1
                ? 0.0f
                : static_cast<float>(i) * static_cast<float>(in - 1) / static_cast<float>(out - 1);
        break;
      case OrtCoord::Asymmetric:
        o = static_cast<float>(i) / scale;
        break;
    }
    o = std::max(0.0f, std::min(o, static_cast<float>(in - 1)));
    const int i1 = std::min(static_cast<int>(o), in - 1);
    const int i2 = std::min(i1 + 1, in - 1);
    float d1 = std::fabs(o - static_cast<float>(i1));
    float d2 = std::fabs(o - static_cast<float>(i2));
    if (i1 == i2) d1 = d2 = 0.5f;  // both neighbours the same pixel
    ax.i1.push_back(i1);
    ax.i2.push_back(i2);
    ax.d1.push_back(d1);
    ax.d2.push_back(d2);
  }
  return ax;
}

void ort_resize_bilinear(const int8_t* x, int c, int in_h, int in_w, int out_h, int out_w,
                         OrtCoord coord, const QuantParams& p, int8_t* y, Int8Isa isa) {
  const bool avx2 = isa != Int8Isa::Scalar && int8_isa_supported(Int8Isa::AVX2);
  const BilinearAxis ay = ort_bilinear_axis(in_h, out_h, coord);
  const BilinearAxis ax = ort_bilinear_axis(in_w, out_w, coord);
  float deq[256];  // DequantizeLinear of every int8 value, computed once
  for (int v = -128; v < 128; ++v) deq[v + 128] = dequantize_int8(static_cast<int8_t>(v), p);
  // Row by row: the four taps gathered (dequantized) into arrays, then the blend and the
  // quantization as loops that vectorise. The float expression is the one above, operation
  // for operation: (d2x·d2y)·a + (d1x·d2y)·b + (d2x·d1y)·c + (d1x·d1y)·d, left to right.
  std::vector<float> ta(static_cast<size_t>(out_w)), tb(ta.size()), tc(ta.size()), td(ta.size()),
      v(ta.size());
  // The two input rows an output row reads, dequantized (kept while the next output row
  // reads the same ones: upsampling reads each pair twice or more).
  std::vector<float> f1(static_cast<size_t>(in_w)), f2(f1.size());
  for (int ch = 0; ch < c; ++ch) {
    const int8_t* xc = x + static_cast<int64_t>(ch) * in_h * in_w;
    int8_t* yc = y + static_cast<int64_t>(ch) * out_h * out_w;
    int row1 = -1, row2 = -1;
    for (int oy = 0; oy < out_h; ++oy) {
      if (ay.i1[oy] != row1 || ay.i2[oy] != row2) {
        row1 = ay.i1[oy];
        row2 = ay.i2[oy];
        const int8_t* r1 = xc + static_cast<int64_t>(row1) * in_w;
        const int8_t* r2 = xc + static_cast<int64_t>(row2) * in_w;
        for (int ix = 0; ix < in_w; ++ix) {
          f1[static_cast<size_t>(ix)] = deq[r1[ix] + 128];
          f2[static_cast<size_t>(ix)] = deq[r2[ix] + 128];
        }
      }
      if (avx2) {
        ort_resize_row_avx2(f1.data(), f2.data(), ax.i1.data(), ax.i2.data(), ax.d1.data(),
                            ax.d2.data(), ay.d1[oy], ay.d2[oy], out_w, p,
                            yc + static_cast<int64_t>(oy) * out_w);
        continue;
      }
      for (int ox = 0; ox < out_w; ++ox) {
        const size_t x1 = static_cast<size_t>(ax.i1[ox]), x2 = static_cast<size_t>(ax.i2[ox]);
        ta[static_cast<size_t>(ox)] = f1[x1];
        tb[static_cast<size_t>(ox)] = f1[x2];
        tc[static_cast<size_t>(ox)] = f2[x1];
        td[static_cast<size_t>(ox)] = f2[x2];
      }
      const float dy1 = ay.d1[oy], dy2 = ay.d2[oy];
      const float* dx1 = ax.d1.data();
      const float* dx2 = ax.d2.data();
      for (size_t ox = 0; ox < v.size(); ++ox) {
        v[ox] = dx2[ox] * dy2 * ta[ox] + dx1[ox] * dy2 * tb[ox] + dx2[ox] * dy1 * tc[ox] +
                dx1[ox] * dy1 * td[ox];
      }
      quantize_int8_even(v.data(), out_w, p, yc + static_cast<int64_t>(oy) * out_w);
    }
  }
}

Int8Table ort_table(const QuantParams& in, const QuantParams& out, float (*f)(float)) {
  Int8Table t(256);
  for (int q = -128; q <= 127; ++q) {
    const float x = in.scale * static_cast<float>(q - in.zero_point);
    t[static_cast<size_t>(q + 128)] = quantize_int8_even(f != nullptr ? f(x) : x, out);
  }
  return t;
}

}  // namespace dalnas
