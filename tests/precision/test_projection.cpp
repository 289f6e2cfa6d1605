#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "precision/policy.h"
#include "precision/projection.h"

using namespace dalnas;

namespace {

const HalfMode kAllModes[] = {{Overflow::Inf, Subnormals::Keep},
                              {Overflow::Inf, Subnormals::Flush},
                              {Overflow::Saturate, Subnormals::Keep},
                              {Overflow::Saturate, Subnormals::Flush}};

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Values over many magnitudes: sign * 2^U(-30, 20) * U(1, 2), plus specials.
torch::Tensor wide_random(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor mag = torch::exp2(torch::rand({n}) * 50 - 30) * (1 + torch::rand({n}));
  torch::Tensor sign = torch::where(torch::rand({n}) < 0.5, -1.0, 1.0);
  torch::Tensor x = (mag * sign).to(torch::kFloat);
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> specials = {0.0f,     -0.0f,    65504.0f, 65519.0f, 65520.0f,
                                       -70000.f, inf,      -inf,     1e-30f,   -6e-8f,
                                       2.98e-8f, 1.00049f, 1.00146f, 3.0e38f};
  for (size_t i = 0; i < specials.size() && int64_t(i) < n; ++i) x[i * 7 % n] = specials[i];
  return x;
}

// Element-wise reference with the scalar function.
torch::Tensor reference(const torch::Tensor& x, HalfMode mode) {
  torch::Tensor c = x.contiguous();
  torch::Tensor out = torch::empty_like(c);
  const float* in = c.data_ptr<float>();
  float* o = out.data_ptr<float>();
  for (int64_t i = 0; i < c.numel(); ++i) o[i] = round_to_half(in[i], mode);
  return out;
}

void expect_bitwise_equal(const torch::Tensor& a, const torch::Tensor& b) {
  ASSERT_EQ(a.sizes(), b.sizes());
  torch::Tensor ca = a.contiguous(), cb = b.contiguous();
  const float* pa = ca.data_ptr<float>();
  const float* pb = cb.data_ptr<float>();
  for (int64_t i = 0; i < ca.numel(); ++i) {
    ASSERT_EQ(bits(pa[i]), bits(pb[i])) << "element " << i << ": " << pa[i] << " vs " << pb[i];
  }
}

}  // namespace

TEST(Projection, ForwardEqualsElementwiseRounding) {
  // 3 x 70001 elements: above the parallel grain, with an odd tail.
  const torch::Tensor x = wide_random(3 * 70001, 1).reshape({3, 70001});
  for (const HalfMode& mode : kAllModes) {
    const torch::Tensor y = project_fp16(x, mode);
    ASSERT_EQ(y.sizes(), x.sizes());
    ASSERT_EQ(y.scalar_type(), torch::kFloat);
    expect_bitwise_equal(y, reference(x, mode));
  }
}

TEST(Projection, OutputsAreRepresentableInFP16) {
  const torch::Tensor x = wide_random(50000, 2);
  for (const HalfMode& mode : kAllModes) {
    const torch::Tensor y = project_fp16(x, mode);
    const float* p = y.data_ptr<float>();
    for (int64_t i = 0; i < y.numel(); ++i) {
      ASSERT_EQ(bits(half_to_float(float_to_half(p[i]))), bits(p[i])) << p[i];
      if (mode.overflow == Overflow::Saturate && std::isfinite(x[i].item<float>())) {
        ASSERT_LE(std::fabs(p[i]), kHalfMax);
      }
      if (mode.subnormals == Subnormals::Flush && p[i] != 0.0f) {
        ASSERT_GE(std::fabs(p[i]), kHalfMinNormal);
      }
    }
    // Idempotent.
    expect_bitwise_equal(project_fp16(y, mode), y);
  }
}

TEST(Projection, BackwardIsStraightThrough) {
  const torch::Tensor x0 = wide_random(40000, 3).reshape({200, 200});
  torch::manual_seed(4);
  const torch::Tensor upstream = torch::randn({200, 200});
  for (const HalfMode& mode : kAllModes) {
    torch::Tensor x = x0.clone().requires_grad_(true);
    const torch::Tensor y = project_fp16(x, mode);
    ASSERT_TRUE(y.requires_grad());
    (y * upstream).sum().backward();
    expect_bitwise_equal(x.grad(), upstream);
  }
}

