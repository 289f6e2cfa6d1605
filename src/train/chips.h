#pragma once
// ChipSet: the normalised chips of a set of scenes as two tensors ready for training.
#include <torch/torch.h>

#include <random>
#include <utility>
#include <vector>

#include "data/normalization.h"
#include "data/scene.h"
#include "data/tiling.h"

namespace dalnas {

struct ChipSet {
  torch::Tensor images;  // N × bands × S × S, float32, normalised
  torch::Tensor masks;   // N × 1 × S × S, float32 in {0, 1}
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

ChipSet make_chipset(const std::vector<Scene>& scenes, const std::vector<int>& which,
                     const TilingOptions& tiling, const Normalization& norm);

// A batch of `idx` rows, each augmented by a random symmetry of the square when `rng` is given.
std::pair<torch::Tensor, torch::Tensor> make_batch(const ChipSet& set,
                                                   const std::vector<int64_t>& idx,
                                                   std::mt19937_64* rng);

}  // namespace dalnas
