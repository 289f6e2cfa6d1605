#include "precision/fake_quant.h"

#include <ATen/Parallel.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "precision/dense.h"
#include "quant/dpu_ops.h"
#include "quant/int16_ops.h"
#include "quant/quant_params.h"

namespace dalnas {

torch::Tensor round_half_away(const torch::Tensor& v) {
  const torch::Tensor t = torch::trunc(v);
  const torch::Tensor frac = v - t;  // exact in floating point
  return t + torch::sign(v) * (frac.abs() >= 0.5).to(v.scalar_type());
}

namespace {

using QRound = FakeQuantRound;

// Floating-point comparisons need not raise exceptions here (no code reads the flags):
// with trapping math GCC keeps the selects below as branches and the loop scalar.
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")

// round(v) for |v| <= 2^20 (callers clamp first) without a libm call, so that the loop
// vectorises: truncation toward zero (cvttps2dq), then the fraction decides.
template <QRound R>
inline float round_small(float v) {
  if constexpr (R == QRound::HalfUp) {
    const float f = v + 0.5f;  // exact for |v| <= 2^20
    const float t = static_cast<float>(static_cast<int32_t>(f));
    return t > f ? t - 1.0f : t;  // floor
  } else {
    const float t = static_cast<float>(static_cast<int32_t>(v));
    const float frac = v - t;  // exact; in (−1, 1), the sign of v
    if constexpr (R == QRound::HalfAway) {
      return t + (frac >= 0.5f ? 1.0f : 0.0f) - (frac <= -0.5f ? 1.0f : 0.0f);
    } else {  // half to even: a tie goes to the even neighbour of t and t ± 1
      const bool odd = t - 2.0f * static_cast<float>(static_cast<int32_t>(t * 0.5f)) != 0.0f;
      const float up = frac > 0.5f || (frac == 0.5f && odd) ? 1.0f : 0.0f;
      const float down = frac < -0.5f || (frac == -0.5f && odd) ? 1.0f : 0.0f;
      return t + up - down;
    }
  }
}

// One chunk, written so that it vectorises: no captured references, restrict pointers,
// selects instead of branches. A NaN comes out as the lowest value (the policy refuses
// non-finite activations before quantizing). Inlined into two bodies below: the baseline
// x86-64 one (4 floats a vector) and an AVX2 one (8; no FMA, so the same values).
template <QRound R>
__attribute__((always_inline)) inline void fake_quant_body(const float* __restrict x,
                                                           float* __restrict y,
                                                           bool* __restrict inside, int64_t n,
                                                           float s, float z, float qlo, float qhi,
                                                           float qmin, float qmax, float bound) {
  for (int64_t i = 0; i < n; ++i) {
    const float xi = x[i];
    float v = xi / s;  // beyond ±bound steps the result saturates either way
    v = v < -bound ? -bound : v;
    v = v > bound ? bound : v;
    float t = round_small<R>(v) + z;
    t = t < qmin ? qmin : t;
    t = t > qmax ? qmax : t;
    y[i] = (t - z) * s;
    inside[i] = (xi >= qlo) & (xi <= qhi);
  }
}

// Not inlined: inside parallel_for's region the pointers lose `restrict` and the loop stays
// scalar.
template <QRound R>
__attribute__((noinline)) void fake_quant_chunk(const float* __restrict x, float* __restrict y,
                                                bool* __restrict inside, int64_t n, float s,
                                                float z, float qlo, float qhi, float qmin,
                                                float qmax, float bound) {
  fake_quant_body<R>(x, y, inside, n, s, z, qlo, qhi, qmin, qmax, bound);
}
template <QRound R>
__attribute__((noinline, target("avx2"))) void fake_quant_chunk_avx2(
    const float* __restrict x, float* __restrict y, bool* __restrict inside, int64_t n, float s,
    float z, float qlo, float qhi, float qmin, float qmax, float bound) {
  fake_quant_body<R>(x, y, inside, n, s, z, qlo, qhi, qmin, qmax, bound);
}

// The clipped straight-through gradient: g where the value was inside the range, else 0.
__attribute__((always_inline)) inline void clipped_grad_body(const bool* __restrict inside,
                                                             const float* __restrict g,
                                                             float* __restrict out, int64_t n) {
  // As bits: g & (0 − inside) is g or +0.0f. Written as a float select, GCC keeps the loop
  // scalar with a branch per element (bool and float lanes of different widths).
  typedef uint32_t __attribute__((may_alias)) Bits;  // float storage read as its bits
  const Bits* gb = reinterpret_cast<const Bits*>(g);
  Bits* ob = reinterpret_cast<Bits*>(out);
  const uint8_t* in8 = reinterpret_cast<const uint8_t*>(inside);
  for (int64_t i = 0; i < n; ++i) ob[i] = gb[i] & (0u - static_cast<uint32_t>(in8[i]));
}
__attribute__((noinline)) void clipped_grad_chunk(const bool* __restrict inside,
                                                  const float* __restrict g, float* __restrict out,
                                                  int64_t n) {
  clipped_grad_body(inside, g, out, n);
}
__attribute__((noinline, target("avx2"))) void clipped_grad_chunk_avx2(
    const bool* __restrict inside, const float* __restrict g, float* __restrict out, int64_t n) {
  clipped_grad_body(inside, g, out, n);
}

// The range of a chunk: its smallest and largest value, and whether it holds a NaN (an
// infinity shows as the bound itself). Order does not matter to a minimum or a maximum, so
// both bodies give torch::aminmax's values.
struct MinMax {
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
  bool nan = false;
};
MinMax combine(const MinMax& a, const MinMax& b) {
  return {std::min(a.lo, b.lo), std::max(a.hi, b.hi), a.nan || b.nan};
}
__attribute__((noinline)) MinMax min_max_chunk(const float* x, int64_t n) {
  MinMax r;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (v != v) {
      r.nan = true;
      continue;
    }
    r.lo = v < r.lo ? v : r.lo;
    r.hi = v > r.hi ? v : r.hi;
  }
  return r;
}
__attribute__((noinline, target("avx2"))) MinMax min_max_chunk_avx2(const float* x, int64_t n) {
  __m256 lo = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  __m256 hi = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 nan = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    lo = _mm256_min_ps(lo, v);  // a NaN lane is flagged above; its min / max do not count
    hi = _mm256_max_ps(hi, v);
  }
  alignas(32) float l[8], h[8];
  _mm256_store_ps(l, lo);
  _mm256_store_ps(h, hi);
  MinMax r = min_max_chunk(x + i, n - i);
  r.nan = r.nan || _mm256_movemask_ps(nan) != 0;
  for (int k = 0; k < 8; ++k) {
    r.lo = std::min(r.lo, l[k]);
    r.hi = std::max(r.hi, h[k]);
  }
  return r;
}