TEST(Projection, MaskedBackwardZeroesExactlyOverflowedElements) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> values = {1.0f,     65504.0f,  65519.0f, 65520.0f, -65520.0f,
                                     70000.0f, -1e6f,     inf,      -inf,     nan,
                                     -3.5f,    -65519.5f, 1e-9f,    3e38f,    0.0f};
  const std::vector<bool> overflowed = {false, false, false, true,  true,  true, true, true,
                                        true,  false, false, false, false, true, false};
  const int64_t n = int64_t(values.size());
  torch::manual_seed(5);
  const torch::Tensor upstream = torch::randn({n}) + 3.0;  // no zeros
  for (const HalfMode& mode : kAllModes) {
    torch::Tensor x = torch::tensor(values).requires_grad_(true);
    project_fp16(x, mode, /*zero_grad_on_overflow=*/true).backward(upstream);
    const torch::Tensor g = x.grad();
    for (int64_t i = 0; i < n; ++i) {
      const float expected = overflowed[size_t(i)] ? 0.0f : upstream[i].item<float>();
      EXPECT_EQ(g[i].item<float>(), expected) << "x=" << values[size_t(i)];
    }
    // Without the mask everything passes straight through.
    torch::Tensor x2 = torch::tensor(values).requires_grad_(true);
    project_fp16(x2, mode, false).backward(upstream);
    expect_bitwise_equal(x2.grad(), upstream);
  }
}

// The pre-scaled store in one pass equals scaling, rounding and scaling back as three ops,
// bit for bit, over every mode and a range of shifts (the range moves with the scale).
TEST(Projection, ScaledProjectionEqualsThreeOps) {
  const torch::Tensor x = wide_random(70000, 9) * 1e-3;  // several parallel chunks
  const HalfMode modes[] = {kAllModes[0], kAllModes[1], kAllModes[2], kAllModes[3], kIeHalf};
  for (const HalfMode& mode : modes) {
    for (int shift : {1, 3, 8}) {
      const double scale = std::ldexp(1.0, shift);
      const torch::Tensor fused = project_fp16_scaled(x, mode, scale);
      const torch::Tensor three = project_fp16(x * scale, mode) * (1.0 / scale);
      expect_bitwise_equal(fused, three);
      // The scale matters: 70000 / 2^shift stays finite after the store only when scaled.
      const torch::Tensor big = torch::tensor({70000.0f / float(scale) * 1.01f});
      EXPECT_EQ(std::isinf(project_fp16_scaled(big, mode, scale).item<float>()),
                mode.overflow == Overflow::Inf);
    }
  }
  // Straight-through backward; the overflow mask follows the scaled value.
  torch::Tensor v = torch::tensor({1.0f, 40000.0f, -9000.0f}).requires_grad_(true);
  project_fp16_scaled(v, kAllModes[0], 8.0, /*zero_grad_on_overflow=*/true).sum().backward();
  EXPECT_EQ(v.grad()[0].item<float>(), 1.0f);
  EXPECT_EQ(v.grad()[1].item<float>(), 0.0f);  // 320000 overflows
  EXPECT_EQ(v.grad()[2].item<float>(), 0.0f);  // -72000 overflows
  EXPECT_THROW(project_fp16_scaled(v, kAllModes[0], 3.0), std::invalid_argument);
}

TEST(Projection, InfAndNaNInputs) {
  const float inf = std::numeric_limits<float>::infinity();
  const torch::Tensor x =
      torch::tensor({inf, -inf, std::numeric_limits<float>::quiet_NaN(), 1e9f, -1e9f});
  for (const HalfMode& mode : kAllModes) {
    const torch::Tensor y = project_fp16(x, mode);
    EXPECT_EQ(y[0].item<float>(), inf);
    EXPECT_EQ(y[1].item<float>(), -inf);
    EXPECT_TRUE(std::isnan(y[2].item<float>()));
    const float big = mode.overflow == Overflow::Saturate ? kHalfMax : inf;
    EXPECT_EQ(y[3].item<float>(), big);
    EXPECT_EQ(y[4].item<float>(), -big);
  }
}

TEST(Projection, NonContiguousInput) {
  const torch::Tensor base = wide_random(300 * 170, 6).reshape({300, 170});
  const torch::Tensor xt = base.t();  // 170 x 300 view
  ASSERT_FALSE(xt.is_contiguous());
  const HalfMode mode{Overflow::Saturate, Subnormals::Keep};
  const torch::Tensor y = project_fp16(xt, mode);
  ASSERT_EQ(y.sizes(), xt.sizes());
  expect_bitwise_equal(y, reference(xt, mode));
  expect_bitwise_equal(y.t(), reference(base, mode));

  // A strided slice, with gradient.
  torch::Tensor leaf = base.clone().requires_grad_(true);
  const torch::Tensor slice =
      leaf.index({torch::indexing::Slice(), torch::indexing::Slice(1, torch::indexing::None, 3)});
  const torch::Tensor ys = project_fp16(slice, mode);
  expect_bitwise_equal(ys, reference(slice.detach(), mode));
  torch::manual_seed(7);
  const torch::Tensor upstream = torch::randn(ys.sizes());
  ys.backward(upstream);
  torch::Tensor expected = torch::zeros_like(base);
  expected.index_put_(
      {torch::indexing::Slice(), torch::indexing::Slice(1, torch::indexing::None, 3)}, upstream);
  expect_bitwise_equal(leaf.grad(), expected);
}

