#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "train/metrics.h"

using namespace dalnas;

TEST(Metrics, MatchesNaiveCountsOnRandomData) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> prob(1000);
  std::vector<uint8_t> mask(1000);
  for (size_t i = 0; i < prob.size(); ++i) {
    prob[i] = u(rng);
    mask[i] = u(rng) < 0.3f;
  }
  ConfusionMatrix cm;
  cm.add(prob.data(), mask.data(), 500);
  cm.add(prob.data() + 500, mask.data() + 500, 500);
  double tp = 0, fp = 0, fn = 0, tn = 0;
  for (size_t i = 0; i < prob.size(); ++i) {
    const bool p = prob[i] >= 0.5f, t = mask[i];
    tp += p && t;
    fp += p && !t;
    fn += !p && t;
    tn += !p && !t;
  }
  EXPECT_EQ(cm.tp, tp);
  EXPECT_EQ(cm.fp, fp);
  EXPECT_EQ(cm.fn, fn);
  EXPECT_EQ(cm.tn, tn);
  EXPECT_DOUBLE_EQ(cm.iou_vessel(), tp / (tp + fp + fn));
  EXPECT_DOUBLE_EQ(cm.iou_background(), tn / (tn + fp + fn));
  EXPECT_DOUBLE_EQ(cm.miou(), 0.5 * (tp / (tp + fp + fn) + tn / (tn + fp + fn)));
  EXPECT_DOUBLE_EQ(cm.precision(), tp / (tp + fp));
  EXPECT_DOUBLE_EQ(cm.recall(), tp / (tp + fn));
  EXPECT_DOUBLE_EQ(cm.f1(), 2 * tp / (2 * tp + fp + fn));
}

TEST(Metrics, DatasetLevelNotMeanOfImages) {
  // Image A: 1 vessel pixel found of 1; image B: 0 found of 9. Dataset IoU = 1/10, not 0.5.
  ConfusionMatrix cm;
  std::vector<float> pa = {1, 0}, pb(10, 0.0f);
  std::vector<uint8_t> ma = {1, 0}, mb(10, 0);
  for (int i = 0; i < 9; ++i) mb[i] = 1;
  cm.add(pa.data(), ma.data(), 2);
  cm.add(pb.data(), mb.data(), 10);
  EXPECT_DOUBLE_EQ(cm.iou_vessel(), 0.1);
}

TEST(Metrics, EmptyClassesAndNaN) {
  ConfusionMatrix cm;
  std::vector<float> p = {0.1f, 0.2f, NAN};
  std::vector<uint8_t> m = {0, 0, 0};
  cm.add(p.data(), m.data(), 3);
  EXPECT_EQ(cm.tn, 3u);                    // NaN predicts background
  EXPECT_DOUBLE_EQ(cm.iou_vessel(), 1.0);  // nothing to find, nothing found
  EXPECT_DOUBLE_EQ(cm.recall(), 1.0);
  std::vector<float> p2 = {0.9f};
  cm.add(p2.data(), m.data(), 1);  // a false positive on a vessel-free set
  EXPECT_DOUBLE_EQ(cm.iou_vessel(), 0.0);
  EXPECT_DOUBLE_EQ(cm.precision(), 0.0);
}

TEST(Metrics, JsonHasRequiredKeys) {
  Metrics m;
  m.params = 42;
  auto j = m.to_json();
  for (const char* k :
       {"miou", "iou_background", "iou_vessel", "precision", "recall", "f1", "params"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["params"], 42);
}
