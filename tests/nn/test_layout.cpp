// Channels-last activations (nn/layout.h): the network's forward and backward in
// channels-last order give the row-major values within float rounding, in every precision
// mode, and the layout reaches every stored activation (no op falls back to row-major).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "nn/layout.h"
#include "nn/network.h"
#include "nn/nn_test_util.h"

namespace dalnas {
namespace {

using namespace testing_nn;

struct Pass {
  torch::Tensor y;
  std::vector<torch::Tensor> grads;
  std::vector<std::string> names;
  int points = 0, channels_last_points = 0;  // observed activations, and those channels-last
};

// One forward and backward of `g` from seed 7's weights, activations in `layout`.
Pass run_pass(const Genome& g, int bands, const PrecisionPolicy& base, bool channels_last,
              const torch::Tensor& x, const torch::Tensor& w) {
  set_channels_last_activations(channels_last);
  auto policy = std::make_shared<PrecisionPolicy>(base);
  Pass r;
  policy->observer = [&](const std::string&, const torch::Tensor& t) {
    if (t.dim() != 4 || t.size(1) == 1 || t.size(2) * t.size(3) == 1) return;  // ambiguous
    ++r.points;
    if (t.is_contiguous(torch::MemoryFormat::ChannelsLast)) ++r.channels_last_points;
  };
  torch::manual_seed(7);
  Network net = build_network(g, bands, policy);
  net->train();
  r.y = net->forward(x);
  (r.y * w).sum().backward();
  for (const auto& p : net->named_parameters()) {
    r.grads.push_back(p.value().grad().clone());
    r.names.push_back(p.key());
  }
  return r;
}

// Relative max difference, against the reference's largest magnitude.
double rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  const double scale = std::max(1e-12, b.abs().max().item<double>());
  return (a - b).abs().max().item<double>() / scale;
}

// The norm of all gradients together.
double global_norm(const std::vector<torch::Tensor>& g) {
  double s = 0;
  for (const auto& t : g) s += t.square().sum().item<double>();
  return std::sqrt(s);
}

class LayoutTest : public ::testing::Test {
 protected:
  void TearDown() override { set_channels_last_activations(true); }
};

TEST_F(LayoutTest, ChannelsLastForwardAndGradientsEqualRowMajorInFp32) {
  std::mt19937 rng(99);
  for (int i = 0; i < 7; ++i) {  // seven consecutive genomes use every block type
    const Genome g = random_genome(rng, i);
    const int bands = 1 + i % 4;
    SCOPED_TRACE(g.str());
    torch::manual_seed(100 + i);
    const torch::Tensor x = torch::randn({2, bands, 32, 40});
    const torch::Tensor w = torch::randn({2, 1, 32, 40});
    const Pass nchw = run_pass(g, bands, PrecisionPolicy{}, false, x, w);
    const Pass nhwc = run_pass(g, bands, PrecisionPolicy{}, true, x, w);
    EXPECT_EQ(nchw.channels_last_points, 0);
    ASSERT_GT(nhwc.points, 0);
    EXPECT_EQ(nhwc.channels_last_points, nhwc.points) << "an activation fell back to row-major";
    EXPECT_LT(rel_diff(nhwc.y, nchw.y), 1e-5);
    // Each parameter's gradient against its own size and, for gradients that cancel to
    // nearly 0 (a convolution's weights right before training-mode BatchNorm are scale
    // invariant: their gradient is 0 up to rounding), against the size of all gradients.
    ASSERT_EQ(nhwc.grads.size(), nchw.grads.size());
    const double all = global_norm(nchw.grads);
    for (size_t k = 0; k < nchw.grads.size(); ++k) {
      const double d = (nhwc.grads[k] - nchw.grads[k]).norm().item<double>();
      const double own = nchw.grads[k].norm().item<double>();
      EXPECT_LT(d, 1e-4 * own + 1e-6 * all) << nchw.names[k];
    }
  }
}

// FP16 projections and int8 fake quantization in channels-last order: the same kernels run
// over NHWC memory (precision/dense.h). A float-rounding difference before a projection can
// move a value by one step of the grid (one FP16 unit, one int8 step), and the move
// propagates, so these compare by steps: every output within two steps, the mean
// difference under half a step, and at least `min_close` of the outputs equal to float
// rounding (measured: 45 % in the FP16 modes, where the head's output is itself on the
// FP16 grid, 100 % with int8).
TEST_F(LayoutTest, ChannelsLastAlignedForwardsFollowRowMajor) {
  const Genome g = Genome::parse(
      "ResNetBlock-8-k3-relu_max_MBConv-12-k5-e4-relu6_avg_ConvSE-16-k3-hswish_dec-8");
  struct Mode {
    std::string name;
    PrecisionPolicy policy;
    double step;       // the grid's step at magnitude 1
    double min_close;  // the share of outputs that must agree to float rounding
  };
  const double fp16_unit = 1.0 / 1024;  // 2^-10
  std::vector<Mode> modes;
  {
    PrecisionPolicy p;
    p.mode = PrecisionMode::FP16Aligned;
    modes.push_back({"fp16-aligned", p, fp16_unit, 0.2});
  }
  {
    PrecisionPolicy p;
    p.mode = PrecisionMode::Aligned;
    p.align.resize = AlignResize::Asymmetric;  // the row-major resize kernel in between
    modes.push_back({"aligned, asymmetric resize", p, fp16_unit, 0.2});
  }
  {
    PrecisionPolicy p;
    p.mode = PrecisionMode::Aligned;
    p.align.int8 = true;
    // Output range ~4. Fewer outputs agree to float rounding than in FP16: a level of the
    // SE gate (LOGISTIC's 1/256 grid) or of a hard-swish input that float rounding flips
    // moves a whole channel after it (0.938 here since those points are quantized).
    modes.push_back({"int8 fake quantization", p, 4.0 / 255, 0.9});
  }
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({2, 3, 32, 32});
  const torch::Tensor w = torch::randn({2, 1, 32, 32});
  for (const Mode& m : modes) {
    SCOPED_TRACE(m.name);
    const Pass nchw = run_pass(g, 3, m.policy, false, x, w);
    const Pass nhwc = run_pass(g, 3, m.policy, true, x, w);
    EXPECT_EQ(nhwc.channels_last_points, nhwc.points);
    const torch::Tensor d = (nhwc.y - nchw.y).abs();
    const double y_max = nchw.y.abs().max().item<double>();
    const double close = (d <= 1e-5 * (1 + nchw.y.abs())).to(torch::kDouble).mean().item<double>();
    EXPECT_GE(close, m.min_close) << "share of outputs equal to float rounding";
    EXPECT_LE(d.max().item<double>(), 2 * m.step * std::max(1.0, y_max));
    EXPECT_LT(d.mean().item<double>(), 0.5 * m.step);
    for (size_t k = 0; k < nchw.grads.size(); ++k) {
      EXPECT_TRUE(torch::isfinite(nhwc.grads[k]).all().item<bool>()) << "parameter " << k;
    }
  }
}

}  // namespace
}  // namespace dalnas
