// Learned weight step sizes (LSQ on weights, precision/learned_step.h): the forward is the
// symmetric per-channel grid at the given steps (a naive loop computes the same values),
// started at max |w| / qmax it is the targets' own grid; the gradients follow the header's
// rule (checked against a naive per-element reference); learning a too-coarse step lowers
// the quantization error; the policy creates, reads, sets and names the steps.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "precision/fake_quant.h"
#include "precision/learned_step.h"
#include "precision/policy.h"

namespace dalnas {
namespace {

// The forward, one element at a time.
torch::Tensor reference_forward(const torch::Tensor& w, const torch::Tensor& s, int q) {
  const torch::Tensor wc = w.contiguous();
  torch::Tensor y = torch::empty_like(wc);
  const int64_t per = w.numel() / w.size(0);
  for (int64_t c = 0; c < w.size(0); ++c) {
    const float sc = s[c].item<float>();
    for (int64_t i = 0; i < per; ++i) {
      const float u = wc.data_ptr<float>()[c * per + i] / sc;
      const float r = std::clamp(std::round(u), static_cast<float>(-q), static_cast<float>(q));
      y.data_ptr<float>()[c * per + i] = r * sc;
    }
  }
  return y;
}

// The header's gradient rule, one element at a time, in double: (dL/dw, dL/ds).
std::pair<torch::Tensor, std::vector<double>> reference_grad(const torch::Tensor& w,
                                                             const torch::Tensor& s,
                                                             const torch::Tensor& g, int q,
                                                             double scale) {
  const torch::Tensor wc = w.contiguous(), gc = g.contiguous();
  torch::Tensor gw = torch::empty_like(wc);
  std::vector<double> gs(static_cast<size_t>(w.size(0)), 0.0);
  const int64_t per = w.numel() / w.size(0);
  for (int64_t c = 0; c < w.size(0); ++c) {
    const float sc = s[c].item<float>();
    for (int64_t i = 0; i < per; ++i) {
      const float u = wc.data_ptr<float>()[c * per + i] / sc;
      const float gi = gc.data_ptr<float>()[c * per + i];
      const bool inside = u > -q && u < q;
      gw.data_ptr<float>()[c * per + i] = inside ? gi : 0.0f;
      const double d = inside ? std::round(u) - u : (u <= -q ? -q : q);
      gs[static_cast<size_t>(c)] += gi * d;
    }
  }
  for (double& v : gs) v *= scale;
  return {gw, gs};
}

TEST(LearnedStep, ForwardAndGradientsFollowTheRuleOverATableOfShapes) {
  torch::manual_seed(5);
  struct Case {
    std::vector<int64_t> shape;
    int qmax;
    double step_factor;  // of max |w_c| / qmax: < 1 clips the largest weights
  };
  const Case cases[] = {{{4, 3, 3, 3}, 127, 1.0},  {{8, 16, 1, 1}, 127, 0.4},
                        {{5, 1, 3, 3}, 7, 1.0},    {{6, 4, 5, 5}, 7, 0.6},
                        {{3, 2, 3, 3}, 64, 0.8},   {{1, 7, 3, 3}, 7, 0.3},
                        {{16, 8, 3, 3}, 127, 0.5}, {{2, 3}, 7, 0.9}};
  for (const Case& c : cases) {
    const torch::Tensor w0 = torch::randn(c.shape);
    const torch::Tensor s = (initial_weight_steps(w0, c.qmax) * c.step_factor).requires_grad_(true);
    const torch::Tensor w = w0.clone().requires_grad_(true);
    const double gs = weight_step_grad_scale(w, c.qmax);
    const torch::Tensor y = fake_quant_weight_learned(w, s, c.qmax, gs);
    EXPECT_TRUE(torch::equal(y.detach(), reference_forward(w0, s.detach(), c.qmax)))
        << c.qmax << " " << c.step_factor;
    // On the grid: every value a whole number of steps within [-qmax, qmax].
    const torch::Tensor k = y.detach().reshape({c.shape[0], -1}) / s.detach().view({-1, 1});
    EXPECT_LE((k - k.round()).abs().max().item<float>(), 1e-4f);
    EXPECT_LE(k.abs().max().item<float>(), c.qmax + 1e-3f);
    const torch::Tensor g = torch::randn(c.shape);
    y.backward(g);
    const auto [gw, gsum] = reference_grad(w0, s.detach(), g, c.qmax, gs);
    EXPECT_TRUE(torch::equal(w.grad(), gw)) << c.qmax << " " << c.step_factor;
    for (int64_t ch = 0; ch < c.shape[0]; ++ch) {
      const double want = gsum[static_cast<size_t>(ch)];
      EXPECT_NEAR(s.grad()[ch].item<double>(), want, 1e-4 * (1 + std::fabs(want))) << ch;
    }
    if (c.step_factor < 1.0) {  // some weights clipped: their gradient is 0
      EXPECT_LT(w.grad().ne(0).sum().item<int64_t>(), w.numel());
    }
  }
  EXPECT_DOUBLE_EQ(weight_step_grad_scale(torch::zeros({4, 2, 3, 3}), 7),
                   1.0 / std::sqrt(18.0 * 7));
}

// Started at max |w_c| / qmax, the forward is the max |w| grid (fake_quant_weight) up to the
// rounding of a value within a float's ulp of a tie (w / s against w · (qmax / m)).
TEST(LearnedStep, InitialStepsGiveTheTargetsOwnGrid) {
  torch::manual_seed(6);
  for (int q : {127, 64, 7}) {
    torch::Tensor w = torch::randn({12, 6, 3, 3});
    w[3].zero_();  // a channel of zeros: a step that keeps it 0
    const torch::Tensor s = initial_weight_steps(w, q);
    EXPECT_GT(s[3].item<float>(), 0.0f);
    const torch::Tensor m = std::get<0>(w.reshape({12, -1}).abs().max(1));
    for (int c = 0; c < 12; ++c) {
      if (c != 3) {
        EXPECT_EQ(s[c].item<float>(), m[c].item<float>() / static_cast<float>(q));
      }
    }
    const torch::Tensor a = fake_quant_weight_learned(w, s, q, 1.0);
    const torch::Tensor b = fake_quant_weight(w, q);
    const torch::Tensor differ = a.ne(b);
    EXPECT_LE(differ.sum().item<int64_t>(), 2) << q;  // near-ties only
    EXPECT_TRUE(a[3].eq(0).all().item<bool>());
    EXPECT_LE((a - b).abs().max().item<float>(), s.max().item<float>() * 1.0001f);
  }
  EXPECT_TRUE(
      torch::equal(initial_weight_steps(torch::zeros({2, 3, 1, 1}), 7), torch::full({2}, 1.0f)));
}

TEST(LearnedStep, BadArgumentsAreErrors) {
  const torch::Tensor w = torch::randn({4, 2, 3, 3});
  EXPECT_THROW(fake_quant_weight_learned(w, torch::ones({3}), 127, 1.0), Error);
  EXPECT_THROW(fake_quant_weight_learned(w, torch::tensor({1.0f, 0.0f, 1.0f, 1.0f}), 127, 1.0),
               Error);
  EXPECT_THROW(fake_quant_weight_learned(w, torch::full({4}, NAN), 127, 1.0), Error);
  EXPECT_THROW(fake_quant_weight_learned(w, torch::ones({4}), 128, 1.0), Error);
  EXPECT_THROW(fake_quant_weight_learned(torch::randn({4}), torch::ones({4}), 127, 1.0), Error);
}

// 4-bit weights at a step twice the max grid's: learning the step lowers the quantization
// error well below where it started (and below the max grid's, the step the targets take).
TEST(LearnedStep, LearningACoarseStepLowersTheError) {
  torch::manual_seed(7);
  const torch::Tensor w = torch::randn({8, 16, 3, 3});
  const int q = 7;
  const torch::Tensor log_s = torch::log(initial_weight_steps(w, q) * 2).requires_grad_(true);
  torch::optim::Adam opt({log_s}, torch::optim::AdamOptions(0.02));
  const auto error = [&](const torch::Tensor& y) { return (y - w).pow(2).mean().item<double>(); };
  const double before = error(fake_quant_weight_learned(w, torch::exp(log_s.detach()), q, 1.0));
  const double max_grid = error(fake_quant_weight(w, q));
  for (int i = 0; i < 200; ++i) {
    opt.zero_grad();
    const torch::Tensor y =
        fake_quant_weight_learned(w, torch::exp(log_s), q, weight_step_grad_scale(w, q));
    (y - w).pow(2).mean().backward();
    opt.step();
  }
  const double after = error(fake_quant_weight_learned(w, torch::exp(log_s.detach()), q, 1.0));
  EXPECT_LT(after, 0.5 * before);
  EXPECT_LT(after, max_grid);  // MSE-optimal 4-bit steps clip the tails
}

// The policy: a training forward creates each indexed weight's steps (at max |w| / qmax),
// evaluation reads them, set_weight_steps replaces them in place, names are the module's.
TEST(LearnedStep, PolicyLearnsNamedStepsInTrainingAndReadsThemInEvaluation) {
  auto p = std::make_shared<PrecisionPolicy>();
  p->mode = PrecisionMode::Aligned;
  p->align.int8 = true;
  p->learned_weight_steps = true;
  torch::manual_seed(8);
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3)),
                            torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 4, 1)));
  p->index_weights(*net);
  EXPECT_TRUE(p->weight_steps().empty());
  const torch::Tensor w0 = net->named_parameters()["0.weight"];
  const torch::Tensor w1 = net->named_parameters()["1.weight"];
  const torch::Tensor b0 = net->named_parameters()["0.bias"];
  // A training forward: gradients recorded through the weights.
  (p->weight(w0).sum() + p->weight(w1).sum() + p->weight(b0).sum()).backward();
  const WeightSteps steps = p->weight_steps();
  // Every convolution weight (not the biases) has steps, by its name.
  ASSERT_EQ(steps.size(), 2u);
  ASSERT_EQ(steps.count("0.weight"), 1u);
  EXPECT_EQ(steps.count("0.bias"), 0u);
  EXPECT_EQ(steps.at("0.weight").size(), 8u);
  EXPECT_EQ(steps.at("1.weight").size(), 4u);
  const torch::Tensor s0 = initial_weight_steps(w0, 127);
  for (int c = 0; c < 8; ++c)
    EXPECT_FLOAT_EQ(steps.at("0.weight")[static_cast<size_t>(c)], s0[c].item<float>());
  const std::vector<torch::Tensor> leaves = p->learned_step_params();
  ASSERT_EQ(leaves.size(), 2u);
  for (const auto& l : leaves) EXPECT_TRUE(l.grad().defined());

  // Evaluation reads the steps: a tiny step saturates the weights at ±127 steps.
  WeightSteps changed = steps;
  for (float& v : changed.at("0.weight")) v = 1e-4f;
  const void* before = leaves[0].data_ptr();
  p->set_weight_steps(changed);
  EXPECT_EQ(p->learned_step_params()[0].data_ptr(), before);  // the same leaf, moved
  {
    torch::NoGradGuard ng;
    const torch::Tensor q = p->weight(w0);
    EXPECT_LE(q.abs().max().item<float>(), 127 * 1e-4f * 1.001f);
  }
  // int4w layers hold the same steps on [-7, 7].
  p->set_scope(0, LayerPrecision::Int4W);
  {
    torch::NoGradGuard ng;
    EXPECT_LE(p->weight(w0).abs().max().item<float>(), 7 * 1e-4f * 1.001f);
  }
  p->set_scope(PrecisionPolicy::kOther);
  // Logs round-trip exactly (a training state continues exactly).
  const WeightSteps logs = p->weight_steps(/*log=*/true);
  p->set_weight_steps(logs, /*log=*/true);
  EXPECT_EQ(p->weight_steps(true), logs);
  // A weight absent from the new set starts again; a wrong size is an error at use.
  p->set_weight_steps({{"0.weight", {1.0f, 2.0f}}});
  EXPECT_EQ(p->weight_steps().size(), 1u);
  torch::NoGradGuard ng;
  EXPECT_THROW(p->weight(w0), Error);
  // A tensor the module does not own keeps the max grid, and so does a policy that does not
  // learn steps.
  const torch::Tensor other = torch::randn({4, 2, 3, 3});
  EXPECT_TRUE(torch::equal(p->weight(other), fake_quant_weight(other, 127)));
  p->learned_weight_steps = false;
  EXPECT_TRUE(torch::equal(p->weight(w0), fake_quant_weight(w0, 127)));
}

}  // namespace
}  // namespace dalnas
