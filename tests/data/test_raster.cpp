#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/raster.h"
#include "data_test_util.h"

namespace fs = std::filesystem;
using namespace dalnas;
using namespace dalnas::test;

namespace {

// A fresh folder under the system temp directory, removed at the end of the test.

// Expects `f` to throw dalnas::Error whose message contains every string in `parts`.
template <class F>
void expect_error(F f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no dalnas::Error thrown";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const auto& p : parts)
      EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

Raster make_raster(int bands, int height, int width, bool integral) {
  Raster r;
  r.bands = bands;
  r.height = height;
  r.width = width;
  r.data.resize(static_cast<size_t>(bands) * height * width);
  for (size_t i = 0; i < r.data.size(); ++i)
    r.data[i] =
        integral ? static_cast<float>((i * 7919) % 65536) : static_cast<float>(i) * 0.25f - 3.0f;
  return r;
}

GDALDataType stored_type(const std::string& path) {
  GDALAllRegister();
  GDALDataset* ds = GDALDataset::FromHandle(GDALOpen(path.c_str(), GA_ReadOnly));
  if (!ds) return GDT_Unknown;
  const GDALDataType t = ds->GetRasterBand(1)->GetRasterDataType();
  GDALClose(GDALDataset::ToHandle(ds));
  return t;
}

size_t files_in(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

}  // namespace

TEST(Raster, GeoTiffRoundTripUint16IsExact) {
  TempDir dir("dalnas-raster");
  Raster r = make_raster(3, 7, 11, true);
  r.data[0] = 65535.0f;  // saturated Sentinel-2 value
  r.data[1] = 0.0f;
  write_geotiff(dir / "a.tif", r);
  EXPECT_EQ(stored_type(dir / "a.tif"), GDT_UInt16);
  const Raster back = read_raster(dir / "a.tif");
  EXPECT_EQ(back.bands, 3);
  EXPECT_EQ(back.height, 7);
  EXPECT_EQ(back.width, 11);
  ASSERT_EQ(back.data.size(), r.data.size());
  for (size_t i = 0; i < r.data.size(); ++i) ASSERT_EQ(back.data[i], r.data[i]) << i;
  EXPECT_EQ(files_in(dir.path), 1u) << "temporary files left behind";
}

TEST(Raster, GeoTiffRoundTripFloatIsExact) {
  TempDir dir("dalnas-raster");
  const Raster r = make_raster(2, 5, 4, false);  // negative and fractional values
  write_geotiff(dir / "f.tif", r);
  EXPECT_EQ(stored_type(dir / "f.tif"), GDT_Float32);
  const Raster back = read_raster(dir / "f.tif");
  ASSERT_EQ(back.data.size(), r.data.size());
  for (size_t i = 0; i < r.data.size(); ++i) ASSERT_EQ(back.data[i], r.data[i]) << i;
}

TEST(Raster, NonFiniteValuesAreAnErrorNamingFileAndPlace) {
  TempDir dir("dalnas-raster");
  Raster r = make_raster(2, 5, 4, false);
  r.data[20 + 2 * 4 + 3] = std::numeric_limits<float>::quiet_NaN();  // band 2, row 2, col 3
  r.data[20 + 4 * 4 + 0] = std::numeric_limits<float>::infinity();
  write_geotiff(dir / "n.tif", r);
  expect_error([&] { read_raster(dir / "n.tif"); },
               {"n.tif", "2 non-finite", "band 2 at row 2, column 3"});
}

TEST(Raster, BandMajorLayoutMatchesGdalBands) {
  TempDir dir("dalnas-raster");
  Raster r = make_raster(2, 3, 4, true);
  for (size_t i = 0; i < 12; ++i) r.data[i] = 100.0f + i;   // band 1
  for (size_t i = 12; i < 24; ++i) r.data[i] = 500.0f + i;  // band 2
  write_geotiff(dir / "b.tif", r);
  GDALAllRegister();
  GDALDataset* ds = GDALDataset::FromHandle(GDALOpen((dir / "b.tif").c_str(), GA_ReadOnly));
  ASSERT_NE(ds, nullptr);
  float v = 0;
  // band 2, row 1, column 2 -> index 12 + 1*4 + 2
  ASSERT_EQ(
      ds->GetRasterBand(2)->RasterIO(GF_Read, 2, 1, 1, 1, &v, 1, 1, GDT_Float32, 0, 0, nullptr),
      CE_None);
  GDALClose(GDALDataset::ToHandle(ds));
  EXPECT_EQ(v, 500.0f + 18);
}

// read_raster reads all bands in one dataset-level call: whatever the file's interleaving
// (pixel, band; striped or tiled), value (b, y, x) lands at b*H*W + y*W + x.
TEST(Raster, ReadsBandMajorWhateverTheFileInterleaving) {
  TempDir dir("dalnas-raster");
  GDALAllRegister();
  const int bands = 3, h = 5, w = 7;
  const std::vector<std::vector<const char*>> layouts = {
      {"INTERLEAVE=PIXEL", nullptr},
      {"INTERLEAVE=BAND", nullptr},
      {"INTERLEAVE=PIXEL", "TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16", nullptr}};
  for (size_t k = 0; k < layouts.size(); ++k) {
    const std::string path = dir / ("l" + std::to_string(k) + ".tif");
    GDALDriver* drv = GetGDALDriverManager()->GetDriverByName("GTiff");
    GDALDataset* ds =
        drv->Create(path.c_str(), w, h, bands, GDT_UInt16, const_cast<char**>(layouts[k].data()));
    ASSERT_NE(ds, nullptr);
    for (int b = 0; b < bands; ++b) {
      std::vector<uint16_t> v(static_cast<size_t>(h) * w);
      for (int i = 0; i < h * w; ++i) v[i] = static_cast<uint16_t>(1000 * (b + 1) + i);
      ASSERT_EQ(ds->GetRasterBand(b + 1)->RasterIO(GF_Write, 0, 0, w, h, v.data(), w, h, GDT_UInt16,
                                                   0, 0, nullptr),
                CE_None);
    }
    GDALClose(GDALDataset::ToHandle(ds));
    const Raster r = read_raster(path);
    ASSERT_EQ(r.bands, bands);
    ASSERT_EQ(r.height, h);
    ASSERT_EQ(r.width, w);
    for (int b = 0; b < bands; ++b)
      for (int i = 0; i < h * w; ++i)
        ASSERT_EQ(r.data[static_cast<size_t>(b) * h * w + i], 1000.0f * (b + 1) + i)
            << "layout " << k << " band " << b << " pixel " << i;
  }
}

// A header may declare thousands of samples per pixel (the fuzzer found one with 11,521):
// more than kRasterMaxBands is refused, naming the count; kRasterMaxBands itself reads.
TEST(Raster, MoreBandsThanTheCapAreAnError) {
  TempDir dir("dalnas-raster");
  write_geotiff(dir / "cap.tif", make_raster(kRasterMaxBands, 2, 2, true));
  EXPECT_EQ(read_raster(dir / "cap.tif").bands, kRasterMaxBands);
  write_geotiff(dir / "over.tif", make_raster(kRasterMaxBands + 1, 2, 2, true));
  expect_error([&] { read_raster(dir / "over.tif"); },
               {"over.tif", std::to_string(kRasterMaxBands + 1) + " bands", "more than 1024"});
}

TEST(Raster, OverwritesExistingFile) {
  TempDir dir("dalnas-raster");
  write_geotiff(dir / "a.tif", make_raster(1, 2, 2, true));
  Raster r = make_raster(2, 3, 3, true);
  write_geotiff(dir / "a.tif", r);
  const Raster back = read_raster(dir / "a.tif");
  EXPECT_EQ(back.bands, 2);
  EXPECT_EQ(back.height, 3);
  EXPECT_EQ(files_in(dir.path), 1u);
}

TEST(Raster, MaskRoundTripPngAndTiff) {
  TempDir dir("dalnas-raster");
  const int h = 5, w = 7;
  std::vector<uint8_t> m(h * w, 0);
  for (int i = 0; i < h * w; i += 3) m[i] = 1;
  m[4] = 9;  // any non-zero is vessel
  for (const char* name : {"m.png", "m.PNG", "m.tif"}) {
    for (bool scale : {false, true}) {
      write_mask(dir / name, m, h, w, scale);
      int rh = 0, rw = 0;
      const auto back = read_mask(dir / name, rh, rw);
      EXPECT_EQ(rh, h);
      EXPECT_EQ(rw, w);
      ASSERT_EQ(back.size(), m.size());
      for (size_t i = 0; i < m.size(); ++i) ASSERT_EQ(back[i], m[i] ? 1 : 0) << name << " " << i;
      // Stored values are 0/1 or 0/255.
      const Raster raw = read_raster(dir / name);
      EXPECT_EQ(raw.data[0], scale ? 255.0f : 1.0f) << name;
      EXPECT_EQ(raw.data[1], 0.0f) << name;
      EXPECT_EQ(raw.data[4], scale ? 255.0f : 1.0f) << name;
    }
  }
  // PNG by extension: the file starts with the PNG signature.
  std::ifstream f(dir / "m.png", std::ios::binary);
  char sig[4] = {};
  f.read(sig, 4);
  EXPECT_EQ(std::string(sig + 1, 3), "PNG");
  EXPECT_EQ(files_in(dir.path), 3u) << "temporary or side files left behind";
}

TEST(Raster, MissingFileIsAnError) {
  TempDir dir("dalnas-raster");
  expect_error([&] { read_raster(dir / "nope.tif"); }, {"nope.tif", "no such file"});
  int h, w;
  expect_error([&] { read_mask(dir / "nope.png", h, w); }, {"nope.png", "no such file"});
}

TEST(Raster, NonRasterIsAnError) {
  TempDir dir("dalnas-raster");
  std::ofstream(dir / "text.tif") << "this is not a tiff\n";
  expect_error([&] { read_raster(dir / "text.tif"); }, {"text.tif", "not a readable raster ("});
  expect_error([&] { read_raster(dir.path.string()); }, {dir.path.string(), "folder"});
}

TEST(Raster, MaskWithOtherValuesIsAnError) {
  TempDir dir("dalnas-raster");
  Raster r = make_raster(1, 3, 4, true);
  std::fill(r.data.begin(), r.data.end(), 0.0f);
  r.data[6] = 7.0f;  // row 1, column 2
  write_geotiff(dir / "bad.tif", r);
  int h, w;
  expect_error([&] { read_mask(dir / "bad.tif", h, w); },
               {"bad.tif", "value 7", "row 1", "column 2"});
  // 1 and 255 are both vessel.
  r.data[6] = 255.0f;
  r.data[0] = 1.0f;
  write_geotiff(dir / "ok.tif", r);
  const auto m = read_mask(dir / "ok.tif", h, w);
  EXPECT_EQ(m[6], 1);
  EXPECT_EQ(m[0], 1);
  EXPECT_EQ(m[1], 0);
}

TEST(Raster, MultiBandMaskIsAnError) {
  TempDir dir("dalnas-raster");
  Raster r = make_raster(2, 3, 3, true);
  std::fill(r.data.begin(), r.data.end(), 1.0f);
  write_geotiff(dir / "two.tif", r);
  int h, w;
  expect_error([&] { read_mask(dir / "two.tif", h, w); }, {"two.tif", "2 bands"});
}

TEST(Raster, InconsistentRasterIsNotWritten) {
  TempDir dir("dalnas-raster");
  Raster r = make_raster(2, 3, 3, true);
  r.data.pop_back();
  expect_error([&] { write_geotiff(dir / "x.tif", r); }, {"x.tif"});
  expect_error([&] { write_mask(dir / "m.png", std::vector<uint8_t>(5), 2, 3); }, {"m.png"});
  EXPECT_EQ(files_in(dir.path), 0u);
}

TEST(Raster, WriteIntoMissingFolderIsAnError) {
  TempDir dir("dalnas-raster");
  expect_error([&] { write_geotiff(dir / "no/such/dir/x.tif", make_raster(1, 2, 2, true)); },
               {"x.tif", "cannot write"});
}

// A header may declare any size; a raster too large for memory is refused before anything
// is allocated (a 1,000,000 x 1,000,000 float32 band: 3.6 TiB).
TEST(Raster, TheSizeLimitCanBeLoweredByTheEnvironment) {
  TempDir dir("dalnas-raster");
  const std::string path = (dir / "mid.vrt");
  // 3000 × 3000 float32 = 34 MiB: under half of any machine's memory, over a 16 MiB cap.
  std::ofstream(path) << "<VRTDataset rasterXSize=\"3000\" rasterYSize=\"3000\">\n"
                         "  <VRTRasterBand dataType=\"Float32\" band=\"1\"/>\n"
                         "</VRTDataset>\n";
  ::setenv("DALNAS_MAX_RASTER_MB", "16", 1);
  std::string m;
  try {
    read_raster(path);
  } catch (const Error& e) {
    m = e.what();
  }
  ::setenv("DALNAS_MAX_RASTER_MB", "ten", 1);
  std::string bad;
  try {
    read_raster(path);
  } catch (const Error& e) {
    bad = e.what();
  }
  ::unsetenv("DALNAS_MAX_RASTER_MB");
  EXPECT_NE(m.find("more than DALNAS_MAX_RASTER_MB (16 MiB)"), std::string::npos) << m;
  EXPECT_NE(bad.find("DALNAS_MAX_RASTER_MB: 'ten'"), std::string::npos) << bad;
  EXPECT_EQ(read_raster(path).bands, 1);  // without the cap it is read
}

TEST(Raster, ADeclaredSizeBeyondMemoryIsAnErrorBeforeAllocation) {
  TempDir dir("dalnas-raster");
  const std::string path = (dir / "huge.vrt");
  std::ofstream(path) << "<VRTDataset rasterXSize=\"1000000\" rasterYSize=\"1000000\">\n"
                         "  <VRTRasterBand dataType=\"Float32\" band=\"1\"/>\n"
                         "</VRTDataset>\n";
  for (const bool mask : {false, true}) {
    try {
      if (mask) {
        int h = 0, w = 0;
        read_mask(path, h, w);
      } else {
        read_raster(path);
      }
      FAIL() << "no error";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.rfind(path + ": declares 1000000 x 1000000 pixels x 1 bands", 0), 0u) << m;
      EXPECT_NE(m.find("crop or tile it first"), std::string::npos) << m;
    }
  }
}
