#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "search/ga.h"
#include "synthetic.h"

namespace dalnas {
namespace {

using testing_search::naive_better;
using testing_search::synthetic_result;

struct Record {
  Candidate c;
  Observation o;
};

// Runs a GA to the end with `workers` in flight, results arriving in reverse order of
// proposal within each batch; returns every candidate with its result, by id.
std::map<uint64_t, Record> run_ga(GeneticAlgorithm& ga, int workers) {
  std::map<uint64_t, Record> all;
  while (!ga.done()) {
    auto cands = ga.propose(workers);
    EXPECT_FALSE(cands.empty());
    std::vector<Observation> obs;
    for (const Candidate& c : cands) {
      all[c.id] = {c, synthetic_result(c)};
      obs.push_back(all[c.id].o);
    }
    std::reverse(obs.begin(), obs.end());
    for (const Observation& o : obs) ga.observe({o});
  }
  return all;
}

const nlohmann::json kParams = {{"population", 10},
                                {"generations", 5},
                                {"newcomers", 3},
                                {"elites", 2},
                                {"mating_fraction", 0.5}};

TEST(GeneticAlgorithm, GenerationStructureMatingPoolAndElitism) {
  GeneticAlgorithm ga(kParams, SearchSpace(), 3);
  const auto all = run_ga(ga, 4);
  ASSERT_EQ(all.size(), 10u + 4u * 8u);  // population + (generations - 1) * (population - elites)

  std::map<int, std::vector<Record>> by_gen;
  for (const auto& kv : all) by_gen[kv.second.c.generation].push_back(kv.second);
  ASSERT_EQ(by_gen.size(), 5u);
  for (const Record& r : by_gen[0]) {
    EXPECT_EQ(r.c.origin, "random");
    EXPECT_TRUE(r.c.parents.empty());
  }
  // Members of each generation: the elites carried from the previous one plus its new
  // candidates; rank them independently.
  std::vector<Record> members = by_gen[0];
  double best_so_far = -1e300;
  for (int g = 1; g <= 4; ++g) {
    std::sort(members.begin(), members.end(),
              [](const Record& a, const Record& b) { return naive_better(a.c, a.o, b.c, b.o); });
    std::set<uint64_t> pool;
    for (size_t i = 0; i < 5; ++i) pool.insert(members[i].c.id);  // ceil(0.5 * 10)
    const auto& fresh = by_gen[g];
    ASSERT_EQ(fresh.size(), 8u);
    int offspring = 0, random = 0;
    for (size_t i = 0; i < fresh.size(); ++i) {
      const Candidate& c = fresh[i].c;
      if (i < 5) {  // offspring first, then newcomers
        ++offspring;
        EXPECT_TRUE(c.origin == "crossover" || c.origin == "mutation") << c.origin;
        EXPECT_EQ(c.parents.size(), c.origin == "crossover" ? 2u : 1u);
        for (uint64_t p : c.parents) EXPECT_TRUE(pool.count(p)) << "parent " << p << " not in pool";
        if (c.parents.size() == 2) {
          EXPECT_NE(c.parents[0], c.parents[1]);
        }
      } else {
        ++random;
        EXPECT_EQ(c.origin, "random");
        EXPECT_TRUE(c.parents.empty());
      }
    }
    EXPECT_EQ(offspring, 5);
    EXPECT_EQ(random, 3);
    // Elitism: the best two carry over, so the best never gets worse.
    if (members[0].o.ok && members[0].o.feasible) {
      EXPECT_GE(members[0].o.fitness, best_so_far);
      best_so_far = members[0].o.fitness;
    }
    std::vector<Record> next(members.begin(), members.begin() + 2);
    next.insert(next.end(), fresh.begin(), fresh.end());
    members = next;
  }
  // The GA's own view of the last generation: the same members.
  std::set<uint64_t> mine, theirs;
  for (const Record& r : members) mine.insert(r.c.id);
  for (const Evaluated& e : ga.members()) theirs.insert(e.candidate.id);
  EXPECT_EQ(mine, theirs);
  Evaluated best;
  ASSERT_TRUE(ga.best(best));
  for (const auto& kv : all)
    EXPECT_FALSE(naive_better(kv.second.c, kv.second.o, best.candidate, best.result));
}

TEST(GeneticAlgorithm, IndependentOfBatchSizeAndResultOrder) {
  std::map<uint64_t, std::string> reference;
  for (int workers : {1, 4, 100}) {
    GeneticAlgorithm ga(kParams, SearchSpace(), 11);
    std::map<uint64_t, std::string> got;
    for (const auto& kv : run_ga(ga, workers))
      got[kv.first] = testing_search::describe(kv.second.c);
    if (reference.empty())
      reference = got;
    else
      EXPECT_EQ(got, reference) << "workers " << workers;
  }
}

TEST(GeneticAlgorithm, WaitsForTheWholeGeneration) {
  GeneticAlgorithm ga(kParams, SearchSpace(), 5);
  EXPECT_EQ(ga.generation(), -1);
  auto first = ga.propose(100);
  EXPECT_EQ(first.size(), 10u);
  EXPECT_EQ(ga.generation(), 0);
  for (size_t i = 0; i + 1 < first.size(); ++i) ga.observe({synthetic_result(first[i])});
  EXPECT_TRUE(ga.propose(100).empty());
  ga.observe({synthetic_result(first.back())});
  EXPECT_EQ(ga.generation(), 1);
  EXPECT_EQ(ga.propose(100).size(), 8u);
}

TEST(GeneticAlgorithm, WithoutCrossoverOffspringAreMutants) {
  nlohmann::json p = kParams;
  p["crossover_rate"] = 0.0;
  GeneticAlgorithm ga(p, SearchSpace(), 9);
  for (const auto& kv : run_ga(ga, 3)) {
    const Candidate& c = kv.second.c;
    if (c.generation == 0 || c.origin == "random") continue;
    EXPECT_EQ(c.origin, "mutation");
    EXPECT_EQ(c.parents.size(), 1u);
  }
}

}  // namespace
}  // namespace dalnas
