#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "data/synthetic.h"

namespace dalnas {
namespace {

// The default set (12 scenes of 256 × 256, seed 1), generated once for the whole suite.
class SyntheticSet : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto t0 = std::chrono::steady_clock::now();
    scenes_ = new std::vector<Scene>(make_synthetic(SyntheticOptions{}));
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  static void TearDownTestSuite() {
    delete scenes_;
    scenes_ = nullptr;
  }
  static const std::vector<Scene>& scenes() { return *scenes_; }
  static std::vector<Scene>* scenes_;
  static double seconds_;
};
std::vector<Scene>* SyntheticSet::scenes_ = nullptr;
double SyntheticSet::seconds_ = 0;

double median(std::vector<float> v) {
  if (v.empty()) return NAN;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// Sizes of the 8-connected components of a mask.
std::vector<int> component_sizes(const Scene& s) {
  std::vector<int> sizes;
  std::vector<uint8_t> seen(s.pixels(), 0);
  std::vector<int> stack;
  for (int start = 0; start < static_cast<int>(s.pixels()); ++start) {
    if (!s.mask[start] || seen[start]) continue;
    int size = 0;
    stack.push_back(start);
    seen[start] = 1;
    while (!stack.empty()) {
      const int p = stack.back();
      stack.pop_back();
      ++size;
      const int y = p / s.width, x = p % s.width;
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
          const int yy = y + dy, xx = x + dx;
          if (yy < 0 || yy >= s.height || xx < 0 || xx >= s.width) continue;
          const int q = yy * s.width + xx;
          if (s.mask[q] && !seen[q]) {
            seen[q] = 1;
            stack.push_back(q);
          }
        }
      }
    }
    sizes.push_back(size);
  }
  return sizes;
}

TEST_F(SyntheticSet, ShapesAndNames) {
  ASSERT_EQ(scenes().size(), 12u);
  for (size_t i = 0; i < scenes().size(); ++i) {
    const Scene& s = scenes()[i];
    char name[32];
    std::snprintf(name, sizeof(name), "synthetic-%03zu", i);
    EXPECT_EQ(s.name, name);
    EXPECT_EQ(s.bands, 4);
    EXPECT_EQ(s.height, 256);
    EXPECT_EQ(s.width, 256);
    EXPECT_EQ(s.image.size(), 4u * 256 * 256);
    EXPECT_EQ(s.mask.size(), 256u * 256);
  }
}

TEST_F(SyntheticSet, GeneratesQuickly) {
  // Target: well under 1 s; the bound is loose because the test machines are shared.
  EXPECT_LT(seconds_, 5.0);
}

TEST_F(SyntheticSet, ValuesAreUint16Integers) {
  for (const Scene& s : scenes()) {
    for (float v : s.image) {
      ASSERT_GE(v, 0.0f) << s.name;
      ASSERT_LE(v, 65535.0f) << s.name;
      ASSERT_EQ(v, std::round(v)) << s.name;
    }
    for (uint8_t m : s.mask) ASSERT_LE(m, 1) << s.name;
  }
}

TEST_F(SyntheticSet, SeaReflectanceIsPlausible) {
  // Open water (not vessel, near infrared below green: not land, not bare structures):
  // visible bands 2,000-5,000 DN, near infrared lower.
  for (const Scene& s : scenes()) {
    std::vector<float> band[4];
    for (size_t i = 0; i < s.pixels(); ++i) {
      if (s.mask[i] || s.image[3 * s.pixels() + i] >= s.image[s.pixels() + i]) continue;
      for (int b = 0; b < 4; ++b) band[b].push_back(s.image[b * s.pixels() + i]);
    }
    ASSERT_GT(band[0].size(), s.pixels() / 4) << s.name << ": too little open water";
    for (int b = 0; b < 3; ++b) {
      const double m = median(band[b]);
      EXPECT_GE(m, 2000) << s.name << " band " << b;
      EXPECT_LE(m, 5000) << s.name << " band " << b;
      EXPECT_LT(median(band[3]), m) << s.name << " band " << b;
    }
  }
}

