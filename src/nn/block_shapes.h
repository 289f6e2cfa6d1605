#pragma once
// Internal channel counts of the blocks, shared by nn/blocks/ and describe() (no libtorch).

namespace dalnas {

// ConvSE: squeeze width of the SE branch, max(1, width / 4).
inline int se_channels(int width) {
  return width / 4 > 1 ? width / 4 : 1;
}
// DenseNetBlock: growth of each of its two k×k convs, max(4, width / 4).
inline int densenet_growth(int width) {
  return width / 4 > 4 ? width / 4 : 4;
}

}  // namespace dalnas
