#pragma once
// Pictures of one chip for the report: an RGB composite with a percentile stretch, masks,
// and a prediction with its errors coloured; PNG encoding through GDAL's PNG driver.
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "data/scene.h"

namespace dalnas::report {

// An 8-bit RGB image, height × width × 3, row-major, interleaved.
struct Rgb8 {
  int height = 0, width = 0;
  std::vector<uint8_t> rgb;
  std::array<uint8_t, 3> at(int y, int x) const {
    const size_t i = (static_cast<size_t>(y) * width + x) * 3;
    return {rgb[i], rgb[i + 1], rgb[i + 2]};
  }
};

// The values at quantiles `lo` and `hi` (0..1) of the finite values in v[0..n): linear
// interpolation between order statistics (position q·(m−1) in the sorted m finite values).
// {0, 0} when no value is finite.
std::pair<float, float> percentile_range(const float* v, size_t n, double lo = 0.02,
                                         double hi = 0.98);
// v mapped linearly from [lo, hi] to 0..255, clamped (NaN and hi <= lo give 0).
uint8_t stretch(float v, float lo, float hi);

// The bands shown as red, green, blue: for sen2ships and the synthetic scenes the bands
// are B02, B03, B04, B08 (blue, green, red, near infrared; docs/deploy.md), so
// (B04, B03, B02) = indices (2, 1, 0); a scene with fewer than 3 bands is grey (band 0).
std::array<int, 3> rgb_bands(int bands);

// The window (y0, x0, h, w) of a scene as an RGB composite, each band stretched between
// its own 2nd and 98th percentile within the window.
Rgb8 rgb_composite(const Scene& s, int y0, int x0, int h, int w);

// Mask: vessel white, background black. `mask` is h × w.
Rgb8 mask_image(const uint8_t* mask, int h, int w);

// Colours of a prediction against the ground truth.
constexpr std::array<uint8_t, 3> kTruePositive{255, 255, 255};  // white
constexpr std::array<uint8_t, 3> kFalsePositive{230, 40, 40};   // red
constexpr std::array<uint8_t, 3> kFalseNegative{30, 150, 255};  // blue
constexpr std::array<uint8_t, 3> kTrueNegative{0, 0, 0};        // black
// Predicted vessel where prob >= threshold (NaN = background, as the metrics count it).
Rgb8 error_image(const float* prob, const uint8_t* gt, int h, int w, float threshold = 0.5f);

// PNG bytes of the image (GDAL's PNG driver through /vsimem/); throws dalnas::Error.
std::string encode_png(const Rgb8& img);

}  // namespace dalnas::report
