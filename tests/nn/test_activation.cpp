#include <gtest/gtest.h>

#include <cmath>

#include "nn/activation.h"

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

}  // namespace
}  // namespace dalnas
