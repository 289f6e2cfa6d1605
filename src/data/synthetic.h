#pragma once
// Synthetic multi-band sea scenes with vessels: the built-in default dataset.
// Deterministic for a seed. Four bands (blue, green, red, near infrared) as uint16
// digital numbers on the Sentinel-2 L2A scale.
#include <cstdint>
#include <vector>

#include "data/scene.h"

namespace dalnas {

struct SyntheticOptions {
  int scenes = 12;
  int height = 256;
  int width = 256;
  uint64_t seed = 1;
  int min_vessels = 2;   // per scene
  int max_vessels = 12;
};

std::vector<Scene> make_synthetic(const SyntheticOptions& opt);
// One scene, the index-th of the stream for `opt.seed` (make_synthetic(opt)[i] == make_synthetic_scene(opt, i)).
Scene make_synthetic_scene(const SyntheticOptions& opt, int index);

}  // namespace dalnas
