#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/coco.h"
#include "data/raster.h"
#include "data_test_util.h"

namespace fs = std::filesystem;
using namespace dalnas;
using namespace dalnas::test;
using nlohmann::json;

namespace {

// Naive reference: expand runs column-major, then transpose to row-major.
std::vector<uint8_t> naive_decode(const std::vector<uint32_t>& counts, int h, int w) {
  std::vector<uint8_t> cm;
  uint8_t v = 0;
  for (uint32_t c : counts) {
    cm.insert(cm.end(), c, v);
    v = !v;
  }
  std::vector<uint8_t> rm(static_cast<size_t>(h) * w);
  for (int x = 0; x < w; ++x)
    for (int y = 0; y < h; ++y) rm[y * w + x] = cm[x * h + y];
  return rm;
}

// Pixels set, as "x,y" pairs in row-major order.
std::vector<std::pair<int, int>> set_pixels(const std::vector<uint8_t>& m, int h, int w) {
  std::vector<std::pair<int, int>> out;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (m[y * w + x]) out.emplace_back(x, y);
  return out;
}

std::vector<std::pair<int, int>> rect_pixels(int x0, int x1, int y0, int y1) {  // inclusive
  std::vector<std::pair<int, int>> out;
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) out.emplace_back(x, y);
  return out;
}

}  // namespace

// ---- RLE ----

TEST(CocoRle, HandComputedColumnMajorDecode) {
  // 2 rows x 3 columns; runs: 1 background, 2 vessel, 3 background.
  // Column-major positions 1 (row 1, col 0) and 2 (row 0, col 1) are vessel.
  std::vector<uint8_t> m;
  rle_decode_into({1, 2, 3}, 2, 3, m, "t");
  EXPECT_EQ(m, (std::vector<uint8_t>{0, 1, 0, 1, 0, 0}));
  // Leading zero run: starts with vessel.
  std::vector<uint8_t> m2;
  rle_decode_into({0, 1, 5}, 2, 3, m2, "t");
  EXPECT_EQ(m2, (std::vector<uint8_t>{1, 0, 0, 0, 0, 0}));
}

TEST(CocoRle, DecodeMatchesNaiveReference) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const int h = 1 + rng() % 13, w = 1 + rng() % 17;
    std::vector<uint32_t> counts;
    uint32_t left = h * w;
    while (left > 0) {
      const uint32_t c = std::min<uint32_t>(left, rng() % 9);  // zero-length runs too
      counts.push_back(c);
      left -= c;
    }
    std::vector<uint8_t> m;
    rle_decode_into(counts, h, w, m, "t");
    ASSERT_EQ(m, naive_decode(counts, h, w)) << "trial " << trial;
  }
}

TEST(CocoRle, DecodeIsOrIntoExistingMask) {
  std::vector<uint8_t> m;
  rle_decode_into({0, 2, 4}, 2, 3, m, "t");  // column 0
  rle_decode_into({4, 2}, 2, 3, m, "t");     // column 2
  EXPECT_EQ(m, (std::vector<uint8_t>{1, 0, 1, 1, 0, 1}));
}

TEST(CocoRle, SumMismatchNamesContext) {
  std::vector<uint8_t> m;
  expect_contains(error_of([&] {
                    rle_decode_into({3, 4, 5}, 4, 4, m, "ann.json: annotations[0].segmentation");
                  }),
                  {"ann.json: annotations[0].segmentation", "sum to 12", "4x4"});
}

TEST(CocoRle, CompressedStringLiterals) {
  // Derived by hand from pycocotools' rleToString (5-bit groups + '0', 0x20 = more,
  // 0x10 = sign; counts[i] - counts[i-2] for i > 2).
  EXPECT_EQ(rle_from_string("02>", "t"), (std::vector<uint32_t>{0, 2, 14}));
  // First runs of a sen2ships annotation: 335248 = 10*32^3 + 7*32^2 + 12*32 + 16.
  const std::vector<uint32_t> counts{335248, 3, 695, 5, 693, 6};
  const std::string s = "`\\W:3ge02N1";
  EXPECT_EQ(rle_from_string(s, "t"), counts);
  EXPECT_EQ(rle_to_string(counts), s);
  EXPECT_EQ(rle_to_string({0, 2, 14}), "02>");
  EXPECT_TRUE(rle_from_string("", "t").empty());
}

TEST(CocoRle, CompressedStringRoundTrip) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<uint32_t> counts(1 + rng() % 20);
    for (auto& c : counts) c = (trial % 3 == 0) ? rng() : rng() % 3000;  // up to 2^32-1
    const std::string s = rle_to_string(counts);
    for (char ch : s) ASSERT_TRUE(ch >= 48 && ch <= 111) << s;
    ASSERT_EQ(rle_from_string(s, "t"), counts) << s;
  }
}

