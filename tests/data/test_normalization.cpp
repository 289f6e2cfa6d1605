#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/normalization.h"

namespace dalnas {
namespace {

Scene scene(int bands, int h, int w, double offset, double spread, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Scene s;
  s.name = "s" + std::to_string(seed);
  s.bands = bands;
  s.height = h;
  s.width = w;
  s.image.resize(static_cast<size_t>(bands) * h * w);
  for (size_t i = 0; i < s.image.size(); ++i)
    s.image[i] = static_cast<float>(std::round(offset + 100.0 * (i / (h * w)) + spread * u(rng)));
  s.mask.assign(static_cast<size_t>(h) * w, 0);
  return s;
}

std::string error_of(const nlohmann::json& j) {
  try {
    Normalization::from_json(j, "model.json: normalization");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Normalization, MatchesNaiveStatistics) {
  // Large values with a small spread: a naive single-pass float sum would lose them.
  std::vector<Scene> scenes{scene(3, 40, 30, 60000, 50, 1), scene(3, 17, 23, 60010, 20, 2),
                            scene(3, 10, 10, 100, 5000, 3)};
  const std::vector<int> which{0, 1};  // scene 2 is not listed and must not count
  const Normalization n = Normalization::compute(scenes, which);
  ASSERT_EQ(n.mean.size(), 3u);
  ASSERT_EQ(n.std.size(), 3u);
  for (int b = 0; b < 3; ++b) {
    long double sum = 0, count = 0;
    for (int idx : which)
      for (size_t i = 0; i < scenes[idx].pixels(); ++i) {
        sum += scenes[idx].image[b * scenes[idx].pixels() + i];
        ++count;
      }
    const long double mean = sum / count;
    long double ss = 0;
    for (int idx : which)
      for (size_t i = 0; i < scenes[idx].pixels(); ++i) {
        const long double d = scenes[idx].image[b * scenes[idx].pixels() + i] - mean;
        ss += d * d;
      }
    const double sd = std::sqrt(static_cast<double>(ss / count));
    EXPECT_NEAR(n.mean[b], static_cast<double>(mean), 1e-6 * static_cast<double>(mean));
    EXPECT_NEAR(n.std[b], sd, 1e-5 * sd);
  }
}

TEST(Normalization, ConstantBandHasFloor) {
  Scene s = scene(2, 8, 8, 0, 0, 4);
  for (size_t i = 0; i < s.pixels(); ++i) s.image[i] = 1234;
  const Normalization n = Normalization::compute({s}, {0});
  EXPECT_FLOAT_EQ(n.mean[0], 1234);
  EXPECT_GT(n.std[0], 0);
  EXPECT_LE(n.std[0], 1e-5);
  std::vector<float> img(s.image);
  n.apply(img.data(), 2, s.pixels());
  for (size_t i = 0; i < s.pixels(); ++i) EXPECT_EQ(img[i], 0.0f);
}

TEST(Normalization, ApplyMatchesFormula) {
  Normalization n;
  n.mean = {10, -3, 1000};
  n.std = {2, 0.5, 250};
  std::vector<float> img{0, 10, 20, 1, -3, -2, 0, 1000, 1500};  // 3 bands × 3 pixels
  n.apply(img.data(), 3, 3);
  const std::vector<float> want{-5, 0, 5, 8, 0, 2, -4, 0, 2};
  EXPECT_EQ(img, want);
  EXPECT_THROW(n.apply(img.data(), 2, 3), Error);
}

TEST(Normalization, JsonRoundTrip) {
  Normalization n;
  n.mean = {3000.5f, 2800.25f, 2500, 1500};
  n.std = {400, 380.125f, 350, 900};
  const nlohmann::json j = n.to_json();
  EXPECT_TRUE(j.at("mean").is_array());
  EXPECT_EQ(j.at("std").size(), 4u);
  const Normalization back = Normalization::from_json(j, "x");
  EXPECT_EQ(back.mean, n.mean);
  EXPECT_EQ(back.std, n.std);
  // Survives text serialisation too.
  const Normalization text = Normalization::from_json(nlohmann::json::parse(j.dump()), "x");
  EXPECT_EQ(text.mean, n.mean);
  EXPECT_EQ(text.std, n.std);
}

TEST(Normalization, FromJsonErrors) {
  using nlohmann::json;
  EXPECT_EQ(error_of(json{{"std", {1, 2}}}), "model.json: normalization: missing 'mean'");
  EXPECT_EQ(error_of(json{{"mean", {1, 2}}}), "model.json: normalization: missing 'std'");
  EXPECT_EQ(error_of(json{{"mean", {1, 2}}, {"std", {1}}}),
            "model.json: normalization: 'mean' has 2 values but 'std' has 1");
  EXPECT_NE(error_of(json{{"mean", {1, 2}}, {"std", {1, 0}}}).find("'std'"), std::string::npos);
  EXPECT_NE(error_of(json{{"mean", "a"}, {"std", {1}}}).find("'mean'"), std::string::npos);
  EXPECT_NE(error_of(json{{"mean", {1, "b"}}, {"std", {1, 1}}}).find("'mean'"), std::string::npos);
  EXPECT_NE(error_of(json::array({1, 2})).find("model.json: normalization"), std::string::npos);
  EXPECT_NE(error_of(json{{"mean", json::array()}, {"std", json::array()}}), "");
}

TEST(Normalization, ComputeErrors) {
  std::vector<Scene> scenes{scene(4, 5, 5, 0, 10, 5), scene(3, 5, 5, 0, 10, 6)};
  EXPECT_THROW(Normalization::compute(scenes, {}), Error);
  try {
    Normalization::compute(scenes, {0, 1});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("s6"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Normalization::compute(scenes, {2}), Error);
}

}  // namespace
}  // namespace dalnas