TEST_F(SyntheticSet, MaskFractionIsPlausible) {
  for (const Scene& s : scenes()) {
    size_t vessel = 0;
    for (uint8_t m : s.mask) vessel += m;
    EXPECT_GT(vessel, 0u) << s.name;
    EXPECT_LT(vessel, s.pixels() / 20) << s.name;
  }
}

TEST_F(SyntheticSet, SomeScenesHaveSaturatedPixels) {
  int with = 0, without = 0;
  for (const Scene& s : scenes()) {
    size_t saturated = 0;
    for (size_t i = 0; i < s.pixels(); ++i) {
      bool any = false;
      for (int b = 0; b < 4; ++b) any |= s.image[b * s.pixels() + i] == 65535.0f;
      saturated += any;
    }
    EXPECT_LE(saturated, 100u) << s.name;
    (saturated > 0 ? with : without)++;
  }
  EXPECT_GT(with, 0);
  EXPECT_GT(without, 0);
}

TEST_F(SyntheticSet, VesselSizesSpanSmallToLarge) {
  std::vector<int> all;
  for (const Scene& s : scenes()) {
    const auto sizes = component_sizes(s);
    all.insert(all.end(), sizes.begin(), sizes.end());
  }
  ASSERT_GE(all.size(), 24u);  // at least min_vessels = 2 per scene
  std::sort(all.begin(), all.end());
  EXPECT_LT(all.front(), 20);
  EXPECT_GE(all.back(), 100);
  // Skewed to small vessels: most components are small.
  EXPECT_LT(all[all.size() / 2], 60);
}

TEST_F(SyntheticSet, BrightnessThresholdDoesNotReproduceMask) {
  // Best IoU of `band > t` against the mask over all 12 scenes, for every band and threshold.
  for (int b = 0; b < 4; ++b) {
    std::vector<std::pair<float, uint8_t>> px;
    size_t positives = 0;
    for (const Scene& s : scenes()) {
      for (size_t i = 0; i < s.pixels(); ++i) {
        px.push_back({s.image[b * s.pixels() + i], s.mask[i]});
        positives += s.mask[i];
      }
    }
    std::sort(px.begin(), px.end(), [](const auto& a, const auto& c) { return a.first > c.first; });
    double best = 0;
    size_t tp = 0;
    for (size_t k = 0; k < px.size(); ++k) {
      tp += px[k].second;
      if (k + 1 < px.size() && px[k + 1].first == px[k].first) continue;
      const double iou = static_cast<double>(tp) / (positives + (k + 1) - tp);
      best = std::max(best, iou);
    }
    EXPECT_LT(best, 0.8) << "band " << b;
  }
}

TEST_F(SyntheticSet, VesselsStandOutFromWater) {
  // Pooled over the set, vessel pixels are clearly brighter than open water in every band.
  std::vector<float> vessel[4], water[4];
  for (const Scene& s : scenes()) {
    for (size_t i = 0; i < s.pixels(); ++i) {
      const bool open_water = !s.mask[i] && s.image[3 * s.pixels() + i] < s.image[s.pixels() + i];
      if (!s.mask[i] && !open_water) continue;
      for (int b = 0; b < 4; ++b)
        (s.mask[i] ? vessel : water)[b].push_back(s.image[b * s.pixels() + i]);
    }
  }
  for (int b = 0; b < 4; ++b) EXPECT_GT(median(vessel[b]), median(water[b]) + 1000) << "band " << b;
}

