#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "train/predict.h"

using namespace dalnas;

namespace {
Scene random_scene(int bands, int h, int w, uint64_t seed) {
  torch::manual_seed(seed);
  Scene s;
  s.name = "s";
  s.bands = bands;
  s.height = h;
  s.width = w;
  auto t = (torch::rand({bands, h, w}) * 5000).contiguous();
  s.image.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  s.mask.assign(static_cast<size_t>(h) * w, 0);
  return s;
}
Normalization norm4() {
  Normalization n;
  n.mean = {2500, 2500, 2500, 2500};
  n.std = {1500, 1500, 1500, 1500};
  return n;
}
const char* kGenome = "ConvBnAct-8-k3-relu_max_ConvAct-8-k3-relu_max_ConvBnAct-8-k3-relu_dec-8";
}  // namespace

TEST(Predict, TileOriginsCoverEveryPixel) {
  for (int len : {1, 31, 32, 33, 100, 257, 1000})
    for (int tile : {32, 64})
      for (int ov : {0, 8, 15}) {
        auto o = tile_origins(len, tile, ov);
        std::vector<int> covered(static_cast<size_t>(len), 0);
        for (int p : o)
          for (int i = p; i < std::min(len, p + tile); ++i) covered[static_cast<size_t>(i)] = 1;
        for (int c : covered) ASSERT_EQ(c, 1) << len << " " << tile << " " << ov;
        for (int p : o) {
          EXPECT_GE(p, 0);
          if (len >= tile) {
            EXPECT_LE(p + tile, len);
          }
        }
      }
}

TEST(Predict, SingleTileEqualsDirectForward) {
  torch::manual_seed(1);
  Network net = build_network(Genome::parse(kGenome), 4);
  net->eval();
  Scene s = random_scene(4, 64, 64, 2);
  TileOptions o;
  o.tile = 64;
  o.overlap = 8;
  auto prob = predict_scene(net, s, norm4(), o);
  auto x = torch::from_blob(s.image.data(), {1, 4, 64, 64}).clone();
  x = (x - 2500) / 1500;
  auto direct = torch::sigmoid(net->forward(x)).reshape({-1});
  auto got = torch::from_blob(prob.data(), {64 * 64});
  EXPECT_LT((got - direct).abs().max().item<float>(), 1e-5);
}

TEST(Predict, BlendingIsAWeightedMeanOverLargeScenes) {
  // A network whose output is the same constant everywhere must give that constant at
  // every pixel, however the tiles overlap (weights are normalised).
  torch::manual_seed(1);
  Network net = build_network(Genome::parse(kGenome), 4);
  {
    torch::NoGradGuard ng;
    for (auto& p : net->head->parameters()) p.zero_();
    net->head->bias.fill_(0.3f);
  }
  Scene s = random_scene(4, 150, 97, 3);
  TileOptions o;
  o.tile = 64;
  o.overlap = 16;
  auto prob = predict_scene(net, s, norm4(), o);
  ASSERT_EQ(prob.size(), s.pixels());
  const float want = 1.0f / (1.0f + std::exp(-0.3f));
  for (float p : prob) ASSERT_NEAR(p, want, 1e-5);
}

TEST(Predict, EvaluateScenesCountsEveryPixel) {
  torch::manual_seed(1);
  Network net = build_network(Genome::parse(kGenome), 4);
  std::vector<Scene> scenes = {random_scene(4, 40, 50, 4), random_scene(4, 70, 33, 5)};
  TileOptions o;
  o.tile = 32;
  o.overlap = 4;
  Metrics m = evaluate_scenes(net, scenes, {0, 1}, norm4(), o);
  EXPECT_EQ(m.cm.total(), 40u * 50 + 70 * 33);
}

TEST(Predict, ObjectMetricsSeeWholeScenesNotTiles) {
  // A tile runner that predicts band 0 (1 on the vessel, 0 elsewhere) as a certain logit: the
  // prediction equals the truth, so every vessel, however many tiles it crosses, is one
  // component found in one piece.
  Scene s;
  s.name = "s";
  s.bands = 1;
  s.height = 100;
  s.width = 90;
  s.mask.assign(s.pixels(), 0);
  for (int x = 5; x < 85; ++x)
    for (int y = 40; y < 43; ++y) s.mask[static_cast<size_t>(y) * s.width + x] = 1;  // 240 px
  for (int y = 10; y < 90; ++y) s.mask[static_cast<size_t>(y) * s.width + 20] = 1;   // crosses it
  s.mask[static_cast<size_t>(95) * s.width + 80] = 1;  // a 1-px vessel
  s.image.assign(s.mask.begin(), s.mask.end());
  const TileForward truth = [](const float* in, int n, int bands, int t, float* logits) {
    for (size_t i = 0; i < static_cast<size_t>(n) * t * t; ++i)
      logits[i] = in[(i / (static_cast<size_t>(t) * t)) * bands * t * t +
                     i % (static_cast<size_t>(t) * t)] > 0.5f
                      ? 20.0f
                      : -20.0f;
  };
  TileOptions o;
  o.tile = 32;
  o.overlap = 8;
  const Metrics m = evaluate_scenes_with(truth, {s}, {0}, nullptr, o);
  EXPECT_EQ(m.cm.fp + m.cm.fn, 0u);
  EXPECT_EQ(m.objects.scenes, 1);
  EXPECT_EQ(m.objects.vessels, 2);
  EXPECT_EQ(m.objects.predicted, 2);
  EXPECT_EQ(m.objects.found, 2);
  EXPECT_DOUBLE_EQ(*m.objects.fragmentation(), 1.0);
  EXPECT_DOUBLE_EQ(*m.objects.boundary_f1(), 1.0);
  EXPECT_EQ(m.objects.vessels_by_size[0], 1);
  EXPECT_EQ(m.objects.vessels_by_size[2], 1);
  EXPECT_TRUE(m.to_json().contains("objects"));
}
