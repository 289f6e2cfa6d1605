#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "nn/activation.h"
#include "precision/fake_quant.h"

namespace dalnas {
namespace {

TEST(Activation, KnownValues) {
  const torch::Tensor x = torch::tensor({-4.0f, -3.0f, -1.0f, 0.0f, 0.5f, 1.0f, 3.0f, 7.0f});
  auto check = [&](Activation a, const std::vector<double>& want) {
    const torch::Tensor y = apply_activation(x, a);
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_NEAR(y[static_cast<int64_t>(i)].item<double>(), want[i], 1e-6)
          << to_string(a) << " at " << x[static_cast<int64_t>(i)].item<float>();
  };
  check(Activation::ReLU, {0, 0, 0, 0, 0.5, 1, 3, 7});
  check(Activation::ReLU6, {0, 0, 0, 0, 0.5, 1, 3, 6});
  // hardswish: x * min(max(x + 3, 0), 6) / 6
  check(Activation::HardSwish, {0, 0, -1.0 * 2 / 6, 0, 0.5 * 3.5 / 6, 4.0 / 6, 3, 7});
  // exact GELU: x * Phi(x)
  std::vector<double> gelu;
  for (double v : {-4.0, -3.0, -1.0, 0.0, 0.5, 1.0, 3.0, 7.0})
    gelu.push_back(v * 0.5 * (1.0 + std::erf(v / std::sqrt(2.0))));
  check(Activation::GELU, gelu);
  EXPECT_NEAR(apply_activation(torch::tensor({1.0f}), Activation::GELU).item<double>(),
              0.8413447460685429, 1e-6);
}

// An int8 quantization-aware policy (TFLite's arithmetic) that records the points it sees.
struct Int8Policy {
  PrecisionPolicy p;
  std::set<std::string> seen;
  Int8Policy() {
    p.mode = PrecisionMode::Aligned;
    p.align.int8 = true;
    p.observer = [this](const std::string& w, const torch::Tensor&) { seen.insert(w); };
  }
};

float tensor_min(const torch::Tensor& t) {
  return t.min().item<float>();
}
float tensor_max(const torch::Tensor& t) {
  return t.max().item<float>();
}

// In a quantization-aware forward an activation the target does not fuse reads its input
// as the int8 tensor the target stores (point P.pre), then its output is quantized at P; a
// fused one (ReLU, ReLU6: a clamp in the convolution) has P only. Outside quantization-aware
// training nothing changes. (A point never seen in training quantizes at the tensor's own
// min / max: the reference below.)
TEST(Activation, UnfusedActivationsReadTheStoredPreActivationTensor) {
  torch::NoGradGuard ng;
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({2, 3, 5, 7}) * 2.5;
  for (Activation a :
       {Activation::ReLU, Activation::ReLU6, Activation::GELU, Activation::HardSwish}) {
    Int8Policy q;
    const torch::Tensor y = activate(x, a, q.p, "b");
    const bool fused = a == Activation::ReLU || a == Activation::ReLU6;
    EXPECT_EQ(fused_on_integer_targets(a), fused) << to_string(a);
    const std::set<std::string> want =
        fused ? std::set<std::string>{"b"} : std::set<std::string>{"b", "b.pre"};
    EXPECT_EQ(q.seen, want) << to_string(a);
    const torch::Tensor in = fused ? x : fake_quant_activation(x, tensor_min(x), tensor_max(x));
    const torch::Tensor f = apply_activation(in, a);
    EXPECT_TRUE(torch::equal(y, fake_quant_activation(f, tensor_min(f), tensor_max(f))))
        << to_string(a);
    PrecisionPolicy fp32;
    EXPECT_TRUE(torch::equal(activate(x, a, fp32, "b"), apply_activation(x, a)));
  }
}

// The SE gate on TFLite's LOGISTIC grid: int8 k/256 (k in 0..255), int16 k/32768, however
// narrow the gate's values are (here within 0.47..0.53, whose own int8 range would give a
// step of about 1/4000); saturating values reach 255/256, not 1.
TEST(Activation, TheSeGateIsWrittenOnLogisticsFixedGrid) {
  torch::NoGradGuard ng;
  torch::manual_seed(4);
  const torch::Tensor narrow = torch::rand({1, 16, 1, 1}) * 0.2 - 0.1;
  const torch::Tensor wide =
      torch::cat({narrow, torch::tensor({9.0f, -9.0f}).view({1, 2, 1, 1})}, 1);
  for (int bits : {8, 16}) {
    const double levels = bits == 8 ? 256.0 : 32768.0;
    for (const torch::Tensor& pre : {narrow, wide}) {
      Int8Policy q;
      if (bits == 16) q.p.align.int8_precision = LayerPrecision::Int16;
      const torch::Tensor g = sigmoid_gate(pre, q.p, "g");
      EXPECT_EQ(q.seen, (std::set<std::string>{"g", "g.pre"}));
      const torch::Tensor k = g.to(torch::kDouble) * levels;
      EXPECT_TRUE(torch::equal(k, torch::round(k))) << bits << "-bit gate off the grid";
      EXPECT_LE(tensor_max(g), static_cast<float>((levels - 1) / levels));
      EXPECT_GE(tensor_min(g), 0.0f);
      // Within half a step of the sigmoid of the stored input (saturated at the top level).
      const torch::Tensor in =
          bits == 8 ? fake_quant_activation(pre, tensor_min(pre), tensor_max(pre))
                    : fake_quant_activation_int16(pre, tensor_min(pre), tensor_max(pre));
      EXPECT_LE(
          (g - torch::sigmoid(in).clamp_max((levels - 1) / levels)).abs().max().item<double>(),
          0.5 / levels + 1e-7);
    }
  }
  // The narrow gate is not on its own range's grid (the check above could fail).
  Int8Policy own;
  const torch::Tensor s =
      torch::sigmoid(fake_quant_activation(narrow, tensor_min(narrow), tensor_max(narrow)));
  const torch::Tensor k =
      fake_quant_activation(s, tensor_min(s), tensor_max(s)).to(torch::kDouble) * 256.0;
  EXPECT_FALSE(torch::equal(k, torch::round(k)));
  // Float targets: the sigmoid itself.
  PrecisionPolicy fp32;
  EXPECT_TRUE(torch::equal(sigmoid_gate(wide, fp32, "g"), torch::sigmoid(wide)));
}

}  // namespace
}  // namespace dalnas
