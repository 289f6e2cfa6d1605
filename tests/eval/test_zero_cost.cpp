#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.h"
#include "eval/zero_cost.h"

namespace dalnas {
namespace {

const char* kTiny = "ConvBnAct-8-k3-relu_max_ConvBnAct-16-k3-relu_max_ConvBnAct-16-k3-relu_dec-8";

Network tiny_net() {
  torch::manual_seed(1);
  return build_network(Genome::parse(kTiny), 4);
}

std::vector<torch::Tensor> weights_of(Network& n) {
  std::vector<torch::Tensor> w;
  for (const auto& p : n->parameters()) w.push_back(p.detach().clone());
  return w;
}

void expect_unchanged(Network& n, const std::vector<torch::Tensor>& w) {
  const auto now = n->parameters();
  ASSERT_EQ(now.size(), w.size());
  for (size_t i = 0; i < w.size(); ++i) EXPECT_TRUE(torch::equal(now[i], w[i])) << i;
  for (const auto& p : now) EXPECT_FALSE(p.grad().defined()) << "the copy took the gradients";
}

TEST(ZeroCost, NaswotOfHandMadeCodes) {
  // Two codes agreeing in 1 of 3 units: K = [[3, 1], [1, 3]], det 8.
  EXPECT_NEAR(naswot_from_codes(torch::tensor({{1, 0, 1}, {0, 1, 1}})), std::log(8.0), 1e-12);
  // K = [[2, 1, 0], [1, 2, 1], [0, 1, 2]], det 4.
  EXPECT_NEAR(naswot_from_codes(torch::tensor({{1, 1}, {1, 0}, {0, 0}})), std::log(4.0), 1e-12);
  // Identical codes: the kernel is singular.
  EXPECT_EQ(naswot_from_codes(torch::tensor({{1, 0}, {1, 0}})),
            -std::numeric_limits<double>::infinity());
  EXPECT_THROW(naswot_from_codes(torch::ones({3})), Error);
}

TEST(ZeroCost, NaswotSeparatesDistinctInputsAndNotIdenticalOnes) {
  torch::set_num_threads(1);
  Network net = tiny_net();
  const auto w = weights_of(net);
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({4, 4, 32, 32});
  const double distinct = naswot_score(net, x);
  EXPECT_TRUE(std::isfinite(distinct)) << distinct;
  // Units: every stored activation of the 4 chips; K's diagonal is that count, so log det
  // is at most 4 log(units); distinct random chips come close to that bound.
  const torch::Tensor same = torch::cat({x.slice(0, 0, 1), x.slice(0, 0, 1), x.slice(0, 2, 4)});
  EXPECT_EQ(naswot_score(net, same), -std::numeric_limits<double>::infinity())
      << "two identical chips give identical codes";
  EXPECT_EQ(naswot_score(net, x), distinct) << "deterministic";
  expect_unchanged(net, w);
}

TEST(ZeroCost, GradNormIsTheSumOfTheLossGradientsNorms) {
  torch::set_num_threads(1);
  Network net = tiny_net();
  const auto w = weights_of(net);
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({4, 4, 32, 32});
  const torch::Tensor y = (torch::rand({4, 1, 32, 32}) > 0.8).to(torch::kFloat32);
  const double score = grad_norm_score(net, x, y);
  expect_unchanged(net, w);
  // By hand on the network itself.
  net->train();
  compute_loss(net->forward(x), y, LossOptions{}).backward();
  double by_hand = 0;
  for (const auto& p : net->parameters()) by_hand += p.grad().norm().item<double>();
  EXPECT_GT(score, 0.0);
  EXPECT_NEAR(score, by_hand, 1e-6 * by_hand);
}

TEST(ZeroCost, SynflowIsPositiveAndBlindToTheWeightsSigns) {
  torch::set_num_threads(1);
  Network net = tiny_net();
  const auto w = weights_of(net);
  const double s = synflow_score(net, 32, 32);
  EXPECT_GT(s, 0.0);
  EXPECT_TRUE(std::isfinite(s));
  expect_unchanged(net, w);
  {
    torch::NoGradGuard ng;
    for (auto& p : net->parameters()) p.neg_();
  }
  EXPECT_NEAR(synflow_score(net, 32, 32), s, 1e-9 * s) << "synflow takes |theta|";
  // More paths through a wider network: a larger score.
  torch::manual_seed(1);
  Network wide =
      build_network(Genome::parse("ConvBnAct-32-k3-relu_max_ConvBnAct-64-k3-relu_max_ConvBnAct-64-k3-relu_dec-8"), 4);
  EXPECT_GT(synflow_score(wide, 32, 32), s);
}

}  // namespace
}  // namespace dalnas
