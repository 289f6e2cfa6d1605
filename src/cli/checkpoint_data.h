#pragma once
// The data a checkpoint was trained on, for the commands that read it again (eval, export):
// its training configuration and the scenes of one of its splits.
#include <string>
#include <vector>

#include "data/scene.h"
#include "train/checkpoint.h"
#include "train/config.h"

namespace dalnas::cli {

// The TrainConfig stored in the checkpoint at `path` (its scene split left out).
TrainConfig trained_config(const Checkpoint& ck, const std::string& path);

// Indices into `scenes` of the checkpoint's `split` scenes ("train", "val", "test") that
// `scenes` holds, in the split's order; scenes missing from `scenes` are skipped.
std::vector<int> split_scene_indices(const Checkpoint& ck, const std::vector<Scene>& scenes,
                                     const std::string& split);

}  // namespace dalnas::cli
