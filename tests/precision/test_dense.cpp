// The elementwise kernels behind FP16 projection and fake quantization on tensors in other
// layouts (precision/dense.h): a channels-last input gives bit for bit the values of its
// row-major twin, in channels-last order; a strided view is copied first; the gradient's
// mask follows the forward's layout even when the upstream gradient comes in another one.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "precision/dense.h"
#include "precision/fake_quant.h"
#include "precision/projection.h"

using namespace dalnas;

namespace {

struct Kernel {
  std::string name;
  std::function<torch::Tensor(const torch::Tensor&)> f;
};

std::vector<Kernel> kernels() {
  return {
      {"project_fp16", [](const torch::Tensor& x) { return project_fp16(x * 3e4f, HalfMode{}); }},
      {"project_fp16_scaled",
       [](const torch::Tensor& x) { return project_fp16_scaled(x * 1e3f, HalfMode{}, 16.0); }},
      {"fake_quant_activation",
       [](const torch::Tensor& x) { return fake_quant_activation(x, -1.0f, 0.8f); }},
      {"fake_quant_activation ties even",
       [](const torch::Tensor& x) { return fake_quant_activation(x, -1.0f, 0.8f, true); }},
      {"fake_quant_activation_int16",
       [](const torch::Tensor& x) { return fake_quant_activation_int16(x, -1.0f, 0.8f); }},
      {"fake_quant_pow2_activation",
       [](const torch::Tensor& x) { return fake_quant_pow2_activation(x, -1.0f, 0.8f); }},
  };
}

bool same_bits(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && torch::equal(a.contiguous(), b.contiguous());
}

TEST(DenseLayout, ChannelsLastInputsGiveTheRowMajorValuesInChannelsLastOrder) {
  torch::manual_seed(11);
  for (const Kernel& k : kernels()) {
    for (const auto& shape : std::vector<std::vector<int64_t>>{{2, 5, 7, 9}, {1, 16, 3, 3}}) {
      SCOPED_TRACE(k.name + " " + std::to_string(shape[1]) + " channels");
      const torch::Tensor x = torch::randn(shape) * 1.2;
      const torch::Tensor xl = x.contiguous(torch::MemoryFormat::ChannelsLast);
      ASSERT_FALSE(xl.is_contiguous());
      const torch::Tensor want = k.f(x), got = k.f(xl);
      EXPECT_TRUE(got.is_contiguous(torch::MemoryFormat::ChannelsLast));
      EXPECT_TRUE(same_bits(got, want));
      // A strided view (every other column) is neither layout: copied, same values.
      const torch::Tensor v = x.slice(3, 0, shape[3], 2);
      EXPECT_TRUE(same_bits(k.f(v), k.f(v.contiguous())));
    }
  }
}

TEST(DenseLayout, TheClippedGradientFollowsTheForwardsLayout) {
  torch::manual_seed(12);
  const torch::Tensor x0 = torch::randn({2, 6, 5, 4}) * 1.5;  // some values clip
  const torch::Tensor g = torch::randn({2, 6, 5, 4});
  for (const Kernel& k : kernels()) {
    SCOPED_TRACE(k.name);
    auto grad_of = [&](const torch::Tensor& x_in, const torch::Tensor& upstream) {
      torch::Tensor x = x_in.detach().clone(torch::MemoryFormat::Preserve).requires_grad_(true);
      k.f(x).backward(upstream);
      return x.grad();
    };
    const torch::Tensor want = grad_of(x0, g);
    const torch::Tensor xl = x0.contiguous(torch::MemoryFormat::ChannelsLast);
    // Upstream gradients in both layouts against a channels-last forward.
    EXPECT_TRUE(same_bits(grad_of(xl, g), want));
    EXPECT_TRUE(same_bits(grad_of(xl, g.contiguous(torch::MemoryFormat::ChannelsLast)), want));
    // And a row-major forward with a channels-last upstream gradient.
    EXPECT_TRUE(same_bits(grad_of(x0, g.contiguous(torch::MemoryFormat::ChannelsLast)), want));
  }
}

TEST(DenseLayout, WithStridesOfCopiesOnlyWhenTheStridesDiffer) {
  const torch::Tensor a = torch::randn({2, 3, 4, 5});
  const torch::Tensor b = a.contiguous(torch::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(with_strides_of(a, a.clone()).is_same(a));
  const torch::Tensor c = with_strides_of(a, b);
  EXPECT_EQ(c.strides(), b.strides());
  EXPECT_TRUE(torch::equal(c, a));
  EXPECT_TRUE(dense_layout(b).is_same(b));
  EXPECT_TRUE(dense_layout(a).is_same(a));
}

}  // namespace
