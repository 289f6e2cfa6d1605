#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/error.h"
#include "nn/describe.h"
#include "nn/network.h"
#include "nn/nn_test_util.h"

namespace dalnas {
namespace {

using namespace testing_nn;

TEST(Network, RandomGenomesShapesParamsAndGradients) {
  std::mt19937 rng(2024);
  torch::manual_seed(5);
  std::set<BlockType> types;
  std::set<Activation> acts;
  std::set<Pooling> pools;
  std::set<size_t> stages;
  int dead_se = 0, alive_se = 0;
  for (int i = 0; i < 21; ++i) {
    const Genome g = random_genome(rng, i);
    const int bands = 1 + i % 4;
    SCOPED_TRACE(g.str() + " bands=" + std::to_string(bands));
    // The observer (called in fp32 mode too) records the SE squeeze outputs: a ReLU squeeze
    // that is zero for the whole batch legitimately gives its weights no gradient.
    auto policy = std::make_shared<PrecisionPolicy>();
    std::map<std::string, bool> se_dead;
    policy->observer = [&](const std::string& where, const torch::Tensor& t) {
      const std::string tail = ".se_reduce";
      if (where.size() > tail.size() && where.substr(where.size() - tail.size()) == tail)
        se_dead[where.substr(0, where.size() - tail.size())] = t.max().item<float>() <= 0.0f;
    };
    Network net = build_network(g, bands, policy);
    net->train();
    const torch::Tensor x = torch::randn({2, bands, 37, 45});
    const torch::Tensor y = net->forward(x);
    ASSERT_EQ(y.sizes(), torch::IntArrayRef({2, 1, 37, 45}));
    EXPECT_EQ(count_parameters(*net), describe(g, bands, 37, 45).params);

    // A loss that touches every output pixel with a different weight.
    const torch::Tensor target = torch::randn_like(y);
    (y * target).sum().backward();
    for (const auto& kv : se_dead) alive_se += kv.second ? 0 : 1;
    for (const auto& kv : net->named_parameters(true)) {
      const torch::Tensor& grad = kv.value().grad();
      ASSERT_TRUE(grad.defined()) << kv.key();
      EXPECT_TRUE(torch::isfinite(grad).all().item<bool>()) << kv.key();
      const std::string& k = kv.key();
      const size_t dot = k.find('.');
      const bool se_weight = k.find(".se_reduce.") != std::string::npos ||
                             k.find(".se_expand.weight") != std::string::npos;
      if (se_weight && se_dead.at(k.substr(0, dot))) {
        ++dead_se;
        continue;
      }
      EXPECT_GT(grad.abs().max().item<double>(), 0.0) << k;
    }
    for (const auto& b : g.blocks) {
      types.insert(b.type);
      acts.insert(b.act);
    }
    for (Pooling p : g.pools) pools.insert(p);
    stages.insert(g.blocks.size());
  }
  EXPECT_EQ(types.size(), 7u);
  EXPECT_EQ(acts.size(), 4u);
  EXPECT_EQ(pools.size(), 2u);
  EXPECT_EQ(stages, (std::set<size_t>{3, 4, 5}));
  // Some SE branches must be alive so that their gradients were checked too (with 2..3
  // squeeze channels at default init, roughly a quarter of them start dead).
  EXPECT_GE(alive_se, 3);
}

TEST(Network, MatchesNaiveReferenceInFp32Eval) {
  std::mt19937 rng(99);
  torch::manual_seed(17);
  for (int i = 0; i < 7; ++i) {
    const Genome g = random_genome(rng, i);
    SCOPED_TRACE(g.str());
    Network net = build_network(g, 3);
    randomize_bn(*net);
    net->eval();
    const Weights w = copy_weights(*net);
    const torch::Tensor x = torch::randn({1, 3, 19, 23});
    torch::NoGradGuard ng;
    const torch::Tensor got = net->forward(x);
    const torch::Tensor want = naive_network(g, 3, w, x);
    EXPECT_LT(max_rel_error(got, want), 1e-5);
  }
}

TEST(Network, NamedGenomeSizes) {
  Genome ref, tiny;
  ASSERT_TRUE(named_genome("reference", ref));
  ASSERT_TRUE(named_genome("tiny", tiny));
  Network a = build_network(ref, 4);
  const int64_t p = count_parameters(*a);
  EXPECT_GE(p, 90000);
  EXPECT_LE(p, 100000);
  EXPECT_EQ(p, describe(ref, 4, 64, 64).params);
  Network b = build_network(tiny, 4);
  EXPECT_GE(count_parameters(*b), 5000);
  EXPECT_LE(count_parameters(*b), 10000);
  for (const auto& name : named_genome_names()) {
    Genome g;
    ASSERT_TRUE(named_genome(name, g));
    Network n = build_network(g, 4);
    EXPECT_EQ(count_parameters(*n), describe(g, 4, 32, 32).params) << name;
  }
}

TEST(Network, Fp16AlignedProjectsEveryObservedPoint) {
  std::mt19937 rng(7);
  torch::manual_seed(23);
  for (int i = 0; i < 7; ++i) {
    const Genome g = random_genome(rng, i);
    SCOPED_TRACE(g.str());
    auto policy = std::make_shared<PrecisionPolicy>();
    policy->mode = PrecisionMode::FP16Aligned;
    std::vector<std::pair<std::string, torch::Tensor>> seen;
    policy->observer = [&](const std::string& where, const torch::Tensor& t) {
      seen.emplace_back(where, t.detach().clone());
    };
    Network net = build_network(g, 2, policy);
    net->eval();
    torch::NoGradGuard ng;
    const torch::Tensor y = net->forward(torch::randn({1, 2, 32, 32}));

    std::set<std::string> names;
    for (const auto& [where, t] : seen) {
      names.insert(where);
      const torch::Tensor finite = torch::isfinite(t);
      EXPECT_TRUE(torch::equal(t.masked_select(finite), round16(t).masked_select(finite)))
          << where << " holds values that are not FP16";
    }
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.back().first, "head");
    EXPECT_TRUE(torch::equal(seen.back().second, y));

    const int n = static_cast<int>(g.blocks.size());
    std::vector<std::string> required = {"input", "head"};
    for (int b = 1; b < n; ++b) required.push_back("pool" + std::to_string(b));
    for (int j = 0; j < n - 1; ++j)
      for (const char* s : {".up", ".proj", ".concat", ".conv1", ".conv2"})
        required.push_back("dec" + std::to_string(j) + s);
    for (const auto& r : required) EXPECT_TRUE(names.count(r)) << "missing point " << r;
    for (int b = 0; b < n; ++b) {
      const std::string prefix = "enc" + std::to_string(b) + ".";
      bool found = false;
      for (const auto& nm : names) found |= nm.rfind(prefix, 0) == 0;
      EXPECT_TRUE(found) << "no point inside " << prefix;
    }
    // Names are unique within one forward pass.
    EXPECT_EQ(names.size(), seen.size());
  }
}

TEST(Network, SwitchingSharedPolicyChangesOutputSlightly) {
  torch::manual_seed(31);
  Genome g;
  ASSERT_TRUE(named_genome("small", g));
  Network net = build_network(g, 4);
  randomize_bn(*net);
  net->eval();
  const torch::Tensor x = torch::randn({1, 4, 32, 32});
  torch::NoGradGuard ng;
  const torch::Tensor y32 = net->forward(x);
  net->policy->mode = PrecisionMode::FP16Aligned;
  const torch::Tensor y16 = net->forward(x);
  net->policy->mode = PrecisionMode::FP32;
  EXPECT_TRUE(torch::equal(net->forward(x), y32));
  const double rel = max_rel_error(y16, y32);
  EXPECT_GT(rel, 0.0);
  EXPECT_LT(rel, 1e-2);
  EXPECT_TRUE(torch::equal(y16, round16(y16)));
}

TEST(Network, RejectsBadInputs) {
  Genome g;
  ASSERT_TRUE(named_genome("reference", g));  // 4 stages: needs >= 8x8
  Network net = build_network(g, 4);
  net->eval();  // batch 1 at 8x8 leaves a 1x1 bottleneck, which train-mode BN rejects
  auto message = [&](const torch::Tensor& x) -> std::string {
    try {
      net->forward(x);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  EXPECT_NE(message(torch::zeros({1, 3, 16, 16})).find("expected N x 4 x H x W"),
            std::string::npos);
  EXPECT_NE(message(torch::zeros({1, 4, 7, 16})).find("too small for 4 stages"), std::string::npos);
  EXPECT_EQ(net->forward(torch::zeros({1, 4, 8, 9})).sizes(), torch::IntArrayRef({1, 1, 8, 9}));
}

}  // namespace
}  // namespace dalnas
