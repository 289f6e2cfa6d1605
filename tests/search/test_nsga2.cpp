#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "core/error.h"
#include "core/rng.h"
#include "search/nsga2.h"
#include "synthetic.h"

namespace dalnas {
namespace {

using testing_search::synthetic_result;
const double kInf = std::numeric_limits<double>::infinity();

Observation pt(uint64_t id, std::vector<double> f, bool feasible = true, double violation = 0,
               bool ok = true) {
  Observation o;
  o.id = id;
  o.objectives = std::move(f);
  o.feasible = feasible;
  o.violation = violation;
  o.ok = ok;
  return o;
}

// Naive reference: repeatedly peel off the members no remaining member dominates, with
// constraint domination written out separately.
bool naive_dominates(const Observation& a, const Observation& b) {
  const bool fa = a.ok && a.feasible, fb = b.ok && b.feasible;
  if (fa && !fb) return true;
  if (!fa && fb) return false;
  if (!fa) {
    const double va = a.ok ? a.violation : kInf, vb = b.ok ? b.violation : kInf;
    return va < vb;
  }
  bool no_worse = true, better = false;
  for (size_t k = 0; k < a.objectives.size(); ++k) {
    no_worse = no_worse && a.objectives[k] <= b.objectives[k];
    better = better || a.objectives[k] < b.objectives[k];
  }
  return no_worse && better;
}

std::vector<std::vector<size_t>> naive_fronts(const std::vector<Observation>& obs) {
  std::vector<std::vector<size_t>> fronts;
  std::set<size_t> left;
  for (size_t i = 0; i < obs.size(); ++i) left.insert(i);
  while (!left.empty()) {
    std::vector<size_t> front;
    for (size_t p : left) {
      bool dominated = false;
      for (size_t q : left) dominated = dominated || naive_dominates(obs[q], obs[p]);
      if (!dominated) front.push_back(p);
    }
    for (size_t p : front) left.erase(p);
    fronts.push_back(front);
  }
  return fronts;
}

TEST(Nsga2, ConstraintDomination) {
  EXPECT_TRUE(constraint_dominates(pt(1, {1, 1}), pt(2, {2, 2})));
  EXPECT_TRUE(constraint_dominates(pt(1, {1, 2}), pt(2, {1, 3})));
  EXPECT_FALSE(constraint_dominates(pt(1, {1, 2}), pt(2, {1, 2})));  // equal: neither
  EXPECT_FALSE(constraint_dominates(pt(1, {1, 3}), pt(2, {2, 2})));  // trade-off
  EXPECT_FALSE(constraint_dominates(pt(2, {2, 2}), pt(1, {1, 3})));
  // Feasible beats infeasible whatever the objectives.
  EXPECT_TRUE(constraint_dominates(pt(1, {9, 9}), pt(2, {0, 0}, false, 0.1)));
  EXPECT_FALSE(constraint_dominates(pt(2, {0, 0}, false, 0.1), pt(1, {9, 9})));
  // Infeasible: smaller violation wins; failed is worst.
  EXPECT_TRUE(constraint_dominates(pt(1, {9}, false, 0.1), pt(2, {0}, false, 0.2)));
  EXPECT_FALSE(constraint_dominates(pt(1, {9}, false, 0.2), pt(2, {0}, false, 0.2)));
  EXPECT_TRUE(constraint_dominates(pt(1, {9}, false, 5.0), pt(2, {}, true, 0, false)));
}

TEST(Nsga2, NonDominatedSortMatchesNaiveReference) {
  Rng rng(1);
  for (int trial = 0; trial < 200; ++trial) {
    const int n = rng.uniform_int(1, 25), m = rng.uniform_int(1, 3);
    std::vector<Observation> obs;
    for (int i = 0; i < n; ++i) {
      std::vector<double> f;
      for (int k = 0; k < m; ++k) f.push_back(rng.uniform_int(0, 4));  // many ties
      const int kind = rng.uniform_int(0, 9);
      obs.push_back(pt(i + 1, f, kind < 7, kind < 7 ? 0 : rng.uniform_int(1, 3) * 0.5, kind != 9));
    }
    const auto got = non_dominated_sort(obs);
    const auto want = naive_fronts(obs);
    ASSERT_EQ(got, want) << "trial " << trial;
  }
  EXPECT_TRUE(non_dominated_sort({}).empty());
}

TEST(Nsga2, CrowdingDistanceKnownValues) {
  // Front (1,5) (2,3) (3,2) (5,1): ranges 4 and 4.
  const std::vector<Observation> obs = {pt(1, {1, 5}), pt(2, {2, 3}), pt(3, {3, 2}), pt(4, {5, 1})};
  const auto d = crowding_distance(obs, {0, 1, 2, 3});
  EXPECT_EQ(d[0], kInf);
  EXPECT_DOUBLE_EQ(d[1], (3 - 1) / 4.0 + (5 - 2) / 4.0);
  EXPECT_DOUBLE_EQ(d[2], (5 - 2) / 4.0 + (3 - 1) / 4.0);
  EXPECT_EQ(d[3], kInf);
  // A subset in a different order; a constant objective adds nothing.
  const std::vector<Observation> flat = {pt(1, {1, 7}), pt(2, {2, 7}), pt(3, {4, 7})};
  const auto e = crowding_distance(flat, {2, 0, 1});
  EXPECT_EQ(e[0], kInf);
  EXPECT_EQ(e[1], kInf);
  EXPECT_DOUBLE_EQ(e[2], (4 - 1) / 3.0);
  // Infeasible fronts have no crowding.
  const auto z = crowding_distance({pt(1, {1}, false, 1), pt(2, {2}, false, 1)}, {0, 1});
  EXPECT_EQ(z, (std::vector<double>{0, 0}));
}

TEST(Nsga2, SelectionKeepsBetterFrontsAndTheParetoFrontIsExact) {
  const int n = 8;
  Nsga2 s({{"population", n}, {"generations", 5}}, SearchSpace(), 21);
  std::vector<Observation> all;
  std::map<uint64_t, Observation> by_id;
  std::vector<Evaluated> prev;     // parents before the generation
  std::vector<uint64_t> this_gen;  // the generation's candidates
  int gen_seen = 0;
  while (!s.done()) {
    auto cands = s.propose(3);
    ASSERT_FALSE(cands.empty());
    std::vector<Observation> obs;
    for (const Candidate& c : cands) {
      obs.push_back(synthetic_result(c));
      all.push_back(obs.back());
      by_id[c.id] = obs.back();
      this_gen.push_back(c.id);
    }
    const int before = s.generation();
    s.observe(obs);
    if (s.generation() != before || s.done()) {
      ++gen_seen;
      // Merged = previous parents + this generation's candidates; selected = population().
      std::set<uint64_t> merged(this_gen.begin(), this_gen.end());
      for (const Evaluated& e : prev) merged.insert(e.candidate.id);
      ASSERT_EQ(this_gen.size(), static_cast<size_t>(n));
      this_gen.clear();
      std::set<uint64_t> selected;
      for (const Evaluated& e : s.population()) selected.insert(e.candidate.id);
      ASSERT_EQ(selected.size(), static_cast<size_t>(n));
      // No excluded member of this generation's merged set dominates a selected one.
      for (const Evaluated& e : s.population()) ASSERT_TRUE(merged.count(e.candidate.id));
      for (uint64_t x : merged) {
        if (selected.count(x)) continue;
        for (uint64_t y : selected)
          EXPECT_FALSE(naive_dominates(by_id[x], by_id[y])) << x << " dominates kept " << y;
      }
      prev = s.population();
    }
  }
  EXPECT_EQ(gen_seen, 5);
  EXPECT_EQ(all.size(), 5u * n);
  // The Pareto front: every feasible observation that no feasible one dominates.
  std::set<uint64_t> want;
  for (const Observation& a : all) {
    if (!a.ok || !a.feasible) continue;
    bool dominated = false;
    for (const Observation& b : all)
      dominated = dominated || (b.ok && b.feasible && naive_dominates(b, a));
    if (!dominated) want.insert(a.id);
  }
  std::set<uint64_t> got;
  for (const Evaluated& e : s.pareto_front()) got.insert(e.candidate.id);
  EXPECT_FALSE(want.empty());
  EXPECT_EQ(got, want);
}

TEST(Nsga2, IndependentOfBatchSize) {
  std::vector<std::string> reference;
  for (int workers : {1, 5, 64}) {
    Nsga2 s({{"population", 8}, {"generations", 3}}, SearchSpace(), 4);
    std::vector<std::string> log;
    while (!s.done()) {
      auto cands = s.propose(workers);
      std::vector<Observation> obs;
      for (const Candidate& c : cands) {
        log.push_back(testing_search::describe(c));
        obs.push_back(synthetic_result(c));
      }
      std::reverse(obs.begin(), obs.end());
      s.observe(obs);
    }
    if (reference.empty())
      reference = log;
    else
      EXPECT_EQ(log, reference) << "workers " << workers;
  }
}

TEST(Nsga2, RejectsInconsistentObjectives) {
  Nsga2 s({{"population", 4}, {"generations", 2}}, SearchSpace(), 1);
  auto c = s.propose(2);
  Observation a = synthetic_result(c[0]);
  a.feasible = true;
  s.observe({a});
  Observation b = synthetic_result(c[1]);
  b.feasible = true;
  b.objectives = {1, 2, 3};
  EXPECT_THROW(s.observe({b}), Error);
}

}  // namespace
}  // namespace dalnas
