#include "data/split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>

#include "core/error.h"

// Named lists: every listed name must exist and appear in one list only; unlisted scenes go to
// train unless `train` itself is listed (then they are unused).
// Seeded fractions: the scenes are shuffled with the seed (Fisher-Yates on std::mt19937_64, the
// same on every platform); with n >= 3 scenes, test gets max(1, round(test_fraction * n)) and
// val max(1, round(val_fraction * n)) (0 when the fraction is 0), reduced if needed so that
// train keeps at least one scene. With 2 scenes: one train, one val (val is what model
// selection needs; no test). With 1 scene: train only. Each list is sorted ascending.

namespace dalnas {
namespace {

Split by_name(const std::vector<Scene>& scenes, const SplitOptions& opt) {
  std::map<std::string, int> index;
  for (size_t i = 0; i < scenes.size(); ++i) {
    if (!index.emplace(scenes[i].name, static_cast<int>(i)).second)
      throw Error("split: two scenes are named '" + scenes[i].name + "'");
  }
  std::vector<int> owner(scenes.size(), -1);  // 0 train, 1 val, 2 test
  const char* fields[3] = {"split.train", "split.val", "split.test"};
  const std::vector<std::string>* lists[3] = {&opt.train, &opt.val, &opt.test};
  Split out;
  std::vector<int>* dest[3] = {&out.train, &out.val, &out.test};
  for (int l = 0; l < 3; ++l) {
    for (const std::string& name : *lists[l]) {
      const auto it = index.find(name);
      if (it == index.end())
        throw Error(std::string(fields[l]) + ": no scene named '" + name + "'");
      int& o = owner[it->second];
      if (o == l) throw Error(std::string(fields[l]) + ": scene '" + name + "' is listed twice");
      if (o >= 0)
        throw Error(std::string(fields[l]) + ": scene '" + name + "' is also in " + fields[o]);
      o = l;
      dest[l]->push_back(it->second);
    }
  }
  if (opt.train.empty()) {
    for (size_t i = 0; i < scenes.size(); ++i)
      if (owner[i] < 0) out.train.push_back(static_cast<int>(i));
  }
  return out;
}

Split by_fraction(const std::vector<Scene>& scenes, const SplitOptions& opt) {
  if (!(opt.val_fraction >= 0 && opt.val_fraction < 1))
    throw Error("split.val_fraction: must be in [0, 1)");
  if (!(opt.test_fraction >= 0 && opt.test_fraction < 1))
    throw Error("split.test_fraction: must be in [0, 1)");
  if (opt.val_fraction + opt.test_fraction >= 1)
    throw Error("split: val_fraction + test_fraction must be below 1");
  const int n = static_cast<int>(scenes.size());
  std::vector<int> order(n);
  for (int i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(opt.seed);
  for (int i = n - 1; i > 0; --i) {
    const int j = static_cast<int>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  int n_val = 0, n_test = 0;
  if (n >= 3) {
    auto count = [n](double f) {
      return f > 0 ? std::max(1, static_cast<int>(std::lround(f * n))) : 0;
    };
    n_val = count(opt.val_fraction);
    n_test = count(opt.test_fraction);
    while (n_val + n_test > n - 1) {
      if (n_val >= n_test)
        --n_val;
      else
        --n_test;
    }
  } else if (n == 2 && opt.val_fraction > 0) {
    n_val = 1;
  }
  Split out;
  for (int k = 0; k < n; ++k) {
    if (k < n_test)
      out.test.push_back(order[k]);
    else if (k < n_test + n_val)
      out.val.push_back(order[k]);
    else
      out.train.push_back(order[k]);
  }
  return out;
}

// Fold `fold` of `folds` of a split (see SplitOptions::folds).
Split fold_of(const Split& base, int folds, int fold) {
  if (folds == 0)
    throw Error("split.fold: " + std::to_string(fold) + " set without split.folds (the count)");
  if (folds < 2)
    throw Error("split.folds: must be >= 2 (or 0 for no folds), got " + std::to_string(folds));
  if (fold < 1 || fold > folds)
    throw Error("split.fold: must be in [1, " + std::to_string(folds) + "] (split.folds), got " +
                std::to_string(fold));
  std::vector<int> pool = base.val;  // the groups' order: val first, so fold 1 keeps it
  pool.insert(pool.end(), base.train.begin(), base.train.end());
  const int n = static_cast<int>(pool.size());
  if (n < folds)
    throw Error("split.folds: " + std::to_string(folds) + " folds need at least " +
                std::to_string(folds) + " scenes outside test, the split has " + std::to_string(n));
  // Group g holds n / folds scenes, one more for the last n % folds groups.
  const int small = n / folds, bigger_from = folds - n % folds;
  int begin = 0;
  for (int g = 0; g < fold - 1; ++g) begin += small + (g >= bigger_from ? 1 : 0);
  const int size = small + (fold - 1 >= bigger_from ? 1 : 0);
  Split out;
  out.test = base.test;
  for (int k = 0; k < n; ++k)
    (k >= begin && k < begin + size ? out.val : out.train).push_back(pool[k]);
  std::sort(out.train.begin(), out.train.end());
  std::sort(out.val.begin(), out.val.end());
  return out;
}

}  // namespace

Split split_scenes(const std::vector<Scene>& scenes, const SplitOptions& opt) {
  const bool named = !opt.train.empty() || !opt.val.empty() || !opt.test.empty();
  Split out = named ? by_name(scenes, opt) : by_fraction(scenes, opt);
  if (out.train.empty())
    throw Error(scenes.empty() ? "split: the dataset has no scenes"
                               : "split.train: no scenes left for training");
  std::sort(out.train.begin(), out.train.end());
  std::sort(out.val.begin(), out.val.end());
  std::sort(out.test.begin(), out.test.end());
  return opt.folds == 0 && opt.fold == 0 ? out : fold_of(out, opt.folds, opt.fold);
}

}  // namespace dalnas