TEST(CocoRle, MalformedCompressedStrings) {
  expect_contains(error_of([] { rle_from_string("02~", "ann.json: x.counts"); }),
                  {"ann.json: x.counts", "invalid character '~'"});
  expect_contains(error_of([] { rle_from_string("0`", "c"); }),
                  {"c:", "ends inside"});  // 0x20 set, then nothing
  expect_contains(error_of([] { rle_from_string("N", "c"); }), {"c:", "-2"});  // negative run
}

// ---- polygons ----

TEST(CocoPolygon, RectangleOnPixelCornersFillsExactlyItsPixels) {
  const int h = 5, w = 6;
  std::vector<uint8_t> m;
  polygon_fill_into({{1, 1, 4, 1, 4, 3, 1, 3}}, h, w, m);
  EXPECT_EQ(set_pixels(m, h, w), rect_pixels(1, 3, 1, 2));
}

TEST(CocoPolygon, ARepeatedVertexChangesNothing) {
  // Found by fuzz_coco: two equal consecutive vertices made a 0/0 slope (undefined
  // behaviour when converted to int).
  const int h = 5, w = 6;
  std::vector<uint8_t> a, b;
  polygon_fill_into({{1, 1, 4, 1, 4, 1, 4, 3, 1, 3}}, h, w, a);
  polygon_fill_into({{1, 1, 4, 1, 4, 3, 1, 3}}, h, w, b);
  EXPECT_EQ(a, b);
  EXPECT_EQ(set_pixels(a, h, w), rect_pixels(1, 3, 1, 2));
}

TEST(CocoPolygon, HalfPixelRectangleAsPycocotools) {
  // Hand-run rleFrPoly: scaled x 3..18 -> boundary columns 1..3; rows ceil(0.2)=1 .. ceil(2.2)=3.
  const int h = 4, w = 5;
  std::vector<uint8_t> m;
  polygon_fill_into({{0.5, 0.5, 3.5, 0.5, 3.5, 2.5, 0.5, 2.5}}, h, w, m);
  EXPECT_EQ(set_pixels(m, h, w), rect_pixels(1, 3, 1, 2));
}

TEST(CocoPolygon, SmallAndThinPolygonsAreNotLost) {
  const int h = 8, w = 12;
  std::vector<uint8_t> a;
  polygon_fill_into({{0, 0, 2, 0, 2, 2, 0, 2}}, h, w, a);  // 2x2 pixels
  EXPECT_EQ(set_pixels(a, h, w), rect_pixels(0, 1, 0, 1));
  std::vector<uint8_t> b;
  polygon_fill_into({{2.2, 2.2, 2.8, 2.2, 2.8, 2.8, 2.2, 2.8}}, h, w, b);  // inside one pixel
  EXPECT_EQ(set_pixels(b, h, w), rect_pixels(2, 2, 2, 2));
  std::vector<uint8_t> c;
  polygon_fill_into({{1, 3.1, 9, 3.1, 9, 3.7, 1, 3.7}}, h, w, c);  // 8 px long, 0.6 px wide
  EXPECT_EQ(set_pixels(c, h, w), rect_pixels(1, 8, 3, 3));
  // Covers no pixel centre: pycocotools gives nothing; we keep the vertices' pixels.
  std::vector<uint8_t> d;
  polygon_fill_into({{0.6, 0.6, 1.4, 0.6, 1.4, 1.4, 0.6, 1.4}}, h, w, d);
  EXPECT_EQ(set_pixels(d, h, w), rect_pixels(0, 1, 0, 1));
  std::vector<uint8_t> e;
  polygon_fill_into({{5.5, 5.5, 7.5, 6.5}}, h, w, e);  // degenerate two-point polygon
  EXPECT_EQ(set_pixels(e, h, w), (std::vector<std::pair<int, int>>{{5, 5}, {7, 6}}));
}

TEST(CocoPolygon, DiscAgreesWithPixelCentresAwayFromBoundary) {
  const int h = 30, w = 32;
  const double cx = 15.3, cy = 12.7, r = 9.6;
  std::vector<double> poly;
  for (int i = 0; i < 64; ++i) {
    const double t = 2 * M_PI * i / 64;
    poly.push_back(cx + r * std::cos(t));
    poly.push_back(cy + r * std::sin(t));
  }
  std::vector<uint8_t> m;
  polygon_fill_into({poly}, h, w, m);
  int area = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      area += m[y * w + x];
      const double d = std::hypot(x + 0.5 - cx, y + 0.5 - cy);
      if (d < r - 1.0) {
        ASSERT_EQ(m[y * w + x], 1) << x << "," << y;
      }
      if (d > r + 1.0) {
        ASSERT_EQ(m[y * w + x], 0) << x << "," << y;
      }
    }
  EXPECT_NEAR(area, M_PI * r * r, 0.05 * M_PI * r * r);
}