TEST_F(SyntheticSet, VesselsAreNotOnLand) {
  // Land (vegetation, soil) has near infrared well above green; no vessel pixel touches it.
  size_t land = 0;
  for (const Scene& s : scenes()) {
    const size_t n = s.pixels();
    auto is_land = [&](size_t i) { return s.image[3 * n + i] > 1.3f * s.image[n + i]; };
    for (size_t i = 0; i < n; ++i) land += is_land(i);
    for (int y = 0; y < s.height; ++y) {
      for (int x = 0; x < s.width; ++x) {
        if (!s.mask[y * s.width + x]) continue;
        for (int dy = -1; dy <= 1; ++dy) {
          for (int dx = -1; dx <= 1; ++dx) {
            const int yy = y + dy, xx = x + dx;
            if (yy < 0 || yy >= s.height || xx < 0 || xx >= s.width) continue;
            const size_t q = static_cast<size_t>(yy) * s.width + xx;
            EXPECT_FALSE(!s.mask[q] && is_land(q)) << s.name << " at " << yy << "," << xx;
          }
        }
      }
    }
  }
  EXPECT_GT(land, 10000u);  // the set does contain land
}

TEST_F(SyntheticSet, BrightNonVesselPixelsExist) {
  // Wakes, glint, land and structures: many non-vessel pixels well above the sea level.
  size_t bright_background = 0;
  for (const Scene& s : scenes()) {
    std::vector<float> red(s.image.begin() + 2 * s.pixels(), s.image.begin() + 3 * s.pixels());
    const double sea = median(red);
    for (size_t i = 0; i < s.pixels(); ++i)
      bright_background += !s.mask[i] && s.image[2 * s.pixels() + i] > sea + 1500;
  }
  EXPECT_GT(bright_background, 1000u);
}

TEST(Synthetic, DeterministicForASeed) {
  SyntheticOptions opt;
  opt.scenes = 3;
  opt.height = 96;
  opt.width = 80;
  const auto a = make_synthetic(opt);
  const auto b = make_synthetic(opt);
  ASSERT_EQ(a.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a[i].image, b[i].image);
    EXPECT_EQ(a[i].mask, b[i].mask);
    const Scene one = make_synthetic_scene(opt, i);
    EXPECT_EQ(one.name, a[i].name);
    EXPECT_EQ(one.image, a[i].image);
    EXPECT_EQ(one.mask, a[i].mask);
    EXPECT_EQ(one.height, 96);
    EXPECT_EQ(one.width, 80);
  }
  EXPECT_NE(a[0].image, a[1].image);

  // A scene does not depend on how many scenes are generated.
  SyntheticOptions more = opt;
  more.scenes = 5;
  EXPECT_EQ(make_synthetic_scene(more, 2).image, a[2].image);

  SyntheticOptions other = opt;
  other.seed = 2;
  const auto c = make_synthetic(other);
  for (int i = 0; i < 3; ++i) EXPECT_NE(c[i].image, a[i].image);
}

TEST(Synthetic, VesselCountOptions) {
  SyntheticOptions opt;
  opt.scenes = 4;
  opt.height = 64;
  opt.width = 64;
  opt.min_vessels = 0;
  opt.max_vessels = 0;
  for (const Scene& s : make_synthetic(opt))
    EXPECT_EQ(std::count(s.mask.begin(), s.mask.end(), 1), 0) << s.name;
  opt.min_vessels = 1;
  opt.max_vessels = 1;
  opt.height = 24;
  opt.width = 40;
  for (const Scene& s : make_synthetic(opt)) {
    EXPECT_GT(std::count(s.mask.begin(), s.mask.end(), 1), 0) << s.name;
    EXPECT_LT(std::count(s.mask.begin(), s.mask.end(), 1), 24 * 40 / 4) << s.name;
  }
}

TEST(Synthetic, RejectsBadOptions) {
  SyntheticOptions opt;
  opt.height = 0;
  EXPECT_THROW(make_synthetic(opt), Error);
  opt = SyntheticOptions{};
  opt.min_vessels = 5;
  opt.max_vessels = 3;
  try {
    make_synthetic(opt);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("synthetic.max_vessels"), std::string::npos);
  }
  opt = SyntheticOptions{};
  EXPECT_THROW(make_synthetic_scene(opt, opt.scenes), Error);
  EXPECT_THROW(make_synthetic_scene(opt, -1), Error);
}

}  // namespace
}  // namespace dalnas
