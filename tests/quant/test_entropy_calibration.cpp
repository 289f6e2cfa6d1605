// Entropy calibration (quant/entropy_calibration.h): the KL cut on hand-made histograms and
// the threshold on data with and without outliers.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/error.h"
#include "quant/entropy_calibration.h"

namespace dalnas {
namespace {

TEST(EntropyCalibration, AnEvenHistogramKeepsItsWholeRange) {
  // Even mass: the full histogram is exactly representable (KL 0); any cut clips mass
  // into its last bin.
  const std::vector<double> even(512, 3.0);
  EXPECT_EQ(entropy_cut(even, 128), 512);
}

TEST(EntropyCalibration, EmptyBinsBeforeAnOutlierCostNothing) {
  // 128 filled bins, a gap, one heavy bin at the end: merging pairs keeps the filled
  // bins' evenness and the outlier's bin exactly, so the whole range wins (KL 0); a cut
  // at 128 would fold the outlier into bin 127.
  std::vector<double> h(256, 0.0);
  for (int k = 0; k < 128; ++k) h[k] = 1.0;
  h[255] = 5.0;
  EXPECT_EQ(entropy_cut(h, 128), 256);
  // A falling tail of small counts instead: a cut below the end wins.
  std::vector<double> tail(1024, 0.0);
  for (int k = 0; k < 1024; ++k) tail[k] = std::floor(1000.0 * std::exp(-k / 40.0));
  tail[1023] = 1.0;
  const int cut = entropy_cut(tail, 128);
  EXPECT_LT(cut, 1024);
  EXPECT_GE(cut, 128);
  EXPECT_THROW(entropy_cut(std::vector<double>(64, 1.0), 128), Error);
}

TEST(EntropyCalibration, ClipsOutliersOfAGaussian) {
  std::mt19937 rng(5);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> x(200000);
  for (float& v : x) v = d(rng);
  for (int k = 0; k < 20; ++k) x[static_cast<size_t>(k)] = 60.0f;  // rare outliers
  const float t = entropy_threshold(x.data(), static_cast<int64_t>(x.size()));
  EXPECT_GT(t, 2.0f);   // keeps the bulk
  EXPECT_LT(t, 30.0f);  // drops the outliers' range
  // Uniform values: (nearly) the whole range.
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float& v : x) v = u(rng);
  EXPECT_GT(entropy_threshold(x.data(), static_cast<int64_t>(x.size())), 0.9f);
  const std::vector<float> zeros(10, 0.0f);
  EXPECT_EQ(entropy_threshold(zeros.data(), 10), 0.0f);
  const std::vector<float> bad = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_THROW(entropy_threshold(bad.data(), 2), Error);
  EXPECT_THROW(entropy_threshold(bad.data(), 0), Error);
}

}  // namespace
}  // namespace dalnas
