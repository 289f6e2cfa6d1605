#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "data/tiling.h"

namespace dalnas {
namespace {

Scene random_scene(int bands, int h, int w, uint32_t seed, double vessel_rate = 0.0) {
  std::mt19937 rng(seed);
  Scene s;
  s.name = "s" + std::to_string(seed);
  s.bands = bands;
  s.height = h;
  s.width = w;
  s.image.resize(static_cast<size_t>(bands) * h * w);
  for (float& v : s.image) v = static_cast<float>(rng() % 65536);
  s.mask.assign(static_cast<size_t>(h) * w, 0);
  std::uniform_real_distribution<double> u(0, 1);
  for (uint8_t& m : s.mask) m = u(rng) < vessel_rate;
  return s;
}

// numpy 'reflect' for one step (no edge repeat), clamped when the scene is too small for it.
int naive_reflect(int i, int n) {
  if (i >= 0 && i < n) return i;
  int r = i < 0 ? -i : 2 * (n - 1) - i;
  if (r < 0) r = 0;
  if (r > n - 1) r = n - 1;
  return r;
}

void naive_chip(const Scene& s, int y, int x, int size, std::vector<float>& img,
                std::vector<uint8_t>& mask) {
  img.assign(static_cast<size_t>(s.bands) * size * size, 0);
  mask.assign(static_cast<size_t>(size) * size, 0);
  for (int b = 0; b < s.bands; ++b)
    for (int cy = 0; cy < size; ++cy)
      for (int cx = 0; cx < size; ++cx)
        img[(static_cast<size_t>(b) * size + cy) * size + cx] =
            s.at(b, naive_reflect(y + cy, s.height), naive_reflect(x + cx, s.width));
  for (int cy = 0; cy < size; ++cy)
    for (int cx = 0; cx < size; ++cx) {
      const int sy = y + cy, sx = x + cx;
      if (sy >= 0 && sy < s.height && sx >= 0 && sx < s.width)
        mask[static_cast<size_t>(cy) * size + cx] = s.mask[static_cast<size_t>(sy) * s.width + sx];
    }
}

TEST(Tiling, KnownOrigins) {
  std::vector<Scene> scenes{random_scene(1, 300, 200, 1)};
  TilingOptions opt;
  opt.size = 128;
  opt.stride = 96;
  opt.background_keep = 1;
  std::set<std::pair<int, int>> got;
  for (const ChipRef& c : tile_scenes(scenes, {0}, opt)) {
    EXPECT_EQ(c.scene, 0);
    got.insert({c.y, c.x});
  }
  const std::set<std::pair<int, int>> want{{0, 0}, {0, 72}, {96, 0}, {96, 72}, {172, 0}, {172, 72}};
  EXPECT_EQ(got, want);

  // Exact multiples: no duplicate last chip.
  scenes = {random_scene(1, 256, 128, 2)};
  opt.stride = 128;
  const auto chips = tile_scenes(scenes, {0}, opt);
  ASSERT_EQ(chips.size(), 2u);
  EXPECT_EQ(std::make_pair(chips[0].y, chips[0].x), std::make_pair(0, 0));
  EXPECT_EQ(std::make_pair(chips[1].y, chips[1].x), std::make_pair(128, 0));

  // Smaller than a chip: one chip at the origin.
  scenes = {random_scene(1, 50, 70, 3)};
  const auto small = tile_scenes(scenes, {0}, opt);
  ASSERT_EQ(small.size(), 1u);
  EXPECT_EQ(small[0].y, 0);
  EXPECT_EQ(small[0].x, 0);
}

TEST(Tiling, ChipsCoverEveryPixel) {
  const std::vector<std::tuple<int, int, int, int>> cases{{300, 200, 128, 96},
                                                          {129, 257, 64, 64},
                                                          {100, 100, 100, 1},
                                                          {37, 500, 16, 5},
                                                          {20, 30, 64, 48}};
  for (const auto& [h, w, size, stride] : cases) {
    std::vector<Scene> scenes{random_scene(1, h, w, 4)};
    TilingOptions opt;
    opt.size = size;
    opt.stride = stride;
    opt.background_keep = 1;
    std::vector<int> covered(static_cast<size_t>(h) * w, 0);
    std::set<std::pair<int, int>> seen;
    for (const ChipRef& c : tile_scenes(scenes, {0}, opt)) {
      EXPECT_TRUE(seen.insert({c.y, c.x}).second) << "duplicate chip";
      EXPECT_GE(c.y, 0);
      EXPECT_GE(c.x, 0);
      if (h >= size) {
        EXPECT_LE(c.y + size, h);
      }
      if (w >= size) {
        EXPECT_LE(c.x + size, w);
      }
      for (int y = c.y; y < std::min(h, c.y + size); ++y)
        for (int x = c.x; x < std::min(w, c.x + size); ++x)
          covered[static_cast<size_t>(y) * w + x]++;
    }
    EXPECT_EQ(std::count(covered.begin(), covered.end(), 0), 0)
        << h << "x" << w << " size " << size << " stride " << stride;
  }
}

TEST(Tiling, HasVesselAndBackgroundKeep) {
  std::vector<Scene> scenes{random_scene(2, 200, 150, 5, 0.0), random_scene(2, 90, 260, 6, 0.0)};
  // A few vessel pixels, one exactly on a chip boundary.
  scenes[0].mask[10 * 150 + 10] = 1;
  scenes[0].mask[199 * 150 + 149] = 1;
  scenes[1].mask[40 * 260 + 100] = 1;
  TilingOptions opt;
  opt.size = 32;
  opt.stride = 32;
  opt.background_keep = 1;
  const auto all = tile_scenes(scenes, {0, 1}, opt);
  int vessel_chips = 0;
  for (const ChipRef& c : all) {
    const Scene& s = scenes[c.scene];
    bool naive = false;
    for (int y = c.y; y < std::min(s.height, c.y + opt.size); ++y)
      for (int x = c.x; x < std::min(s.width, c.x + opt.size); ++x)
        naive |= s.mask[y * s.width + x] != 0;
    EXPECT_EQ(c.has_vessel, naive) << c.scene << " " << c.y << " " << c.x;
    vessel_chips += naive;
  }
  EXPECT_EQ(vessel_chips, 3);

  opt.background_keep = 0;
  const auto only = tile_scenes(scenes, {0, 1}, opt);
  ASSERT_EQ(only.size(), 3u);
  for (const ChipRef& c : only) EXPECT_TRUE(c.has_vessel);

  // Only listed scenes are tiled.
  opt.background_keep = 1;
  for (const ChipRef& c : tile_scenes(scenes, {1}, opt)) EXPECT_EQ(c.scene, 1);
}

TEST(Tiling, BackgroundSamplingIsSeeded) {
  std::vector<Scene> scenes{random_scene(1, 640, 640, 7)};
  TilingOptions opt;
  opt.size = 16;
  opt.stride = 16;  // 1600 background chips
  opt.background_keep = 0.3;
  opt.seed = 11;
  const auto a = tile_scenes(scenes, {0}, opt);
  const auto b = tile_scenes(scenes, {0}, opt);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].y, b[i].y);
    EXPECT_EQ(a[i].x, b[i].x);
  }
  EXPECT_GT(a.size(), 1600 * 0.25);
  EXPECT_LT(a.size(), 1600 * 0.35);
  opt.seed = 12;
  const auto c = tile_scenes(scenes, {0}, opt);
  std::set<std::pair<int, int>> sa, sc;
  for (const auto& r : a) sa.insert({r.y, r.x});
  for (const auto& r : c) sc.insert({r.y, r.x});
  EXPECT_NE(sa, sc);
}

