#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>

#include "search/regularized_evolution.h"
#include "synthetic.h"

namespace dalnas {
namespace {

using testing_search::naive_better;
using testing_search::synthetic_result;

struct Member {
  Candidate c;
  Observation o;
};

// Sequential run against an independent model of the aging population.
void check_against_model(int population, int sample, int budget, bool parent_is_best) {
  RegularizedEvolution re({{"population", population}, {"sample", sample}, {"budget", budget}},
                          SearchSpace(), 13);
  std::deque<Member> model;
  int proposed = 0;
  while (!re.done()) {
    auto cands = re.propose(1);
    ASSERT_EQ(cands.size(), 1u);
    const Candidate& c = cands[0];
    ++proposed;
    if (proposed <= population) {
      EXPECT_EQ(c.origin, "random");
    } else {
      ASSERT_EQ(c.origin, "mutation");
      ASSERT_EQ(c.parents.size(), 1u);
      auto it = std::find_if(model.begin(), model.end(),
                             [&](const Member& m) { return m.c.id == c.parents[0]; });
      ASSERT_NE(it, model.end()) << "parent " << c.parents[0] << " is not in the population";
      if (parent_is_best) {
        const Member* best = &model.front();
        for (const Member& m : model)
          if (naive_better(m.c, m.o, best->c, best->o)) best = &m;
        EXPECT_EQ(c.parents[0], best->c.id);
      }
    }
    const Observation o = synthetic_result(c);
    re.observe({o});
    model.push_back({c, o});
    if (model.size() > static_cast<size_t>(population)) model.pop_front();
    ASSERT_EQ(re.population().size(), model.size());
    for (size_t i = 0; i < model.size(); ++i)
      ASSERT_EQ(re.population()[i].candidate.id, model[i].c.id);
  }
  EXPECT_EQ(proposed, budget);
}

TEST(RegularizedEvolution, AgingPopulationAndTournamentParents) {
  check_against_model(6, 3, 40, false);
}

TEST(RegularizedEvolution, FullTournamentPicksThePopulationsBest) {
  check_against_model(5, 5, 30, true);
}

TEST(RegularizedEvolution, WaitsOnlyForTheInitialPopulation) {
  RegularizedEvolution re({{"population", 6}, {"sample", 2}, {"budget", 30}}, SearchSpace(), 3);
  auto first = re.propose(10);
  ASSERT_EQ(first.size(), 6u);
  for (size_t i = 0; i + 1 < first.size(); ++i) re.observe({synthetic_result(first[i])});
  EXPECT_TRUE(re.propose(10).empty());
  re.observe({synthetic_result(first.back())});
  auto children = re.propose(10);  // steady state: as many as asked
  EXPECT_EQ(children.size(), 10u);
  // Every child comes from the six initial members (none of the children is observed yet).
  for (const Candidate& c : children) {
    ASSERT_EQ(c.parents.size(), 1u);
    EXPECT_LE(c.parents[0], 6u);
  }
  // Budget: 30 in all.
  for (const Candidate& c : children) re.observe({synthetic_result(c)});
  EXPECT_EQ(re.propose(100).size(), 14u);
  EXPECT_TRUE(re.propose(100).empty());
  EXPECT_FALSE(re.done());
}

}  // namespace
}  // namespace dalnas
