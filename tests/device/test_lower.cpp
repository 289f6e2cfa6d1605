// lower(): the emulator in FP32 reproduces libtorch's forward of the trained network, for
// every block type and for random genomes; FP16 effects appear where they should.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "device/emulator.h"
#include "device/lower.h"
#include "device/profile.h"
#include "nn/blocks/conv_bn_act.h"

using namespace dalnas;

namespace {

EmulatorConfig fp32_config() {
  EmulatorConfig c;  // every Numerics defaults to fp32 storage and accumulation
  return c;
}

// Random BatchNorm statistics so that folding is exercised for real.
void randomise_bn(Network& net, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard ng;
  for (auto& m : net->modules(/*include_self=*/false))
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->running_mean.uniform_(-0.5, 0.5);
      bn->running_var.uniform_(0.5, 2.0);
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.3, 0.3);
    }
  net->eval();
}

Genome random_genome(std::mt19937_64& rng) {
  const BlockType types[] = {
      BlockType::ConvAct,     BlockType::ConvBnAct,   BlockType::ConvSE,       BlockType::MBConv,
      BlockType::MBConvNoRes, BlockType::ResNetBlock, BlockType::DenseNetBlock};
  const Activation acts[] = {Activation::ReLU, Activation::ReLU6, Activation::GELU,
                             Activation::HardSwish};
  Genome g;
  const int n = 3 + static_cast<int>(rng() % 3);
  for (int i = 0; i < n; ++i) {
    BlockGene b;
    b.type = types[rng() % 7];
    b.width = 4 + static_cast<int>(rng() % 13);
    b.kernel = rng() % 2 ? 3 : 5;
    b.expansion = has_expansion(b.type) ? 3 + static_cast<int>(rng() % 4) : 0;
    b.act = acts[rng() % 4];
    g.blocks.push_back(b);
    if (i > 0) g.pools.push_back(rng() % 2 ? Pooling::Max : Pooling::Avg);
  }
  g.decoder_width = 4 + static_cast<int>(rng() % 9);
  g.validate();
  return g;
}

struct Case {
  Network net{nullptr};
  std::vector<float> mean, std;
  torch::Tensor raw;  // 1 × bands × H × W
};

Case make_case(const Genome& g, int bands, int h, int w, uint64_t seed) {
  Case c;
  torch::manual_seed(seed);
  c.net = build_network(g, bands);
  randomise_bn(c.net, seed + 1);
  for (int b = 0; b < bands; ++b) {
    c.mean.push_back(3000.0f + 100.0f * b);
    c.std.push_back(800.0f + 50.0f * b);
  }
  c.raw = (torch::rand({1, bands, h, w}) * 6000.0f).round();
  return c;
}

double max_rel_error(const std::vector<float>& got, const torch::Tensor& want) {
  auto w = want.contiguous();
  const float* p = w.data_ptr<float>();
  double max_abs = 1e-12, max_err = 0;
  for (int64_t i = 0; i < w.numel(); ++i) max_abs = std::max(max_abs, std::fabs(double(p[i])));
  for (int64_t i = 0; i < w.numel(); ++i)
    max_err = std::max(max_err, std::fabs(double(got[static_cast<size_t>(i)]) - p[i]));
  return max_err / max_abs;
}

torch::Tensor host_forward(Case& c) {
  torch::NoGradGuard ng;
  auto m = torch::tensor(c.mean).view({1, -1, 1, 1});
  auto s = torch::tensor(c.std).view({1, -1, 1, 1});
  return c.net->forward((c.raw - m) / s);
}

std::vector<float> emulate(Case& c, bool fold, const EmulatorConfig& cfg) {
  LowerOptions lo;
  lo.norm_mean = c.mean;
  lo.norm_std = c.std;
  lo.fold_normalization = fold;
  DeviceGraph g = lower(c.net, lo);
  const Shape in{static_cast<int>(c.raw.size(1)), static_cast<int>(c.raw.size(2)),
                 static_cast<int>(c.raw.size(3))};
  g.infer_shapes(in);
  Emulator emu(g, cfg);
  auto raw = c.raw.contiguous();
  return emu.run(raw.data_ptr<float>(), in);
}

}  // namespace

