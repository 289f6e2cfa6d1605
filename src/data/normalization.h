#pragma once
// Per-band affine normalisation (x - mean) / std, with statistics from the train split.
// Saved with the model; affine so the device can fold it into the first convolution.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "data/scene.h"

namespace dalnas {

struct Normalization {
  std::vector<float> mean, std;  // one per band

  // Statistics over every pixel of the listed scenes (double accumulation).
  static Normalization compute(const std::vector<Scene>& scenes, const std::vector<int>& which);
  void apply(float* img, int bands, size_t pixels) const;  // in place, band-major
  nlohmann::json to_json() const;
  // Throws dalnas::Error naming `context` if fields are missing or sizes disagree.
  static Normalization from_json(const nlohmann::json& j, const std::string& context);
};

}  // namespace dalnas
