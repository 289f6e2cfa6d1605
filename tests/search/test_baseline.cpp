#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "search/baseline.h"

using namespace dalnas;

namespace {

nlohmann::json retraining(uint64_t seed, double test, double val, double params, double ms) {
  return {{"seed", seed},
          {"params", params},
          {"latency_ms", ms},
          {"device_test", {{"miou", test}}},
          {"device_val", {{"miou", val}}},
          {"host_test", {{"miou", test + 0.001}}}};
}

std::string error_of(const std::vector<nlohmann::json>& w, const std::vector<nlohmann::json>& b) {
  try {
    compare_to_baseline("reference", "g", w, b);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// Per seed differences, their mean and spread, how many seeds are above, and the exact
// paired p: two of three seeds above with differences +0.03, +0.01, -0.02 (3 of the 8 sign
// flips reach their sum).
TEST(Baseline, ComparesSeedBySeed) {
  const std::vector<nlohmann::json> w = {retraining(1, 0.63, 0.60, 14189, 11.8),
                                         retraining(2, 0.64, 0.61, 14189, 11.8),
                                         retraining(3, 0.62, 0.62, 14189, 11.8)};
  const std::vector<nlohmann::json> b = {retraining(1, 0.60, 0.60, 95791, 20.0),
                                         retraining(2, 0.63, 0.60, 95791, 20.0),
                                         retraining(3, 0.64, 0.60, 95791, 20.0)};
  const auto c = compare_to_baseline("reference", "GENOME", w, b);
  EXPECT_EQ(c["baseline"], "reference");
  EXPECT_EQ(c["genome"], "GENOME");
  EXPECT_EQ(c["seeds"], nlohmann::json({1, 2, 3}));
  EXPECT_NEAR(c["latency_ms"]["ratio"].get<double>(), 11.8 / 20.0, 1e-12);
  EXPECT_NEAR(c["params"]["ratio"].get<double>(), 14189.0 / 95791.0, 1e-12);
  const auto& t = c["device_test"];
  ASSERT_EQ(t["difference"].size(), 3u);
  EXPECT_NEAR(t["difference"][0].get<double>(), 0.03, 1e-12);
  EXPECT_NEAR(t["difference"][2].get<double>(), -0.02, 1e-12);
  EXPECT_NEAR(t["winner_mean"].get<double>(), 0.63, 1e-12);
  EXPECT_NEAR(t["baseline_mean"].get<double>(), (0.60 + 0.63 + 0.64) / 3, 1e-12);
  EXPECT_NEAR(t["difference_mean"].get<double>(), 0.02 / 3, 1e-12);
  EXPECT_NEAR(t["winner_sd"].get<double>(), 0.01, 1e-12);
  EXPECT_EQ(t["seeds_above"], 2);
  EXPECT_DOUBLE_EQ(t["p_above"].get<double>(), 3.0 / 8);
  // Every split both sides have; val: +0.00, +0.01, +0.02 -> 2 above.
  EXPECT_EQ(c["device_val"]["seeds_above"], 2);
  EXPECT_TRUE(c.contains("host_test"));
  EXPECT_FALSE(c.contains("host_val"));
  const std::string line = baseline_line(c, "myriadx");
  EXPECT_NE(line.find("against reference (retrained alike, seeds 1-3): test mIoU on myriadx "
                      "0.6300 +- 0.0100 vs 0.6233"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("2 of 3 seeds above, paired p 0.375"), std::string::npos) << line;
  EXPECT_NE(line.find("latency 11.80 vs 20.00 ms (0.59x), params 14189 vs 95791 (0.15x)"),
            std::string::npos)
      << line;
}

// A split only one side has is left out; one seed gives sd 0 and the p of one flip.
TEST(Baseline, OneSeedAndASplitOnlyOneSideHas) {
  nlohmann::json w = retraining(7, 0.60, 0.55, 100, 5);
  nlohmann::json b = retraining(7, 0.58, 0.56, 200, 10);
  b.erase("device_val");
  const auto c = compare_to_baseline("reference", "g", {w}, {b});
  EXPECT_FALSE(c.contains("device_val"));
  EXPECT_EQ(c["device_test"]["difference_sd"], 0.0);
  EXPECT_DOUBLE_EQ(c["device_test"]["p_above"].get<double>(), 0.5);
  EXPECT_NE(baseline_line(c, "myriadx").find("(retrained alike, seed 7)"), std::string::npos);
}

TEST(Baseline, MismatchedOrMalformedRetrainingsAreErrorsNamingThem) {
  const auto r1 = retraining(1, 0.6, 0.6, 100, 5), r2 = retraining(2, 0.6, 0.6, 100, 5);
  EXPECT_EQ(error_of({}, {r1}), "compare_to_baseline: no retraining of the winner");
  EXPECT_EQ(error_of({r1, r2}, {r1}),
            "compare_to_baseline: 2 retrainings of the winner but 1 of the baseline");
  EXPECT_EQ(error_of({r1}, {r2}),
            "compare_to_baseline: retraining 1 has seed 1 for the winner but 2 for the "
            "baseline");
  auto bad = r1;
  bad.erase("latency_ms");
  EXPECT_EQ(error_of({r1}, {bad}), "baseline retraining 1: latency_ms: expected a number");
  bad = r2;
  bad["device_test"]["miou"] = "high";
  EXPECT_EQ(error_of({r1, bad}, {r1, r2}),
            "winner retraining 2: device_test.miou: expected a number");
}
