// Fake quantization (precision/fake_quant.h) against the int8 arithmetic it stands for
// (quant/quant_params.h: TFLite's quantize / dequantize and per-channel weights), its
// straight-through gradients, and the int8 mode of PrecisionPolicy.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "precision/fake_quant.h"
#include "precision/policy.h"
#include "quant/dpu_ops.h"
#include "quant/quant_params.h"

namespace dalnas {
namespace {

TEST(FakeQuant, RoundsHalfAwayFromZeroLikeStdRound) {
  const std::vector<float> v = {0.5f,         1.5f, 2.5f,  -0.5f, -2.5f,      0.49999997f,
                                -0.49999997f, 3.2f, -3.7f, 0.0f,  1e6f + 0.5f};
  const torch::Tensor r = round_half_away(torch::tensor(v));
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(r[static_cast<int64_t>(i)].item<float>(), std::round(v[i])) << v[i];
  }
}

TEST(FakeQuant, ActivationsHoldWhatTheInt8TensorHolds) {
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.3f, 2.0f);
  std::vector<float> x(4096);
  for (float& f : x) f = d(rng);
  // Exact ties on the grid of [-1, 3]: s = 4/255, so x = (k + 0.5)·s.
  const QuantParams p = asymmetric_int8_params(-1.0f, 3.0f);
  for (int k = 0; k < 20; ++k) x[static_cast<size_t>(k)] = (static_cast<float>(k) - 9.5f) * p.scale;
  const torch::Tensor y = fake_quant_activation(torch::tensor(x), -1.0f, 3.0f);
  // ONNX Runtime's QuantizeLinear rounds the same ties to even.
  const torch::Tensor e = fake_quant_activation(torch::tensor(x), -1.0f, 3.0f, true);
  int differ = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = dequantize_int8(quantize_int8(x[i], p), p);
    ASSERT_EQ(y[static_cast<int64_t>(i)].item<float>(), want) << x[i];
    const float even = dequantize_int8(quantize_int8_even(x[i], p), p);
    ASSERT_EQ(e[static_cast<int64_t>(i)].item<float>(), even) << x[i];
    differ += want != even;
  }
  EXPECT_GT(differ, 0);  // the ties
}

TEST(FakeQuant, WeightsHoldThePerChannelInt8Grid) {
  std::mt19937 rng(2);
  std::normal_distribution<float> d(0.0f, 0.2f);
  const int oc = 5, per = 3 * 3 * 3;
  std::vector<float> w(oc * per);
  for (float& f : w) f = d(rng);
  for (int k = 0; k < per; ++k) w[2 * per + k] = 0.0f;  // an all-zero channel
  const PerChannelWeights q = quantize_weights_per_channel(w.data(), oc, per);
  const torch::Tensor y = fake_quant_weight(torch::tensor(w).reshape({oc, 3, 3, 3}));
  const torch::Tensor flat = y.reshape({-1});
  for (int c = 0; c < oc; ++c) {
    for (int k = 0; k < per; ++k) {
      const float want = static_cast<float>(q.values[c * per + k]) * q.scales[c];
      ASSERT_EQ(flat[c * per + k].item<float>(), want) << c << " " << k;
    }
  }
  // ONNX Runtime's reduce_range: the [−64, 64] grid, as the emulator quantizes.
  const PerChannelWeights q64 = quantize_weights_per_channel(w.data(), oc, per, 64);
  const torch::Tensor flat64 =
      fake_quant_weight(torch::tensor(w).reshape({oc, 3, 3, 3}), 64).reshape({-1});
  for (int c = 0; c < oc; ++c) {
    for (int k = 0; k < per; ++k) {
      const float want = static_cast<float>(q64.values[c * per + k]) * q64.scales[c];
      ASSERT_EQ(flat64[c * per + k].item<float>(), want) << c << " " << k;
    }
  }
  // A positive per-channel factor (a folded BatchNorm) moves the grid with the channel.
  const torch::Tensor g = torch::tensor({0.5f, 2.0f, 1.0f, 3.0f, 0.25f}).view({oc, 1, 1, 1});
  const torch::Tensor wt = torch::tensor(w).reshape({oc, 3, 3, 3});
  const torch::Tensor a = fake_quant_weight(wt * g), b = fake_quant_weight(wt) * g;
  EXPECT_LT((a - b).abs().max().item<float>(), 1e-6f);
}

