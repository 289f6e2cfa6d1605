#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "steps_near.h"
#include "train/checkpoint.h"

using namespace dalnas;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("dalnas-ck-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

Checkpoint make() {
  Checkpoint ck;
  ck.genome = Genome::parse(
      "ConvBnAct-8-k3-relu_max_MBConv-12-k3-e3-relu6_avg_ResNetBlock-16-k3-gelu_dec-8");
  ck.bands = 4;
  ck.norm.mean = {1, 2, 3, 4};
  ck.norm.std = {5, 6, 7, 8};
  ck.config = {{"epochs", 3}};
  torch::manual_seed(7);
  ck.net = build_network(ck.genome, 4);
  return ck;
}

void expect_error_containing(const std::string& path, const std::string& what) {
  try {
    load_checkpoint(path);
    FAIL() << "no error for " << what;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(Checkpoint, RoundTripKeepsEverything) {
  TempDir d;
  Checkpoint ck = make();
  const std::string p = (d.path / "m.ckpt").string();
  save_checkpoint(p, ck);
  Checkpoint back = load_checkpoint(p);
  EXPECT_EQ(back.genome, ck.genome);
  EXPECT_EQ(back.bands, 4);
  EXPECT_EQ(back.norm.mean, ck.norm.mean);
  EXPECT_EQ(back.norm.std, ck.norm.std);
  EXPECT_EQ(back.config["epochs"], 3);
  auto x = torch::randn({2, 4, 24, 24});
  ck.net->eval();
  back.net->eval();
  EXPECT_TRUE(torch::equal(ck.net->forward(x), back.net->forward(x)));
  // No temporary file is left beside it.
  int files = 0;
  for (auto& e : fs::directory_iterator(d.path)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(Checkpoint, DetectsCorruptionTruncationAndForeignFiles) {
  TempDir d;
  const std::string p = (d.path / "m.ckpt").string();
  save_checkpoint(p, make());
  std::string bytes = read_file(p);

  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x10;
  const std::string pc = (d.path / "corrupt.ckpt").string();
  write_file_atomic(pc, flipped);
  expect_error_containing(pc, "checksum");

  const std::string pt = (d.path / "trunc.ckpt").string();
  write_file_atomic(pt, bytes.substr(0, bytes.size() - 100));
  expect_error_containing(pt, "checksum");

  const std::string pf = (d.path / "foreign.ckpt").string();
  write_file_atomic(pf, "hello world, not a checkpoint");
  expect_error_containing(pf, "not a dalnas checkpoint");

  expect_error_containing((d.path / "missing.ckpt").string(), "no such file");
}

// Quantization-aware training's activation ranges are part of the checkpoint: a network
// loaded to go on training quantization-aware gets them back; one loaded for anything else
// keeps them in the checkpoint (for the integer deployment), not in its policy.
TEST(Checkpoint, QuantizationAwareRangesTravelWithTheWeights) {
  TempDir d;
  const auto qat = [] {
    auto p = std::make_shared<PrecisionPolicy>();
    p->mode = PrecisionMode::Aligned;
    p->align.int8 = true;
    return p;
  };
  Checkpoint ck = make();
  ck.net = build_network(ck.genome, 4, qat());
  ck.net->train();
  ck.net->forward(torch::randn({2, 4, 24, 24}));  // ranges from a training batch
  const ActRanges learned = ck.net->policy->int8_ranges();
  ASSERT_GT(learned.size(), 5u);
  ASSERT_EQ(learned.count("input"), 1u);  // the input's too, though it has no gradient
  ASSERT_EQ(learned.count("enc0.conv"), 1u);
  ASSERT_EQ(learned.count("head"), 1u);
  const std::string p = (d.path / "q.ckpt").string();
  save_checkpoint(p, ck);

  Checkpoint again = load_checkpoint(p, qat());
  EXPECT_EQ(again.net->policy->int8_ranges(), learned);
  EXPECT_EQ(trained_act_ranges(again), learned);
  Checkpoint host = load_checkpoint(p);  // an FP32 policy
  EXPECT_TRUE(host.net->policy->int8_ranges().empty());
  EXPECT_EQ(host.act_ranges, learned);
  EXPECT_EQ(trained_act_ranges(host), learned);
  // The quantization-aware forward of the reloaded network is the saved one's.
  ck.net->eval();
  again.net->eval();
  torch::NoGradGuard ng;
  const auto x = torch::randn({1, 4, 24, 24});
  EXPECT_TRUE(torch::equal(ck.net->forward(x), again.net->forward(x)));

  // A network without ranges saves none.
  Checkpoint plain = make();
  save_checkpoint(p, plain);
  EXPECT_TRUE(load_checkpoint(p, qat()).act_ranges.empty());
}

// Learned weight steps (LSQ on weights) are saved by parameter name beside the ranges and
// come back onto a policy that learns them; any other policy keeps them in the metadata
// only (trained_weight_steps still gives them to lower()).
TEST(Checkpoint, LearnedWeightStepsTravelWithTheWeights) {
  TempDir d;
  const auto qat = [](bool learned) {
    auto p = std::make_shared<PrecisionPolicy>();
    p->mode = PrecisionMode::Aligned;
    p->align.int8 = true;
    p->learned_weight_steps = learned;
    return p;
  };
  Checkpoint ck = make();
  ck.net = build_network(ck.genome, 4, qat(true));
  ck.net->train();
  ck.net->forward(torch::randn({2, 4, 24, 24})).sum().backward();
  WeightSteps steps = ck.net->policy->weight_steps();
  ASSERT_GT(steps.size(), 3u);
  for (auto& [name, v] : steps) v[0] *= 0.5f;  // not the max grid
  ck.net->policy->set_weight_steps(steps);
  EXPECT_TRUE(test_util::steps_near(ck.net->policy->weight_steps(), steps));
  steps = ck.net->policy->weight_steps();  // the floats the forward uses
  const std::string p = (d.path / "s.ckpt").string();
  save_checkpoint(p, ck);

  Checkpoint again = load_checkpoint(p, qat(true));
  EXPECT_EQ(again.weight_steps, steps);  // the file holds them exactly
  EXPECT_TRUE(test_util::steps_near(again.net->policy->weight_steps(), steps));
  ck.net->eval();
  again.net->eval();
  {
    torch::NoGradGuard ng;
    const auto x = torch::randn({1, 4, 24, 24});
    // Within a float rounding of each step: outputs equal up to a value at a rounding tie.
    EXPECT_LE((ck.net->forward(x) - again.net->forward(x)).abs().max().item<float>(), 1e-5f);
  }
  Checkpoint max_grid = load_checkpoint(p, qat(false));
  EXPECT_TRUE(max_grid.net->policy->weight_steps().empty());
  Checkpoint host = load_checkpoint(p);
  EXPECT_TRUE(host.net->policy->weight_steps().empty());
  EXPECT_EQ(trained_weight_steps(host), steps);
  // The metadata's own steps (a network without a policy of them) save as they are.
  Checkpoint plain = make();
  plain.weight_steps = {{"head.weight", {1.0f}}};
  save_checkpoint(p, plain);
  EXPECT_EQ(load_checkpoint(p).weight_steps, plain.weight_steps);
}