TEST(Tiling, RejectsBadOptions) {
  std::vector<Scene> scenes{random_scene(1, 64, 64, 8)};
  TilingOptions opt;
  opt.size = 32;
  opt.stride = 33;
  EXPECT_THROW(tile_scenes(scenes, {0}, opt), Error);
  opt.stride = 0;
  EXPECT_THROW(tile_scenes(scenes, {0}, opt), Error);
  opt.stride = 16;
  opt.size = 0;
  EXPECT_THROW(tile_scenes(scenes, {0}, opt), Error);
  opt.size = 32;
  opt.background_keep = 1.5;
  EXPECT_THROW(tile_scenes(scenes, {0}, opt), Error);
  opt.background_keep = 0.5;
  EXPECT_THROW(tile_scenes(scenes, {1}, opt), Error);
}

TEST(Tiling, ReflectPaddingKnownValues) {
  Scene s;
  s.bands = 1;
  s.height = 1;
  s.width = 4;
  s.image = {10, 11, 12, 13};
  s.mask = {1, 0, 0, 1};
  std::vector<float> img(8 * 8);
  std::vector<uint8_t> mask(8 * 8, 7);
  extract_chip(s, 0, -2, 8, img.data(), mask.data());
  // Row 0: x = -2..5 -> 2 1 0 1 2 3 2 1.
  const std::vector<float> row0{12, 11, 10, 11, 12, 13, 12, 11};
  EXPECT_EQ(std::vector<float>(img.begin(), img.begin() + 8), row0);
  const std::vector<uint8_t> mrow0{0, 0, 1, 0, 0, 1, 0, 0};
  EXPECT_EQ(std::vector<uint8_t>(mask.begin(), mask.begin() + 8), mrow0);
  // Rows below a 1-pixel-high scene repeat it; their mask is 0.
  for (int y = 1; y < 8; ++y) {
    EXPECT_EQ(std::vector<float>(img.begin() + y * 8, img.begin() + y * 8 + 8), row0);
    for (int x = 0; x < 8; ++x) EXPECT_EQ(mask[y * 8 + x], 0);
  }
  // Padding wider than the scene: a single reflection, then the edge value.
  s.width = 3;
  s.image = {1, 2, 3};
  s.mask = {0, 0, 0};
  extract_chip(s, 0, 0, 8, img.data(), mask.data());
  const std::vector<float> clamped{1, 2, 3, 2, 1, 1, 1, 1};
  EXPECT_EQ(std::vector<float>(img.begin(), img.begin() + 8), clamped);
}

TEST(Tiling, ExtractChipMatchesNaive) {
  const Scene s = random_scene(3, 37, 53, 9, 0.1);
  std::vector<Scene> scenes{s};
  std::vector<float> img, ref_img;
  std::vector<uint8_t> mask, ref_mask;
  for (int size : {16, 37, 64}) {
    TilingOptions opt;
    opt.size = size;
    opt.stride = std::max(1, size * 3 / 4);
    opt.background_keep = 1;
    auto chips = tile_scenes(scenes, {0}, opt);
    chips.push_back({0, -5, -7, false});  // origins outside the scene
    chips.push_back({0, 30, 50, false});
    for (const ChipRef& c : chips) {
      img.assign(static_cast<size_t>(3) * size * size, -1);
      mask.assign(static_cast<size_t>(size) * size, 9);
      extract_chip(s, c.y, c.x, size, img.data(), mask.data());
      naive_chip(s, c.y, c.x, size, ref_img, ref_mask);
      EXPECT_EQ(img, ref_img) << "size " << size << " at " << c.y << "," << c.x;
      EXPECT_EQ(mask, ref_mask) << "size " << size << " at " << c.y << "," << c.x;
    }
  }
}

}  // namespace
}  // namespace dalnas
