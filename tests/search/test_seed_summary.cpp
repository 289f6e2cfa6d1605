#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "search/seed_summary.h"

namespace dalnas {
namespace {

nlohmann::json split(double miou) {
  return {{"miou", miou}, {"pixel_accuracy", 0.99}};
}

nlohmann::json retraining(uint64_t seed, double host_test, double device_test,
                          double twin_host = -1, double twin_device = -1) {
  nlohmann::json r = {{"seed", seed},
                      {"genome", "ConvBnAct-8-k3-relu_max_dec-8"},
                      {"host_val", split(host_test + 0.01)},
                      {"device_val", split(device_test + 0.01)},
                      {"host_test", split(host_test)},
                      {"device_test", split(device_test)}};
  if (twin_host >= 0)
    r["fp32_twin"] = {
        {"seed", seed}, {"host_test", split(twin_host)}, {"device_test", split(twin_device)}};
  return r;
}

TEST(SeedSummary, MeanAndSdOfEverySplitAndOfTheTwinsGapPerSeed) {
  const auto s =
      summarize_seeds({retraining(1, 0.63, 0.62, 0.64, 0.60), retraining(2, 0.61, 0.60, 0.62, 0.61),
                       retraining(3, 0.65, 0.64, 0.63, 0.62)});
  EXPECT_EQ(s["seeds"], nlohmann::json({1, 2, 3}));
  EXPECT_EQ(s["device_test"]["miou"], nlohmann::json({0.62, 0.60, 0.64}));
  EXPECT_NEAR(s["device_test"]["mean"].get<double>(), 0.62, 1e-12);
  EXPECT_NEAR(s["device_test"]["sd"].get<double>(), 0.02, 1e-12);
  EXPECT_NEAR(s["host_val"]["mean"].get<double>(), 0.64, 1e-12);
  EXPECT_NEAR(s["device_val"]["mean"].get<double>(), 0.63, 1e-12);
  // The twin has test splits only: its val keys are absent, not zero.
  ASSERT_TRUE(s.contains("fp32_twin"));
  EXPECT_FALSE(s["fp32_twin"].contains("host_val"));
  EXPECT_NEAR(s["fp32_twin"]["device_test"]["mean"].get<double>(), 0.61, 1e-12);
  // Per seed, the twin loses 0.04, 0.01, 0.01 in conversion: mean 0.02, sd sqrt(0.0006/2).
  EXPECT_NEAR(s["conversion_loss_test"]["mean"].get<double>(), 0.02, 1e-12);
  EXPECT_NEAR(s["conversion_loss_test"]["sd"].get<double>(), std::sqrt(0.0006 / 2), 1e-12);
  // Aligned minus the twin on the device, per seed: 0.02, -0.01, 0.02.
  EXPECT_EQ(s["aligned_gain_test"]["miou"].size(), 3u);
  EXPECT_NEAR(s["aligned_gain_test"]["mean"].get<double>(), 0.01, 1e-12);
  const std::string line = seed_summary_line(s, "myriadx");
  EXPECT_NE(line.find("over seeds 1-3 (3): test mIoU on myriadx 0.6200 +- 0.0200"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("0.6100 +- 0.0100 after conversion"), std::string::npos) << line;
}

TEST(SeedSummary, ATwinMissingOnOneSeedOrASplitMissingOnOneIsLeftOut) {
  auto a = retraining(1, 0.63, 0.62, 0.64, 0.60), b = retraining(2, 0.61, 0.60);
  b.erase("host_test");
  const auto s = summarize_seeds({a, b});
  EXPECT_FALSE(s.contains("fp32_twin")) << "not every retraining has a twin";
  EXPECT_FALSE(s.contains("conversion_loss_test"));
  EXPECT_FALSE(s.contains("host_test")) << "seed 2 has no host_test";
  EXPECT_TRUE(s.contains("device_test"));
  EXPECT_NE(seed_summary_line(s, "myriadx").find("over seeds 1-2 (2)"), std::string::npos);
  auto c = a;
  c.erase("device_test");
  EXPECT_EQ(seed_summary_line(summarize_seeds({c}), "myriadx"), "") << "no test split, no line";
}

TEST(SeedSummary, MalformedRetrainingsAreErrorsNamingTheField) {
  EXPECT_THROW(summarize_seeds({}), Error);
  auto no_seed = retraining(1, 0.6, 0.6);
  no_seed.erase("seed");
  try {
    summarize_seeds({retraining(1, 0.6, 0.6), no_seed});
    ADD_FAILURE() << "a retraining without a seed was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("retraining 2: seed"), std::string::npos) << e.what();
  }
  auto bad = retraining(1, 0.6, 0.6);
  bad["device_test"]["miou"] = "high";
  try {
    summarize_seeds({bad});
    ADD_FAILURE() << "a string mIoU was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("device_test.miou"), std::string::npos) << e.what();
  }
}

// The column both the seed summary and the comparison with a baseline read.
TEST(SeedSummary, SplitMiousReadsOneSplitOfEveryRetrainingOrNone) {
  const auto a = retraining(1, 0.63, 0.62), b = retraining(2, 0.61, 0.60);
  std::vector<double> v = {9};
  ASSERT_TRUE(split_mious({&a, &b}, "device_test", "", v));
  EXPECT_EQ(v, (std::vector<double>{a["device_test"]["miou"].get<double>(),
                                    b["device_test"]["miou"].get<double>()}));
  EXPECT_FALSE(split_mious({&a, nullptr}, "device_test", "", v));
  EXPECT_TRUE(v.empty());
  auto c = b;
  c.erase("device_test");
  EXPECT_FALSE(split_mious({&a, &c}, "device_test", "", v));
  EXPECT_TRUE(v.empty()) << "a partial column is not left behind";
  c["device_test"] = {{"miou", nullptr}};
  try {
    split_mious({&a, &c}, "device_test", "winner", v);
    ADD_FAILURE() << "a null mIoU was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "winner retraining 2: device_test.miou: expected a number");
  }
}

}  // namespace
}  // namespace dalnas
