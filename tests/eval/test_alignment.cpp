// Deployment-aligned training follows the profile: the aligned forward pass of a network
// equals the emulator's output on the same profile up to summation order, and differs
// where the device differs from plain FP16 rounding (upsampling mode, input pipeline,
// pre-scaled accumulators).
//
// Tolerance: the emulator runs the BatchNorm-folded weights rounded to FP16 and sums in
// its own order; the training forward rounds the unfolded weights and applies BatchNorm
// in fp32. Each stored tensor can therefore differ by about one FP16 rounding
// (2^-11 relative), which grows through the layers: a few percent of the output range
// after ~15 stored tensors. The checks below use 3% of the largest |output| and require
// the plain FP16 projection (half-pixel upsampling) to be off by several times more.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "device/alignment.h"
#include "device/emulator.h"
#include "device/lower.h"
#include "device/profile.h"
#include "nn/network.h"
#include "precision/policy.h"

namespace dalnas {
namespace {

void randomise_bn(Network& net, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard ng;
  for (auto& m : net->modules(/*include_self=*/false)) {
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      bn->running_mean.uniform_(-0.5, 0.5);
      bn->running_var.uniform_(0.5, 2.0);
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.3, 0.3);
    }
  }
  net->eval();
}

struct Fixture {
  Network net{nullptr};
  std::vector<float> mean{3000.0f, 3100.0f, 3200.0f, 3300.0f};
  std::vector<float> sd{800.0f, 850.0f, 900.0f, 950.0f};
  torch::Tensor raw;
  Shape in{4, 32, 32};
};

Fixture make(const char* genome, uint64_t seed) {
  Fixture f;
  torch::manual_seed(seed);
  f.net = build_network(Genome::parse(genome), 4, std::make_shared<PrecisionPolicy>());
  randomise_bn(f.net, seed + 1);
  f.raw = (torch::rand({1, 4, 32, 32}) * 6000.0f).round();
  return f;
}

