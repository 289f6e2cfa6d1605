// Percentile stretch, RGB band choice, the colours of false positives / negatives, PNG.
#include <cpl_vsi.h>
#include <gdal_priv.h>
#include <gtest/gtest.h>

#include <cmath>

#include "report/image_panel.h"

namespace dalnas::report {
namespace {

TEST(PercentileStretch, InterpolatesBetweenOrderStatisticsAndIgnoresNaN) {
  // 0..100: the 2nd percentile is 2, the 98th is 98 (position q·100 exactly).
  std::vector<float> v;
  for (int i = 100; i >= 0; --i) v.push_back(static_cast<float>(i));
  v.push_back(NAN);
  v.push_back(INFINITY);
  const auto [lo, hi] = percentile_range(v.data(), v.size());
  EXPECT_FLOAT_EQ(lo, 2.0f);
  EXPECT_FLOAT_EQ(hi, 98.0f);
  // Between order statistics: {0, 10}, q = 0.25 -> 2.5.
  const float two[] = {10.0f, 0.0f};
  EXPECT_FLOAT_EQ(percentile_range(two, 2, 0.25, 0.75).first, 2.5f);
  EXPECT_FLOAT_EQ(percentile_range(two, 2, 0.25, 0.75).second, 7.5f);
  const float none[] = {NAN, NAN};
  EXPECT_EQ(percentile_range(none, 2), std::make_pair(0.0f, 0.0f));
}

TEST(PercentileStretch, MapsTheRangeTo0To255AndClamps) {
  EXPECT_EQ(stretch(2.0f, 2.0f, 98.0f), 0);
  EXPECT_EQ(stretch(98.0f, 2.0f, 98.0f), 255);
  EXPECT_EQ(stretch(50.0f, 2.0f, 98.0f), 128);  // 48/96 · 255 = 127.5 -> 128
  EXPECT_EQ(stretch(-5.0f, 2.0f, 98.0f), 0);
  EXPECT_EQ(stretch(1000.0f, 2.0f, 98.0f), 255);
  EXPECT_EQ(stretch(NAN, 2.0f, 98.0f), 0);
  EXPECT_EQ(stretch(5.0f, 3.0f, 3.0f), 0);  // a constant band
}

TEST(RgbComposite, ShowsB04B03B02AsRedGreenBlueEachStretched) {
  EXPECT_EQ(rgb_bands(4), (std::array<int, 3>{2, 1, 0}));
  EXPECT_EQ(rgb_bands(1), (std::array<int, 3>{0, 0, 0}));
  // 4 bands of 10 × 10: band b holds its own ramp; band 2 (red) is bright only at (0, 0).
  Scene s;
  s.bands = 4;
  s.height = s.width = 10;
  s.image.assign(400, 0.0f);
  s.mask.assign(100, 0);
  for (int i = 0; i < 100; ++i) {
    s.image[static_cast<size_t>(0 * 100 + i)] = static_cast<float>(i);       // blue ramp
    s.image[static_cast<size_t>(1 * 100 + i)] = static_cast<float>(99 - i);  // green ramp down
    s.image[static_cast<size_t>(3 * 100 + i)] = 5000.0f;                     // NIR ignored
  }
  s.image[2 * 100 + 0] = 1000.0f;  // red outlier at (0, 0), all else 0
  const Rgb8 img = rgb_composite(s, 0, 0, 10, 10);
  ASSERT_EQ(img.rgb.size(), 300u);
  EXPECT_EQ(img.at(0, 0)[2], 0);    // blue: the ramp's lowest value
  EXPECT_EQ(img.at(9, 9)[2], 255);  // blue: the highest
  EXPECT_EQ(img.at(0, 0)[1], 255);  // green runs the other way
  EXPECT_EQ(img.at(9, 9)[1], 0);
  // Red: the 98th percentile of 99 zeros and one 1000 is 0: a flat band shows 0 everywhere.
  EXPECT_EQ(img.at(5, 5)[0], 0);
  // A window: stretched on its own values (columns 5..9 of row 0: blue 5..9).
  const Rgb8 w = rgb_composite(s, 0, 5, 1, 5);
  EXPECT_EQ(w.at(0, 0)[2], 0);
  EXPECT_EQ(w.at(0, 4)[2], 255);
}

TEST(ErrorImage, ColoursTruePositivesFalsePositivesAndFalseNegatives) {
  const float prob[] = {0.9f, 0.9f, 0.1f, 0.1f, NAN, 0.5f};
  const uint8_t gt[] = {1, 0, 1, 0, 1, 1};
  const Rgb8 img = error_image(prob, gt, 2, 3);
  EXPECT_EQ(img.at(0, 0), kTruePositive);
  EXPECT_EQ(img.at(0, 1), kFalsePositive);
  EXPECT_EQ(img.at(0, 2), kFalseNegative);
  EXPECT_EQ(img.at(1, 0), kTrueNegative);
  EXPECT_EQ(img.at(1, 1), kFalseNegative) << "NaN counts as background (as the metrics)";
  EXPECT_EQ(img.at(1, 2), kTruePositive) << "the threshold is inclusive";
  EXPECT_NE(kFalsePositive, kFalseNegative);
}

TEST(EncodePng, WritesAPngThatGdalReadsBackPixelForPixel) {
  const uint8_t mask[] = {1, 0, 0, 1, 1, 0};
  const Rgb8 img = mask_image(mask, 2, 3);
  const std::string png = encode_png(img);
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  const std::string name = "/vsimem/test-read-back.png";
  VSILFILE* fp = VSIFileFromMemBuffer(
      name.c_str(), reinterpret_cast<GByte*>(const_cast<char*>(png.data())), png.size(), FALSE);
  VSIFCloseL(fp);
  GDALDataset* ds = static_cast<GDALDataset*>(GDALOpen(name.c_str(), GA_ReadOnly));
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->GetRasterXSize(), 3);
  EXPECT_EQ(ds->GetRasterYSize(), 2);
  EXPECT_EQ(ds->GetRasterCount(), 3);
  std::vector<uint8_t> back(18);
  ASSERT_EQ(
      ds->RasterIO(GF_Read, 0, 0, 3, 2, back.data(), 3, 2, GDT_Byte, 3, nullptr, 3, 9, 1, nullptr),
      CE_None);
  GDALClose(ds);
  VSIUnlink(name.c_str());
  EXPECT_EQ(back, img.rgb);
}

}  // namespace
}  // namespace dalnas::report