TEST(Lower, EveryBlockTypeMatchesLibtorchInFp32) {
  const char* genomes[] = {
      "ConvAct-8-k3-relu_max_ConvAct-12-k5-gelu_avg_ConvAct-16-k3-hswish_dec-8",
      "ConvBnAct-8-k5-relu6_avg_ConvBnAct-12-k3-relu_max_ConvBnAct-16-k3-gelu_dec-6",
      "ConvSE-8-k3-relu_max_ConvSE-12-k3-hswish_max_ConvSE-16-k5-relu_dec-8",
      "ConvBnAct-8-k3-relu_max_MBConv-8-k3-e4-relu6_max_MBConv-16-k5-e3-hswish_dec-8",
      "ConvBnAct-8-k3-relu_max_MBConvNoRes-8-k5-e6-gelu_avg_MBConvNoRes-12-k3-e3-relu_dec-8",
      "ResNetBlock-8-k3-relu_max_ResNetBlock-8-k3-relu6_max_ResNetBlock-16-k5-gelu_dec-8",
      "DenseNetBlock-8-k3-relu_max_DenseNetBlock-12-k3-hswish_avg_DenseNetBlock-16-k5-relu_dec-8",
  };
  uint64_t seed = 10;
  for (const char* s : genomes) {
    Case c = make_case(Genome::parse(s), 4, 37, 45, seed++);
    const auto want = host_forward(c);
    EXPECT_LE(max_rel_error(emulate(c, false, fp32_config()), want), 1e-4) << s;
    EXPECT_LE(max_rel_error(emulate(c, true, fp32_config()), want), 1e-4) << s << " (folded)";
  }
}

TEST(Lower, RandomGenomesMatchLibtorchInFp32) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 12; ++i) {
    const Genome g = random_genome(rng);
    const int bands = 1 + static_cast<int>(rng() % 4);
    Case c = make_case(g, bands, 32 + static_cast<int>(rng() % 9), 32 + static_cast<int>(rng() % 9),
                       100 + static_cast<uint64_t>(i));
    EXPECT_LE(max_rel_error(emulate(c, false, fp32_config()), host_forward(c)), 1e-4) << g.str();
  }
}

TEST(Lower, FoldsBatchNormAndFusesActivations) {
  Case c = make_case(
      Genome::parse("ConvBnAct-8-k3-relu_max_ConvBnAct-12-k3-relu_max_ConvBnAct-16-k3-relu_dec-8"),
      4, 32, 32, 3);
  LowerOptions lo;
  DeviceGraph g = lower(c.net, lo);
  int convs = 0, acts = 0;
  for (const auto& n : g.nodes) {
    convs += n.op == OpType::Conv;
    acts += n.op == OpType::Activation;
  }
  // 3 encoder convs, per decoder level proj + 2 convs (2 levels), head.
  EXPECT_EQ(convs, 3 + 2 * 3 + 1);
  EXPECT_EQ(acts, 0);
  // Each BatchNorm channel (gamma, beta) becomes one bias of the folded convolution.
  EXPECT_EQ(g.params(), count_parameters(*c.net) - (8 + 12 + 16 + 4 * 8));
}

TEST(Lower, RawSaturatedPixelsBecomeInfinityOnlyWhenNormalisationIsFolded) {
  Case c = make_case(
      Genome::parse("ConvBnAct-8-k3-relu_max_ConvBnAct-12-k3-relu_max_ConvBnAct-16-k3-relu_dec-8"),
      4, 32, 32, 4);
  c.raw.index_put_({0, 2, 10, 10}, 65535.0f);
  DeviceProfile p = load_profile("myriadx");
  EmulatorConfig cfg = p.emulator_config();
  const auto host_side = emulate(c, false, cfg);
  const auto folded = emulate(c, true, cfg);
  EXPECT_EQ(tensor_stats(host_side).nonfinite(), 0);
  EXPECT_GT(tensor_stats(folded).nonfinite(), 0);
  // With saturation instead of infinity (the host's cast of the input included) the folded
  // pipeline stays finite.
  cfg.nce.half.overflow = cfg.shave.half.overflow = Overflow::Saturate;
  cfg.host_cast = HalfMode{Overflow::Saturate, Subnormals::Keep, Rounding::NearestEven};
  EXPECT_EQ(tensor_stats(emulate(c, true, cfg)).nonfinite(), 0);
}

