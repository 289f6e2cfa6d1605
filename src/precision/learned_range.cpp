#include "precision/learned_range.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "precision/fake_quant.h"
#include "quant/quant_params.h"

namespace dalnas {

double lsq_grad_scale(const torch::Tensor& x) {
  const double per_sample = x.dim() > 0 && x.size(0) > 0
                                ? static_cast<double>(x.numel()) / static_cast<double>(x.size(0))
                                : static_cast<double>(std::max<int64_t>(1, x.numel()));
  return 1.0 / std::sqrt(std::max(1.0, per_sample) * 255.0);
}

torch::Tensor fake_quant_activation_learned(const torch::Tensor& x, const torch::Tensor& range,
                                            double grad_scale, bool ties_even) {
  if (range.numel() != 2) throw Error("learned range: expected two values (lo, hi)");
  const torch::Tensor rv = range.detach().to(torch::kFloat32).cpu().contiguous();
  const float lo = rv.data_ptr<float>()[0], hi = rv.data_ptr<float>()[1];
  // The values: the fixed-range form, with its clipped straight-through gradient for x.
  const torch::Tensor y = fake_quant_activation(x, lo, hi, ties_even);
  if (!range.requires_grad()) return y;
  // The range's gradient coefficients (see the header), computed at the parameters the
  // forward used: [lo, hi] widened as fake_quant_activation widens it.
  float wlo = std::min(lo, 0.0f), whi = std::max(hi, 0.0f);
  if (whi - wlo < 1.0f / 1024.0f) whi = wlo + 1.0f / 1024.0f;
  const QuantParams p = asymmetric_int8_params(wlo, whi);
  const float s = p.scale, z = static_cast<float>(p.zero_point);
  torch::Tensor c_lo, c_hi;
  {
    torch::NoGradGuard ng;
    const torch::Tensor xd = x.detach();
    const torch::Tensor u = xd / s + z;
    const torch::Tensor r = ties_even ? torch::round(u) : round_half_away(u);
    const torch::Tensor below = xd < (-128.0f - z) * s;
    const torch::Tensor above = xd > (127.0f - z) * s;
    const torch::Tensor inside = torch::logical_not(torch::logical_or(below, above));
    const torch::Tensor delta = (r - u) * inside.to(xd.scalar_type()) / 255.0f;
    c_lo = lo < 0.0f ? below.to(xd.scalar_type()) - delta : torch::zeros_like(xd);
    c_hi = hi > 0.0f ? above.to(xd.scalar_type()) + delta : torch::zeros_like(xd);
  }
  const torch::Tensor r = range.to(x.scalar_type());
  const torch::Tensor d_lo = (r.select(0, 0) - r.select(0, 0).detach()) * grad_scale;
  const torch::Tensor d_hi = (r.select(0, 1) - r.select(0, 1).detach()) * grad_scale;
  return y + d_lo * c_lo + d_hi * c_hi;  // values: y (the added terms are zero)
}

}  // namespace dalnas
