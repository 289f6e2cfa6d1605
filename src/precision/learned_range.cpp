#include "precision/learned_range.h"

#include <ATen/Parallel.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "precision/dense.h"
#include "precision/fake_quant.h"
#include "quant/quant_params.h"

namespace dalnas {

double lsq_grad_scale(const torch::Tensor& x) {
  const double per_sample = x.dim() > 0 && x.size(0) > 0
                                ? static_cast<double>(x.numel()) / static_cast<double>(x.size(0))
                                : static_cast<double>(std::max<int64_t>(1, x.numel()));
  return 1.0 / std::sqrt(std::max(1.0, per_sample) * 255.0);
}

namespace {

// The backward's body over one chunk: x's clipped straight-through gradient into `out`, and
// the two range sums into eight float lanes each (element i of the chunk into lane i % 8).
// Two bodies, a scalar one and an AVX2 one, doing the same float operations in the same
// lane order (no FMA), so that they give the same sums bit for bit.
constexpr float kBound = 1048576.0f;  // u clamped to ±2^20 before truncation (no overflow)

// Floating-point comparisons need not raise exceptions here (no code reads the flags).
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")

inline float round_as(float u, bool ties_even) {
  u = u < -kBound ? -kBound : (u > kBound ? kBound : u);
  const int32_t ti = static_cast<int32_t>(u);
  const float t = static_cast<float>(ti);
  const float frac = u - t;  // exact
  if (!ties_even) return t + (frac >= 0.5f ? 1.0f : 0.0f) - (frac <= -0.5f ? 1.0f : 0.0f);
  const bool odd = (ti & 1) != 0;
  return t + (frac > 0.5f || (frac == 0.5f && odd) ? 1.0f : 0.0f) -
         (frac < -0.5f || (frac == -0.5f && odd) ? 1.0f : 0.0f);
}

inline void range_grad_one(float xi, bool in, float gi, float& out, float& lo, float& hi, float s,
                           float z, float qlo, bool ties_even) {
  const float inside = in ? 1.0f : 0.0f;
  const float u = xi / s + z;
  const float d = in ? (round_as(u, ties_even) - u) / 255.0f : 0.0f;
  const float below = !in && xi < qlo ? 1.0f : 0.0f;
  const float above = !in && !(xi < qlo) ? 1.0f : 0.0f;
  lo += gi * (below - d);
  hi += gi * (above + d);
  out = gi * inside;
}

void range_grad_chunk(const float* x, const bool* m, const float* g, float* out, int64_t n, float s,
                      float z, float qlo, bool ties_even, float* lo, float* hi) {
  for (int64_t i = 0; i < n; ++i)
    range_grad_one(x[i], m[i], g[i], out[i], lo[i % 8], hi[i % 8], s, z, qlo, ties_even);
}

__attribute__((target("avx2"))) void range_grad_chunk_avx2(const float* x, const bool* m,
                                                           const float* g, float* out, int64_t n,
                                                           float s, float z, float qlo,
                                                           bool ties_even, float* lo, float* hi) {
  const __m256 vs = _mm256_set1_ps(s), vz = _mm256_set1_ps(z), vqlo = _mm256_set1_ps(qlo);
  const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
  const __m256 nhalf = _mm256_set1_ps(-0.5f), k255 = _mm256_set1_ps(255.0f);
  const __m256 bound = _mm256_set1_ps(kBound), nbound = _mm256_set1_ps(-kBound);
  const __m256i ione = _mm256_set1_epi32(1);
  __m256 alo = _mm256_loadu_ps(lo), ahi = _mm256_loadu_ps(hi);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 vx = _mm256_loadu_ps(x + i), vg = _mm256_loadu_ps(g + i);
    int64_t bytes;
    std::memcpy(&bytes, m + i, 8);
    const __m256i mi = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(bytes));
    const __m256 in = _mm256_castsi256_ps(_mm256_cmpgt_epi32(mi, _mm256_setzero_si256()));
    __m256 u = _mm256_add_ps(_mm256_div_ps(vx, vs), vz);
    const __m256 uc = _mm256_min_ps(_mm256_max_ps(u, nbound), bound);
    const __m256i ti = _mm256_cvttps_epi32(uc);
    const __m256 t = _mm256_cvtepi32_ps(ti);
    const __m256 frac = _mm256_sub_ps(uc, t);
    __m256 r;
    if (!ties_even) {
      r = _mm256_sub_ps(_mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(frac, half, _CMP_GE_OQ), one)),
                        _mm256_and_ps(_mm256_cmp_ps(frac, nhalf, _CMP_LE_OQ), one));
    } else {
      const __m256 odd = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(ti, ione), ione));
      const __m256 up = _mm256_or_ps(_mm256_cmp_ps(frac, half, _CMP_GT_OQ),
                                     _mm256_and_ps(_mm256_cmp_ps(frac, half, _CMP_EQ_OQ), odd));
      const __m256 down = _mm256_or_ps(_mm256_cmp_ps(frac, nhalf, _CMP_LT_OQ),
                                       _mm256_and_ps(_mm256_cmp_ps(frac, nhalf, _CMP_EQ_OQ), odd));
      r = _mm256_sub_ps(_mm256_add_ps(t, _mm256_and_ps(up, one)), _mm256_and_ps(down, one));
    }
    // (round(u) − u) / 255 inside (u unclamped there: |u| <= 128), 0 outside.
    const __m256 d = _mm256_and_ps(_mm256_div_ps(_mm256_sub_ps(r, u), k255), in);
    const __m256 lt = _mm256_cmp_ps(vx, vqlo, _CMP_LT_OQ);
    const __m256 below = _mm256_andnot_ps(in, _mm256_and_ps(lt, one));
    const __m256 above = _mm256_andnot_ps(in, _mm256_andnot_ps(lt, one));
    alo = _mm256_add_ps(alo, _mm256_mul_ps(vg, _mm256_sub_ps(below, d)));
    ahi = _mm256_add_ps(ahi, _mm256_mul_ps(vg, _mm256_add_ps(above, d)));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(vg, _mm256_and_ps(in, one)));
  }
  _mm256_storeu_ps(lo, alo);
  _mm256_storeu_ps(hi, ahi);
  for (; i < n; ++i)  // the tail, in the same lanes as the scalar body
    range_grad_one(x[i], m[i], g[i], out[i], lo[i % 8], hi[i % 8], s, z, qlo, ties_even);
}