template <QRound R>
void fake_quant_loop(const float* xp, float* yp, bool* mp, int64_t n, float s, float z, float qmin,
                     float qmax, bool avx2) {
  const float qlo = (qmin - z) * s, qhi = (qmax - z) * s;
  // |v| beyond twice the grid's width saturates whatever the zero point (|z| <= the
  // grid's width); 2·65535 < 2^20, round_small's domain.
  const float bound = 2.0f * (qmax - qmin);
  at::parallel_for(0, n, 1 << 14, [=](int64_t b, int64_t e) {
    if (avx2) {
      fake_quant_chunk_avx2<R>(xp + b, yp + b, mp + b, e - b, s, z, qlo, qhi, qmin, qmax, bound);
    } else {
      fake_quant_chunk<R>(xp + b, yp + b, mp + b, e - b, s, z, qlo, qhi, qmin, qmax, bound);
    }
  });
}

#pragma GCC pop_options

// y = (clamp(round(x / s) + z, −128, 127) − z) · s in one pass over float values (x / s
// and the product in float, as the tensor formula computes them), and the clipped
// straight-through gradient: 1 where (−128 − z)·s <= x <= (127 − z)·s, else 0.
struct FakeQuantFn : public torch::autograd::Function<FakeQuantFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               double scale, int64_t zero_point, int64_t rounding, int64_t qmin,
                               int64_t qmax) {
    const torch::Tensor xc = dense_layout(x);  // NCHW or channels-last, kept (precision/dense.h)
    torch::Tensor y = torch::empty_like(xc);
    torch::Tensor inside = torch::empty_like(xc, xc.options().dtype(torch::kBool));
    const float* xp = xc.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    bool* mp = inside.data_ptr<bool>();
    fake_quant_values(xp, yp, mp, xc.numel(), static_cast<float>(scale),
                      static_cast<int>(zero_point), static_cast<QRound>(rounding),
                      static_cast<int>(qmin), static_cast<int>(qmax), fake_quant_simd());
    ctx->save_for_backward({inside});
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const torch::Tensor inside = ctx->get_saved_variables()[0];
    const torch::Tensor g = with_strides_of(grad[0].to(torch::kFloat32), inside);
    torch::Tensor out = torch::empty_like(g);
    const bool* mp = inside.data_ptr<bool>();
    const float* gp = g.data_ptr<float>();
    float* op = out.data_ptr<float>();
    const bool avx2 = fake_quant_simd();
    at::parallel_for(0, g.numel(), 1 << 14, [=](int64_t b, int64_t e) {
      if (avx2) {
        clipped_grad_chunk_avx2(mp + b, gp + b, op + b, e - b);
      } else {
        clipped_grad_chunk(mp + b, gp + b, op + b, e - b);
      }
    });
    return {
        out, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// Onto the grid [qmin, qmax] (int8: [−128, 127]; int16: [−32768, 32767]).
torch::Tensor fake_quant_affine(const torch::Tensor& x, float scale, int zero_point, QRound r,
                                int qmin = -128, int qmax = 127) {
  if (x.scalar_type() == torch::kFloat32 && x.device().is_cpu()) {
    return FakeQuantFn::apply(x, static_cast<double>(scale), static_cast<int64_t>(zero_point),
                              static_cast<int64_t>(r), static_cast<int64_t>(qmin),
                              static_cast<int64_t>(qmax));
  }
  // Other tensors: the same formula in tensor operations.
  torch::Tensor q;
  {
    torch::NoGradGuard ng;
    const torch::Tensor v = x.detach() / scale;
    // torch::round rounds half to even, as nearbyint in the default rounding mode.
    const torch::Tensor rv = r == QRound::HalfAway   ? round_half_away(v)
                             : r == QRound::HalfEven ? torch::round(v)
                                                     : torch::floor(v + 0.5f);
    const float z = static_cast<float>(zero_point);
    q = (torch::clamp(rv + z, static_cast<double>(qmin), static_cast<double>(qmax)) - z) * scale;
  }
  const float qlo = static_cast<float>(qmin - zero_point) * scale;
  const float qhi = static_cast<float>(qmax - zero_point) * scale;
  const torch::Tensor c = torch::clamp(x, qlo, qhi);
  return c + (q - c).detach();
}

// [lo, hi] widened to hold 0 and at least 2^-10, as the integer emulator widens a
// calibrated range.
void widen(float& lo, float& hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  if (hi - lo < 1.0f / 1024.0f) hi = lo + 1.0f / 1024.0f;
}

}  // namespace

bool fake_quant_simd() {
  static const bool enabled = [] {
    const char* env = std::getenv("DALNAS_NO_SIMD");
    __builtin_cpu_init();
    return !(env != nullptr && std::strcmp(env, "1") == 0) && __builtin_cpu_supports("avx2");
  }();
  return enabled;
}

bool finite_min_max(const torch::Tensor& x, float& lo, float& hi, bool simd) {
  if (x.numel() == 0) throw std::invalid_argument("finite_min_max: empty tensor");
  if (x.scalar_type() != torch::kFloat32 || !x.device().is_cpu()) {
    const auto [mn, mx] = torch::aminmax(x.detach());
    lo = mn.item<float>();
    hi = mx.item<float>();
    return std::isfinite(lo) && std::isfinite(hi);
  }
  const torch::Tensor xc = dense_layout(x.detach());
  const float* p = xc.data_ptr<float>();
  const bool avx2 = simd && __builtin_cpu_supports("avx2");
  const MinMax r = at::parallel_reduce(
      int64_t{0}, xc.numel(), int64_t{1} << 16, MinMax{},
      [=](int64_t b, int64_t e, MinMax) {
        return avx2 ? min_max_chunk_avx2(p + b, e - b) : min_max_chunk(p + b, e - b);
      },
      combine);
  lo = r.lo;
  hi = r.hi;
  return !r.nan && std::isfinite(lo) && std::isfinite(hi);
}

void fake_quant_values(const float* x, float* y, bool* inside, int64_t n, float scale,
                       int zero_point, FakeQuantRound r, int qmin, int qmax, bool simd) {
  const bool avx2 = simd && __builtin_cpu_supports("avx2");
  const float z = static_cast<float>(zero_point);
  const float lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
  switch (r) {
    case QRound::HalfAway:
      fake_quant_loop<QRound::HalfAway>(x, y, inside, n, scale, z, lo, hi, avx2);
      break;
    case QRound::HalfEven:
      fake_quant_loop<QRound::HalfEven>(x, y, inside, n, scale, z, lo, hi, avx2);
      break;
    case QRound::HalfUp:
      fake_quant_loop<QRound::HalfUp>(x, y, inside, n, scale, z, lo, hi, avx2);
      break;
  }
}

torch::Tensor fake_quant_activation(const torch::Tensor& x, float lo, float hi, bool ties_even) {
  widen(lo, hi);
  const QuantParams p = asymmetric_int8_params(lo, hi);
  return fake_quant_affine(x, p.scale, p.zero_point,
                           ties_even ? QRound::HalfEven : QRound::HalfAway);
}

torch::Tensor fake_quant_activation_int16(const torch::Tensor& x, float lo, float hi) {
  widen(lo, hi);
  const QuantParams p = symmetric_int16_params(lo, hi);
  return fake_quant_affine(x, p.scale, 0, QRound::HalfAway, -32768, 32767);
}

torch::Tensor fake_quant_weight(const torch::Tensor& w, int qmax, bool per_tensor) {
  const float qm = static_cast<float>(qmax);
  torch::Tensor q;
  {
    torch::NoGradGuard ng;
    const torch::Tensor flat = w.detach().reshape({w.size(0), -1});
    const torch::Tensor m = per_tensor ? flat.abs().max().reshape({1, 1})  // one for the tensor
                                       : std::get<0>(flat.abs().max(1, true));  // per channel
    const torch::Tensor safe = torch::where(m > 0, m, torch::ones_like(m));
    const torch::Tensor inv = torch::where(m > 0, qm / safe, torch::zeros_like(m));
    const torch::Tensor scale = m / qm;
    q = torch::clamp(round_half_away(flat * inv), -qm, qm) * scale;
    q = q.reshape(w.sizes());
  }
  return w + (q - w).detach();
}

torch::Tensor fake_quant_pow2_activation(const torch::Tensor& x, float lo, float hi) {
  // x / 2^−pos is exact in float; floor(v + 0.5) is the DPU's round half up.
  return fake_quant_affine(x, fix_dequantize(1, max_fix_pos(lo, hi)), 0, QRound::HalfUp);
}

torch::Tensor fake_quant_pow2_weight(const torch::Tensor& w) {
  torch::Tensor q;
  {
    torch::NoGradGuard ng;
    const torch::Tensor flat = w.detach().to(torch::kFloat32).contiguous().cpu().reshape({-1});
    if (flat.numel() == 0) return w;
    const int pos = diffs_fix_pos(flat.data_ptr<float>(), flat.numel(), FixRound::Std);
    const float step = fix_dequantize(1, pos);
    q = torch::clamp(round_half_away(w.detach() / step), -128.0, 127.0) * step;
  }
  return w + (q - w).detach();
}

}  // namespace dalnas
