#pragma once
// Whole-scene prediction, tile by tile with overlap (never by resizing the scene), and
// dataset-level metrics over whole scenes.
#include <vector>

#include "data/normalization.h"
#include "data/scene.h"
#include "nn/network.h"
#include "train/metrics.h"

namespace dalnas {

struct TileOptions {
  int tile = 256;
  int overlap = 32;
  int batch = 8;
};

// Tile origins along one axis of length `len`: step tile-overlap, the last one ending at the
// border (one origin 0 when len <= tile).
std::vector<int> tile_origins(int len, int tile, int overlap);

// Vessel probability per pixel (height × width). Overlapping tiles are blended with weights
// that fall off linearly over `overlap` pixels from each tile edge.
std::vector<float> predict_scene(Network& net, const Scene& s, const Normalization& norm,
                                 const TileOptions& opt);

Metrics evaluate_scenes(Network& net, const std::vector<Scene>& scenes,
                        const std::vector<int>& which, const Normalization& norm,
                        const TileOptions& opt);

}  // namespace dalnas