#pragma GCC pop_options

struct RangeGrad {
  double lo = 0, hi = 0;
};

}  // namespace

RangeGradSums learned_range_backward(const float* x, const bool* inside, const float* g, float* gx,
                                     int64_t n, float scale, int zero_point, bool ties_even,
                                     bool simd) {
  const bool avx2 = simd && __builtin_cpu_supports("avx2");
  const float s = scale, z = static_cast<float>(zero_point);
  const float qlo = (-128.0f - z) * s;
  // Chunks of 2^14 elements (the lane order restarts at each chunk), summed in double in
  // chunk order.
  const RangeGrad r = at::parallel_reduce(
      int64_t{0}, n, int64_t{1} << 14, RangeGrad{},
      [=](int64_t b, int64_t e, RangeGrad acc) {
        for (int64_t c = b; c < e; c += int64_t{1} << 14) {
          const int64_t len = std::min(e - c, int64_t{1} << 14);
          float lo[8] = {0, 0, 0, 0, 0, 0, 0, 0}, hi[8] = {0, 0, 0, 0, 0, 0, 0, 0};
          if (avx2) {
            range_grad_chunk_avx2(x + c, inside + c, g + c, gx + c, len, s, z, qlo, ties_even, lo,
                                  hi);
          } else {
            range_grad_chunk(x + c, inside + c, g + c, gx + c, len, s, z, qlo, ties_even, lo, hi);
          }
          for (int k = 0; k < 8; ++k) acc.lo += lo[k], acc.hi += hi[k];
        }
        return acc;
      },
      [](RangeGrad a, RangeGrad b) {
        return RangeGrad{a.lo + b.lo, a.hi + b.hi};
      });
  return {r.lo, r.hi};
}

