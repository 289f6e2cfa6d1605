// Choosing test chips: the smallest vessel first, then the largest; windows inside scenes.
#include <gtest/gtest.h>

#include "report/chip_panels.h"

namespace dalnas::report {
namespace {

Scene scene_with_boxes(int h, int w, const std::vector<std::array<int, 4>>& boxes) {
  Scene s;
  s.name = "s";
  s.bands = 4;
  s.height = h;
  s.width = w;
  s.image.assign(static_cast<size_t>(4 * h * w), 100.0f);
  s.mask.assign(static_cast<size_t>(h * w), 0);
  for (const auto& b : boxes)  // y, x, height, width
    for (int y = b[0]; y < b[0] + b[2]; ++y)
      for (int x = b[1]; x < b[1] + b[3]; ++x) s.mask[static_cast<size_t>(y * w + x)] = 1;
  return s;
}

TEST(ChipWindow, StaysInsideTheScene) {
  int y0 = 0, x0 = 0;
  chip_window(100, 80, 32, 2.0, 79.0, y0, x0);
  EXPECT_EQ(y0, 0);
  EXPECT_EQ(x0, 48);
  chip_window(100, 80, 32, 50.0, 40.0, y0, x0);
  EXPECT_EQ(y0, 34);
  EXPECT_EQ(x0, 24);
}

TEST(ChooseChips, SmallestVesselFirstThenTheLargestEachShownOnce) {
  // Scene 0: a 2×2 vessel (4 px) far from a 12×12 one (144 px); scene 1: a 5×5 (25 px).
  std::vector<Scene> scenes{scene_with_boxes(128, 128, {{10, 10, 2, 2}, {100, 100, 12, 12}}),
                            scene_with_boxes(64, 64, {{30, 30, 5, 5}}),
                            scene_with_boxes(64, 64, {})};
  const auto c = choose_chips(scenes, {0, 1, 2}, 32, 4);
  ASSERT_EQ(c.size(), 3u) << "one chip per vessel when they are apart";
  EXPECT_EQ(c[0].scene, 0);
  EXPECT_EQ(c[0].smallest_px, 4);
  EXPECT_EQ(c[0].vessels, 1);
  EXPECT_EQ(c[1].scene, 0);
  EXPECT_EQ(c[1].smallest_px, 144);
  EXPECT_EQ(c[2].scene, 1);
  EXPECT_EQ(c[2].smallest_px, 25);
  // At most max_chips; a scene not in `which` is never chosen.
  EXPECT_EQ(choose_chips(scenes, {1}, 32, 4).size(), 1u);
  EXPECT_EQ(choose_chips(scenes, {0, 1}, 32, 1).size(), 1u);
  EXPECT_TRUE(choose_chips(scenes, {2}, 32, 4).empty());
}

TEST(ChooseChips, TwoVesselsInOneWindowAreOneChip) {
  std::vector<Scene> scenes{scene_with_boxes(64, 64, {{10, 10, 2, 2}, {16, 16, 6, 6}})};
  const auto c = choose_chips(scenes, {0}, 32, 4);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].vessels, 2);
  EXPECT_EQ(c[0].smallest_px, 4);
}

TEST(CropScene, CopiesEveryBandAndTheMask) {
  Scene s = scene_with_boxes(8, 8, {{2, 3, 1, 1}});
  for (size_t i = 0; i < s.image.size(); ++i) s.image[i] = static_cast<float>(i);
  const Scene c = crop_scene(s, 2, 3, 2, 2);
  EXPECT_EQ(c.mask[0], 1);
  EXPECT_EQ(c.mask[1], 0);
  EXPECT_FLOAT_EQ(c.at(1, 0, 0), s.at(1, 2, 3));
  EXPECT_FLOAT_EQ(c.at(3, 1, 1), s.at(3, 3, 4));
}

}  // namespace
}  // namespace dalnas::report