// [integer] weights = "per-tensor": the grid of quantize_weights_per_tensor, one scale for
// the tensor, so a channel of small weights gets few levels (and a per-channel factor no
// longer moves the grid with its channel).
TEST(FakeQuant, PerTensorWeightsHoldTheTensorsOneGrid) {
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.0f, 0.2f);
  const int oc = 4, per = 2 * 3 * 3;
  std::vector<float> w(oc * per);
  for (float& f : w) f = d(rng);
  for (int k = 0; k < per; ++k) w[1 * per + k] *= 0.01f;  // a channel of tiny weights
  for (int qmax : {127, 64, 7}) {
    const PerChannelWeights q = quantize_weights_per_tensor(w.data(), oc, per, qmax);
    const torch::Tensor y =
        fake_quant_weight(torch::tensor(w).reshape({oc, 2, 3, 3}), qmax, true).reshape({-1});
    for (int i = 0; i < oc * per; ++i) {
      const float want = static_cast<float>(q.values[i]) * q.scales[i / per];
      ASSERT_EQ(y[i].item<float>(), want) << qmax << " " << i;
    }
    // The tiny channel: per channel it keeps 2·qmax + 1 levels, per tensor only a few.
    const torch::Tensor pc =
        fake_quant_weight(torch::tensor(w).reshape({oc, 2, 3, 3}), qmax).reshape({oc, -1})[1];
    const torch::Tensor pt = y.reshape({oc, -1})[1];
    EXPECT_LT(std::get<0>(at::_unique(pt)).numel(), std::get<0>(at::_unique(pc)).numel()) << qmax;
  }
  // The policy follows the alignment's setting.
  PrecisionPolicy p;
  p.mode = PrecisionMode::Aligned;
  p.align.int8 = true;
  p.align.int8_weights_per_tensor = true;
  const torch::Tensor wt = torch::tensor(w).reshape({oc, 2, 3, 3});
  EXPECT_TRUE(torch::equal(p.weight(wt), fake_quant_weight(wt, 127, true)));
  EXPECT_FALSE(torch::equal(p.weight(wt), fake_quant_weight(wt, 127, false)));
}

TEST(FakeQuant, GradientsPassStraightThroughInsideTheRangeOnly) {
  torch::Tensor x = torch::tensor({-5.0f, -0.5f, 0.2f, 1.0f, 9.0f}).requires_grad_(true);
  fake_quant_activation(x, -1.0f, 2.0f).sum().backward();
  const auto g = x.grad();
  EXPECT_EQ(g[0].item<float>(), 0.0f);  // clipped
  EXPECT_EQ(g[1].item<float>(), 1.0f);
  EXPECT_EQ(g[2].item<float>(), 1.0f);
  EXPECT_EQ(g[3].item<float>(), 1.0f);
  EXPECT_EQ(g[4].item<float>(), 0.0f);
  torch::Tensor w = torch::randn({3, 2, 3, 3}).requires_grad_(true);
  fake_quant_weight(w).sum().backward();
  EXPECT_TRUE(torch::all(w.grad() == 1).item<bool>());
}

