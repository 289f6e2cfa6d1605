#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/folder.h"
#include "data/raster.h"
#include "data_test_util.h"

namespace fs = std::filesystem;
using namespace dalnas;
using namespace dalnas::test;

namespace {

// A dataset folder with empty images/ and masks/.
struct FolderDir : TempDir {
  FolderDir() : TempDir("dalnas-folder") {
    fs::create_directories(path / "images");
    fs::create_directories(path / "masks");
  }
};

Raster raster(int bands, int h, int w, float base) {
  Raster r;
  r.bands = bands;
  r.height = h;
  r.width = w;
  r.data.resize(static_cast<size_t>(bands) * h * w);
  for (size_t i = 0; i < r.data.size(); ++i) r.data[i] = base + static_cast<float>(i % 977);
  return r;
}

// A mask with a diagonal of vessel pixels.
std::vector<uint8_t> diag(int h, int w) {
  std::vector<uint8_t> m(static_cast<size_t>(h) * w, 0);
  for (int i = 0; i < std::min(h, w); ++i) m[i * w + i] = 1;
  return m;
}

}  // namespace

TEST(Folder, PairsByStemSortedByName) {
  FolderDir dir;
  write_geotiff(dir / "images/b.tif", raster(4, 5, 6, 100));
  write_mask(dir / "masks/b.PNG", diag(5, 6), 5, 6, true);  // 0/255, upper-case extension
  write_geotiff(dir / "images/a.TIFF", raster(4, 3, 4, 200));
  write_mask(dir / "masks/a.tif", diag(3, 4), 3, 4, false);  // 0/1
  std::ofstream(dir / "images/README.txt") << "ignored";
  std::ofstream(dir / "masks/notes.md") << "ignored";
  const auto scenes = load_folder(dir.path.string());
  ASSERT_EQ(scenes.size(), 2u);
  EXPECT_EQ(scenes[0].name, "a");
  EXPECT_EQ(scenes[1].name, "b");
  EXPECT_EQ(scenes[0].bands, 4);
  EXPECT_EQ(scenes[0].height, 3);
  EXPECT_EQ(scenes[0].width, 4);
  EXPECT_EQ(scenes[0].mask, diag(3, 4));
  EXPECT_EQ(scenes[1].mask, diag(5, 6));  // 255 -> 1
  const Raster ref = raster(4, 5, 6, 100);
  EXPECT_EQ(scenes[1].image, ref.data);
}

TEST(Folder, MissingSubfolder) {
  FolderDir dir;
  fs::remove(dir.path / "masks");
  expect_contains(error_of([&] { load_folder(dir.path.string()); }), {"masks", "no such folder"});
  expect_contains(error_of([&] { load_folder(dir / "nothing"); }),
                  {"nothing/images", "no such folder"});
}

TEST(Folder, UnpairedImage) {
  FolderDir dir;
  write_geotiff(dir / "images/a.tif", raster(4, 3, 4, 1));
  write_mask(dir / "masks/a.png", diag(3, 4), 3, 4);
  write_geotiff(dir / "images/lonely.tif", raster(4, 3, 4, 1));
  expect_contains(error_of([&] { load_folder(dir.path.string()); }),
                  {"images/lonely.tif", "no mask"});
}

TEST(Folder, UnpairedMask) {
  FolderDir dir;
  write_geotiff(dir / "images/a.tif", raster(4, 3, 4, 1));
  write_mask(dir / "masks/a.png", diag(3, 4), 3, 4);
  write_mask(dir / "masks/ghost.png", diag(3, 4), 3, 4);
  expect_contains(error_of([&] { load_folder(dir.path.string()); }),
                  {"masks/ghost.png", "no image"});
}

TEST(Folder, SizeMismatch) {
  FolderDir dir;
  write_geotiff(dir / "images/a.tif", raster(4, 64, 64, 1));
  write_mask(dir / "masks/a.png", diag(64, 60), 64, 60);
  expect_contains(error_of([&] { load_folder(dir.path.string()); }),
                  {"masks/a.png: mask is 64x60 but image images/a.tif is 64x64"});
}

TEST(Folder, BadMaskValueAndTwoFilesPerStem) {
  FolderDir dir;
  write_geotiff(dir / "images/a.tif", raster(4, 3, 4, 1));
  Raster bad = raster(1, 3, 4, 0);  // values 0..11
  write_geotiff(dir / "masks/a.tif", bad);
  expect_contains(error_of([&] { load_folder(dir.path.string()); }), {"masks/a.tif", "value 2"});
  fs::remove(dir.path / "masks/a.tif");
  write_mask(dir / "masks/a.tif", diag(3, 4), 3, 4);
  write_mask(dir / "masks/a.png", diag(3, 4), 3, 4);
  expect_contains(error_of([&] { load_folder(dir.path.string()); }),
                  {"masks/a.tif", "masks/a.png"});
}

TEST(Folder, EmptyFoldersGiveNoScenes) {
  FolderDir dir;
  EXPECT_TRUE(load_folder(dir.path.string()).empty());
}