namespace dalnas {
namespace {

TEST(LowerPrecision, StagesCarryTheirBlockNumberAndPrecisionGene) {
  const Genome g = Genome::parse(
      "ConvBnAct-8-k3-relu_max_MBConv-8-k3-e3-relu6-q4w_avg_ResNetBlock-8-k3-relu-f16_dec-8");
  Network net = build_network(g, 3);
  net->eval();
  const DeviceGraph d = lower(net, {});
  int stamped = 0;
  for (const Node& n : d.nodes) {
    const auto starts = [&](const std::string& p) { return n.name.rfind(p, 0) == 0; };
    if (starts("enc1.") || n.name == "pool1") {
      EXPECT_EQ(n.block, 1) << n.name;
      EXPECT_EQ(n.precision, LayerPrecision::Int4W) << n.name;
      ++stamped;
    } else if (starts("enc2.") || n.name == "pool2") {
      EXPECT_EQ(n.block, 2) << n.name;
      EXPECT_EQ(n.precision, LayerPrecision::FP16) << n.name;
      ++stamped;
    } else if (starts("enc0.")) {
      EXPECT_EQ(n.block, 0) << n.name;
      EXPECT_EQ(n.precision, LayerPrecision::Default) << n.name;
    } else {
      EXPECT_EQ(n.block, -1) << n.name;  // decoder, head, input, output
      EXPECT_EQ(n.precision, LayerPrecision::Default) << n.name;
    }
  }
  EXPECT_GE(stamped, 6);
}

}  // namespace
}  // namespace dalnas

namespace {
TEST(Lower, LearnedWeightStepsBecomeTheFoldedWeightsScales) {
  Case c = make_case(
      Genome::parse("ConvBnAct-8-k3-relu_max_ConvAct-12-k3-relu_max_ConvBnAct-16-k3-relu_dec-8"), 4,
      32, 32, 5);
  // Steps for a convolution with BatchNorm (enc0), one without (enc1) and the head.
  LowerOptions lo;
  for (const auto& p : c.net->named_parameters()) {
    if (p.key() == "enc0.conv.weight" || p.key() == "enc1.conv.weight" ||
        p.key() == "head.weight") {
      std::vector<float> s(static_cast<size_t>(p.value().size(0)));
      for (size_t i = 0; i < s.size(); ++i) s[i] = 0.01f * static_cast<float>(i + 1);
      lo.weight_steps[p.key()] = s;
    }
  }
  const DeviceGraph g = lower(c.net, lo);
  auto& bn = *dynamic_cast<ConvBnActImpl*>(c.net->encoder[0].get())->bn;
  const torch::Tensor k = (bn.weight.detach().to(torch::kFloat64) /
                           torch::sqrt(bn.running_var.to(torch::kFloat64) + bn.options.eps()))
                              .abs();
  int with = 0;
  for (const Node& n : g.nodes) {
    if (n.op != OpType::Conv) continue;
    if (n.name == "enc0.conv") {
      ASSERT_EQ(n.weight_scale.size(), 8u);
      for (int i = 0; i < 8; ++i) {
        const double want =
            static_cast<double>(0.01f * static_cast<float>(i + 1)) * k[i].item<double>();
        EXPECT_EQ(n.weight_scale[static_cast<size_t>(i)], static_cast<float>(want)) << i;
      }
    } else if (n.name == "enc1.conv") {  // no BatchNorm: the steps themselves
      ASSERT_EQ(n.weight_scale.size(), 12u);
      EXPECT_EQ(n.weight_scale[11], 0.01f * 12);
    } else if (n.name == "head") {
      EXPECT_EQ(n.weight_scale.size(), 1u);
    } else {
      EXPECT_TRUE(n.weight_scale.empty()) << n.name;
    }
    with += !n.weight_scale.empty();
  }
  EXPECT_EQ(with, 3);
  // A step count that is not the channel count names the parameter.
  lo.weight_steps["enc1.conv.weight"].pop_back();
  try {
    lower(c.net, lo);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'enc1.conv.weight': 11 for 12 output channels"),
              std::string::npos)
        << e.what();
  }
}
}  // namespace
