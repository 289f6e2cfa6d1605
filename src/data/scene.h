#pragma once
// Scene: one multi-band image and its binary vessel mask, held in memory.
#include <cstdint>
#include <string>
#include <vector>

namespace dalnas {

struct Scene {
  std::string name;  // unique within a dataset (file stem, COCO file_name stem, synthetic-<i>)
  int bands = 0;
  int height = 0;
  int width = 0;
  std::vector<float>
      image;  // bands × height × width, band-major, raw digital numbers (uint16 range)
  std::vector<uint8_t> mask;  // height × width, 1 = vessel, 0 = background

  float at(int b, int y, int x) const {
    return image[(static_cast<size_t>(b) * height + y) * width + x];
  }
  size_t pixels() const { return static_cast<size_t>(height) * width; }
};

}  // namespace dalnas
