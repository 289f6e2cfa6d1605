#pragma once
// Synthetic multi-band sea scenes with vessels: the built-in default dataset.
// Deterministic for a seed. Four bands (blue, green, red, near infrared) as uint16
// digital numbers on the Sentinel-2 L2A scale: sea (texture, swell, glint), thin clouds and
// haze, land with coastline, buildings, piers and ports on about half the scenes, vessels
// 3-60 px long (capped at 0.4 × the smaller side) with wakes that are not in the mask, sensor
// noise and a few saturated pixels. Scenes are generated in parallel (OpenMP) when available.
// Throws dalnas::Error naming the option (e.g. "synthetic.height: ...") for invalid options.
#include <cstdint>
#include <vector>

#include "data/scene.h"

namespace dalnas {

struct SyntheticOptions {
  int scenes = 12;
  int height = 256;
  int width = 256;
  uint64_t seed = 1;
  int min_vessels = 2;  // per scene
  int max_vessels = 12;
};

std::vector<Scene> make_synthetic(const SyntheticOptions& opt);
// One scene, the index-th of the stream for `opt.seed` (make_synthetic(opt)[i] ==
// make_synthetic_scene(opt, i)).
Scene make_synthetic_scene(const SyntheticOptions& opt, int index);

}  // namespace dalnas
