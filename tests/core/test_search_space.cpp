#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "core/error.h"
#include "core/genome.h"
#include "core/rng.h"
#include "core/search_space.h"

namespace dalnas {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

SearchSpace small_space() {
  return SearchSpace::from_json(nlohmann::json::parse(R"({
    "block_types": ["ConvBnAct", "MBConv", "ResNetBlock"],
    "widths": [8, 16, 24],
    "kernels": [3],
    "expansions": [4, 6],
    "activations": ["relu", "relu6"],
    "poolings": ["max"],
    "stages": {"min": 3, "max": 4},
    "decoder_widths": [8, 16],
    "max_params": 0
  })"));
}

// Gene-by-gene membership written independently of SearchSpace::validate.
bool naive_in_space(const SearchSpace& s, const Genome& g) {
  auto has = [](const auto& v, const auto& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  const int n = static_cast<int>(g.blocks.size());
  if (n < s.min_stages || n > s.max_stages || g.pools.size() + 1 != g.blocks.size()) return false;
  for (const BlockGene& b : g.blocks) {
    if (!has(s.block_types, b.type) || !has(s.widths, b.width) || !has(s.kernels, b.kernel) ||
        !has(s.activations, b.act))
      return false;
    if (has_expansion(b.type) ? !has(s.expansions, b.expansion) : b.expansion != 0) return false;
  }
  for (Pooling p : g.pools)
    if (!has(s.poolings, p)) return false;
  return has(s.decoder_widths, g.decoder_width);
}

TEST(SearchSpace, SamplesAreValidAndCoverTheSpace) {
  const SearchSpace s;  // defaults
  Rng rng(1);
  std::set<int> stages;
  std::set<BlockType> types;
  std::set<int> widths;
  for (int i = 0; i < 2000; ++i) {
    const Genome g = s.sample(rng);
    ASSERT_TRUE(naive_in_space(s, g)) << g.str();
    ASSERT_NO_THROW(s.validate(g)) << g.str();
    ASSERT_EQ(Genome::parse(g.str()), g);
    stages.insert(static_cast<int>(g.blocks.size()));
    for (const BlockGene& b : g.blocks) {
      types.insert(b.type);
      widths.insert(b.width);
    }
  }
  EXPECT_EQ(stages, (std::set<int>{3, 4, 5}));
  EXPECT_EQ(types.size(), 7u);
  EXPECT_EQ(widths, (std::set<int>{8, 16, 24, 32, 40, 48, 56, 64}));
}

TEST(SearchSpace, SameSeedSameGenomes) {
  const SearchSpace s = small_space();
  Rng a(99), b(99), c(100);
  std::vector<std::string> sa, sb, sc;
  for (int i = 0; i < 20; ++i) {
    sa.push_back(s.sample(a).str());
    sb.push_back(s.sample(b).str());
    sc.push_back(s.sample(c).str());
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
}

TEST(SearchSpace, ValidateNamesGeneAndAllowedValues) {
  const SearchSpace s = small_space();
  Genome g = Genome::parse(
      "ConvBnAct-8-k3-relu_max_MBConv-16-k3-e4-relu6_max_ResNetBlock-24-k3-relu_dec-8");
  EXPECT_NO_THROW(s.validate(g));

  Genome w = g;
  w.blocks[1].width = 20;
  EXPECT_EQ(error_of([&] { s.validate(w); }),
            "genome block 2 (MBConv): width 20 not in the search space (allowed: 8, 16, 24)");
  Genome t = g;
  t.blocks[0].type = BlockType::ConvSE;
  EXPECT_EQ(error_of([&] { s.validate(t); }),
            "genome block 1 (ConvSE): type not in the search space (allowed: ConvBnAct, MBConv, "
            "ResNetBlock)");
  Genome k = g;
  k.blocks[2].kernel = 5;
  EXPECT_NE(error_of([&] { s.validate(k); }).find("kernel 5 not in the search space (allowed: 3)"),
            std::string::npos);
  Genome e = g;
  e.blocks[1].expansion = 3;
  EXPECT_NE(
      error_of([&] { s.validate(e); }).find("expansion 3 not in the search space (allowed: 4, 6)"),
      std::string::npos);
  Genome a = g;
  a.blocks[0].act = Activation::GELU;
  EXPECT_NE(error_of([&] { s.validate(a); }).find("activation gelu not in the search space"),
            std::string::npos);
  Genome p = g;
  p.pools[1] = Pooling::Avg;
  EXPECT_EQ(error_of([&] { s.validate(p); }),
            "genome pooling 2: avg not in the search space (allowed: max)");
  Genome d = g;
  d.decoder_width = 32;
  EXPECT_EQ(error_of([&] { s.validate(d); }),
            "genome: decoder width 32 not in the search space (allowed: 8, 16)");
  Genome five = Genome::parse(
      "ConvBnAct-8-k3-relu_max_ConvBnAct-8-k3-relu_max_ConvBnAct-8-k3-relu_max_ConvBnAct-8-k3-"
      "relu_max_ConvBnAct-8-k3-relu_dec-8");
  EXPECT_EQ(error_of([&] { s.validate(five); }),
            "genome: 5 stages not in the search space (allowed: 3..4)");
  EXPECT_FALSE(s.contains(five));
  EXPECT_TRUE(s.contains(g));
}

TEST(SearchSpace, FromJsonRangesAndRoundTrip) {
  const SearchSpace s = SearchSpace::from_json(nlohmann::json::parse(
      R"({"widths": {"min": 8, "max": 34, "step": 8}, "decoder_widths": {"min": 4, "max": 6},
          "stages": {"min": 4}, "max_params": 123456, "in_bands": 3})"));
  EXPECT_EQ(s.widths, (std::vector<int>{8, 16, 24, 32}));
  EXPECT_EQ(s.decoder_widths, (std::vector<int>{4, 5, 6}));
  EXPECT_EQ(s.min_stages, 4);
  EXPECT_EQ(s.max_stages, 5);
  EXPECT_EQ(s.max_params, 123456);
  EXPECT_EQ(s.in_bands, 3);
  const SearchSpace back = SearchSpace::from_json(s.to_json());
  EXPECT_EQ(back.to_json(), s.to_json());
  EXPECT_EQ(back.widths, s.widths);
  EXPECT_EQ(back.block_types, s.block_types);
  EXPECT_EQ(SearchSpace().to_json(), SearchSpace::from_json(nlohmann::json::object()).to_json());
}

TEST(SearchSpace, FromJsonErrorsNameTheKey) {
  auto err = [](const char* text) {
    return error_of([&] { SearchSpace::from_json(nlohmann::json::parse(text)); });
  };
  EXPECT_EQ(err(R"({"width": [8]})").rfind("search_space.width: unknown setting (allowed: ", 0),
            0u);
  EXPECT_EQ(err(R"({"block_types": ["ConvBnAct", "Conv"]})"),
            "search_space.block_types: unknown value 'Conv' (allowed: ConvAct, ConvBnAct, ConvSE, "
            "MBConv, MBConvNoRes, ResNetBlock, DenseNetBlock)");
  EXPECT_EQ(err(R"({"kernels": [3, 7]})"), "search_space.kernels: 7 not allowed (allowed: 3, 5)");
  EXPECT_EQ(err(R"({"widths": [8, 2000]})"), "search_space.widths: 2000 outside 1..1024");
  EXPECT_EQ(err(R"({"widths": [8, 8]})"), "search_space.widths: value 8 is listed twice");
  EXPECT_EQ(err(R"({"widths": {"min": 8}})"),
            "search_space.widths: a range needs min and max (and optionally step, default 1)");
  EXPECT_EQ(err(R"({"expansions": [2]})"),
            "search_space.expansions: 2 not allowed (allowed: 3..6)");
  EXPECT_EQ(err(R"({"stages": {"min": 2}})"),
            "search_space.stages: min 2, max 5 not allowed (need 3 <= min <= max <= 5)");
  EXPECT_EQ(err(R"({"activations": "relu"})")
                .rfind("search_space.activations: expected a non-empty list", 0),
            0u);
  EXPECT_EQ(
      err(R"({"max_params": -1})").rfind("search_space.max_params: expected an integer >= 0", 0),
      0u);
}

TEST(SearchSpace, MutateRateZeroKeepsAndRateOneChangesEveryGene) {
  SearchSpace s = small_space();
  s.min_stages = s.max_stages = 3;  // keep the stage count fixed to compare gene by gene
  Rng rng(4);
  for (int i = 0; i < 200; ++i) {
    const Genome g = s.sample(rng);
    EXPECT_EQ(s.mutate(g, 0.0, rng), g);
    const Genome m = s.mutate(g, 1.0, rng);
    ASSERT_TRUE(naive_in_space(s, m)) << m.str();
    ASSERT_EQ(m.blocks.size(), 3u);
    for (size_t b = 0; b < 3; ++b) {
      EXPECT_NE(m.blocks[b].type, g.blocks[b].type);
      EXPECT_NE(m.blocks[b].width, g.blocks[b].width);
      EXPECT_EQ(m.blocks[b].kernel, 3);  // the only kernel allowed
      EXPECT_NE(m.blocks[b].act, g.blocks[b].act);
    }
    EXPECT_EQ(m.pools, g.pools);  // the only pooling allowed
    EXPECT_NE(m.decoder_width, g.decoder_width);
  }
}

TEST(SearchSpace, MutatePerGeneRate) {
  SearchSpace s;  // defaults: 8 widths
  s.min_stages = s.max_stages = 4;
  Rng rng(8);
  int changed = 0, total = 0;
  for (int i = 0; i < 3000; ++i) {
    const Genome g = s.sample(rng);
    const Genome m = s.mutate(g, 0.2, rng);
    for (size_t b = 0; b < g.blocks.size(); ++b) {
      changed += m.blocks[b].width != g.blocks[b].width;
      ++total;
    }
  }
  EXPECT_NEAR(changed / double(total), 0.2, 0.015);
}

TEST(SearchSpace, MutateAddsAndRemovesStagesWithinRange) {
  const SearchSpace s;  // 3..5 stages
  Rng rng(12);
  std::map<size_t, int> from3, from5, from4;
  for (int i = 0; i < 3000; ++i) {
    Genome g = s.sample(rng);
    const Genome m = s.mutate(g, 0.3, rng);
    ASSERT_TRUE(naive_in_space(s, m)) << g.str() << " -> " << m.str();
    ASSERT_NO_THROW(m.validate());
    if (g.blocks.size() == 3) ++from3[m.blocks.size()];
    if (g.blocks.size() == 4) ++from4[m.blocks.size()];
    if (g.blocks.size() == 5) ++from5[m.blocks.size()];
  }
  EXPECT_EQ(from3.count(2), 0u);
  EXPECT_GT(from3[4], 0);
  EXPECT_EQ(from3.count(5), 0u);
  EXPECT_GT(from4[3], 0);
  EXPECT_GT(from4[5], 0);
  EXPECT_EQ(from5.count(6), 0u);
  EXPECT_GT(from5[4], 0);
}

// Indices i such that erasing element i of `longer` gives `shorter`.
template <class T>
std::vector<size_t> erased_at(const std::vector<T>& longer, const std::vector<T>& shorter) {
  std::vector<size_t> out;
  for (size_t i = 0; i < longer.size(); ++i) {
    std::vector<T> v = longer;
    v.erase(v.begin() + static_cast<long>(i));
    if (v == shorter) out.push_back(i);
  }
  return out;
}

TEST(SearchSpace, StageInsertAndRemoveKeepTheOtherGenesInPlace) {
  const SearchSpace s;
  // Distinct stages and poolings so that positions are identifiable.
  const Genome g3 = Genome::parse(
      "ConvBnAct-8-k3-relu_max_ConvAct-16-k5-gelu_avg_ResNetBlock-24-k3-relu6_dec-16");
  const Genome g5 = Genome::parse(
      "ConvBnAct-8-k3-relu_max_ConvAct-16-k5-gelu_avg_ResNetBlock-24-k3-relu6_max_ConvSE-32-k3-"
      "hswish_avg_DenseNetBlock-40-k5-relu_dec-16");
  Rng rng(17);
  // Pooling genes may flip in the same mutation, so a pooling check can fail for that
  // reason alone (about 1 in 5 here); a misplaced insertion or removal fails every time.
  std::set<size_t> inserted_at, removed_at;
  int events = 0, pools_match = 0;
  for (int i = 0; i < 6000; ++i) {
    const Genome m = s.mutate(g3, 0.05, rng);
    if (m.blocks.size() != 4) continue;
    const auto pos = erased_at(m.blocks, g3.blocks);
    if (pos.size() != 1) continue;  // other stage genes changed too
    inserted_at.insert(pos[0]);
    ++events;
    bool adjacent = false;  // the new pooling sits next to the new stage
    for (size_t p : erased_at(m.pools, g3.pools))
      adjacent = adjacent || p == pos[0] || p + 1 == pos[0];
    pools_match += adjacent;
  }
  EXPECT_EQ(inserted_at, (std::set<size_t>{0, 1, 2, 3}));
  EXPECT_GT(pools_match, events * 7 / 10) << pools_match << " of " << events;
  events = pools_match = 0;
  for (int i = 0; i < 6000; ++i) {
    const Genome m = s.mutate(g5, 0.05, rng);
    if (m.blocks.size() != 4) continue;
    const auto pos = erased_at(g5.blocks, m.blocks);
    if (pos.size() != 1) continue;
    removed_at.insert(pos[0]);
    ++events;
    bool adjacent = false;  // the removed pooling was next to the removed stage
    for (size_t p : erased_at(g5.pools, m.pools))
      adjacent = adjacent || p == pos[0] || p + 1 == pos[0];
    pools_match += adjacent;
  }
  EXPECT_EQ(removed_at, (std::set<size_t>{0, 1, 2, 3, 4}));
  EXPECT_GT(pools_match, events * 7 / 10) << pools_match << " of " << events;
}

TEST(SearchSpace, CrossoverIsSinglePointOnStages) {
  const SearchSpace s;
  Rng rng(31);
  std::set<int> cuts_seen;
  for (int i = 0; i < 2000; ++i) {
    const Genome a = s.sample(rng), b = s.sample(rng);
    const Genome c = s.crossover(a, b, rng);
    ASSERT_TRUE(naive_in_space(s, c)) << c.str();
    ASSERT_EQ(c.blocks.size(), b.blocks.size());
    ASSERT_EQ(c.decoder_width, b.decoder_width);
    // Find the cut: the child is a's prefix then b's suffix, poolings alike.
    const size_t n = std::min(a.blocks.size(), b.blocks.size());
    bool found = false;
    for (size_t cut = 1; cut < n && !found; ++cut) {
      bool match = true;
      for (size_t k = 0; k < c.blocks.size(); ++k)
        match = match && c.blocks[k] == (k < cut ? a.blocks[k] : b.blocks[k]);
      for (size_t k = 0; k < c.pools.size(); ++k)
        match = match && c.pools[k] == (k < cut ? a.pools[k] : b.pools[k]);
      if (match) {
        found = true;
        cuts_seen.insert(static_cast<int>(cut));
      }
    }
    ASSERT_TRUE(found) << a.str() << " x " << b.str() << " -> " << c.str();
  }
  EXPECT_EQ(cuts_seen, (std::set<int>{1, 2, 3, 4}));
}

TEST(SearchSpace, ParameterCapIsEnforcedWhenACounterIsInstalled) {
  SearchSpace s;
  s.max_params = 200;
  // Toy counter: the sum of widths (an independent, monotone stand-in for describe()).
  s.param_counter = [](const Genome& g) {
    int64_t p = g.decoder_width;
    for (const BlockGene& b : g.blocks) p += b.width;
    return p;
  };
  Rng rng(41);
  std::vector<Genome> pop;
  for (int i = 0; i < 300; ++i) {
    pop.push_back(s.sample(rng));
    ASSERT_LE(s.param_counter(pop.back()), 200) << pop.back().str();
  }
  for (int i = 0; i < 300; ++i) {
    const Genome m = s.mutate(pop[i], 0.5, rng);
    ASSERT_LE(s.param_counter(m), 200) << m.str();
    const Genome c = s.crossover(pop[i], pop[(i + 1) % 300], rng);
    ASSERT_LE(s.param_counter(c), 200) << c.str();
    ASSERT_TRUE(s.contains(m) && s.contains(c));
  }
  Genome big = Genome::parse(
      "ConvBnAct-64-k3-relu_max_ConvBnAct-64-k3-relu_max_ConvBnAct-64-k3-relu_max_ConvBnAct-64-"
      "k3-relu_dec-32");
  EXPECT_EQ(error_of([&] { s.validate(big); }), "genome: 288 parameters exceed max_params 200");
  EXPECT_TRUE(SearchSpace().contains(big));  // no counter: no cap

  SearchSpace impossible = s;
  impossible.max_params = 10;
  impossible.max_attempts = 50;
  EXPECT_EQ(error_of([&] {
              impossible.sample(rng);
            }).rfind("search_space.max_params: no genome with at most 10 parameters in 50", 0),
            0u);
}

}  // namespace
}  // namespace dalnas

namespace dalnas {
namespace {

TEST(SearchSpacePrecision, SearchedPrecisionsAreDrawnMutatedAndValidated) {
  nlohmann::json j = small_space().to_json();
  EXPECT_FALSE(j.contains("precisions"));  // the default space reads as before
  j["precisions"] = {"int8", "int4w", "int16", "fp16"};
  const SearchSpace s = SearchSpace::from_json(j);
  EXPECT_EQ(SearchSpace::from_json(s.to_json()).precisions, s.precisions);
  Rng rng(7);
  std::set<LayerPrecision> seen, mutated;
  for (int i = 0; i < 60; ++i) {
    const Genome g = s.sample(rng);
    EXPECT_NO_THROW(s.validate(g));
    for (const BlockGene& b : g.blocks) seen.insert(b.precision);
    const Genome m = s.mutate(g, 0.5, rng);
    EXPECT_NO_THROW(s.validate(m));
    for (size_t k = 0; k < std::min(g.blocks.size(), m.blocks.size()); ++k)
      if (m.blocks[k].precision != g.blocks[k].precision) mutated.insert(m.blocks[k].precision);
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_FALSE(mutated.empty());
  EXPECT_EQ(seen.count(LayerPrecision::Default), 0u);
  // A genome with a precision outside the space is named.
  Genome g = s.sample(rng);
  g.blocks[1].precision = LayerPrecision::Default;
  const std::string e = error_of([&] { s.validate(g); });
  EXPECT_NE(e.find("precision default"), std::string::npos) << e;
  j["precisions"] = {"int2"};
  EXPECT_NE(error_of([&] { SearchSpace::from_json(j); }).find("precisions"), std::string::npos);
}

TEST(SearchSpacePrecision, ASpaceWithoutPrecisionsDrawsAsBefore) {
  // The default space's draws do not depend on precision genes: same seed, same genomes
  // with or without an explicit ["default"].
  nlohmann::json j = small_space().to_json();
  const SearchSpace a = SearchSpace::from_json(j);
  j["precisions"] = {"default"};
  const SearchSpace b = SearchSpace::from_json(j);
  Rng ra(11), rb(11);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(a.sample(ra), b.sample(rb));
}

}  // namespace
}  // namespace dalnas
