#include "train/chips.h"

#include <random>

namespace dalnas {

ChipSet make_chipset(const std::vector<Scene>& scenes, const std::vector<int>& which,
                     const TilingOptions& tiling, const Normalization& norm) {
  const auto refs = tile_scenes(scenes, which, tiling);
  ChipSet set;
  if (refs.empty()) return set;
  const int bands = scenes[refs[0].scene].bands;
  const int s = tiling.size;
  const auto n = static_cast<int64_t>(refs.size());
  set.images = torch::empty({n, bands, s, s}, torch::kFloat32);
  auto masks_u8 = torch::empty({n, 1, s, s}, torch::kUInt8);
  float* img = set.images.data_ptr<float>();
  uint8_t* msk = masks_u8.data_ptr<uint8_t>();
  const size_t img_stride = static_cast<size_t>(bands) * s * s;
  const size_t msk_stride = static_cast<size_t>(s) * s;
  at::parallel_for(0, n, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const ChipRef& r = refs[i];
      float* dst = img + i * img_stride;
      extract_chip(scenes[r.scene], r.y, r.x, s, dst, msk + i * msk_stride);
      norm.apply(dst, bands, msk_stride);
    }
  });
  set.masks = masks_u8.to(torch::kFloat32);
  return set;
}

std::pair<torch::Tensor, torch::Tensor> make_batch(const ChipSet& set,
                                                   const std::vector<int64_t>& idx,
                                                   std::mt19937_64* rng) {
  auto index = torch::from_blob(const_cast<int64_t*>(idx.data()),
                                {static_cast<int64_t>(idx.size())}, torch::kInt64);
  auto x = set.images.index_select(0, index);
  auto y = set.masks.index_select(0, index);
  if (rng) {
    // One random symmetry of the square per sample: flip (bit 0) then k·90° (bits 1-2).
    std::vector<torch::Tensor> xs, ys;
    xs.reserve(idx.size());
    ys.reserve(idx.size());
    for (size_t i = 0; i < idx.size(); ++i) {
      const int k = static_cast<int>((*rng)() % 8);
      auto xi = x[i];
      auto yi = y[i];
      if (k & 1) {
        xi = xi.flip({2});
        yi = yi.flip({2});
      }
      if (k >> 1) {
        xi = xi.rot90(k >> 1, {1, 2});
        yi = yi.rot90(k >> 1, {1, 2});
      }
      xs.push_back(xi);
      ys.push_back(yi);
    }
    x = torch::stack(xs).contiguous();
    y = torch::stack(ys).contiguous();
  }
  return {x, y};
}

}  // namespace dalnas
