#include "precision/policy.h"

#include <cmath>

#include "core/error.h"
#include "precision/fake_quant.h"
#include "precision/learned_range.h"
#include "precision/learned_step.h"

namespace dalnas {

namespace {
// One batch's (min, max) at a training point; throws naming the point when x holds a
// non-finite value (one pass, precision/fake_quant.h).
std::pair<float, float> batch_range(const torch::Tensor& x, const std::string& where) {
  float lo = 0, hi = 0;
  if (!finite_min_max(x, lo, hi))
    throw Error("int8 quantization-aware forward: non-finite values at '" + where + "'");
  return {lo, hi};
}
// A learned range's starting (lo, hi): at least 2^-10 wide.
torch::Tensor learned_start(float lo, float hi) {
  if (hi - lo < 1.0f / 1024.0f) hi = lo + 1.0f / 1024.0f;
  return torch::tensor({lo, hi});
}
// Throws when the normalisation's band count is not the input's.
void check_norm_bands(const std::vector<float>& mean, const std::vector<float>& sd, int64_t c) {
  if (static_cast<int64_t>(mean.size()) != c || static_cast<int64_t>(sd.size()) != c) {
    throw Error("aligned forward: normalisation has " + std::to_string(mean.size()) +
                " bands, the input " + std::to_string(c));
  }
}
}  // namespace

std::string to_string(PrecisionMode m) {
  switch (m) {
    case PrecisionMode::FP32:
      return "fp32";
    case PrecisionMode::FP16Aligned:
      return "fp16-aligned";
    case PrecisionMode::Aligned:
      return "aligned";
  }
  return "unknown";
}

PrecisionMode parse_precision(const std::string& s) {
  if (s == "fp32") return PrecisionMode::FP32;
  if (s == "fp16-aligned") return PrecisionMode::FP16Aligned;
  if (s == "aligned") return PrecisionMode::Aligned;
  throw Error("precision: unknown value \"" + s + "\" (allowed: fp32, fp16-aligned, aligned)");
}

const ActRanges& PrecisionPolicy::int8_ranges() const {
  for (const auto& [name, t] : learned_) {
    const torch::Tensor v = t.detach().to(torch::kFloat32).contiguous();
    ranges_[name] = {v.data_ptr<float>()[0], v.data_ptr<float>()[1]};
  }
  return ranges_;
}

void PrecisionPolicy::set_int8_ranges(ActRanges r) const {
  ranges_ = std::move(r);
  torch::NoGradGuard ng;
  for (auto it = learned_.begin(); it != learned_.end();) {
    const auto f = ranges_.find(it->first);
    if (f == ranges_.end()) {
      it = learned_.erase(it);  // learned again from its next training batch
      continue;
    }
    it->second.copy_(torch::tensor({f->second.first, f->second.second}));
    ++it;
  }
}

std::vector<torch::Tensor> PrecisionPolicy::learned_range_params() const {
  std::vector<torch::Tensor> out;
  for (const auto& [name, t] : learned_) out.push_back(t);
  return out;
}

void PrecisionPolicy::restart_int8_ranges() const {
  for (const auto& [name, t] : learned_) restart_learned_.insert(name);
  ranges_.clear();
}

void PrecisionPolicy::keep_learned_ranges_valid() const {
  torch::NoGradGuard ng;
  for (auto& [name, t] : learned_) {
    float* v = t.data_ptr<float>();
    if (!std::isfinite(v[0]) || !std::isfinite(v[1]))
      throw Error("learned int8 range at '" + name + "' is not finite");
    if (v[1] - v[0] < 1.0f / 1024.0f) v[1] = v[0] + 1.0f / 1024.0f;
  }
}

torch::Tensor PrecisionPolicy::int8_act(const torch::Tensor& x, const std::string& where,
                                        bool int16) const {
  // Ranges learn while gradients are recorded (training); evaluation reads them.
  const bool training = torch::GradMode::is_enabled() && (x.requires_grad() || training_forward_);
  if (learned_ranges && !int16 && !align.int8_pow2) {
    auto lt = learned_.find(where);
    if (lt != learned_.end() || training) {
      if (lt == learned_.end()) {  // first seen in training: the set range or this batch's
        auto it = ranges_.find(where);
        const auto [lo, hi] = it != ranges_.end() ? it->second : batch_range(x, where);
        lt = learned_.emplace(where, learned_start(lo, hi).requires_grad_(true)).first;
      }
      if (training && restart_learned_.erase(where) > 0) {  // restart_int8_ranges
        const auto [lo, hi] = batch_range(x, where);
        torch::NoGradGuard ng;
        lt->second.copy_(learned_start(lo, hi));
      }
      if (!training) {
        const torch::Tensor v = lt->second.detach();
        return fake_quant_activation(x, v.data_ptr<float>()[0], v.data_ptr<float>()[1],
                                     align.int8_ties_even);
      }
      return fake_quant_activation_learned(x, lt->second, lsq_grad_scale(x), align.int8_ties_even);
    }
  }
  auto it = ranges_.find(where);
  float lo, hi;
  if (training || it == ranges_.end()) {
    const auto [mn, mx] = batch_range(x, where);
    if (it == ranges_.end()) {
      if (training) ranges_[where] = {mn, mx};
      lo = mn;
      hi = mx;
    } else {
      constexpr float kMomentum = 0.9f;
      it->second.first = kMomentum * it->second.first + (1 - kMomentum) * mn;
      it->second.second = kMomentum * it->second.second + (1 - kMomentum) * mx;
      lo = it->second.first;
      hi = it->second.second;
    }
  } else {
    lo = it->second.first;
    hi = it->second.second;
  }
  if (int16) return fake_quant_activation_int16(x, lo, hi);
  return align.int8_pow2 ? fake_quant_pow2_activation(x, lo, hi)
                         : fake_quant_activation(x, lo, hi, align.int8_ties_even);
}

LayerPrecision PrecisionPolicy::scope_precision() const {
  if (!int8()) return LayerPrecision::Int8;
  LayerPrecision p = scope_block_ >= 0 ? scope_gene_ : LayerPrecision::Default;
  if (p == LayerPrecision::Default && align.int8_first_last != LayerPrecision::Default &&
      (scope_block_ == 0 || scope_block_ == kHead)) {
    p = align.int8_first_last;
  }
  if (p == LayerPrecision::Default) p = align.int8_precision;
  return p == LayerPrecision::Default ? LayerPrecision::Int8 : p;
}

torch::Tensor PrecisionPolicy::block_output(const torch::Tensor& x,
                                            const std::string& where) const {
  if (!int8()) return x;
  const LayerPrecision p = scope_precision();
  if (p != LayerPrecision::FP16 && p != LayerPrecision::Int16) return x;
  return int8_act(x, where);
}

void PrecisionPolicy::index_weights(const torch::nn::Module& net) const {
  weight_names_.clear();
  for (const auto& p : net.named_parameters(/*recurse=*/true))
    weight_names_[p.value().unsafeGetTensorImpl()] = p.key();
}

WeightSteps PrecisionPolicy::weight_steps(bool log) const {
  WeightSteps out;
  for (const auto& [name, t] : log_steps_) {
    torch::Tensor v = t.detach();
    if (!log) v = torch::exp(v);
    v = v.to(torch::kFloat32).contiguous();
    out[name] = std::vector<float>(v.data_ptr<float>(), v.data_ptr<float>() + v.numel());
  }
  return out;
}

void PrecisionPolicy::set_weight_steps(const WeightSteps& s, bool log) const {
  torch::NoGradGuard ng;
  for (auto it = log_steps_.begin(); it != log_steps_.end();) {
    if (s.count(it->first) == 0) {
      it = log_steps_.erase(it);  // starts again at its next training forward
    } else {
      ++it;
    }
  }
  for (const auto& [name, v] : s) {
    torch::Tensor t = torch::tensor(v, torch::kFloat32);
    if (!log) t = torch::log(t);
    auto it = log_steps_.find(name);
    if (it != log_steps_.end() && it->second.numel() == t.numel()) {
      it->second.copy_(t);  // the same leaf (it may be in an optimiser)
    } else {
      log_steps_[name] = t.requires_grad_(true);
    }
  }
}

std::vector<torch::Tensor> PrecisionPolicy::learned_step_params() const {
  std::vector<torch::Tensor> out;
  for (const auto& [name, t] : log_steps_) out.push_back(t);
  return out;
}

torch::Tensor PrecisionPolicy::int_weight(const torch::Tensor& w, int qmax, bool per_tensor) const {
  if (!learned_weight_steps || per_tensor || w.dim() < 2)
    return fake_quant_weight(w, qmax, per_tensor);
  const auto name = weight_names_.find(w.unsafeGetTensorImpl());
  if (name == weight_names_.end()) return fake_quant_weight(w, qmax);
  const bool training = torch::GradMode::is_enabled() && w.requires_grad();
  auto it = log_steps_.find(name->second);
  if (it == log_steps_.end()) {
    if (!training) return fake_quant_weight(w, qmax);
    it = log_steps_
             .emplace(name->second, torch::log(initial_weight_steps(w, qmax)).requires_grad_(true))
             .first;
  }
  if (it->second.numel() != w.size(0))
    throw Error("learned weight steps: '" + name->second + "' has " +
                std::to_string(it->second.numel()) + " steps for " + std::to_string(w.size(0)) +
                " output channels");
  if (!training) {
    torch::NoGradGuard ng;
    return fake_quant_weight_learned(w.detach(), torch::exp(it->second.detach()), qmax, 0.0);
  }
  return fake_quant_weight_learned(w, torch::exp(it->second), qmax,
                                   weight_step_grad_scale(w, qmax));
}

torch::Tensor PrecisionPolicy::weight(const torch::Tensor& w) const {
  if (!enabled()) return w;
  if (int8()) {
    const LayerPrecision p = scope_precision();
    if (p == LayerPrecision::FP16) return project_fp16(w, HalfMode{}, zero_grad_on_overflow);
    const bool per_tensor = align.int8_weights_per_tensor;
    if (p == LayerPrecision::Int4W) return int_weight(w, 7, per_tensor);  // kInt4WeightMax
    return align.int8_pow2 ? fake_quant_pow2_weight(w)
                           : int_weight(w, align.int8_weight_max, per_tensor);
  }
  return project_fp16(w, device_aligned() ? align.weights : half, zero_grad_on_overflow);
}

torch::Tensor PrecisionPolicy::act(const torch::Tensor& x, const char* where) const {
  const bool project = enabled() && !(device_aligned() && align.fp32_storage);
  const bool fp16_layer = int8() && scope_precision() == LayerPrecision::FP16;
  torch::Tensor y =
      fp16_layer ? project_fp16(x, HalfMode{}, zero_grad_on_overflow)
      : int8()   ? int8_act(x, where ? where : "", scope_precision() == LayerPrecision::Int16)
      : project  ? project_fp16(x, act_mode(), zero_grad_on_overflow)
                 : x;
  if (observer) observer(where ? where : "", y);
  return y;
}

torch::Tensor PrecisionPolicy::input(const torch::Tensor& x) const {
  pass_ = PrescalePass{};
  // OpenVINO's checkGrowingOutput: a ScaleShift at the input with a scale below 0.1
  // (normalisation inside the model) means "not growing".
  bool growing = align.prescale_growing_output;
  if (align.input_in_model) {
    for (float sd : norm_std)
      growing = growing && !(round_to_half(1.0f / sd, align.scale_shift) < 0.1f);
  }
  pass_.growing_output = growing;
  // The input belongs to no layer: int8 (the host's QUANTIZE), unless the first block is
  // a float layer, which reads it unquantized (FP16); the caller sets block 0's scope.
  if (int8() && scope_precision() == LayerPrecision::FP16) {
    torch::Tensor y = project_fp16(x, HalfMode{}, zero_grad_on_overflow);
    if (observer) observer("input", y);
    return y;
  }
  // Before an int16 first block the input is still the host's int8 (QUANTIZE int8, then
  // the device's int8 -> int16), not an int16 tensor.
  if (int8() && scope_precision() == LayerPrecision::Int16) {
    torch::Tensor y = int8_act(x, "input");
    if (observer) observer("input", y);
    return y;
  }
  // Normalisation on an integer device: the raw values quantized with one scale for every
  // band, then normalised by an int8 depthwise 1x1 convolution (its one weight a channel
  // is exact per channel; its int32 bias at s_in·s_w, within a step) and requantized at
  // the input's range. Both quantizations pass gradients straight through.
  if (int8() && align.int8_input_folded && !norm_mean.empty()) {
    const int64_t c = x.size(1);
    check_norm_bands(norm_mean, norm_std, c);
    const torch::Tensor mean = torch::tensor(norm_mean, x.options()).view({1, c, 1, 1});
    const torch::Tensor sd = torch::tensor(norm_std, x.options()).view({1, c, 1, 1});
    const torch::Tensor raw = int8_act(x * sd + mean, "input.raw");
    torch::Tensor y = int8_act((raw - mean) / sd, "input");
    if (observer) observer("input", y);
    return y;
  }
  if (!device_aligned() || align.fp32_storage || align.int8) return act(x, "input");
  torch::Tensor y;
  if (align.input_in_model && !norm_mean.empty()) {
    const int64_t c = x.size(1);
    check_norm_bands(norm_mean, norm_std, c);
    // The raw values the host sends, converted, then the device's ScaleShift (constants
    // converted by the plugin, one rounding of x·s + b). The raw values need no gradient.
    std::vector<float> mean(norm_mean), sd(norm_std), s(c), b(c);
    for (int64_t i = 0; i < c; ++i) {
      s[i] = round_to_half(1.0f / sd[i], align.scale_shift);
      b[i] = round_to_half(-mean[i] / sd[i], align.scale_shift);
    }
    auto col = [&](const std::vector<float>& v) {
      return torch::tensor(v, x.options()).view({1, c, 1, 1});
    };
    torch::Tensor raw;
    {
      torch::NoGradGuard ng;
      raw = project_fp16(x * col(sd) + col(mean), align.input);
      y = project_fp16(raw * col(s) + col(b), align.storage);
    }
    // Straight through: the device's value in the forward, x's gradient in the backward.
    y = x + (y - x).detach();
  } else {
    y = project_fp16(x, align.input, zero_grad_on_overflow);
  }
  if (observer) observer("input", y);
  return y;
}

torch::Tensor PrecisionPolicy::accumulator(const torch::Tensor& y,
                                           const torch::Tensor& folded_weight,
                                           int in_channels) const {
  if (!needs_accumulator()) return y;
  int shift = 0;
  {
    torch::NoGradGuard ng;
    const torch::Tensor w16 =
        project_fp16(folded_weight.detach().to(torch::kFloat).contiguous(), align.weights);
    shift = pass_.next(w16.data_ptr<float>(), static_cast<size_t>(w16.numel()), align.prescale_cap,
                       in_channels);
  }
  if (shift == 0) return y;
  const double scale = std::ldexp(1.0, shift);
  HalfMode m = align.storage;
  m.subnormals = Subnormals::Keep;  // the range is what matters here, not the underflow
  return project_fp16_scaled(y, m, scale, zero_grad_on_overflow);
}

}  // namespace dalnas
