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

// The scenes of dataset `data` (synthetic as the checkpoint was trained, if it was);
// throws dalnas::Error naming `data` when their band count is not the model's.
std::vector<Scene> load_model_scenes(const Checkpoint& ck, const TrainConfig& trained,
                                     const std::string& data);

// Indices into `scenes` of the checkpoint's `split` scenes ("train", "val", "test") that
// `scenes` holds, in the split's order; scenes missing from `scenes` are skipped.
std::vector<int> split_scene_indices(const Checkpoint& ck, const std::vector<Scene>& scenes,
                                     const std::string& split);

}  // namespace dalnas::cli
