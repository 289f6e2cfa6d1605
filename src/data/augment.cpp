#include "data/augment.h"

#include <stdexcept>
#include <string>
#include <vector>

// Symmetry k: first a horizontal flip (x -> size-1-x) when bit 0 is set, then (k >> 1)
// counter-clockwise 90° rotations, each out[y][x] = in[x][size-1-y] (numpy.rot90 on the last two
// axes). k = 0 is the identity.

namespace dalnas {
namespace {

// Gather table: for every output pixel, the input pixel it comes from.
std::vector<int> source_index(int size, int k) {
  const int rotations = (k >> 1) & 3;
  const bool flip = k & 1;
  std::vector<int> src(static_cast<size_t>(size) * size);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      int sy = y, sx = x;
      // Undo the rotations one by one (the output of rotation r reads input (x, size-1-y)).
      for (int r = 0; r < rotations; ++r) {
        const int ny = sx, nx = size - 1 - sy;
        sy = ny;
        sx = nx;
      }
      if (flip) sx = size - 1 - sx;
      src[static_cast<size_t>(y) * size + x] = sy * size + sx;
    }
  }
  return src;
}

template <class T>
void gather(T* plane, const std::vector<int>& src, std::vector<T>& tmp) {
  tmp.assign(plane, plane + src.size());
  for (size_t i = 0; i < src.size(); ++i) plane[i] = tmp[src[i]];
}

}  // namespace

void augment_chip(float* img, uint8_t* mask, int bands, int size, int k) {
  if (k < 0 || k > 7)
    throw std::invalid_argument("augment_chip: k must be in 0..7, got " + std::to_string(k));
  if (k == 0 || size <= 1) return;
  const std::vector<int> src = source_index(size, k);
  const size_t plane = static_cast<size_t>(size) * size;
  std::vector<float> tmp;
  for (int b = 0; b < bands; ++b) gather(img + b * plane, src, tmp);
  if (mask) {
    std::vector<uint8_t> tmp8;
    gather(mask, src, tmp8);
  }
}

}  // namespace dalnas
