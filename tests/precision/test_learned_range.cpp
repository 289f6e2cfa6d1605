// Learned int8 activation ranges (LSQ, precision/learned_range.h): the forward is the
// fixed-range fake quantization bit for bit; the range's gradient is the rule of the header,
// checked against a naive per-element reference; learning the range lowers the
// quantization error of a badly initialised one.
#include <gtest/gtest.h>

#include <cmath>

#include "precision/fake_quant.h"
#include "precision/learned_range.h"
#include "precision/policy.h"
#include "quant/quant_params.h"

namespace dalnas {
namespace {

// The header's rule, one element at a time, in double.
std::pair<double, double> reference_range_grad(const torch::Tensor& x, const torch::Tensor& g,
                                               float lo, float hi, double scale) {
  const float wlo = std::min(lo, 0.0f), whi = std::max(hi, 0.0f);
  const QuantParams p = asymmetric_int8_params(wlo, whi);
  const double s = p.scale, z = p.zero_point;
  const auto xa = x.contiguous();
  const auto ga = g.contiguous();
  const float* xv = xa.data_ptr<float>();
  const float* gv = ga.data_ptr<float>();
  double dlo = 0, dhi = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float xi = xv[i];
    const bool below = xi < (-128.0f - static_cast<float>(z)) * static_cast<float>(s);
    const bool above = xi > (127.0f - static_cast<float>(z)) * static_cast<float>(s);
    const float u = xi / static_cast<float>(s) + static_cast<float>(z);
    const double delta = (!below && !above) ? (std::round(u) - u) / 255.0 : 0.0;
    if (lo < 0) dlo += gv[i] * ((below ? 1.0 : 0.0) - delta);
    if (hi > 0) dhi += gv[i] * ((above ? 1.0 : 0.0) + delta);
  }
  return {dlo * scale, dhi * scale};
}

TEST(LearnedRange, ForwardIsTheFixedRangeFormAndGradientsFollowTheRule) {
  torch::manual_seed(3);
  struct Case {
    float lo, hi;
    std::vector<int64_t> shape;
  };
  const Case cases[] = {{-1.5f, 2.0f, {2, 3, 5, 7}},   // both ends inside the data
                        {0.0f, 1.0f, {1, 4, 8, 8}},    // a ReLU's range: lo fixed at 0
                        {-0.3f, 0.2f, {3, 2, 4, 4}},   // most values clipped
                        {0.25f, 3.0f, {2, 1, 9, 9}}};  // lo > 0: widened to 0, no gradient
  for (const bool channels_last : {false, true})
    for (const Case& c : cases) {
      torch::Tensor x = torch::randn(c.shape) * 1.3;
      if (channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
      x.requires_grad_(true);
      const torch::Tensor range = torch::tensor({c.lo, c.hi}).requires_grad_(true);
      const double gs = lsq_grad_scale(x);
      const torch::Tensor y = fake_quant_activation_learned(x, range, gs);
      EXPECT_TRUE(torch::equal(y.detach(), fake_quant_activation(x.detach(), c.lo, c.hi)))
          << c.lo << " " << c.hi;
      EXPECT_EQ(y.strides(), x.strides());  // the layout is kept
      const torch::Tensor g = torch::randn(c.shape);
      y.backward(g);
      // x: straight through inside the representable range, 0 where clipped.
      const torch::Tensor x2 = x.detach().clone().requires_grad_(true);
      fake_quant_activation(x2, c.lo, c.hi).backward(g);
      EXPECT_TRUE(torch::equal(x.grad(), x2.grad()));
      const auto [dlo, dhi] = reference_range_grad(x.detach(), g, c.lo, c.hi, gs);
      EXPECT_NEAR(range.grad()[0].item<double>(), dlo, 1e-4 * (1 + std::fabs(dlo))) << c.lo;
      EXPECT_NEAR(range.grad()[1].item<double>(), dhi, 1e-4 * (1 + std::fabs(dhi))) << c.hi;
      if (c.lo >= 0) {
        EXPECT_EQ(range.grad()[0].item<double>(), 0.0);
      }
    }
  EXPECT_DOUBLE_EQ(lsq_grad_scale(torch::zeros({4, 2, 3, 5})), 1.0 / std::sqrt(30.0 * 255.0));
}

// The backward's AVX2 body against its scalar body (bit for bit, both roundings, lengths
// around the vector width and the chunk), and both against the naive rule.
TEST(LearnedRange, Avx2BackwardEqualsTheScalarBackward) {
  if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "no AVX2 on this CPU: scalar body only";
  torch::manual_seed(9);
  for (const int64_t n : {1, 7, 8, 9, 100, 16383, 16384, 16385, 40001}) {
    for (const bool even : {false, true}) {
      // Values on and between grid points (ties included), inside and outside the range.
      const QuantParams p = asymmetric_int8_params(-1.0f, 2.0f);
      torch::Tensor x = torch::randn({n}) * 1.5;
      x.slice(0, 0, n / 3)
          .copy_((torch::randint(-140, 140, {n / 3}) + 0.5) * p.scale -
                 static_cast<float>(p.zero_point) * p.scale);
      const torch::Tensor g = torch::randn({n});
      torch::Tensor y = torch::empty({n}), inside = torch::empty({n}, torch::kBool);
      fake_quant_values(x.data_ptr<float>(), y.data_ptr<float>(), inside.data_ptr<bool>(), n,
                        p.scale, p.zero_point,
                        even ? FakeQuantRound::HalfEven : FakeQuantRound::HalfAway, -128, 127,
                        false);
      torch::Tensor ga = torch::empty({n}), gb = torch::empty({n});
      const RangeGradSums a =
          learned_range_backward(x.data_ptr<float>(), inside.data_ptr<bool>(), g.data_ptr<float>(),
                                 ga.data_ptr<float>(), n, p.scale, p.zero_point, even, true);
      const RangeGradSums b =
          learned_range_backward(x.data_ptr<float>(), inside.data_ptr<bool>(), g.data_ptr<float>(),
                                 gb.data_ptr<float>(), n, p.scale, p.zero_point, even, false);
      EXPECT_EQ(a.lo, b.lo) << n << " " << even;
      EXPECT_EQ(a.hi, b.hi) << n << " " << even;
      EXPECT_TRUE(torch::equal(ga, gb)) << n;
      if (!even) {
        const auto [rlo, rhi] = reference_range_grad(x, g, -1.0f, 2.0f, 1.0);
        EXPECT_NEAR(a.lo, rlo, 1e-4 * (1 + std::fabs(rlo))) << n;
        EXPECT_NEAR(a.hi, rhi, 1e-4 * (1 + std::fabs(rhi))) << n;
      }
    }
  }
}

TEST(LearnedRange, LearningShrinksATooWideRangeAndLowersTheError) {
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({8, 4, 16, 16});
  const torch::Tensor range = torch::tensor({-40.0f, 40.0f}).requires_grad_(true);
  torch::optim::Adam opt({range}, torch::optim::AdamOptions(0.1));
  const auto error = [&] {
    const torch::Tensor v = range.detach();
    return (fake_quant_activation(x, v[0].item<float>(), v[1].item<float>()) - x)
        .pow(2)
        .mean()
        .item<double>();
  };
  const double before = error();
  for (int i = 0; i < 300; ++i) {
    opt.zero_grad();
    (fake_quant_activation_learned(x, range, lsq_grad_scale(x)) - x).pow(2).mean().backward();
    opt.step();
  }
  EXPECT_LT(error(), 0.2 * before);
  EXPECT_LT(range[1].item<float>(), 20.0f);
  EXPECT_GT(range[0].item<float>(), -20.0f);
}

TEST(LearnedRange, PolicyLearnsRangesInTrainingAndReadsThemInEvaluation) {
  PrecisionPolicy p;
  p.mode = PrecisionMode::Aligned;
  p.align.int8 = true;
  p.learned_ranges = true;
  const torch::Tensor x = (torch::randn({2, 3, 8, 8}) * 3).requires_grad_(true);
  const torch::Tensor y = p.act(x, "enc0.conv");
  ASSERT_EQ(p.learned_range_params().size(), 1u);
  // Starts at the batch's min / max, like the moving average.
  EXPECT_EQ(p.int8_ranges().at("enc0.conv").first, x.min().item<float>());
  EXPECT_EQ(p.int8_ranges().at("enc0.conv").second, x.max().item<float>());
  y.sum().backward();
  const torch::Tensor r = p.learned_range_params()[0];
  ASSERT_TRUE(r.grad().defined());
  {
    torch::NoGradGuard ng;
    r.copy_(torch::tensor({-1.0f, 1.0f}));
  }
  EXPECT_EQ(p.int8_ranges().at("enc0.conv"), std::make_pair(-1.0f, 1.0f));
  {
    torch::NoGradGuard ng;  // evaluation: the learned range, not the tensor's own
    const torch::Tensor e = p.act(torch::full({1, 1, 2, 2}, 5.0f), "enc0.conv");
    EXPECT_LE(e.max().item<float>(), 1.01f);
  }
  // set_int8_ranges moves the learned tensor in place (an optimiser keeps its reference).
  p.set_int8_ranges({{"enc0.conv", {-2.0f, 3.0f}}});
  EXPECT_EQ(p.learned_range_params()[0].data_ptr<float>(), r.data_ptr<float>());
  EXPECT_EQ(r[1].item<float>(), 3.0f);
  // Degenerate ranges are widened after a step.
  {
    torch::NoGradGuard ng;
    r.copy_(torch::tensor({0.5f, 0.5f}));
  }
  p.keep_learned_ranges_valid();
  EXPECT_GE(r[1].item<float>() - r[0].item<float>(), 1.0f / 1024.0f);
}

}  // namespace
}  // namespace dalnas
