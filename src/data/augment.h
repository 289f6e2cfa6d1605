#pragma once
// Geometric augmentation of square chips: the 8 symmetries of the square
// (identity, 3 rotations by 90°, and their mirror images).
#include <cstdint>

namespace dalnas {

// Applies symmetry `k` in 0..7 (bit 0: horizontal flip, bits 1-2: number of 90° rotations)
// to a bands × size × size image and its size × size mask (may be null), in place. The flip
// (x -> size-1-x) comes first, then the counter-clockwise rotations (numpy.rot90 convention:
// out[y][x] = in[x][size-1-y]). Throws std::invalid_argument for k outside 0..7.
void augment_chip(float* img, uint8_t* mask, int bands, int size, int k);

}  // namespace dalnas