TEST(CocoPolygon, ClipsToImageAndUnionsPolygons) {
  const int h = 4, w = 4;
  std::vector<uint8_t> m;
  polygon_fill_into({{-3, -3, 2, -3, 2, 2, -3, 2}, {3, 3, 9, 3, 9, 9, 3, 9}}, h, w, m);
  auto expect = rect_pixels(0, 1, 0, 1);
  expect.emplace_back(3, 3);
  EXPECT_EQ(set_pixels(m, h, w), expect);
}

// ---- load_coco ----

namespace {

Raster raster(int bands, int h, int w, float base) {
  Raster r;
  r.bands = bands;
  r.height = h;
  r.width = w;
  r.data.resize(static_cast<size_t>(bands) * h * w);
  for (size_t i = 0; i < r.data.size(); ++i) r.data[i] = base + static_cast<float>(i);
  return r;
}

// a.tif 6x5, b.tif 4x4, sub/c.tif 3x3; four bands each.
json make_dataset(const TempDir& dir) {
  write_geotiff(dir / "a.tif", raster(4, 6, 5, 1000));
  write_geotiff(dir / "b.tif", raster(4, 4, 4, 2000));
  fs::create_directories(dir.path / "sub");
  write_geotiff(dir / "sub/c.tif", raster(4, 3, 3, 3000));
  return json::parse(R"({
    "categories": [{"id": 1, "name": "Ship"}, {"id": 2, "name": "buoy"}],
    "images": [
      {"id": 10, "file_name": "a.tif", "width": 5, "height": 6},
      {"id": 20, "file_name": "b.tif", "width": 4, "height": 4},
      {"id": 30, "file_name": "sub/c.tif", "width": 3, "height": 3}],
    "annotations": [
      {"id": 1, "image_id": 10, "category_id": 1, "iscrowd": 0,
       "segmentation": {"counts": [7, 3, 20], "size": [6, 5]}},
      {"id": 2, "image_id": 10, "category_id": 1, "segmentation": [[3, 0, 5, 0, 5, 2, 3, 2]]},
      {"id": 3, "image_id": 20, "category_id": 1, "iscrowd": 1,
       "segmentation": {"counts": "02>", "size": [4, 4]}},
      {"id": 4, "image_id": 20, "category_id": 2, "segmentation": [[3, 3, 4, 3, 4, 4, 3, 4]]}]
  })");
}

void write_json(const std::string& path, const json& j) {
  std::ofstream(path) << j.dump(1);
}

}  // namespace

TEST(CocoLoad, LoadsImagesAndMasks) {
  TempDir dir("dalnas-coco");
  write_json(dir / "ann.json", make_dataset(dir));
  CocoStats stats;
  const auto scenes = load_coco(dir / "ann.json", &stats);
  ASSERT_EQ(scenes.size(), 3u);
  EXPECT_EQ(stats.images, 3);
  EXPECT_EQ(stats.annotations, 3);
  EXPECT_EQ(stats.skipped, 1);
  EXPECT_EQ(scenes[0].name, "a");
  EXPECT_EQ(scenes[1].name, "b");
  EXPECT_EQ(scenes[2].name, "c");
  const Scene& a = scenes[0];
  EXPECT_EQ(a.bands, 4);
  EXPECT_EQ(a.height, 6);
  EXPECT_EQ(a.width, 5);
  EXPECT_EQ(a.at(0, 0, 0), 1000.0f);
  EXPECT_EQ(a.at(2, 1, 3), 1000.0f + 2 * 30 + 1 * 5 + 3);
  // RLE: column 1, rows 1..3; polygon: columns 3..4, rows 0..1.
  auto expect_a =
      std::vector<std::pair<int, int>>{{3, 0}, {4, 0}, {1, 1}, {3, 1}, {4, 1}, {1, 2}, {1, 3}};
  EXPECT_EQ(set_pixels(a.mask, 6, 5), expect_a);
  // Compressed RLE: column 0, rows 0..1; the buoy (category 2) is ignored.
  EXPECT_EQ(set_pixels(scenes[1].mask, 4, 4), (std::vector<std::pair<int, int>>{{0, 0}, {0, 1}}));
  EXPECT_EQ(scenes[2].mask, std::vector<uint8_t>(9, 0));
  EXPECT_EQ(scenes[2].image.size(), 4u * 9);
}

