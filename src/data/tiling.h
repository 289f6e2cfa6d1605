#pragma once
// Tiling of scenes into fixed-size chips.
#include <cstdint>
#include <vector>

#include "data/scene.h"

namespace dalnas {

struct TilingOptions {
  int size = 128;                 // chip side in pixels
  int stride = 96;                // step between chips (< size: overlapping)
  double background_keep = 0.25;  // fraction of vessel-free chips kept (1 = all)
  uint64_t seed = 1;              // which background chips are kept
};

struct ChipRef {
  int scene = 0;     // index into the scene list
  int y = 0, x = 0;  // top-left corner; chips at the border are padded
  bool has_vessel = false;
};

// Chips covering every listed scene completely (the last row/column is shifted to end at
// the border when the scene is at least `size`; smaller scenes are padded). Vessel-free chips
// are kept with probability background_keep (deterministic in (seed, scene index, y, x)).
// Throws dalnas::Error for size < 1, stride outside 1..size, background_keep outside [0, 1] or
// a scene index out of range.
std::vector<ChipRef> tile_scenes(const std::vector<Scene>& scenes, const std::vector<int>& which,
                                 const TilingOptions& opt);

// Copies a chip (size × size) out of a scene; pixels outside the scene are filled by
// reflection (image: numpy 'reflect', the edge pixel not repeated; clamped to the edge where the
// scene is smaller than the padding) and 0 (mask). img: bands × size × size; mask: size × size
// (may be null).
void extract_chip(const Scene& s, int y, int x, int size, float* img, uint8_t* mask);

}  // namespace dalnas
