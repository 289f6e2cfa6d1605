// Device evaluation: the fp32 profile reproduces the host metrics; FP16 numerics with raw
// saturated input on the device produce NaN pixels; the tile runner matches the emulator.
#include <gtest/gtest.h>

#include "core/error.h"
#include "data/synthetic.h"
#include "eval/device_eval.h"

using namespace dalnas;

namespace {
Checkpoint tiny_checkpoint(uint64_t seed) {
  Checkpoint ck;
  ck.genome =
      Genome::parse("ConvBnAct-8-k3-relu_max_ConvSE-12-k3-hswish_max_MBConv-12-k3-e3-relu6_dec-8");
  ck.bands = 4;
  torch::manual_seed(seed);
  ck.net = build_network(ck.genome, 4);
  ck.net->eval();
  ck.norm.mean = {3000, 3000, 2800, 2000};
  ck.norm.std = {600, 650, 700, 900};
  return ck;
}
std::vector<Scene> scenes() {
  SyntheticOptions o;
  o.scenes = 2;
  o.height = 70;
  o.width = 90;
  o.seed = 3;
  return make_synthetic(o);
}
}  // namespace

TEST(DeviceEval, Fp32ProfileGivesTheHostConfusionMatrix) {
  Checkpoint ck = tiny_checkpoint(1);
  auto s = scenes();
  TileOptions to;
  to.tile = 64;
  to.overlap = 8;
  const auto host = evaluate_on_device(ck, "host", s, {0, 1}, to);
  const auto dev = evaluate_on_device(ck, "fp32", s, {0, 1}, to);
  EXPECT_EQ(dev.nan_pixels, 0);
  // FP32 emulation differs from libtorch only in summation order: at most a handful of
  // pixels sit exactly at the threshold.
  const auto diff = [](uint64_t a, uint64_t b) { return a > b ? a - b : b - a; };
  EXPECT_LE(diff(host.metrics.cm.tp, dev.metrics.cm.tp), 2u);
  EXPECT_LE(diff(host.metrics.cm.fp, dev.metrics.cm.fp), 2u);
  EXPECT_EQ(host.metrics.cm.total(), dev.metrics.cm.total());
}

TEST(DeviceEval, SaturatedRawPixelsGiveNaNOnlyWithNormalisationOnTheDevice) {
  Checkpoint ck = tiny_checkpoint(2);
  auto s = scenes();
  s[0].image[100] = 65535.0f;  // band 0: a saturated pixel, as in real scenes
  TileOptions to;
  to.tile = 64;
  to.overlap = 8;
  DeviceProfile p = load_profile("myriadx");
  p.fold_normalization = false;
  EXPECT_EQ(evaluate_on_device(ck, "myriadx", s, {0}, to, &p).nan_pixels, 0);
  p.fold_normalization = true;
  EXPECT_GT(evaluate_on_device(ck, "myriadx", s, {0}, to, &p).nan_pixels, 0);
}

TEST(DeviceEval, UnknownDeviceNamesTheProfile) {
  Checkpoint ck = tiny_checkpoint(3);
  auto s = scenes();
  try {
    evaluate_on_device(ck, "tpu9000", s, {0}, TileOptions{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tpu9000"), std::string::npos) << e.what();
  }
}