// The AVX2 body of the elementwise kernel against the baseline one, and both against the
// int8 arithmetic (quantize then dequantize), over ties of x / s, their neighbours, values
// outside the range, ±inf and random values, for the three roundings and the int16 grid.
TEST(FakeQuant, Avx2BodyEqualsTheBaselineBodyAndTheInt8Arithmetic) {
  const QuantParams p{0.0371f, -11};
  std::vector<float> x;
  for (int k = -140; k <= 140; ++k) {
    const float tie = (static_cast<float>(k) + 0.5f) * p.scale;
    x.push_back(tie);
    x.push_back(std::nextafter(tie, 1e9f));
    x.push_back(std::nextafter(tie, -1e9f));
  }
  for (float e : {1e30f, -1e30f, INFINITY, -INFINITY, 0.0f, -0.0f}) x.push_back(e);
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> u(-6.0f, 6.0f);
  for (int i = 0; i < 50000; ++i) x.push_back(u(rng));
  const int64_t n = static_cast<int64_t>(x.size());
  struct Grid {
    FakeQuantRound r;
    int z, qmin, qmax;
  };
  for (const Grid g : {Grid{FakeQuantRound::HalfAway, p.zero_point, -128, 127},
                       Grid{FakeQuantRound::HalfEven, p.zero_point, -128, 127},
                       Grid{FakeQuantRound::HalfUp, 0, -128, 127},
                       Grid{FakeQuantRound::HalfAway, 0, -32768, 32767}}) {
    std::vector<float> y0(x.size()), y1(x.size());
    std::vector<char> m0(x.size()), m1(x.size());
    fake_quant_values(x.data(), y0.data(), reinterpret_cast<bool*>(m0.data()), n, p.scale, g.z, g.r,
                      g.qmin, g.qmax, false);
    fake_quant_values(x.data(), y1.data(), reinterpret_cast<bool*>(m1.data()), n, p.scale, g.z, g.r,
                      g.qmin, g.qmax, true);
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(std::memcmp(&y0[i], &y1[i], sizeof(float)), 0) << "x " << x[i];
      ASSERT_EQ(m0[i], m1[i]) << "x " << x[i];
    }
    if (g.qmin == -128 && g.r != FakeQuantRound::HalfUp) {  // TFLite / ORT int8 arithmetic
      const QuantParams q{p.scale, g.z};
      for (size_t i = 0; i < x.size(); ++i) {
        const int8_t v =
            g.r == FakeQuantRound::HalfAway ? quantize_int8(x[i], q) : quantize_int8_even(x[i], q);
        ASSERT_EQ(y0[i], dequantize_int8(v, q)) << "x " << x[i];
      }
    }
  }
}

TEST(FakeQuantPow2, ActivationsHoldTheDpusFixPointValues) {
  // [−1, 1]: position 6 (step 1/64); ties round half up; the clamp is [−128, 127]/64.
  const std::vector<float> x = {-2.5f / 64, 2.5f / 64, -0.6f / 64, 0.3f, 3.0f, -3.0f};
  torch::Tensor t = torch::tensor(x).requires_grad_(true);
  const torch::Tensor y = fake_quant_pow2_activation(t, -1.0f, 1.0f);
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = fix_dequantize(fix_quantize(x[i], 6, FixRound::HalfUp), 6);
    EXPECT_EQ(y[static_cast<int64_t>(i)].item<float>(), want) << x[i];
  }
  EXPECT_EQ(y[0].item<float>(), -2.0f / 64);  // half up, where TFLite's rounding gives −3
  EXPECT_EQ(y[1].item<float>(), 3.0f / 64);
  EXPECT_EQ(y[4].item<float>(), 127.0f / 64);
  y.sum().backward();
  const auto g = t.grad();
  EXPECT_EQ(g[3].item<float>(), 1.0f);
  EXPECT_EQ(g[4].item<float>(), 0.0f);  // clipped
  EXPECT_EQ(g[5].item<float>(), 0.0f);
}

TEST(FakeQuantPow2, WeightsShareOnePowerOfTwoPerTensorChosenByDiffs) {
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.0f, 0.2f);
  std::vector<float> w(4 * 27);
  for (float& f : w) f = d(rng);
  const int pos = diffs_fix_pos(w.data(), static_cast<int64_t>(w.size()), FixRound::Std);
  torch::Tensor t = torch::tensor(w).reshape({4, 3, 3, 3}).requires_grad_(true);
  const torch::Tensor y = fake_quant_pow2_weight(t).reshape({-1});
  for (size_t i = 0; i < w.size(); ++i) {
    const float want = fix_dequantize(fix_quantize(w[i], pos, FixRound::Std), pos);
    ASSERT_EQ(y[static_cast<int64_t>(i)].item<float>(), want) << i;
  }
  y.sum().backward();
  EXPECT_TRUE(torch::all(t.grad() == 1).item<bool>());
}

