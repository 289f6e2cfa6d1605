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
  // freeze_bn_epochs is written only when set (earlier configurations read as before).
  EXPECT_FALSE(c.to_json().contains("freeze_bn_epochs"));
  c.freeze_bn_epochs = 2;
  EXPECT_EQ(TrainConfig::from_json(c.to_json(), "t").freeze_bn_epochs, 2);
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
  expect({{"freeze_bn_epochs", -1}}, "freeze_bn_epochs");
}
