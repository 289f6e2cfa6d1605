#pragma once
// Geometric augmentation of square chips: the 8 symmetries of the square
// (identity, 3 rotations by 90°, and their mirror images).
#include <cstdint>

namespace dalnas {

// Applies symmetry `k` in 0..7 (bit 0: horizontal flip, bits 1-2: number of 90° rotations)
// to a bands × size × size image and its size × size mask, in place.
void augment_chip(float* img, uint8_t* mask, int bands, int size, int k);

}  // namespace dalnas
