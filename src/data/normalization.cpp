#include "data/normalization.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace dalnas {
namespace {

constexpr double kStdFloor = 1e-6;

std::vector<float> numbers(const nlohmann::json& j, const char* key, const std::string& context) {
  if (!j.contains(key)) throw Error(context + ": missing '" + key + "'");
  const nlohmann::json& a = j.at(key);
  if (!a.is_array() || a.empty())
    throw Error(context + ": '" + key + "' must be a non-empty array of numbers");
  std::vector<float> out;
  for (const auto& v : a) {
    if (!v.is_number())
      throw Error(context + ": '" + key + "' must be a non-empty array of numbers");
    const double d = v.get<double>();
    if (!std::isfinite(d)) throw Error(context + ": '" + key + "' has a non-finite value");
    if (std::fabs(d) > std::numeric_limits<float>::max())
      throw Error(context + ": '" + key + "' has a value beyond the float range");
    out.push_back(static_cast<float>(d));
  }
  return out;
}

}  // namespace

Normalization Normalization::compute(const std::vector<Scene>& scenes,
                                     const std::vector<int>& which) {
  if (which.empty()) throw Error("normalization: no scenes to compute statistics from");
  int bands = -1;
  std::string first;
  // Per scene and band: exact two-pass mean and sum of squared deviations, merged across scenes
  // with Chan et al.'s pairwise update (no cancellation from large raw values).
  std::vector<double> count, mean, m2;
  for (int idx : which) {
    if (idx < 0 || idx >= static_cast<int>(scenes.size()))
      throw Error("normalization: scene index " + std::to_string(idx) + " out of range (" +
                  std::to_string(scenes.size()) + " scenes)");
    const Scene& s = scenes[idx];
    if (bands < 0) {
      bands = s.bands;
      first = s.name;
      count.assign(bands, 0);
      mean.assign(bands, 0);
      m2.assign(bands, 0);
    } else if (s.bands != bands) {
      throw Error(s.name + ": has " + std::to_string(s.bands) + " bands but " + first + " has " +
                  std::to_string(bands));
    }
    const size_t n = s.pixels();
    if (n == 0) continue;
    if (s.image.size() != n * bands) throw Error(s.name + ": image size does not match its shape");
    for (int b = 0; b < bands; ++b) {
      const float* p = &s.image[b * n];
      double sum = 0;
      for (size_t i = 0; i < n; ++i) sum += p[i];
      const double m = sum / n;
      double ss = 0;
      for (size_t i = 0; i < n; ++i) {
        const double d = p[i] - m;
        ss += d * d;
      }
      const double na = count[b], nb = static_cast<double>(n), nt = na + nb;
      const double delta = m - mean[b];
      mean[b] += delta * nb / nt;
      m2[b] += ss + delta * delta * na * nb / nt;
      count[b] = nt;
    }
  }
  if (bands <= 0 || count[0] == 0) throw Error("normalization: the listed scenes have no pixels");
  Normalization out;
  for (int b = 0; b < bands; ++b) {
    out.mean.push_back(static_cast<float>(mean[b]));
    out.std.push_back(static_cast<float>(std::max(std::sqrt(m2[b] / count[b]), kStdFloor)));
  }
  return out;
}

void Normalization::apply(float* img, int bands, size_t pixels) const {
  if (bands != static_cast<int>(mean.size()))
    throw Error("normalization: statistics are for " + std::to_string(mean.size()) +
                " bands but the image has " + std::to_string(bands));
  for (int b = 0; b < bands; ++b) {
    const float m = mean[b], s = std[b];
    float* p = img + b * pixels;
    for (size_t i = 0; i < pixels; ++i) p[i] = (p[i] - m) / s;
  }
}

nlohmann::json Normalization::to_json() const {
  return nlohmann::json{{"mean", mean}, {"std", std}};
}

Normalization Normalization::from_json(const nlohmann::json& j, const std::string& context) {
  if (!j.is_object()) throw Error(context + ": must be an object with 'mean' and 'std'");
  Normalization out;
  out.mean = numbers(j, "mean", context);
  out.std = numbers(j, "std", context);
  if (out.mean.size() != out.std.size())
    throw Error(context + ": 'mean' has " + std::to_string(out.mean.size()) +
                " values but 'std' has " + std::to_string(out.std.size()));
  for (float s : out.std)
    if (!(s > 0)) throw Error(context + ": 'std' values must be positive");
  return out;
}

}  // namespace dalnas