TEST(Projection, OtherDtypesUseTorchConversion) {
  // float64 values that are exactly floats: same result as the float32 fast path.
  const torch::Tensor x = wide_random(5000, 8);
  for (const HalfMode& mode : kAllModes) {
    const torch::Tensor yd = project_fp16(x.to(torch::kDouble), mode);
    ASSERT_EQ(yd.scalar_type(), torch::kDouble);
    expect_bitwise_equal(yd.to(torch::kFloat), project_fp16(x, mode));
  }
  EXPECT_THROW(project_fp16(torch::ones({3}, torch::kInt)), std::invalid_argument);
}

TEST(Projection, NoGradModeAndEmpty) {
  const torch::Tensor x = wide_random(100, 9);
  {
    torch::NoGradGuard guard;
    const torch::Tensor y = project_fp16(x.clone().requires_grad_(true));
    EXPECT_FALSE(y.requires_grad());
    expect_bitwise_equal(y, reference(x, {}));
  }
  const torch::Tensor e = project_fp16(torch::empty({0, 4}));
  EXPECT_EQ(e.sizes(), torch::IntArrayRef({0, 4}));
  const torch::Tensor s = project_fp16(torch::tensor(1.0001f).reshape({}));
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item<float>(), 1.0f);
}

TEST(Policy, FP32IsIdentityAndGradientFlows) {
  PrecisionPolicy policy;  // fp32
  EXPECT_FALSE(policy.enabled());
  const torch::Tensor w0 = wide_random(1000, 10);
  torch::Tensor w = w0.clone().requires_grad_(true);
  const torch::Tensor pw = policy.weight(w);
  EXPECT_TRUE(pw.is_same(w));
  const torch::Tensor pa = policy.act(w * 2, "a");
  expect_bitwise_equal(pa, w0 * 2);
  torch::manual_seed(11);
  const torch::Tensor upstream = torch::randn({1000});
  (pw * upstream + pa).sum().backward();
  expect_bitwise_equal(w.grad(), upstream + 2);
}

TEST(Policy, FP16AlignedProjectsWeightsAndActivations) {
  PrecisionPolicy policy;
  policy.mode = PrecisionMode::FP16Aligned;
  policy.half.overflow = Overflow::Saturate;
  policy.zero_grad_on_overflow = true;
  ASSERT_TRUE(policy.enabled());
  torch::Tensor w = torch::tensor({1.0001f, 70000.0f, -2.0f}).requires_grad_(true);
  const torch::Tensor pw = policy.weight(w);
  EXPECT_EQ(pw[0].item<float>(), 1.0f);
  EXPECT_EQ(pw[1].item<float>(), kHalfMax);  // saturated
  EXPECT_EQ(pw[2].item<float>(), -2.0f);
  pw.sum().backward();
  EXPECT_EQ(w.grad()[0].item<float>(), 1.0f);
  EXPECT_EQ(w.grad()[1].item<float>(), 0.0f);  // masked: overflowed
  EXPECT_EQ(w.grad()[2].item<float>(), 1.0f);

  const torch::Tensor x = wide_random(2000, 12);
  expect_bitwise_equal(policy.act(x, "enc1.out"), reference(x, policy.half));
}

TEST(Policy, ObserverSeesWhatActReturns) {
  PrecisionPolicy policy;
  std::vector<std::string> names;
  std::vector<torch::Tensor> seen;
  policy.observer = [&](const std::string& where, const torch::Tensor& t) {
    names.push_back(where);
    seen.push_back(t);
  };
  const torch::Tensor x = torch::tensor({1.0001f, 3.0f});
  const torch::Tensor a = policy.act(x, "fp32.point");
  policy.weight(x);  // never observed
  policy.mode = PrecisionMode::FP16Aligned;
  const torch::Tensor b = policy.act(x, "enc2.out");
  ASSERT_EQ(names, (std::vector<std::string>{"fp32.point", "enc2.out"}));
  EXPECT_TRUE(seen[0].is_same(a));
  EXPECT_TRUE(seen[1].is_same(b));
  EXPECT_EQ(seen[0][0].item<float>(), 1.0001f);
  EXPECT_EQ(seen[1][0].item<float>(), 1.0f);
}

TEST(Policy, ParseAndPrint) {
  EXPECT_EQ(parse_precision("fp32"), PrecisionMode::FP32);
  EXPECT_EQ(parse_precision("fp16-aligned"), PrecisionMode::FP16Aligned);
  for (PrecisionMode m : {PrecisionMode::FP32, PrecisionMode::FP16Aligned}) {
    EXPECT_EQ(parse_precision(to_string(m)), m);
  }
  for (const std::string bad : {"fp16", "FP32", "", "fp16-aligned "}) {
    try {
      parse_precision(bad);
      FAIL() << "accepted \"" << bad << "\"";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("\"" + bad + "\""), std::string::npos) << msg;
      EXPECT_NE(msg.find("fp32"), std::string::npos) << msg;
      EXPECT_NE(msg.find("fp16-aligned"), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
}
