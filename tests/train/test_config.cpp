#include <gtest/gtest.h>

#include "core/error.h"
#include "train/config.h"

using namespace dalnas;

TEST(TrainConfig, JsonRoundTrip) {
  TrainConfig c;
  c.data = "x.json";
  c.precision = PrecisionMode::FP16Aligned;
  c.half.overflow = Overflow::Saturate;
  c.epochs = 7;
  c.loss.kind = LossKind::BCEDice;
  c.tiling.size = 64;
  c.tiling.stride = 48;
  c.split.test = {"a", "b"};
  TrainConfig back = TrainConfig::from_json(c.to_json(), "t");
  EXPECT_EQ(back.to_json(), c.to_json());
  // freeze_bn_epochs is written only when not auto (-1, the default); 0 and N round-trip.
  EXPECT_FALSE(c.to_json().contains("freeze_bn_epochs"));
  EXPECT_FALSE(c.to_json().contains("qat_weights"));  // written only when not max
  c.qat_weights = "learned";
  EXPECT_EQ(TrainConfig::from_json(c.to_json(), "t").qat_weights, "learned");
  EXPECT_EQ(TrainConfig::from_json(c.to_json(), "t").freeze_bn_epochs, -1);
  EXPECT_FALSE(c.to_json().contains("monitor"));  // written only when not loss
  c.monitor = "miou";
  EXPECT_EQ(TrainConfig::from_json(c.to_json(), "t").monitor, "miou");
  for (int n : {0, 2}) {
    c.freeze_bn_epochs = n;
    EXPECT_EQ(TrainConfig::from_json(c.to_json(), "t").freeze_bn_epochs, n);
  }
  // split.seed is written only when not 1 (the default), so that the data identity of
  // configurations recorded before the key is unchanged; another value round-trips.
  EXPECT_FALSE(c.to_json().at("split").contains("seed"));
  c.split.seed = 7;
  EXPECT_EQ(TrainConfig::from_json(c.to_json(), "t").split.seed, 7u);
  EXPECT_EQ(TrainConfig::from_json({{"split", {{"seed", 3}}}}, "t").split.seed, 3u);
  // split.folds / split.fold likewise: absent unless set, and they round-trip.
  EXPECT_FALSE(c.to_json().at("split").contains("folds"));
  c.split.folds = 3;
  c.split.fold = 2;
  const TrainConfig f = TrainConfig::from_json(c.to_json(), "t");
  EXPECT_EQ(f.split.folds, 3);
  EXPECT_EQ(f.split.fold, 2);
}

TEST(TrainConfig, ErrorsNameTheField) {
  auto expect = [](nlohmann::json j, const std::string& field) {
    try {
      TrainConfig::from_json(j, "cfg.toml");
      FAIL() << field;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  expect({{"epochz", 3}}, "epochz");
  expect({{"epochs", "three"}}, "epochs");
  expect({{"batch", 0}}, "batch");
  expect({{"tiling", {{"size", 64}, {"stride", 100}}}}, "tiling.stride");
  expect({{"loss", {{"kind", "hinge"}}}}, "hinge");
  expect({{"loss", {{"alpha", 2}}}}, "loss.alpha");
  expect({{"precision", "int3"}}, "int3");
  expect({{"overflow", "wrap"}}, "overflow");
  expect({{"freeze_bn_epochs", -2}}, "freeze_bn_epochs");
  expect({{"qat_weights", "lsq"}}, "qat_weights");
  expect({{"monitor", "dice"}}, "monitor must be loss or miou, got 'dice'");
  // A negative seed is an error naming the field, not a wrap to 2^64 - 1.
  expect({{"seed", -1}}, "field 'seed' must be a non-negative integer");
  expect({{"split", {{"seed", -3}}}}, "field 'split.seed' must be a non-negative integer");
  expect({{"synthetic", {{"seed", -1}}}}, "synthetic.seed");
  expect({{"split", {{"folds", 1}, {"fold", 1}}}}, "split.folds must be >= 2");
  expect({{"split", {{"folds", 3}, {"fold", 4}}}}, "split.fold must be in [1, split.folds]");
  expect({{"split", {{"fold", 1}}}}, "split.fold needs split.folds");
  EXPECT_EQ(TrainConfig::from_json({{"seed", 0}}, "t").seed, 0u);
}

// freeze_bn_epochs auto (-1): BatchNorm frozen for the last epoch of a quantization-aware
// training with an epoch to spare (2 or more, or a fine-tuning); set values stand as given.
TEST(TrainConfig, FreezeBatchNormAutoResolvesForQuantizationAwareTraining) {
  TrainConfig c;
  c.epochs = 3;
  EXPECT_EQ(c.resolved_freeze_bn_epochs(true), 1);
  EXPECT_EQ(c.resolved_freeze_bn_epochs(false), 0);
  c.epochs = 1;
  EXPECT_EQ(c.resolved_freeze_bn_epochs(true), 0);  // from scratch: statistics to learn first
  c.init = "model.ckpt";
  EXPECT_EQ(c.resolved_freeze_bn_epochs(true), 1);  // fine-tuning trained statistics
  c.freeze_bn_epochs = 0;
  EXPECT_EQ(c.resolved_freeze_bn_epochs(true), 0);
  c.freeze_bn_epochs = 2;
  EXPECT_EQ(c.resolved_freeze_bn_epochs(false), 2);
}
