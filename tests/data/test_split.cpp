#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/split.h"

namespace dalnas {
namespace {

std::vector<Scene> named(int n) {
  std::vector<Scene> s(n);
  for (int i = 0; i < n; ++i) s[i].name = "scene" + std::to_string(i);
  return s;
}

void expect_partition(const Split& sp, int n) {
  std::vector<int> all;
  for (const auto* v : {&sp.train, &sp.val, &sp.test}) {
    EXPECT_TRUE(std::is_sorted(v->begin(), v->end()));
    all.insert(all.end(), v->begin(), v->end());
  }
  std::sort(all.begin(), all.end());
  std::vector<int> want(n);
  for (int i = 0; i < n; ++i) want[i] = i;
  EXPECT_EQ(all, want);  // disjoint and complete
}

std::string error_of(const std::vector<Scene>& scenes, const SplitOptions& opt) {
  try {
    split_scenes(scenes, opt);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Split, SeededFractions) {
  const auto scenes = named(10);
  SplitOptions opt;
  const Split a = split_scenes(scenes, opt);
  expect_partition(a, 10);
  EXPECT_EQ(a.val.size(), 2u);
  EXPECT_EQ(a.test.size(), 2u);
  EXPECT_EQ(a.train.size(), 6u);
  const Split b = split_scenes(scenes, opt);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.val, b.val);
  EXPECT_EQ(a.test, b.test);
  // Different seeds give different splits (at least one of several).
  bool differs = false;
  for (uint64_t seed = 2; seed < 8; ++seed) {
    opt.seed = seed;
    const Split c = split_scenes(scenes, opt);
    expect_partition(c, 10);
    differs |= c.test != a.test || c.val != a.val;
  }
  EXPECT_TRUE(differs);

  opt.val_fraction = 0.25;
  opt.test_fraction = 0.15;
  const Split d = split_scenes(named(20), opt);
  expect_partition(d, 20);
  EXPECT_EQ(d.val.size(), 5u);
  EXPECT_EQ(d.test.size(), 3u);
}

TEST(Split, SmallDatasets) {
  SplitOptions opt;
  opt.val_fraction = 0.05;
  opt.test_fraction = 0.05;
  Split s = split_scenes(named(3), opt);  // at least one each
  expect_partition(s, 3);
  EXPECT_EQ(s.train.size(), 1u);
  EXPECT_EQ(s.val.size(), 1u);
  EXPECT_EQ(s.test.size(), 1u);

  s = split_scenes(named(2), opt);  // train + val, no test
  expect_partition(s, 2);
  EXPECT_EQ(s.train.size(), 1u);
  EXPECT_EQ(s.val.size(), 1u);
  EXPECT_TRUE(s.test.empty());

  s = split_scenes(named(1), opt);
  EXPECT_EQ(s.train, std::vector<int>{0});
  EXPECT_TRUE(s.val.empty());
  EXPECT_TRUE(s.test.empty());

  EXPECT_THROW(split_scenes(named(0), opt), Error);

  // Large fractions never leave train empty.
  opt.val_fraction = 0.5;
  opt.test_fraction = 0.45;
  s = split_scenes(named(4), opt);
  expect_partition(s, 4);
  EXPECT_GE(s.train.size(), 1u);

  // A zero fraction means none.
  opt.val_fraction = 0;
  opt.test_fraction = 0.2;
  s = split_scenes(named(10), opt);
  EXPECT_TRUE(s.val.empty());
  EXPECT_EQ(s.test.size(), 2u);
}

TEST(Split, RejectsBadFractions) {
  SplitOptions opt;
  opt.val_fraction = -0.1;
  EXPECT_NE(error_of(named(5), opt).find("split.val_fraction"), std::string::npos);
  opt.val_fraction = 0.2;
  opt.test_fraction = 1.0;
  EXPECT_NE(error_of(named(5), opt).find("split.test_fraction"), std::string::npos);
  opt.val_fraction = 0.5;
  opt.test_fraction = 0.5;
  EXPECT_NE(error_of(named(5), opt), "");
}

TEST(Split, ByName) {
  const auto scenes = named(6);
  SplitOptions opt;
  opt.val = {"scene4"};
  opt.test = {"scene1", "scene0"};
  Split s = split_scenes(scenes, opt);  // unlisted go to train
  EXPECT_EQ(s.train, (std::vector<int>{2, 3, 5}));
  EXPECT_EQ(s.val, std::vector<int>{4});
  EXPECT_EQ(s.test, (std::vector<int>{0, 1}));

  opt.train = {"scene5"};  // with an explicit train list the rest is unused
  s = split_scenes(scenes, opt);
  EXPECT_EQ(s.train, std::vector<int>{5});
  EXPECT_EQ(s.val, std::vector<int>{4});
  EXPECT_EQ(s.test, (std::vector<int>{0, 1}));
}

TEST(Split, ByNameErrors) {
  const auto scenes = named(4);
  SplitOptions opt;
  opt.test = {"x"};
  EXPECT_EQ(error_of(scenes, opt), "split.test: no scene named 'x'");
  opt.test = {"scene1"};
  opt.val = {"scene1"};
  EXPECT_EQ(error_of(scenes, opt), "split.test: scene 'scene1' is also in split.val");
  opt.val = {"scene2", "scene2"};
  EXPECT_EQ(error_of(scenes, opt), "split.val: scene 'scene2' is listed twice");
  opt.val = {"scene0", "scene2"};
  opt.test = {"scene1", "scene3"};
  EXPECT_EQ(error_of(scenes, opt), "split.train: no scenes left for training");
  opt = SplitOptions{};
  opt.train = {"scene9"};
  EXPECT_EQ(error_of(scenes, opt), "split.train: no scene named 'scene9'");
  auto dup = named(3);
  dup[2].name = "scene0";
  opt = SplitOptions{};
  opt.val = {"scene1"};
  EXPECT_NE(error_of(dup, opt).find("scene0"), std::string::npos);
}

// Folds over a table of scene counts and fold counts: the val groups of the K folds
// partition the scenes outside test, each fold's train is the rest, test never moves,
// the group sizes differ by at most one (the larger last), and fold 1 is the base split
// wherever its val scenes fill the first group.
TEST(Split, FoldsPartitionTheScenesOutsideTest) {
  for (int n : {3, 5, 9, 12}) {
    for (int k : {2, 3, 4}) {
      SplitOptions opt;
      opt.seed = 7;
      const auto scenes = named(n);
      const Split base = split_scenes(scenes, opt);
      const int pool = static_cast<int>(base.train.size() + base.val.size());
      if (pool < k) continue;
      opt.folds = k;
      std::vector<int> seen;
      std::vector<size_t> sizes;
      for (int f = 1; f <= k; ++f) {
        opt.fold = f;
        const Split s = split_scenes(scenes, opt);
        SCOPED_TRACE("n " + std::to_string(n) + ", folds " + std::to_string(k) + ", fold " +
                     std::to_string(f));
        expect_partition(s, n);
        EXPECT_EQ(s.test, base.test);
        EXPECT_FALSE(s.val.empty());
        EXPECT_FALSE(s.train.empty());
        seen.insert(seen.end(), s.val.begin(), s.val.end());
        sizes.push_back(s.val.size());
        if (f == 1 && base.val.size() == static_cast<size_t>(pool / k)) {
          EXPECT_EQ(s.val, base.val);
          EXPECT_EQ(s.train, base.train);
        }
      }
      std::sort(seen.begin(), seen.end());
      std::vector<int> outside = base.train;
      outside.insert(outside.end(), base.val.begin(), base.val.end());
      std::sort(outside.begin(), outside.end());
      EXPECT_EQ(seen, outside);  // each scene outside test validated in exactly one fold
      EXPECT_TRUE(std::is_sorted(sizes.begin(), sizes.end()));
      EXPECT_LE(sizes.back() - sizes.front(), 1u);
    }
  }
}

TEST(Split, FoldsOfNamedListsUseOnlyTheListedScenes) {
  const auto scenes = named(6);
  SplitOptions opt;
  opt.train = {"scene0", "scene2", "scene3"};
  opt.val = {"scene5"};
  opt.test = {"scene1"};  // scene4 is unlisted, so unused
  opt.folds = 2;
  opt.fold = 1;
  Split s = split_scenes(scenes, opt);
  EXPECT_EQ(s.val, (std::vector<int>{0, 5}));  // the pool: val (5), then train (0, 2, 3)
  EXPECT_EQ(s.train, (std::vector<int>{2, 3}));
  EXPECT_EQ(s.test, std::vector<int>{1});
  opt.fold = 2;
  s = split_scenes(scenes, opt);
  EXPECT_EQ(s.val, (std::vector<int>{2, 3}));
  EXPECT_EQ(s.train, (std::vector<int>{0, 5}));
}

TEST(Split, FoldErrorsNameTheField) {
  const auto scenes = named(5);
  SplitOptions opt;
  opt.folds = 1;
  opt.fold = 1;
  EXPECT_EQ(error_of(scenes, opt), "split.folds: must be >= 2 (or 0 for no folds), got 1");
  opt.folds = 3;
  opt.fold = 0;
  EXPECT_EQ(error_of(scenes, opt), "split.fold: must be in [1, 3] (split.folds), got 0");
  opt.fold = 4;
  EXPECT_EQ(error_of(scenes, opt), "split.fold: must be in [1, 3] (split.folds), got 4");
  opt.folds = 0;
  opt.fold = 2;
  EXPECT_EQ(error_of(scenes, opt), "split.fold: 2 set without split.folds (the count)");
  opt.folds = 4;  // 5 scenes: 1 val, 1 test by fractions, so 4 outside test
  opt.fold = 1;
  EXPECT_EQ(error_of(scenes, opt), "");
  opt.folds = 5;
  EXPECT_EQ(error_of(scenes, opt),
            "split.folds: 5 folds need at least 5 scenes outside test, the split has 4");
}

}  // namespace
}  // namespace dalnas
