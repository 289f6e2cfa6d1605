#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/dataset.h"
#include "data/raster.h"
#include "data_test_util.h"

namespace fs = std::filesystem;
using namespace dalnas;
using namespace dalnas::test;

namespace {

Raster raster(int bands, int h, int w) {
  Raster r;
  r.bands = bands;
  r.height = h;
  r.width = w;
  r.data.assign(static_cast<size_t>(bands) * h * w, 1234.0f);
  return r;
}

void folder_scene(const TempDir& dir, const std::string& name, int bands, int h, int w) {
  fs::create_directories(dir.path / "images");
  fs::create_directories(dir.path / "masks");
  write_geotiff(dir / ("images/" + name + ".tif"), raster(bands, h, w));
  std::vector<uint8_t> m(static_cast<size_t>(h) * w, 0);
  m[0] = 1;
  write_mask(dir / ("masks/" + name + ".png"), m, h, w, true);
}

void coco_dataset(const TempDir& dir, const std::string& json_name) {
  write_geotiff(dir / "s1.tif", raster(4, 4, 5));
  write_geotiff(dir / "s2.tif", raster(4, 3, 3));
  std::ofstream(dir / json_name) << R"({
    "images": [{"id": 1, "file_name": "s1.tif", "width": 5, "height": 4},
               {"id": 2, "file_name": "s2.tif", "width": 3, "height": 3}],
    "annotations": [{"image_id": 1, "segmentation": {"counts": [0, 4, 16], "size": [4, 5]}},
                    {"image_id": 2, "segmentation": [[0, 0, 1, 0, 1, 1, 0, 1]]}]})";
}

SyntheticOptions small_synth() {
  SyntheticOptions o;
  o.height = 48;
  o.width = 40;
  o.scenes = 2;
  return o;
}

}  // namespace

TEST(Dataset, CocoByFileAndByFolder) {
  TempDir dir("dalnas-dataset");
  coco_dataset(dir, "labels.json");
  for (const std::string& spec : {dir / "labels.json", dir.path.string()}) {
    DatasetInfo info;
    const auto scenes = load_dataset(spec, {}, &info);
    ASSERT_EQ(scenes.size(), 2u) << spec;
    EXPECT_EQ(info.format, "coco");
    EXPECT_EQ(info.annotations, 2);
    EXPECT_EQ(fs::path(info.path).filename(), "labels.json");
    EXPECT_EQ(scenes[0].name, "s1");
    EXPECT_EQ(std::count(scenes[0].mask.begin(), scenes[0].mask.end(), 1), 4);  // column 0
    EXPECT_EQ(scenes[1].mask[0], 1);
  }
}

TEST(Dataset, FolderWhenNoJson) {
  TempDir dir("dalnas-dataset");
  folder_scene(dir, "x", 4, 6, 7);
  folder_scene(dir, "y", 4, 5, 5);
  DatasetInfo info;
  const auto scenes = load_dataset(dir.path.string(), {}, &info);
  ASSERT_EQ(scenes.size(), 2u);
  EXPECT_EQ(info.format, "folder");
  EXPECT_EQ(info.annotations, 0);
  EXPECT_EQ(scenes[1].name, "y");
  EXPECT_EQ(scenes[1].mask[0], 1);
}

TEST(Dataset, FolderWithSeveralJsonFilesStillLoadsImagesAndMasks) {
  TempDir dir("dalnas-dataset");
  folder_scene(dir, "x", 4, 6, 7);
  std::ofstream(dir / "a.json") << "{}";
  std::ofstream(dir / "b.json") << "{}";
  EXPECT_EQ(load_dataset(dir.path.string()).size(), 1u);
  fs::remove_all(dir.path / "images");
  expect_contains(error_of([&] { load_dataset(dir.path.string()); }),
                  {dir.path.string(), "2 .json files"});
}

TEST(Dataset, UnknownSpec) {
  TempDir dir("dalnas-dataset");
  const std::string want = "no such dataset (expected 'synthetic', a COCO .json file or a folder";
  expect_contains(error_of([&] { load_dataset(dir / "missing"); }), {"missing: " + want});
  expect_contains(error_of([&] { load_dataset(dir / "missing.json"); }), {"missing.json: " + want});
  std::ofstream(dir / "file.txt") << "x";
  expect_contains(error_of([&] { load_dataset(dir / "file.txt"); }), {"file.txt: " + want});
  expect_contains(error_of([] { load_dataset("synth"); }), {"synth: no such dataset"});
}

