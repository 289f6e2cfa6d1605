#include "precision/learned_step.h"

#include <cmath>
#include <string>

#include "core/error.h"
#include "precision/fake_quant.h"

namespace dalnas {

namespace {

void check_args(const torch::Tensor& w, const torch::Tensor& step, int qmax) {
  if (w.scalar_type() != torch::kFloat32 || !w.device().is_cpu() || w.dim() < 2)
    throw Error("learned weight step: float32 CPU weights of two or more dimensions only");
  if (step.dim() != 1 || step.size(0) != w.size(0) || step.scalar_type() != torch::kFloat32)
    throw Error("learned weight step: " + std::to_string(step.numel()) + " steps for a weight of " +
                std::to_string(w.size(0)) + " output channels");
  if (qmax < 1 || qmax > 127)
    throw Error("learned weight step: qmax " + std::to_string(qmax) + " is outside [1, 127]");
  const torch::Tensor s = step.detach();
  if (!torch::isfinite(s).all().item<bool>() || !(s > 0).all().item<bool>())
    throw Error("learned weight step: a step is not positive and finite");
}

// The step as a column broadcasting over w's channels.
torch::Tensor column(const torch::Tensor& step, const torch::Tensor& w) {
  std::vector<int64_t> shape(static_cast<size_t>(w.dim()), 1);
  shape[0] = w.size(0);
  return step.detach().reshape(shape);
}

struct LearnedStepFn : public torch::autograd::Function<LearnedStepFn> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& w,
                               const torch::Tensor& step, int64_t qmax, double grad_scale) {
    torch::NoGradGuard ng;
    const torch::Tensor s = column(step, w);
    const torch::Tensor wd = w.detach();
    const double q = static_cast<double>(qmax);
    const torch::Tensor y = torch::clamp(round_half_away(wd / s), -q, q) * s;
    ctx->save_for_backward({wd, step.detach()});
    ctx->saved_data["qmax"] = qmax;
    ctx->saved_data["grad_scale"] = grad_scale;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& w = saved[0];
    const torch::Tensor s = column(saved[1], w);
    const double q = static_cast<double>(ctx->saved_data["qmax"].toInt());
    const torch::Tensor g = grad[0];
    const torch::Tensor u = w / s;
    const torch::Tensor inside = (u > -q) & (u < q);
    const torch::Tensor gw = g * inside;
    torch::Tensor gs;
    if (ctx->needs_input_grad(1)) {
      const torch::Tensor outer =
          torch::where(u <= -q, torch::full_like(u, -q), torch::full_like(u, q));
      const torch::Tensor d = torch::where(inside, round_half_away(u) - u, outer);
      gs = (g * d).reshape({w.size(0), -1}).sum(1) * ctx->saved_data["grad_scale"].toDouble();
    }
    return {gw, gs, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor fake_quant_weight_learned(const torch::Tensor& w, const torch::Tensor& step, int qmax,
                                        double grad_scale) {
  check_args(w, step, qmax);
  return LearnedStepFn::apply(w, step, static_cast<int64_t>(qmax), grad_scale);
}

torch::Tensor initial_weight_steps(const torch::Tensor& w, int qmax) {
  torch::NoGradGuard ng;
  if (w.dim() < 1 || w.size(0) == 0) throw Error("learned weight step: an empty weight");
  const torch::Tensor m =
      std::get<0>(w.detach().to(torch::kFloat32).reshape({w.size(0), -1}).abs().max(1));
  const float all = m.max().item<float>();
  const torch::Tensor fill = torch::full_like(m, all > 0 ? all : static_cast<float>(qmax));
  return (torch::where(m > 0, m, fill) / static_cast<double>(qmax)).contiguous();
}

double weight_step_grad_scale(const torch::Tensor& w, int qmax) {
  const double per =
      w.size(0) > 0 ? static_cast<double>(w.numel()) / static_cast<double>(w.size(0)) : 1.0;
  return 1.0 / std::sqrt(std::max(1.0, per) * static_cast<double>(qmax));
}

}  // namespace dalnas
