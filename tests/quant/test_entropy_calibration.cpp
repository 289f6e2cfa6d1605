// Entropy calibration (quant/entropy_calibration.h): the KL cut on hand-made histograms and
// the threshold on data with and without outliers.
#include <gtest/gtest.h>

#include <algorithm>
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

// A ReLU output: most values exactly 0, the rest a falling tail. TensorRT's procedure puts
// the zeros in bin 0, whose mass the first merged group spreads over its other bins, so it
// cuts short; without them (skip_zeros) and with the 256 levels an asymmetric grid gives a
// one-signed tensor, the threshold keeps more of the tail.
TEST(EntropyCalibration, ZerosOfAReluOutputPullTheCutDown) {
  std::mt19937 rng(11);
  std::exponential_distribution<float> d(1.0f);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> x(200000);
  for (float& v : x) v = u(rng) < 0.7f ? 0.0f : d(rng);
  const int64_t n = static_cast<int64_t>(x.size());
  const float trt = entropy_threshold(x.data(), n);
  const float no_zeros = entropy_threshold(x.data(), n, 2048, 128, true);
  const float grid = entropy_threshold(x.data(), n, 2048, 256, true);
  const float max = *std::max_element(x.begin(), x.end());
  EXPECT_GT(trt, 0.0f);
  EXPECT_GT(no_zeros, trt);
  EXPECT_GE(grid, no_zeros);
  EXPECT_LE(grid, max);
  // The same values without zeros: skipping changes nothing.
  std::vector<float> tail;
  for (float v : x)
    if (v != 0.0f) tail.push_back(v);
  EXPECT_EQ(entropy_threshold(tail.data(), static_cast<int64_t>(tail.size()), 2048, 128, true),
            entropy_threshold(tail.data(), static_cast<int64_t>(tail.size())));
  // Only zeros: 0 either way.
  const std::vector<float> zeros(10, 0.0f);
  EXPECT_EQ(entropy_threshold(zeros.data(), 10, 2048, 256, true), 0.0f);
}

}  // namespace
}  // namespace dalnas