TEST(CocoLoad, AllCategoriesWhenNoneIsAVessel) {
  TempDir dir("dalnas-coco");
  json j = make_dataset(dir);
  j["categories"] = json::parse(R"([{"id": 1, "name": "thing"}, {"id": 2, "name": "other"}])");
  write_json(dir / "ann.json", j);
  CocoStats stats;
  const auto scenes = load_coco(dir / "ann.json", &stats);
  EXPECT_EQ(stats.annotations, 4);
  EXPECT_EQ(stats.skipped, 0);
  EXPECT_EQ(scenes[1].mask[3 * 4 + 3], 1);
  // Without categories at all, too.
  j.erase("categories");
  write_json(dir / "ann.json", j);
  load_coco(dir / "ann.json", &stats);
  EXPECT_EQ(stats.annotations, 4);
}

TEST(CocoLoad, WidthAndHeightAreOptional) {
  TempDir dir("dalnas-coco");
  json j = make_dataset(dir);
  for (auto& im : j["images"]) {
    im.erase("width");
    im.erase("height");
  }
  write_json(dir / "ann.json", j);
  EXPECT_EQ(load_coco(dir / "ann.json")[0].width, 5);
}

TEST(CocoLoad, ErrorsNameFileAndField) {
  TempDir dir("dalnas-coco");
  const json base = make_dataset(dir);
  std::ofstream(dir / "text.tif") << "not a raster";
  struct Case {
    std::function<void(json&)> edit;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {[](json& j) { j["annotations"][1]["image_id"] = 42; },
       {"annotations[1].image_id 42 names no image"}},
      {[](json& j) { j["images"][1]["file_name"] = "x.tif"; },
       {"images[1].file_name 'x.tif': no such file"}},
      {[](json& j) { j["images"][0]["file_name"] = "text.tif"; },
       {"images[0].file_name 'text.tif'", "not a readable raster"}},
      {[](json& j) {
         j["annotations"][0]["segmentation"]["counts"] = {7, 3};
       },
       {"annotations[0].segmentation: RLE counts sum to 10 but size is 6x5"}},
      {[](json& j) {
         j["annotations"][0]["segmentation"]["counts"] = {7, -3, 23};
       },
       {"annotations[0].segmentation.counts[1]"}},
      {[](json& j) {
         j["annotations"][0]["segmentation"]["size"] = {4, 4};
       },
       {"annotations[0].segmentation.size", "6x5"}},
      {[](json& j) { j["annotations"][0]["segmentation"].erase("size"); },
       {"annotations[0].segmentation.size is missing"}},
      {[](json& j) { j["annotations"][2]["segmentation"]["counts"] = "0~"; },
       {"annotations[2].segmentation.counts", "invalid character"}},
      {[](json& j) {
         j["annotations"][1]["segmentation"] = {{3, 0, 5}};
       },
       {"annotations[1].segmentation[0]", "3 coordinates"}},
      {[](json& j) { j["annotations"][1]["segmentation"] = 5; }, {"annotations[1].segmentation"}},
      {[](json& j) { j["annotations"][0].erase("segmentation"); },
       {"annotations[0].segmentation is missing"}},
      {[](json& j) { j["annotations"][3].erase("category_id"); },
       {"annotations[3].category_id is missing"}},
      {[](json& j) { j["images"][0]["width"] = 9; }, {"images[0].width 9", "5 pixels wide"}},
      {[](json& j) { j["images"][2]["height"] = 4; }, {"images[2].height 4"}},
      {[](json& j) { j["images"][2]["id"] = 10; }, {"images[2].id 10 repeats images[0].id"}},
      {[](json& j) { j["images"][2]["file_name"] = "sub/../a.tif"; },
       {"images[2].file_name", "scene name 'a'"}},
      {[](json& j) { j["images"][0]["file_name"] = 7; }, {"images[0].file_name", "string"}},
      {[](json& j) { j.erase("images"); }, {"images is missing"}},
      {[](json& j) { j["annotations"] = 3; }, {"annotations is not a list"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    json j = base;
    cases[i].edit(j);
    write_json(dir / "ann.json", j);
    const std::string msg = error_of([&] { load_coco(dir / "ann.json"); });
    SCOPED_TRACE("case " + std::to_string(i));
    auto parts = cases[i].parts;
    parts.push_back("ann.json: ");
    expect_contains(msg, parts);
  }
}

TEST(CocoLoad, InvalidJsonAndMissingFile) {
  TempDir dir("dalnas-coco");
  std::ofstream(dir / "ann.json") << "{ \"images\": [\n  {\"id\": 1,\n";
  expect_contains(error_of([&] { load_coco(dir / "ann.json"); }), {"ann.json: invalid JSON: "});
  expect_contains(error_of([&] { load_coco(dir / "none.json"); }), {"none.json: no such file"});
}
