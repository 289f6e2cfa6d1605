#pragma once
// Scene-wise train / val / test splits: a scene's chips never appear in two splits.
#include <cstdint>
#include <string>
#include <vector>

#include "data/scene.h"

namespace dalnas {

struct SplitOptions {
  // Explicit scene names; if any list is non-empty, scenes are assigned by name and
  // unlisted scenes go to train unless `train` is also given (then they are unused).
  std::vector<std::string> train, val, test;
  // Otherwise seeded fractions (at least one scene in val and test when there are >= 3 scenes
  // and the fraction is > 0; train keeps at least one). 2 scenes: one train, one val (if
  // val_fraction > 0), no test. 1 scene: train only.
  double val_fraction = 0.2;
  double test_fraction = 0.2;
  uint64_t seed = 1;  // [split] seed: the shuffle's, independent of the training seed
  // Cross-validation folds (0: off). With folds = K >= 2 the scenes outside test (the val
  // scenes of the split above, then its train scenes, each ascending) are cut into K
  // contiguous groups as even as possible, the larger ones last, and fold k (1..K) validates
  // on group k and trains on the others; test stays as the split above chose it. Fold 1 is
  // the split above whenever its val scenes fill the first group (as by fractions: 9 scenes,
  // K = 3 gives groups of 2, 2, 3), so the folds extend the configured split. Used by
  // `dalnas search`'s re-scoring on folds ([evaluation] rescore_folds) and by hand.
  int folds = 0;
  int fold = 0;
};

struct Split {
  std::vector<int> train, val, test;  // scene indices
};

// Throws dalnas::Error naming the field for an unknown scene name, a scene in two lists,
// or an empty train split. Each list is sorted ascending.
Split split_scenes(const std::vector<Scene>& scenes, const SplitOptions& opt);

}  // namespace dalnas
