// The emulator's convolution kernels against each other: conv_scalar (the reference),
// conv_avx2 and conv_avx512, bit for bit, over a table of shapes × accumulation blocks ×
// every HalfMode (overflow × subnormals × rounding) × storage rounding × un-scaling.
// Paths this CPU lacks are reported as skipped (tests/isa_paths.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "device/kernels.h"
#include "isa_paths.h"
#include "precision/half.h"

namespace dalnas {
namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// Bitwise equality, except that any two NaNs are equal (the payload of a NaN produced by
// arithmetic, e.g. inf - inf, is the same on every path but not worth pinning down).
bool same(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || bits_of(a) == bits_of(b);
}

std::vector<HalfMode> all_half_modes() {
  std::vector<HalfMode> v;
  for (Rounding r : {Rounding::NearestEven, Rounding::NearestAway}) {
    for (Subnormals s : {Subnormals::Keep, Subnormals::Flush, Subnormals::MinNormal}) {
      for (Overflow o : {Overflow::Inf, Overflow::Saturate}) v.push_back(HalfMode{o, s, r});
    }
  }
  return v;
}

std::string name(const HalfMode& m) {
  const char* sub[] = {"keep", "flush", "min-normal"};
  return std::string(m.overflow == Overflow::Inf ? "inf" : "saturate") + "/" +
         sub[static_cast<int>(m.subnormals)] + "/" +
         (m.rounding == Rounding::NearestEven ? "even" : "away");
}

struct ConvCase {
  int cin, cout, h, w, k, stride, pad, groups;
};

// Output channel counts exercise every register block and its remainders; odd widths the
// masked tails; K = cin/groups · k² of 252 and 270 one exact hardware block and one plus a
// short one.
const ConvCase kCases[] = {
    {3, 17, 7, 9, 3, 1, 1, 1},    // odd sizes
    {1, 1, 1, 1, 1, 1, 0, 1},     // 1×1 everything
    {17, 33, 5, 9, 1, 1, 0, 1},   // 1×1 convolution
    {5, 7, 9, 7, 5, 1, 2, 1},     // 5×5, pad 2
    {16, 16, 9, 7, 3, 1, 1, 16},  // depthwise
    {6, 9, 11, 13, 3, 2, 1, 3},   // grouped, stride 2
    {4, 9, 5, 70, 3, 1, 1, 1},    // wide rows: full tiles + tail
    {33, 4, 4, 37, 3, 2, 1, 1},   // stride 2, wide
    {3, 3, 5, 75, 3, 1, 1, 3},    // depthwise wide
    {2, 5, 6, 19, 3, 2, 0, 1},    // stride 2, pad 0
    {8, 8, 6, 33, 5, 2, 2, 8},    // depthwise 5×5, stride 2
    {28, 12, 3, 23, 3, 1, 1, 1},  // K = 252
    {30, 5, 3, 17, 3, 1, 1, 1},   // K = 270
    {12, 20, 4, 21, 1, 2, 0, 4},  // grouped 1×1, stride 2
    {16, 24, 3, 40, 3, 1, 1, 1},  // 24 channels, 40 wide
    {4, 8, 3, 3, 5, 1, 1, 1},     // kernel larger than the input
    {3, 4, 10, 10, 3, 3, 0, 1},   // stride 3 (SIMD paths fall back to scalar)
};

const ActType kActs[] = {ActType::None,  ActType::ReLU,        ActType::HardSwish,
                         ActType::GELU,  ActType::Clip,        ActType::Sigmoid,
                         ActType::ReLU6, ActType::HardSigmoid, ActType::Swish};

// Values that make FP16 rounding decisions matter: small integers times powers of two (sums
// of their products land exactly on FP16 ties, where even and away differ), across the
// regimes of a half (2^-30: below every subnormal; 2^-24 .. 2^-14: subnormal and MinNormal
// ranges; 2^6 .. 2^10: products and sums beyond 65504), plus plain random values and zeros.
float value(std::mt19937& rng, bool weight) {
  std::uniform_int_distribution<int> pick(0, 99);
  std::uniform_int_distribution<int> small(-40, 40);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int p = pick(rng);
  if (p < 10) return u(rng);
  if (p < 13) return p == 10 ? -0.0f : 0.0f;
  const int e_in[] = {-30, -26, -24, -20, -16, -14, -3, 0, 0, 0, 0, 2, 6, 10};
  const int e_w[] = {-6, -3, -2, -1, 0, 0, 0, 1, 3};
  const int e = weight ? e_w[rng() % 9] : e_in[rng() % 14];
  return std::ldexp(static_cast<float>(small(rng)), e);
}

struct Data {
  std::vector<float> in, weight, bias;
  kernels::ConvArgs args;  // in/weight/bias point into the vectors above; out is unset
};

// Every third case keeps some input values that are not FP16 values (FP32 storage): the
// kernels then take mul-then-add instead of FMA (kernels_simd.inc); every fifth has a NaN.
Data make(const ConvCase& c, int act_index, std::mt19937& rng) {
  Data d;
  kernels::ConvArgs& a = d.args;
  a.in_shape = {c.cin, c.h, c.w};
  a.out_shape = {c.cout, (c.h + 2 * c.pad - c.k) / c.stride + 1,
                 (c.w + 2 * c.pad - c.k) / c.stride + 1};
  a.kernel = c.k;
  a.stride = c.stride;
  a.pad = c.pad;
  a.groups = c.groups;
  d.in.resize(static_cast<size_t>(a.in_shape.numel()));
  for (float& v : d.in) v = value(rng, false);
  d.weight.resize(static_cast<size_t>(c.cout) * (c.cin / c.groups) * c.k * c.k);
  for (float& v : d.weight) v = value(rng, true);
  d.bias.resize(static_cast<size_t>(c.cout));
  for (float& v : d.bias) v = value(rng, false);
  // Stored values (FP16) as the emulator prepares them; infinities included.
  if (act_index % 3 != 2) {
    round_to_half_scalar(d.in.data(), d.in.data(), d.in.size());
  } else {
    // Full 24-bit significands: products with FP16 weights are not exact in fp32.
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (float& v : d.in) v *= 1.0f + 0.01f * u(rng);
  }
  if (act_index % 5 == 4) d.in[d.in.size() / 2] = std::numeric_limits<float>::quiet_NaN();
  round_to_half_scalar(d.weight.data(), d.weight.data(), d.weight.size());
  round_to_half_scalar(d.bias.data(), d.bias.data(), d.bias.size());
  a.in = d.in.data();
  a.weight = d.weight.data();
  a.bias = d.bias.data();
  a.act = kActs[act_index % std::size(kActs)];
  a.act_min = -0.5f;
  a.act_max = 300.0f;
  a.alpha = 0.3f;
  a.beta = 0.4f;
  a.unscale_factor = 0.125f;
  return d;
}

using ConvFn = void (*)(const kernels::ConvArgs&);

std::vector<float> run(ConvFn f, kernels::ConvArgs a) {
  std::vector<float> out(static_cast<size_t>(a.out_shape.numel()),
                         std::numeric_limits<float>::quiet_NaN());
  a.out = out.data();
  f(a);
  return out;
}

TEST(Kernels, SimdMatchesScalarInEveryShapeBlockAndHalfMode) {
  const isa_paths::Report isa_report;
  isa_paths::ran("scalar");
  std::vector<std::pair<std::string, ConvFn>> simd;
  if (isa_paths::use("avx2")) simd.emplace_back("avx2", &kernels::conv_avx2);
  if (isa_paths::use("avx512")) simd.emplace_back("avx512", &kernels::conv_avx512);
  const std::vector<HalfMode> modes = all_half_modes();
  const int blocks[] = {0, 1, 9, 252};
  int64_t compared = 0, away_differs = 0;
  int case_index = 0;
  for (const ConvCase& c : kCases) {
    std::mt19937 rng(1000 + case_index);
    const Data d = make(c, case_index, rng);
    for (int block : blocks) {
      for (bool store : {false, true}) {
        for (bool unscale : {false, true}) {
          std::vector<float> even_out;
          for (const HalfMode& mode : modes) {
            kernels::ConvArgs a = d.args;
            a.block = block;
            a.half = mode;
            a.store_fp16 = store;
            a.unscale = unscale;
            SCOPED_TRACE("case " + std::to_string(case_index) + ", block " + std::to_string(block) +
                         ", " + name(mode) + (store ? ", store fp16" : "") +
                         (unscale ? ", unscale" : ""));
            const std::vector<float> ref = run(&kernels::conv_scalar, a);
            if (mode == HalfMode{Overflow::Inf, Subnormals::Keep, Rounding::NearestEven}) {
              even_out = ref;
            } else if (mode == HalfMode{Overflow::Inf, Subnormals::Keep, Rounding::NearestAway} &&
                       (block != 0 || store)) {
              for (size_t i = 0; i < ref.size(); ++i) away_differs += !same(ref[i], even_out[i]);
            }
            for (const auto& [isa, fn] : simd) {
              const std::vector<float> got = run(fn, a);
              for (size_t i = 0; i < ref.size(); ++i) {
                if (!same(got[i], ref[i])) {
                  FAIL() << isa << " differs from scalar at element " << i << ": " << got[i]
                         << " (0x" << std::hex << bits_of(got[i]) << ") vs " << ref[i] << " (0x"
                         << bits_of(ref[i]) << std::dec << ")";
                }
              }
              compared += static_cast<int64_t>(ref.size());
            }
          }
        }
      }
    }
    ++case_index;
  }
  // The data reach ties: ties away and to even give different results somewhere (else
  // this test could not tell the rounding modes apart).
  EXPECT_GT(away_differs, 0);
  std::printf("[          ] %lld outputs compared, %lld differ between ties even and away\n",
              static_cast<long long>(compared), static_cast<long long>(away_differs));
}

// The same comparison where every rounding mode matters most: sums that sit exactly on
// FP16 ties, at the subnormal / MinNormal thresholds and at 65504 / 65520.
TEST(Kernels, SimdMatchesScalarOnRoundingThresholds) {
  const isa_paths::Report isa_report;
  isa_paths::ran("scalar");
  std::vector<std::pair<std::string, ConvFn>> simd;
  if (isa_paths::use("avx2")) simd.emplace_back("avx2", &kernels::conv_avx2);
  if (isa_paths::use("avx512")) simd.emplace_back("avx512", &kernels::conv_avx512);
  // A 1×1 convolution with one input channel and weight 1: output = h(x + bias) paths.
  // Inputs: the thresholds and their float neighbours (already FP16 values where needed
  // for the product to be exact, the bias moves the sum onto the tie).
  std::vector<float> xs;
  for (float t : {std::ldexp(1.0f, -15), std::ldexp(1.0f, -14), std::ldexp(1.0f, -25),
                  std::ldexp(1.0f, -24), 65504.0f, 65520.0f, 2049.0f, 1.5f * std::ldexp(1.0f, -24),
                  std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25), 1.0f + std::ldexp(1.0f, -11)}) {
    for (float s : {1.0f, -1.0f}) {
      xs.push_back(s * t);
      xs.push_back(s * std::nextafter(t, 0.0f));
      xs.push_back(s * std::nextafter(t, 1e30f));
    }
  }
  const int w = static_cast<int>(xs.size());
  const float one = 1.0f, zero = 0.0f;
  for (const HalfMode& mode : all_half_modes()) {
    for (int block : {0, 1, 9}) {
      kernels::ConvArgs a;
      a.in = xs.data();
      a.in_shape = {1, 1, w};
      a.out_shape = {1, 1, w};
      a.weight = &one;
      a.bias = &zero;
      a.block = block;
      a.half = mode;
      a.store_fp16 = true;
      SCOPED_TRACE(name(mode) + ", block " + std::to_string(block));
      const std::vector<float> ref = run(&kernels::conv_scalar, a);
      for (int i = 0; i < w; ++i) {
        // Scalar reference: one rounding of x (the products are exact; a sum with the +0
        // accumulator or bias may turn -0 into +0, hence == rather than bits).
        const float want = round_to_half(xs[i], mode);
        ASSERT_TRUE(ref[i] == want || same(ref[i], want)) << "x = " << xs[i];
      }
      for (const auto& [isa, fn] : simd) {
        const std::vector<float> got = run(fn, a);
        for (int i = 0; i < w; ++i) {
          ASSERT_TRUE(same(got[i], ref[i]))
              << isa << " x = " << xs[i] << ": " << got[i] << " vs " << ref[i];
        }
      }
    }
  }
}

}  // namespace
}  // namespace dalnas