namespace {

// The forward is fake_quant_values (the fixed-range kernel); the backward one pass over x
// and the incoming gradient: x's clipped straight-through gradient and the two sums of the
// range's gradient (the header's rule), each chunk summed in double and the chunks combined
// in order (the same sums for the same thread count).
struct LearnedFakeQuantFn : public torch::autograd::Function<LearnedFakeQuantFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& range, double grad_scale, bool ties_even) {
    const torch::Tensor rv = range.detach().to(torch::kFloat32).cpu().contiguous();
    const float lo = rv.data_ptr<float>()[0], hi = rv.data_ptr<float>()[1];
    float wlo = std::min(lo, 0.0f), whi = std::max(hi, 0.0f);
    if (whi - wlo < 1.0f / 1024.0f) whi = wlo + 1.0f / 1024.0f;
    const QuantParams p = asymmetric_int8_params(wlo, whi);
    const torch::Tensor xc = dense_layout(x);
    torch::Tensor y = torch::empty_like(xc);
    torch::Tensor inside = torch::empty_like(xc, xc.options().dtype(torch::kBool));
    fake_quant_values(xc.data_ptr<float>(), y.data_ptr<float>(), inside.data_ptr<bool>(),
                      xc.numel(), p.scale, p.zero_point,
                      ties_even ? FakeQuantRound::HalfEven : FakeQuantRound::HalfAway, -128, 127,
                      fake_quant_simd());
    ctx->save_for_backward({xc, inside});
    ctx->saved_data["s"] = static_cast<double>(p.scale);
    ctx->saved_data["z"] = static_cast<int64_t>(p.zero_point);
    ctx->saved_data["lo_moves"] = lo < 0.0f;
    ctx->saved_data["hi_moves"] = hi > 0.0f;
    ctx->saved_data["grad_scale"] = grad_scale;
    ctx->saved_data["ties_even"] = ties_even;
    ctx->saved_data["range_dtype"] = static_cast<int64_t>(range.scalar_type());
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& xc = saved[0];
    const torch::Tensor& inside = saved[1];
    const float s = static_cast<float>(ctx->saved_data["s"].toDouble());
    const float z = static_cast<float>(ctx->saved_data["z"].toInt());
    const bool ties_even = ctx->saved_data["ties_even"].toBool();
    const torch::Tensor g = with_strides_of(grad[0].to(torch::kFloat32), xc);
    torch::Tensor gx = torch::empty_like(g);
    const float* xp = xc.data_ptr<float>();
    const bool* mp = inside.data_ptr<bool>();
    const float* gp = g.data_ptr<float>();
    float* op = gx.data_ptr<float>();
    const RangeGradSums sums = learned_range_backward(
        xp, mp, gp, op, g.numel(), s, static_cast<int>(z), ties_even, fake_quant_simd());
    const double gs = ctx->saved_data["grad_scale"].toDouble();
    const double glo = ctx->saved_data["lo_moves"].toBool() ? sums.lo * gs : 0.0;
    const double ghi = ctx->saved_data["hi_moves"].toBool() ? sums.hi * gs : 0.0;
    const auto dtype = static_cast<c10::ScalarType>(ctx->saved_data["range_dtype"].toInt());
    const torch::Tensor gr = torch::tensor({glo, ghi}, torch::kFloat64).to(dtype);
    return {gx, gr, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fake_quant_activation_learned(const torch::Tensor& x, const torch::Tensor& range,
                                            double grad_scale, bool ties_even) {
  if (range.numel() != 2) throw Error("learned range: expected two values (lo, hi)");
  if (x.scalar_type() != torch::kFloat32 || !x.device().is_cpu())
    throw Error("learned range: float32 CPU activations only");
  if (!range.requires_grad()) {
    const torch::Tensor rv = range.detach().to(torch::kFloat32).cpu().contiguous();
    return fake_quant_activation(x, rv.data_ptr<float>()[0], rv.data_ptr<float>()[1], ties_even);
  }
  return LearnedFakeQuantFn::apply(x, range, grad_scale, ties_even);
}

}  // namespace dalnas
