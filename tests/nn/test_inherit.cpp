#include <gtest/gtest.h>
#include <torch/torch.h>

#include "nn/inherit.h"

namespace dalnas {
namespace {

const char* kParent =
    "ConvBnAct-16-k3-relu_max_MBConv-24-k3-e4-relu6_max_ResNetBlock-32-k3-relu_dec-16";

TEST(InheritWeights, AnIdenticalGenomeCopiesEverythingAndComputesTheSameFunction) {
  torch::manual_seed(1);
  Network parent = build_network(Genome::parse(kParent), 4);
  torch::manual_seed(2);
  Network child = build_network(Genome::parse(kParent), 4);
  // Give the parent's BatchNorm statistics non-default values.
  parent->train();
  {
    torch::NoGradGuard ng;
    parent->forward(torch::randn({4, 4, 32, 32}) * 3 + 1);
  }
  const InheritStats s = inherit_weights(child, parent);
  EXPECT_EQ(s.copied, s.total);
  EXPECT_DOUBLE_EQ(s.share(), 1.0);
  parent->eval();
  child->eval();
  torch::NoGradGuard ng;
  const auto x = torch::randn({2, 4, 32, 32});
  EXPECT_TRUE(torch::equal(parent->forward(x), child->forward(x)));
}

TEST(InheritWeights, CopiesExactlyTheLayersWhoseNameAndShapeMatch) {
  // Another decoder width: the encoder matches, the decoder and head do not.
  const std::string other =
      "ConvBnAct-16-k3-relu_max_MBConv-24-k3-e4-relu6_max_ResNetBlock-32-k3-relu_dec-8";
  torch::manual_seed(1);
  Network parent = build_network(Genome::parse(kParent), 4);
  torch::manual_seed(2);
  Network child = build_network(Genome::parse(other), 4);
  Network fresh = build_network(Genome::parse(other), 4);
  {
    torch::NoGradGuard ng;
    auto src = child->named_parameters();
    for (auto& p : fresh->named_parameters()) p.value().copy_(src[p.key()]);
  }
  const InheritStats s = inherit_weights(child, parent);
  EXPECT_GT(s.copied, 0);
  EXPECT_LT(s.copied, s.total);
  int64_t copied = 0, total = 0;
  const auto pp = parent->named_parameters();
  const auto before = fresh->named_parameters();
  for (const auto& p : child->named_parameters()) {
    total += p.value().numel();
    const torch::Tensor* q = pp.find(p.key());
    const bool match = q && q->sizes().equals(p.value().sizes());
    if (match) {
      copied += p.value().numel();
      EXPECT_TRUE(torch::equal(p.value(), *q)) << p.key();
    } else {
      EXPECT_TRUE(torch::equal(p.value(), before[p.key()])) << p.key() << " must keep its init";
    }
    if (p.key().rfind("enc", 0) == 0) {
      EXPECT_TRUE(match) << p.key();
    }
    if (p.key() == "head.weight") {
      EXPECT_FALSE(match) << p.key();
    }
  }
  EXPECT_EQ(s.copied, copied);
  EXPECT_EQ(s.total, total);
}

}  // namespace
}  // namespace dalnas