TEST(FakeQuant, Int8PolicyQuantizesAndLearnsRangesInTraining) {
  PrecisionPolicy p;
  p.mode = PrecisionMode::Aligned;
  p.align.int8 = true;
  torch::Tensor x = (torch::randn({2, 3, 8, 8}) * 3).requires_grad_(true);
  const torch::Tensor y = p.act(x, "enc1.out");
  // At most 256 distinct values.
  EXPECT_LE(std::get<0>(at::_unique(y.detach().reshape({-1}))).numel(), 256);
  ASSERT_EQ(p.int8_ranges().count("enc1.out"), 1u);
  const auto first = p.int8_ranges().at("enc1.out");
  EXPECT_EQ(first.first, x.min().item<float>());
  // A second training batch moves the range by 10 % towards its own.
  torch::Tensor x2 = (torch::randn({2, 3, 8, 8}) * 30).requires_grad_(true);
  p.act(x2, "enc1.out");
  const auto second = p.int8_ranges().at("enc1.out");
  EXPECT_FLOAT_EQ(second.second, 0.9f * first.second + 0.1f * x2.max().item<float>());
  // Evaluation (no gradients) reads the range and does not move it.
  {
    torch::NoGradGuard ng;
    const torch::Tensor big = torch::full({1, 1, 2, 2}, 1000.0f);
    const torch::Tensor e = p.act(big, "enc1.out");
    EXPECT_LT(e.max().item<float>(), 1000.0f);  // clipped to the learned range
  }
  EXPECT_EQ(p.int8_ranges().at("enc1.out"), second);
  // Weights: the per-channel grid.
  const torch::Tensor w = torch::randn({4, 3, 3, 3});
  EXPECT_TRUE(torch::equal(p.weight(w), fake_quant_weight(w)));
  // The FP16 policy does not quantize to 256 levels.
  PrecisionPolicy h;
  h.mode = PrecisionMode::FP16Aligned;
  EXPECT_GT(std::get<0>(at::_unique(h.act(x, "a").detach().reshape({-1}))).numel(), 256);
}

// The range pass behind int8 quantization-aware training (finite_min_max): torch::aminmax's
// values for every length around the vector width and the parallel grain, in both bodies and
// both layouts; a NaN or an infinity anywhere, the tail included, reported as non-finite.
TEST(FiniteMinMax, EqualsAminmaxAndFlagsNonFiniteValues) {
  torch::manual_seed(21);
  const std::vector<int64_t> lengths = {1, 7, 8, 9, 15, 16, 17, 1000, 65536, 65543, 300001};
  for (const bool simd : {false, true}) {
    for (const int64_t n : lengths) {
      SCOPED_TRACE("n " + std::to_string(n) + (simd ? " simd" : " baseline"));
      const torch::Tensor x = torch::randn({n}) * 3 + 0.5;
      float lo = 0, hi = 0;
      ASSERT_TRUE(finite_min_max(x, lo, hi, simd));
      const auto [mn, mx] = torch::aminmax(x);
      EXPECT_EQ(lo, mn.item<float>());
      EXPECT_EQ(hi, mx.item<float>());
      for (const int64_t at : {int64_t{0}, n / 2, n - 1}) {
        for (const float bad :
             {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
              -std::numeric_limits<float>::infinity()}) {
          torch::Tensor y = x.clone();
          y[at] = bad;
          EXPECT_FALSE(finite_min_max(y, lo, hi, simd)) << "value " << bad << " at " << at;
        }
      }
    }
    // A channels-last activation and a strided view: the same range as their values.
    const torch::Tensor a =
        torch::randn({2, 5, 9, 7}).contiguous(torch::MemoryFormat::ChannelsLast);
    const torch::Tensor v = torch::randn({3, 4, 10, 10}).slice(3, 0, 10, 3);
    for (const torch::Tensor& t : {a, v}) {
      float lo = 0, hi = 0;
      ASSERT_TRUE(finite_min_max(t, lo, hi, simd));
      EXPECT_EQ(lo, t.min().item<float>());
      EXPECT_EQ(hi, t.max().item<float>());
    }
  }
  float lo = 0, hi = 0;
  EXPECT_THROW(finite_min_max(torch::empty({0}), lo, hi), std::invalid_argument);
  // Other dtypes go through torch::aminmax.
  ASSERT_TRUE(finite_min_max(torch::tensor({-2.5, 4.0}, torch::kFloat64), lo, hi));
  EXPECT_EQ(lo, -2.5f);
  EXPECT_EQ(hi, 4.0f);
}

}  // namespace
}  // namespace dalnas
