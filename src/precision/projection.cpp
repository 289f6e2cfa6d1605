#include "precision/projection.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "precision/dense.h"

namespace dalnas {
namespace {

constexpr int64_t kGrain = 32768;  // elements per parallel chunk

// Rounds a float32 CPU tensor element-wise through FP16 into a new tensor laid out as x;
// with scale != 1, rounds x · scale and divides the result by scale (chunk by chunk, so
// the three steps share one trip through memory).
torch::Tensor round_float_cpu(const torch::Tensor& x, HalfMode mode, float scale = 1.0f) {
  const torch::Tensor src = dense_layout(x);  // NCHW or channels-last, kept (precision/dense.h)
  torch::Tensor out = torch::empty_like(src);
  const float* in = src.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  at::parallel_for(0, src.numel(), kGrain, [&](int64_t begin, int64_t end) {
    const size_t n = size_t(end - begin);
    if (scale == 1.0f) {
      round_to_half(in + begin, dst + begin, n, mode);
      return;
    }
    const float inv = 1.0f / scale;
    float* d = dst + begin;
    const float* s = in + begin;
    for (size_t i = 0; i < n; ++i) d[i] = s[i] * scale;
    round_to_half(d, d, n, mode);
    for (size_t i = 0; i < n; ++i) d[i] *= inv;
  });
  return out;
}

// Any other floating dtype or device: torch's own conversion (IEEE nearest-even with
// overflow to inf and kept subnormals), then the mode's fix-ups.
torch::Tensor round_generic(const torch::Tensor& x, HalfMode mode) {
  if (!x.is_floating_point()) {
    throw std::invalid_argument("project_fp16: expects a floating-point tensor, got " +
                                std::string(c10::toString(x.scalar_type())));
  }
  torch::Tensor y = x.to(torch::kHalf).to(x.scalar_type()).contiguous();
  if (mode.overflow == Overflow::Saturate) {
    const torch::Tensor clamped = torch::isinf(y) & torch::isfinite(x);
    y = torch::where(clamped, torch::sign(x) * kHalfMax, y);
  }
  if (mode.subnormals == Subnormals::Flush) {
    y = torch::where(y.abs() < kHalfMinNormal, y * 0, y);  // y * 0 keeps the sign of zero
  }
  return y;
}

class ProjectFP16 : public torch::autograd::Function<ProjectFP16> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               HalfMode mode, bool zero_grad_on_overflow) {
    ctx->saved_data["mask"] = zero_grad_on_overflow;
    if (zero_grad_on_overflow) ctx->save_for_backward({x});
    if (x.scalar_type() == torch::kFloat && x.device().is_cpu()) return round_float_cpu(x, mode);
    return round_generic(x, mode);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    torch::Tensor g = grad_out[0];
    if (ctx->saved_data["mask"].toBool()) {
      const torch::Tensor x = ctx->get_saved_variables()[0];
      g = g.masked_fill(x.abs() >= kHalfOverflowThreshold, 0.0);
    }
    return {g, torch::Tensor(), torch::Tensor()};
  }
};

class ProjectFP16Scaled : public torch::autograd::Function<ProjectFP16Scaled> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               HalfMode mode, double scale, bool zero_grad_on_overflow) {
    ctx->saved_data["mask"] = zero_grad_on_overflow;
    ctx->saved_data["scale"] = scale;
    if (zero_grad_on_overflow) ctx->save_for_backward({x});
    if (x.scalar_type() == torch::kFloat && x.device().is_cpu()) {
      return round_float_cpu(x, mode, static_cast<float>(scale));
    }
    return round_generic(x * scale, mode) * (1.0 / scale);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    torch::Tensor g = grad_out[0];
    if (ctx->saved_data["mask"].toBool()) {
      const torch::Tensor x = ctx->get_saved_variables()[0];
      const double limit = kHalfOverflowThreshold / ctx->saved_data["scale"].toDouble();
      g = g.masked_fill(x.abs() >= limit, 0.0);
    }
    return {g, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor project_fp16_scaled(const torch::Tensor& x, HalfMode mode, double scale,
                                  bool zero_grad_on_overflow) {
  int e = 0;
  if (!(scale > 0) || std::frexp(scale, &e) != 0.5 || e < -120 || e > 120) {
    throw std::invalid_argument("project_fp16_scaled: scale must be a power of two, got " +
                                std::to_string(scale));
  }
  if (scale == 1.0) return project_fp16(x, mode, zero_grad_on_overflow);
  return ProjectFP16Scaled::apply(x, mode, scale, zero_grad_on_overflow);
}

torch::Tensor project_fp16(const torch::Tensor& x, HalfMode mode, bool zero_grad_on_overflow) {
  return ProjectFP16::apply(x, mode, zero_grad_on_overflow);
}

}  // namespace dalnas
