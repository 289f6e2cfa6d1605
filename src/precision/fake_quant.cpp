#include "precision/fake_quant.h"

#include <algorithm>

#include "quant/dpu_ops.h"
#include "quant/quant_params.h"

namespace dalnas {

torch::Tensor round_half_away(const torch::Tensor& v) {
  const torch::Tensor t = torch::trunc(v);
  const torch::Tensor frac = v - t;  // exact in floating point
  return t + torch::sign(v) * (frac.abs() >= 0.5).to(v.scalar_type());
}

torch::Tensor fake_quant_activation(const torch::Tensor& x, float lo, float hi, bool ties_even) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  if (hi - lo < 1.0f / 1024.0f) hi = lo + 1.0f / 1024.0f;
  const QuantParams p = asymmetric_int8_params(lo, hi);
  torch::Tensor q;
  {
    torch::NoGradGuard ng;
    const torch::Tensor v = x.detach() / p.scale;
    // torch::round rounds half to even, as nearbyint in the default rounding mode.
    q = torch::clamp(
        (ties_even ? torch::round(v) : round_half_away(v)) + static_cast<float>(p.zero_point),
        -128.0, 127.0);
    q = (q - static_cast<float>(p.zero_point)) * p.scale;
  }
  // The clipped straight-through estimator: d/dx = 1 inside the representable range.
  const float qlo = static_cast<float>(-128 - p.zero_point) * p.scale;
  const float qhi = static_cast<float>(127 - p.zero_point) * p.scale;
  const torch::Tensor c = torch::clamp(x, qlo, qhi);
  return c + (q - c).detach();
}

torch::Tensor fake_quant_weight(const torch::Tensor& w, int qmax) {
  const float qm = static_cast<float>(qmax);
  torch::Tensor q;
  {
    torch::NoGradGuard ng;
    const torch::Tensor flat = w.detach().reshape({w.size(0), -1});
    const torch::Tensor m = std::get<0>(flat.abs().max(1, true));  // per channel
    const torch::Tensor safe = torch::where(m > 0, m, torch::ones_like(m));
    const torch::Tensor inv = torch::where(m > 0, qm / safe, torch::zeros_like(m));
    const torch::Tensor scale = m / qm;
    q = torch::clamp(round_half_away(flat * inv), -qm, qm) * scale;
    q = q.reshape(w.sizes());
  }
  return w + (q - w).detach();
}

torch::Tensor fake_quant_pow2_activation(const torch::Tensor& x, float lo, float hi) {
  const int pos = max_fix_pos(lo, hi);
  const float step = fix_dequantize(1, pos);
  torch::Tensor q;
  {
    torch::NoGradGuard ng;
    // x · 2^pos is exact in float; floor(v + 0.5) is the DPU's round half up.
    q = torch::clamp(torch::floor(x.detach() / step + 0.5f), -128.0, 127.0) * step;
  }
  const torch::Tensor c = torch::clamp(x, -128.0f * step, 127.0f * step);
  return c + (q - c).detach();
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