TEST(Dataset, EmptyDataset) {
  TempDir dir("dalnas-dataset");
  fs::create_directories(dir.path / "images");
  fs::create_directories(dir.path / "masks");
  expect_contains(error_of([&] { load_dataset(dir.path.string()); }),
                  {dir.path.string() + ": dataset is empty"});
  std::ofstream(dir / "ann.json") << R"({"images": [], "annotations": []})";
  expect_contains(error_of([&] { load_dataset(dir / "ann.json"); }),
                  {"ann.json: dataset is empty"});
}

TEST(Dataset, BandCountsMustAgree) {
  TempDir dir("dalnas-dataset");
  folder_scene(dir, "x", 4, 6, 7);
  folder_scene(dir, "y", 3, 6, 7);
  expect_contains(error_of([&] { load_dataset(dir.path.string()); }),
                  {dir.path.string() + ": scene 'y' has 3 bands but 'x' has 4"});
}

TEST(Dataset, Synthetic) {
  const SyntheticOptions opt = small_synth();
  DatasetInfo info;
  const auto a = load_dataset("synthetic", opt, &info);
  EXPECT_EQ(info.format, "synthetic");
  ASSERT_EQ(a.size(), 2u);
  const auto b = load_dataset("synthetic:3", opt);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].height, 48);
  EXPECT_EQ(b[0].width, 40);
  EXPECT_EQ(b[0].bands, 4);
  EXPECT_EQ(b[0].image, a[0].image);  // same stream for the same seed
  for (const char* bad : {"synthetic:0", "synthetic:x", "synthetic:", "synthetic:-2"})
    expect_contains(error_of([&] { load_dataset(bad, opt); }),
                    {std::string(bad) + ": expected synthetic:N"});
}

// ---- real data ----

TEST(Dataset, Sen2ShipsRealData) {
  const std::string dir = DALNAS_SHARED_DIR "/data/sen2ships";
  if (!fs::exists(dir + "/annotations.json")) GTEST_SKIP() << "real data not present at " << dir;
  const auto t0 = std::chrono::steady_clock::now();
  DatasetInfo info;
  const auto scenes = load_dataset(dir, {}, &info);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("sen2ships: %zu scenes loaded in %.2f s\n", scenes.size(), secs);
  ASSERT_EQ(scenes.size(), 9u);
  EXPECT_EQ(info.format, "coco");
  EXPECT_EQ(info.annotations, 266);
  std::map<std::string, const Scene*> by_name;
  int saturated_scenes = 0;
  for (const Scene& s : scenes) {
    by_name[s.name] = &s;
    EXPECT_EQ(s.bands, 4) << s.name;
    const auto vessel = std::count(s.mask.begin(), s.mask.end(), 1);
    EXPECT_GT(vessel, 0) << s.name;
    EXPECT_LT(vessel, static_cast<long>(s.pixels() / 20)) << s.name;  // vessels are small
    const float mx = *std::max_element(s.image.begin(), s.image.end());
    EXPECT_LE(mx, 65535.0f);
    saturated_scenes += mx == 65535.0f;
  }
  EXPECT_EQ(saturated_scenes, 6);  // README: saturated pixels in 6 of the 9 scenes
  ASSERT_TRUE(by_name.count("algiers"));
  ASSERT_TRUE(by_name.count("busan"));
  const Scene& busan = *by_name["busan"];
  EXPECT_EQ(busan.height, 699);
  EXPECT_EQ(busan.width, 1042);

  // Independent reference for the masks: every annotation's runs marked column-major.
  std::ifstream in(dir + "/annotations.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  std::map<int, std::string> names;
  for (const auto& im : j["images"])
    names[im["id"].get<int>()] = fs::path(im["file_name"].get<std::string>()).stem().string();
  std::map<std::string, std::vector<uint8_t>> ref;  // column-major
  for (const auto& ann : j["annotations"]) {
    const Scene& s = *by_name.at(names.at(ann["image_id"].get<int>()));
    auto& cm = ref[s.name];
    cm.resize(s.pixels());
    size_t pos = 0;
    bool on = false;
    for (const auto& c : ann["segmentation"]["counts"]) {
      const size_t n = c.get<size_t>();
      if (on) std::fill(cm.begin() + pos, cm.begin() + pos + n, 1);
      pos += n;
      on = !on;
    }
  }
  for (const Scene& s : scenes) {
    const auto& cm = ref[s.name];
    ASSERT_EQ(cm.size(), s.pixels());
    size_t diff = 0;
    for (int y = 0; y < s.height; ++y)
      for (int x = 0; x < s.width; ++x)
        diff += cm[static_cast<size_t>(x) * s.height + y] !=
                s.mask[static_cast<size_t>(y) * s.width + x];
    EXPECT_EQ(diff, 0u) << s.name;
  }
}
