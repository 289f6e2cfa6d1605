// Every block type against its naive reference (tests/nn/nn_test_util.h).
#include <gtest/gtest.h>

#include <set>

#include "nn/blocks/make_block.h"
#include "nn/nn_test_util.h"

namespace dalnas {
namespace {

using namespace testing_nn;

struct BlockCase {
  BlockGene gene;
  int in_c;
};

std::vector<BlockCase> all_cases() {
  std::vector<BlockCase> cases;
  const BlockType types[] = {
      BlockType::ConvAct,     BlockType::ConvBnAct,   BlockType::ConvSE,       BlockType::MBConv,
      BlockType::MBConvNoRes, BlockType::ResNetBlock, BlockType::DenseNetBlock};
  int i = 0;
  for (BlockType t : types) {
    for (int same_width = 0; same_width < 2; ++same_width) {
      for (int k : {3, 5}) {
        BlockGene g;
        g.type = t;
        g.kernel = k;
        g.act = static_cast<Activation>(i++ % 4);
        g.expansion = has_expansion(t) ? 3 + i % 4 : 0;
        const int in_c = 3 + i % 3;
        g.width = same_width ? in_c : 9 + i % 5;
        cases.push_back({g, in_c});
      }
    }
  }
  return cases;
}

std::string name_of(const BlockCase& c) {
  return to_string(c.gene.type) + " in=" + std::to_string(c.in_c) +
         " width=" + std::to_string(c.gene.width) + " k=" + std::to_string(c.gene.kernel) +
         " e=" + std::to_string(c.gene.expansion) + " act=" + to_string(c.gene.act);
}

TEST(Blocks, MatchNaiveReferenceInFp32Eval) {
  torch::manual_seed(7);
  std::set<Activation> acts;
  for (const BlockCase& c : all_cases()) {
    auto block = make_block(c.gene, c.in_c, nullptr, "b");
    randomize_bn(*block);
    block->eval();
    const Weights w = copy_weights(*block);
    const torch::Tensor x = torch::randn({2, c.in_c, 11, 13});
    torch::Tensor got;
    {
      torch::NoGradGuard ng;
      got = block->forward(x);
    }
    const torch::Tensor want = naive_block(c.gene, c.in_c, Naive{w, ""}, x);
    ASSERT_EQ(got.sizes(), want.sizes()) << name_of(c);
    EXPECT_EQ(got.size(1), c.gene.width);
    EXPECT_LT(max_rel_error(got, want), 1e-5) << name_of(c);
    acts.insert(c.gene.act);
  }
  EXPECT_EQ(acts.size(), 4u);
}

TEST(Blocks, ResidualOnlyWhereDefined) {
  // MBConv with in == width adds the input; MBConvNoRes with the same weights does not,
  // and the difference is exactly the input.
  torch::manual_seed(3);
  BlockGene g;
  g.type = BlockType::MBConv;
  g.width = 6;
  g.expansion = 4;
  auto res = make_block(g, 6, nullptr, "b");
  g.type = BlockType::MBConvNoRes;
  auto nores = make_block(g, 6, nullptr, "b");
  {
    torch::NoGradGuard ng;
    auto src = res->named_parameters(true);
    for (auto& kv : nores->named_parameters(true)) kv.value().copy_(src[kv.key()]);
  }
  res->eval();
  nores->eval();
  const torch::Tensor x = torch::randn({1, 6, 9, 9});
  torch::NoGradGuard ng;
  EXPECT_TRUE(torch::allclose(res->forward(x) - nores->forward(x), x, 1e-5, 1e-6));
}

TEST(Blocks, Fp16PolicyProjectsWeightsAndOutput) {
  // ConvAct (ReLU, exact) under fp16-aligned: output == round16(relu(conv(x, round16(w),
  // round16(b)))) exactly; with unprojected weights the reference differs.
  torch::manual_seed(11);
  BlockGene g;
  g.type = BlockType::ConvAct;
  g.width = 5;
  g.act = Activation::ReLU;
  auto policy = std::make_shared<PrecisionPolicy>();
  policy->mode = PrecisionMode::FP16Aligned;
  auto block = make_block(g, 3, policy, "b");
  const Weights w = copy_weights(*block);
  const torch::Tensor x = round16(torch::randn({1, 3, 8, 10}));
  torch::NoGradGuard ng;
  const torch::Tensor got = block->forward(x);
  Weights w16;
  for (const auto& kv : w) w16[kv.first] = round16(kv.second);
  const torch::Tensor want = round16(naive_block(g, 3, Naive{w16, ""}, x));
  EXPECT_TRUE(torch::equal(got, want));
  const torch::Tensor want32 = round16(naive_block(g, 3, Naive{w, ""}, x));
  EXPECT_FALSE(torch::equal(got, want32));
}

TEST(Blocks, NullPolicyMeansFp32) {
  BlockGene g;
  g.type = BlockType::ConvBnAct;
  g.width = 4;
  auto block = make_block(g, 2, nullptr, "b");
  block->eval();
  const torch::Tensor x = torch::randn({1, 2, 5, 5}) * 1e-3 + 1.0;
  torch::NoGradGuard ng;
  const torch::Tensor y = block->forward(x);
  EXPECT_FALSE(torch::equal(y, round16(y)));  // fp32 values, not rounded to FP16
}

}  // namespace
}  // namespace dalnas
