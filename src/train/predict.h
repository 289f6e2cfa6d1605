#pragma once
// Whole-scene prediction, tile by tile with overlap (never by resizing the scene), and
// dataset-level metrics over whole scenes.
#include <functional>
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

// Runs a batch of tiles: `in` is n × bands × t × t, `logits` receives n × t × t.
using TileForward = std::function<void(const float* in, int n, int bands, int t, float* logits)>;

// Vessel probability per pixel (height × width) from any tile runner. Overlapping tiles are
// blended with weights that fall off linearly over `overlap` pixels from each tile edge.
// With `norm` the tiles are normalised before `forward`; without, raw values are passed.
// A non-finite logit makes its pixel NaN (counted as background by the metrics).
std::vector<float> predict_scene_with(const TileForward& forward, const Scene& s,
                                      const Normalization* norm, const TileOptions& opt);
// Dataset-level metrics over whole scenes: the confusion matrix and, on each whole-scene
// mask (never per tile, so no vessel is cut at a tile border), the vessel-level metrics.
Metrics evaluate_scenes_with(const TileForward& forward, const std::vector<Scene>& scenes,
                             const std::vector<int>& which, const Normalization* norm,
                             const TileOptions& opt);

// The network on the host (FP32 libtorch forward).
TileForward host_forward(Network& net);
std::vector<float> predict_scene(Network& net, const Scene& s, const Normalization& norm,
                                 const TileOptions& opt);

Metrics evaluate_scenes(Network& net, const std::vector<Scene>& scenes,
                        const std::vector<int>& which, const Normalization& norm,
                        const TileOptions& opt);

}  // namespace dalnas
