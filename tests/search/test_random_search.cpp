#include <gtest/gtest.h>

#include <set>

#include "search/random_search.h"
#include "synthetic.h"

namespace dalnas {
namespace {

using testing_search::synthetic_result;

TEST(RandomSearch, ProposesTheBudgetAndTracksTheBest) {
  RandomSearch s({{"budget", 30}}, SearchSpace(), 8);
  auto first = s.propose(12);
  EXPECT_EQ(first.size(), 12u);
  auto rest = s.propose(100);
  EXPECT_EQ(rest.size(), 18u);
  EXPECT_TRUE(s.propose(100).empty());
  first.insert(first.end(), rest.begin(), rest.end());
  Observation best_obs;
  uint64_t best_id = 0;
  for (const Candidate& c : first) {
    EXPECT_EQ(c.origin, "random");
    EXPECT_EQ(c.generation, 0);
    EXPECT_FALSE(s.done());
    const Observation o = synthetic_result(c);
    s.observe({o});
    if (o.ok && o.feasible && (best_id == 0 || o.fitness > best_obs.fitness)) {
      best_obs = o;
      best_id = c.id;
    }
  }
  EXPECT_TRUE(s.done());
  Evaluated best;
  ASSERT_TRUE(s.best(best));
  ASSERT_NE(best_id, 0u);
  EXPECT_EQ(best.candidate.id, best_id);
}

TEST(RandomSearch, RepeatsOnlyOnceTheSpaceIsExhausted) {
  // 2^3 = 8 genomes in this space.
  const SearchSpace tiny = SearchSpace::from_json(nlohmann::json::parse(
      R"({"block_types": ["ConvBnAct"], "widths": [8, 16], "kernels": [3],
          "activations": ["relu"], "poolings": ["max"], "decoder_widths": [8],
          "stages": {"min": 3, "max": 3}})"));
  RandomSearch s({{"budget", 12}}, tiny, 2);
  auto c = s.propose(100);
  ASSERT_EQ(c.size(), 12u);
  std::set<std::string> first8;
  for (size_t i = 0; i < 8; ++i) first8.insert(c[i].genome.str());
  EXPECT_EQ(first8.size(), 8u);
  for (size_t i = 8; i < 12; ++i) EXPECT_TRUE(first8.count(c[i].genome.str()));
}

}  // namespace
}  // namespace dalnas
