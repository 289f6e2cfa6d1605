#include "precision/policy.h"

#include "core/error.h"

namespace dalnas {

std::string to_string(PrecisionMode m) {
  switch (m) {
    case PrecisionMode::FP32:
      return "fp32";
    case PrecisionMode::FP16Aligned:
      return "fp16-aligned";
  }
  return "unknown";
}

PrecisionMode parse_precision(const std::string& s) {
  if (s == "fp32") return PrecisionMode::FP32;
  if (s == "fp16-aligned") return PrecisionMode::FP16Aligned;
  throw Error("precision: unknown value \"" + s + "\" (allowed: fp32, fp16-aligned)");
}

torch::Tensor PrecisionPolicy::weight(const torch::Tensor& w) const {
  if (!enabled()) return w;
  return project_fp16(w, half, zero_grad_on_overflow);
}

torch::Tensor PrecisionPolicy::act(const torch::Tensor& x, const char* where) const {
  torch::Tensor y = enabled() ? project_fp16(x, half, zero_grad_on_overflow) : x;
  if (observer) observer(where ? where : "", y);
  return y;
}

}  // namespace dalnas
