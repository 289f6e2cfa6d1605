#include "train/predict.h"

#include <algorithm>

#include "data/tiling.h"

namespace dalnas {

std::vector<int> tile_origins(int len, int tile, int overlap) {
  std::vector<int> o;
  if (len <= tile) return {0};
  const int step = std::max(1, tile - overlap);
  for (int p = 0;; p += step) {
    if (p + tile >= len) {
      o.push_back(len - tile);
      break;
    }
    o.push_back(p);
  }
  return o;
}

std::vector<float> predict_scene(Network& net, const Scene& s, const Normalization& norm,
                                 const TileOptions& opt) {
  torch::NoGradGuard ng;
  net->eval();
  const int t = opt.tile;
  std::vector<float> weight(static_cast<size_t>(t) * t);
  for (int y = 0; y < t; ++y)
    for (int x = 0; x < t; ++x) {
      const int d = std::min(std::min(y, x), std::min(t - 1 - y, t - 1 - x));
      weight[static_cast<size_t>(y) * t + x] =
          std::min(1.0f, static_cast<float>(d + 1) / static_cast<float>(opt.overlap + 1));
    }
  std::vector<float> acc(s.pixels(), 0.0f), wsum(s.pixels(), 0.0f);
  std::vector<std::pair<int, int>> tiles;
  for (int y : tile_origins(s.height, t, opt.overlap))
    for (int x : tile_origins(s.width, t, opt.overlap)) tiles.emplace_back(y, x);

  std::vector<uint8_t> scratch(static_cast<size_t>(t) * t);
  for (size_t b = 0; b < tiles.size(); b += static_cast<size_t>(opt.batch)) {
    const size_t e = std::min(tiles.size(), b + static_cast<size_t>(opt.batch));
    auto x = torch::empty({static_cast<int64_t>(e - b), s.bands, t, t}, torch::kFloat32);
    float* xp = x.data_ptr<float>();
    for (size_t i = b; i < e; ++i) {
      float* dst = xp + (i - b) * static_cast<size_t>(s.bands) * t * t;
      extract_chip(s, tiles[i].first, tiles[i].second, t, dst, scratch.data());
      norm.apply(dst, s.bands, static_cast<size_t>(t) * t);
    }
    auto prob = torch::sigmoid(net->forward(x)).contiguous();
    const float* pp = prob.data_ptr<float>();
    for (size_t i = b; i < e; ++i) {
      const float* p = pp + (i - b) * static_cast<size_t>(t) * t;
      const auto [oy, ox] = tiles[i];
      for (int y = 0; y < t && oy + y < s.height; ++y)
        for (int xx = 0; xx < t && ox + xx < s.width; ++xx) {
          const size_t k = static_cast<size_t>(oy + y) * s.width + ox + xx;
          const float w = weight[static_cast<size_t>(y) * t + xx];
          acc[k] += w * p[static_cast<size_t>(y) * t + xx];
          wsum[k] += w;
        }
    }
  }
  for (size_t k = 0; k < acc.size(); ++k) acc[k] /= wsum[k];
  return acc;
}

Metrics evaluate_scenes(Network& net, const std::vector<Scene>& scenes,
                        const std::vector<int>& which, const Normalization& norm,
                        const TileOptions& opt) {
  Metrics m;
  m.params = count_parameters(*net);
  for (int i : which) {
    const auto prob = predict_scene(net, scenes[i], norm, opt);
    m.cm.add(prob.data(), scenes[i].mask.data(), prob.size());
  }
  return m;
}

}  // namespace dalnas
