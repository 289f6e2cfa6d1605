#include "data/tiling.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace dalnas {
namespace {

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) from (seed, scene, y, x): which background chips are kept does not depend
// on the order scenes are listed in or on the other chips.
double chip_uniform(uint64_t seed, int scene, int y, int x) {
  uint64_t h = mix64(seed);
  h = mix64(h ^ static_cast<uint32_t>(scene));
  h = mix64(h ^ (static_cast<uint64_t>(static_cast<uint32_t>(y)) << 32 | static_cast<uint32_t>(x)));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

// Chip origins along one axis: every `stride`, the last one shifted to end at the border.
std::vector<int> origins(int extent, int size, int stride) {
  std::vector<int> out;
  if (extent <= size) {
    out.push_back(0);
    return out;
  }
  for (int p = 0;; p += stride) {
    if (p + size >= extent) {
      out.push_back(extent - size);
      break;
    }
    out.push_back(p);
  }
  return out;
}

bool any_vessel(const Scene& s, int y, int x, int size) {
  const int y1 = std::min(s.height, y + size), x1 = std::min(s.width, x + size);
  for (int yy = std::max(0, y); yy < y1; ++yy) {
    const uint8_t* row = &s.mask[static_cast<size_t>(yy) * s.width];
    for (int xx = std::max(0, x); xx < x1; ++xx)
      if (row[xx]) return true;
  }
  return false;
}

// numpy-style 'reflect' (mirror about the edge pixel, which is not repeated); indices that a
// single reflection cannot bring inside (scene smaller than the padding) are clamped.
int reflect(int i, int n) {
  if (i < 0) i = -i;
  if (i >= n) i = 2 * (n - 1) - i;
  return std::clamp(i, 0, n - 1);
}

}  // namespace

std::vector<ChipRef> tile_scenes(const std::vector<Scene>& scenes, const std::vector<int>& which,
                                 const TilingOptions& opt) {
  if (opt.size < 1) throw Error("tiling.size: must be at least 1, got " + std::to_string(opt.size));
  if (opt.stride < 1 || opt.stride > opt.size)
    throw Error("tiling.stride: must be between 1 and size (" + std::to_string(opt.size) +
                "), got " + std::to_string(opt.stride));
  if (!(opt.background_keep >= 0.0 && opt.background_keep <= 1.0))
    throw Error("tiling.background_keep: must be between 0 and 1");
  std::vector<ChipRef> chips;
  for (int idx : which) {
    if (idx < 0 || idx >= static_cast<int>(scenes.size()))
      throw Error("tiling: scene index " + std::to_string(idx) + " out of range (" +
                  std::to_string(scenes.size()) + " scenes)");
    const Scene& s = scenes[idx];
    if (s.height < 1 || s.width < 1 || s.mask.size() != s.pixels())
      throw Error(s.name + ": empty scene or mask of the wrong size");
    for (int y : origins(s.height, opt.size, opt.stride)) {
      for (int x : origins(s.width, opt.size, opt.stride)) {
        const bool vessel = any_vessel(s, y, x, opt.size);
        if (!vessel && !(chip_uniform(opt.seed, idx, y, x) < opt.background_keep)) continue;
        chips.push_back({idx, y, x, vessel});
      }
    }
  }
  return chips;
}

void extract_chip(const Scene& s, int y, int x, int size, float* img, uint8_t* mask) {
  const size_t plane = static_cast<size_t>(size) * size;
  std::vector<int> cols(size);
  for (int cx = 0; cx < size; ++cx) cols[cx] = reflect(x + cx, s.width);
  const int inside_x0 = std::clamp(-x, 0, size), inside_x1 = std::clamp(s.width - x, 0, size);
  for (int cy = 0; cy < size; ++cy) {
    const int sy = y + cy;
    const int ry = reflect(sy, s.height);
    for (int b = 0; b < s.bands; ++b) {
      const float* src = &s.image[(static_cast<size_t>(b) * s.height + ry) * s.width];
      float* dst = img + b * plane + static_cast<size_t>(cy) * size;
      for (int cx = 0; cx < size; ++cx) dst[cx] = src[cols[cx]];
    }
    if (!mask) continue;
    uint8_t* mrow = mask + static_cast<size_t>(cy) * size;
    std::fill(mrow, mrow + size, 0);
    if (sy < 0 || sy >= s.height) continue;
    const uint8_t* src = &s.mask[static_cast<size_t>(sy) * s.width];
    for (int cx = inside_x0; cx < inside_x1; ++cx) mrow[cx] = src[x + cx];
  }
}

}  // namespace dalnas
