#include "train/predict.h"

#include <algorithm>
#include <cmath>

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

TileForward host_forward(Network& net) {
  return [&net](const float* in, int n, int bands, int t, float* logits) {
    torch::NoGradGuard ng;
    net->eval();
    auto x = torch::from_blob(const_cast<float*>(in), {n, bands, t, t}, torch::kFloat32);
    auto y = net->forward(x).contiguous();
    std::copy(y.data_ptr<float>(), y.data_ptr<float>() + y.numel(), logits);
  };
}

std::vector<float> predict_scene_with(const TileForward& forward, const Scene& s,
                                      const Normalization* norm, const TileOptions& opt) {
  const int t = opt.tile;
  const size_t tt = static_cast<size_t>(t) * t;
  std::vector<float> weight(tt);
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

  std::vector<uint8_t> scratch(tt);
  std::vector<float> in, logits;
  for (size_t b = 0; b < tiles.size(); b += static_cast<size_t>(opt.batch)) {
    const size_t e = std::min(tiles.size(), b + static_cast<size_t>(opt.batch));
    const int n = static_cast<int>(e - b);
    in.resize(static_cast<size_t>(n) * s.bands * tt);
    logits.resize(static_cast<size_t>(n) * tt);
    for (size_t i = b; i < e; ++i) {
      float* dst = in.data() + (i - b) * static_cast<size_t>(s.bands) * tt;
      extract_chip(s, tiles[i].first, tiles[i].second, t, dst, scratch.data());
      if (norm) norm->apply(dst, s.bands, tt);
    }
    forward(in.data(), n, s.bands, t, logits.data());
    for (size_t i = b; i < e; ++i) {
      const float* z = logits.data() + (i - b) * tt;
      const auto [oy, ox] = tiles[i];
      for (int y = 0; y < t && oy + y < s.height; ++y)
        for (int xx = 0; xx < t && ox + xx < s.width; ++xx) {
          const size_t k = static_cast<size_t>(oy + y) * s.width + ox + xx;
          const size_t q = static_cast<size_t>(y) * t + xx;
          const float p = std::isfinite(z[q]) ? 1.0f / (1.0f + std::exp(-z[q]))
                                              : (z[q] > 0 ? 1.0f : (z[q] < 0 ? 0.0f : NAN));
          acc[k] += weight[q] * p;
          wsum[k] += weight[q];
        }
    }
  }
  for (size_t k = 0; k < acc.size(); ++k) acc[k] /= wsum[k];
  return acc;
}

std::vector<float> predict_scene(Network& net, const Scene& s, const Normalization& norm,
                                 const TileOptions& opt) {
  return predict_scene_with(host_forward(net), s, &norm, opt);
}

Metrics evaluate_scenes_with(const TileForward& forward, const std::vector<Scene>& scenes,
                             const std::vector<int>& which, const Normalization* norm,
                             const TileOptions& opt) {
  Metrics m;
  for (int i : which) {
    const auto prob = predict_scene_with(forward, scenes[i], norm, opt);
    m.add_scene(prob.data(), scenes[i].mask.data(), scenes[i].height, scenes[i].width);
  }
  return m;
}

Metrics evaluate_scenes(Network& net, const std::vector<Scene>& scenes,
                        const std::vector<int>& which, const Normalization& norm,
                        const TileOptions& opt) {
  Metrics m = evaluate_scenes_with(host_forward(net), scenes, which, &norm, opt);
  m.params = count_parameters(*net);
  return m;
}

}  // namespace dalnas
