// Mixed precision in quantization-aware training (precision/policy.h): the scope rule
// matches device/precision_rule.h, int4w layers hold 4-bit weights, fp16 layers project
// to FP16, and an fp16 block's output is quantized for its int8 readers.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "precision/half.h"
#include "precision/policy.h"

namespace dalnas {
namespace {

PrecisionPolicy integer_policy(LayerPrecision def, LayerPrecision first_last) {
  PrecisionPolicy p;
  p.mode = PrecisionMode::Aligned;
  p.align.int8 = true;
  p.align.int8_precision = def;
  p.align.int8_first_last = first_last;
  return p;
}

// The largest number of distinct values in one output channel of a weight tensor.
size_t levels_per_channel(const torch::Tensor& w) {
  size_t most = 0;
  for (int64_t c = 0; c < w.size(0); ++c) {
    const torch::Tensor row = w[c].flatten().contiguous();
    std::set<float> s(row.data_ptr<float>(), row.data_ptr<float>() + row.numel());
    most = std::max(most, s.size());
  }
  return most;
}

TEST(MixedPolicy, ScopeFollowsGeneThenFirstLastThenDefault) {
  const PrecisionPolicy p = integer_policy(LayerPrecision::Int4W, LayerPrecision::Int8);
  p.set_scope(0);
  EXPECT_EQ(p.scope_precision(), LayerPrecision::Int8);  // first block: first_last
  p.set_scope(2);
  EXPECT_EQ(p.scope_precision(), LayerPrecision::Int4W);  // the default
  p.set_scope(2, LayerPrecision::FP16);
  EXPECT_EQ(p.scope_precision(), LayerPrecision::FP16);  // the gene
  p.set_scope(0, LayerPrecision::Int4W);
  EXPECT_EQ(p.scope_precision(), LayerPrecision::Int4W);  // the gene beats first_last
  p.set_scope(PrecisionPolicy::kHead);
  EXPECT_EQ(p.scope_precision(), LayerPrecision::Int8);
  p.set_scope(PrecisionPolicy::kOther);
  EXPECT_EQ(p.scope_precision(), LayerPrecision::Int4W);
  PrecisionPolicy f = p;
  f.align.int8 = false;  // not an integer target: no mixed precision
  f.set_scope(2, LayerPrecision::FP16);
  EXPECT_EQ(f.scope_precision(), LayerPrecision::Int8);
}

TEST(MixedPolicy, WeightsOnTheLayersGrid) {
  torch::manual_seed(3);
  const torch::Tensor w = torch::randn({8, 4, 3, 3});
  const PrecisionPolicy p = integer_policy(LayerPrecision::Int8, LayerPrecision::Default);
  p.set_scope(1, LayerPrecision::Int4W);
  EXPECT_LE(levels_per_channel(p.weight(w)), 15u);  // [−7, 7]
  p.set_scope(1, LayerPrecision::Int8);
  EXPECT_GT(levels_per_channel(p.weight(w)), 15u);
  p.set_scope(1, LayerPrecision::FP16);
  const torch::Tensor h = p.weight(w);
  const float* a = w.data_ptr<float>();
  const float* b = h.data_ptr<float>();
  for (int64_t i = 0; i < w.numel(); ++i) ASSERT_EQ(b[i], round_to_half(a[i])) << i;
  // Straight-through gradient in every precision.
  torch::Tensor v = w.clone().requires_grad_(true);
  p.set_scope(1, LayerPrecision::Int4W);
  p.weight(v).sum().backward();
  EXPECT_TRUE(torch::allclose(v.grad(), torch::ones_like(v)));
}

TEST(MixedPolicy, Fp16BlockActivationsAndTheirInt8Output) {
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({1, 4, 16, 16}) * 3;
  const PrecisionPolicy p = integer_policy(LayerPrecision::Int8, LayerPrecision::Default);
  p.set_scope(1, LayerPrecision::FP16);
  const torch::Tensor a = p.act(x, "enc1.conv");
  const float* xs = x.data_ptr<float>();
  const float* as = a.data_ptr<float>();
  for (int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(as[i], round_to_half(xs[i]));
  // The block's output, as its int8 readers see it: at most 256 values.
  const torch::Tensor q = p.block_output(a, "enc1.int8").contiguous();
  std::set<float> s(q.data_ptr<float>(), q.data_ptr<float>() + q.numel());
  EXPECT_LE(s.size(), 256u);
  // An int8 block's output is left as it is (its act points already quantized it).
  p.set_scope(2, LayerPrecision::Int8);
  EXPECT_TRUE(torch::equal(p.block_output(a, "enc2.int8"), a));
}

TEST(MixedPolicy, AFloatFirstBlockReadsTheInputInFp16) {
  torch::manual_seed(5);
  const torch::Tensor x = torch::randn({1, 3, 16, 16});
  const PrecisionPolicy p = integer_policy(LayerPrecision::Int8, LayerPrecision::FP16);
  p.set_scope(0);
  const torch::Tensor y = p.input(x).contiguous();
  std::set<float> s(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
  EXPECT_GT(s.size(), 256u);  // not an int8 tensor
  const PrecisionPolicy q = integer_policy(LayerPrecision::Int8, LayerPrecision::Default);
  q.set_scope(0);
  const torch::Tensor z = q.input(x).contiguous();
  std::set<float> t(z.data_ptr<float>(), z.data_ptr<float>() + z.numel());
  EXPECT_LE(t.size(), 256u);
}

// An int16 block (TFLite's 16x8): activations on a symmetric 16-bit grid, the block's
// output on the int8 grid for its int8 readers, and the network input int8 before an
// int16 first block.
TEST(MixedPolicy, Int16BlockActivationsOnTheSixteenBitGrid) {
  torch::manual_seed(6);
  const torch::Tensor x = torch::randn({1, 4, 16, 16}) * 3;
  const PrecisionPolicy p = integer_policy(LayerPrecision::Int8, LayerPrecision::Default);
  p.set_scope(1, LayerPrecision::Int16);
  EXPECT_EQ(p.scope_precision(), LayerPrecision::Int16);
  const torch::Tensor a = p.act(x, "enc1.conv").contiguous();
  const float m = x.abs().max().item<float>();
  const float step = m / 32767.0f;
  const float* xs = x.data_ptr<float>();
  const float* as = a.data_ptr<float>();
  std::set<float> values(as, as + a.numel());
  EXPECT_GT(values.size(), 256u);  // finer than int8
  for (int64_t i = 0; i < x.numel(); ++i) {
    ASSERT_LE(std::abs(as[i] - xs[i]), 0.5f * step * 1.001f) << i;
    const float q = as[i] / step;
    ASSERT_NEAR(q, std::round(q), 1e-2) << i;
  }
  // Weights stay int8: at most 255 levels per channel.
  const torch::Tensor w = torch::randn({6, 4, 3, 3});
  EXPECT_LE(levels_per_channel(p.weight(w)), 255u);
  // The block's output as its int8 readers see it.
  const torch::Tensor q = p.block_output(a, "enc1.int8").contiguous();
  std::set<float> s(q.data_ptr<float>(), q.data_ptr<float>() + q.numel());
  EXPECT_LE(s.size(), 256u);
  // Before an int16 first block the input is the host's int8.
  p.set_scope(0, LayerPrecision::Int16);
  const torch::Tensor in = p.input(x).contiguous();
  std::set<float> si(in.data_ptr<float>(), in.data_ptr<float>() + in.numel());
  EXPECT_LE(si.size(), 256u);
}

}  // namespace
}  // namespace dalnas