// The network's forward with a policy (the data pipeline normalises on the host).
std::vector<float> forward(Fixture& f, const PrecisionPolicy& p) {
  *f.net->policy = p;
  f.net->policy->norm_mean = f.mean;
  f.net->policy->norm_std = f.sd;
  torch::NoGradGuard ng;
  const auto m = torch::tensor(f.mean).view({1, -1, 1, 1});
  const auto s = torch::tensor(f.sd).view({1, -1, 1, 1});
  const torch::Tensor y = f.net->forward((f.raw - m) / s).contiguous();
  *f.net->policy = PrecisionPolicy{};
  return std::vector<float>(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
}

std::vector<float> emulate(Fixture& f, const DeviceProfile& profile) {
  LowerOptions lo;
  lo.norm_mean = f.mean;
  lo.norm_std = f.sd;
  lo.fold_normalization = profile.fold_normalization;
  DeviceGraph g = lower(f.net, lo);
  g.infer_shapes(f.in);
  const Emulator emu(g, profile.emulator_config());
  const torch::Tensor raw = f.raw.contiguous();
  return emu.run(raw.data_ptr<float>(), f.in);
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, std::fabs(double(x)));
  return m;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

// myriadx with the accumulator kept in fp32 (so the comparison is not dominated by the
// order of FP16 partial sums, which the training forward does not follow).
DeviceProfile myriad_fp32_acc() {
  DeviceProfile p = load_profile("myriadx");
  p.neural_engine.acc = parse_accumulation("fp32");
  p.pipeline.tiling.enabled = false;
  return p;
}

TEST(Alignment, AlignedForwardEqualsTheEmulatorUpToSummationOrder) {
  const char* genomes[] = {
      "ConvBnAct-8-k3-relu_max_ConvBnAct-12-k3-relu_max_ConvBnAct-16-k3-relu_dec-8",
      "ConvBnAct-8-k3-relu6_avg_MBConv-8-k3-e3-relu6_max_ResNetBlock-16-k3-relu_dec-8",
  };
  uint64_t seed = 3;
  for (const char* genome : genomes) {
    Fixture f = make(genome, seed++);
    const DeviceProfile profile = myriad_fp32_acc();
    const std::vector<float> emu = emulate(f, profile);
    PrecisionPolicy aligned;
    aligned.mode = PrecisionMode::Aligned;
    aligned.align = alignment_for(profile);
    PrecisionPolicy plain;
    plain.mode = PrecisionMode::FP16Aligned;
    const std::vector<float> ya = forward(f, aligned), yp = forward(f, plain);
    const double scale = max_abs(emu);
    ASSERT_GT(scale, 0.0);
    const double ea = max_diff(ya, emu), ep = max_diff(yp, emu);
    EXPECT_LT(ea, 0.03 * scale) << genome << ": aligned vs emulator " << ea << " of " << scale;
    EXPECT_GT(ep, 3.0 * ea) << genome << ": the plain FP16 projection should differ more (" << ep
                            << " vs " << ea << ")";
  }
}

TEST(Alignment, ProfileSettingsReachThePolicy) {
  const DeviceAlignment a = alignment_for(load_profile("myriadx"));
  EXPECT_EQ(a.device, "myriadx");
  EXPECT_EQ(a.resize, AlignResize::Asymmetric);
  EXPECT_EQ(a.weights, kNumpyHalf);
  EXPECT_EQ(a.input, kNumpyHalf);
  EXPECT_TRUE(a.prescale);
  EXPECT_TRUE(a.fp16_accumulator);
  EXPECT_TRUE(a.prescale_growing_output);
  const DeviceAlignment ideal = alignment_for(load_profile("fp16-ideal"));
  EXPECT_EQ(ideal.resize, AlignResize::HalfPixel);
  EXPECT_FALSE(ideal.prescale);
  EXPECT_TRUE(alignment_for(load_profile("fp32")).fp32_storage);
  // An integer target: quantization-aware training (int8 fake quantization).
  const DeviceAlignment q = alignment_for(load_profile("int8-tflite"));
  EXPECT_TRUE(q.int8);
  EXPECT_FALSE(a.int8);
  EXPECT_FALSE(q.int8_pow2);
  const DeviceAlignment dpu = alignment_for(load_profile("dpu-int8"));
  EXPECT_TRUE(dpu.int8);
  EXPECT_TRUE(dpu.int8_pow2);  // power-of-two fake quantization
}

TEST(Alignment, AsymmetricUpsamplingIsTheEmulatorsAndDifferentiable) {
  torch::manual_seed(1);
  torch::Tensor x = torch::rand({1, 2, 3, 5}, torch::requires_grad());
  const torch::Tensor y = upsample_bilinear(x, 6, 10, AlignResize::Asymmetric);
  // src = dst / 2: even outputs copy inputs, odd ones average neighbours (the last
  // column / row clamps).
  EXPECT_FLOAT_EQ(y[0][1][2][4].item<float>(), x[0][1][1][2].item<float>());
  EXPECT_FLOAT_EQ(y[0][0][0][1].item<float>(),
                  0.5f * (x[0][0][0][0].item<float>() + x[0][0][0][1].item<float>()));
  EXPECT_FLOAT_EQ(y[0][0][5][9].item<float>(), x[0][0][2][4].item<float>());
  y.sum().backward();
  // Every input pixel receives weight; the gradient sums to the number of outputs.
  EXPECT_NEAR(x.grad().sum().item<float>(), 2 * 6 * 10, 1e-3);
}

TEST(Alignment, ModelPipelineSeesTheRawOverflow) {
  // Normalisation inside the model: raw 70000 is cast to FP16 before the ScaleShift and
  // overflows; normalised on the host it does not.
  PrecisionPolicy p;
  p.mode = PrecisionMode::Aligned;
  p.align.storage = HalfMode{};
  p.align.input_in_model = true;
  p.norm_mean = {1000.0f};
  p.norm_std = {500.0f};
  const torch::Tensor x = torch::tensor({(70000.0f - 1000.0f) / 500.0f, 0.5f}).view({1, 1, 1, 2});
  const torch::Tensor y = p.input(x);
  EXPECT_TRUE(std::isinf(y[0][0][0][0].item<float>()));
  EXPECT_TRUE(std::isfinite(y[0][0][0][1].item<float>()));
  p.align.input_in_model = false;
  EXPECT_TRUE(std::isfinite(p.input(x)[0][0][0][0].item<float>()));
}

TEST(Alignment, PrescaledAccumulatorOverflowsInTraining) {
  // Folded weights of 2^-8 give shift 8: a pre-activation of 300 is held as 76800 and
  // overflows; without FP16 accumulation it passes.
  PrecisionPolicy p;
  p.mode = PrecisionMode::Aligned;
  p.align.prescale = true;
  p.align.fp16_accumulator = true;
  const torch::Tensor w = torch::full({4, 4, 1, 1}, std::ldexp(1.0f, -8));
  const torch::Tensor y = torch::tensor({300.0f, 200.0f}).view({1, 2, 1, 1});
  p.input(torch::zeros({1, 1, 1, 1}));  // starts a forward pass
  const torch::Tensor z = p.accumulator(y, w, 4);
  EXPECT_TRUE(std::isinf(z[0][0][0][0].item<float>()));
  EXPECT_FLOAT_EQ(z[0][1][0][0].item<float>(), 200.0f);
  p.align.fp16_accumulator = false;
  p.input(torch::zeros({1, 1, 1, 1}));
  EXPECT_FLOAT_EQ(p.accumulator(y, w, 4)[0][0][0][0].item<float>(), 300.0f);
}

}  // namespace
}  // namespace dalnas
