#include <gtest/gtest.h>

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
