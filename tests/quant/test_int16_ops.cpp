// TFLite's 16x8 arithmetic (quant/int16_ops.h): the int64 fixed-point multiply, the int16
// parameters, the int16 convolution (hand-computed cases, a naive reference written here,
// and the AVX2 path against the scalar reference bit for bit over a table of shapes), ADD,
// QUANTIZE and pooling.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "isa_paths.h"
#include "quant/int16_ops.h"
#include "quant/naive_pool.h"

namespace dalnas {
namespace {

// Expects `f` to throw dalnas::Error whose message contains `needle`.
void expect_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no dalnas::Error (expected one naming '" << needle << "')";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message '" << e.what() << "' does not name '" << needle << "'";
  }
}

// ---------------------------------------------------------------------------------------
// MultiplyByQuantizedMultiplier(int64_t x, ...)

TEST(Int16Fixed, Int64MultiplyRoundsTiesTowardPlusInfinity) {
  // M = 0.5: {2^30, 0}; reduced 2^14, total shift 15: floor((x + 1) / 2).
  const int32_t half = 1 << 30;
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(3, half, 0), 2);    // 1.5 -> 2
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(-3, half, 0), -1);  // -1.5 -> -1
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(1, half, 0), 1);    // 0.5 -> 1
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(-1, half, 0), 0);   // -0.5 -> 0
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(5, half, 0), 3);    // 2.5 -> 3
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(-5, half, 0), -2);  // -2.5 -> -2
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(-4, half, 0), -2);
  // M = 0.25 ({2^30, -1}), x = -6: the int64 multiply gives -1.5 -> -1; the int32
  // double-rounding multiply rounds this tie away from zero in its RoundingDivideByPOT.
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(-6, half, -1), -1);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(-6, half, -1, RequantRounding::Double), -2);
  // Shift extremes: 7 (total shift 8) and -31 (total shift 46, a tie at -1.5).
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(1, half, 7), 64);
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(int64_t{1} << 46, half, -31), 1 << 14);
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(-(int64_t{3} << 31), half, -31), -1);
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(-(int64_t{3} << 32), half, -31), -3);
  // Beyond int32 the cast keeps the low 32 bits: 2^40 · 0.5 · 2^7 = 2^46 -> 0.
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(int64_t{1} << 40, half, 7), 0);
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(0, 0, 0), 0);
}

TEST(Int16Fixed, ReducedMultiplierRoundsAndCaps) {
  // (m + 2^15) >> 16: the 16-bit multiplier is itself rounded (ties up).
  EXPECT_EQ(ReducedMultiplierInt16((1 << 30) + (1 << 15) - 1), 1 << 14);
  EXPECT_EQ(ReducedMultiplierInt16((1 << 30) + (1 << 15)), (1 << 14) + 1);
  const int64_t x = int64_t{1} << 20;
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(x, (1 << 30) + (1 << 15) - 1, 0), 524288);
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(x, (1 << 30) + (1 << 15), 0), 524320);
  // The 0x7FFF cap: from m = 0x7FFF0000 on (uncapped, 0x7FFF8000 would give 0x8000).
  EXPECT_EQ(ReducedMultiplierInt16(0x7FFEFFFF), 0x7FFF);
  EXPECT_EQ(ReducedMultiplierInt16(0x7FFF0000), 0x7FFF);
  EXPECT_EQ(ReducedMultiplierInt16(0x7FFF8000), 0x7FFF);
  EXPECT_EQ(ReducedMultiplierInt16(std::numeric_limits<int32_t>::max()), 0x7FFF);
  // 32768 · 0x7FFF / 2^15 = 32767 exactly (+ 0.5 rounding, floored); uncapped: 32768.
  EXPECT_EQ(MultiplyByQuantizedMultiplierInt64(32768, 0x7FFF8000, 0), 32767);
}

// ---------------------------------------------------------------------------------------
// Parameters, QUANTIZE from float, DEQUANTIZE, activation ranges.

TEST(Int16Params, SymmetricRangeAndQuantize) {
  QuantParams p = symmetric_int16_params(-1.0f, 2.0f);
  EXPECT_EQ(p.zero_point, 0);
  EXPECT_EQ(p.scale, 2.0f / 32767.0f);
  EXPECT_EQ(quantize_int16(2.0f, p), 32767);
  EXPECT_EQ(quantize_int16(-2.0f, p), -32767);  // the symmetric range ends at -32767
  EXPECT_EQ(quantize_int16(-1.0f, p), -16384);  // -16383.5 -> away from zero
  p = symmetric_int16_params(1.0f, 3.0f);       // 0 is always included
  EXPECT_EQ(p.scale, 3.0f / 32767.0f);
  p = symmetric_int16_params(-4.0f, -1.0f);
  EXPECT_EQ(p.scale, 4.0f / 32767.0f);
  expect_error([] { symmetric_int16_params(2.0f, 1.0f); }, "symmetric_int16_params");
  expect_error([] { symmetric_int16_params(NAN, 1.0f); }, "not finite");

  const QuantParams one{1.0f, 0};
  EXPECT_EQ(quantize_int16(2.5f, one), 3);  // TfLiteRound: ties away from zero
  EXPECT_EQ(quantize_int16(-2.5f, one), -3);
  EXPECT_EQ(quantize_int16(40000.0f, one), 32767);
  EXPECT_EQ(quantize_int16(-40000.0f, one), -32768);  // the int16 limit, not -32767
  EXPECT_EQ(quantize_int16(1e30f, one), 32767);
  EXPECT_EQ(quantize_int16(-1e30f, one), -32768);
  EXPECT_EQ(quantize_int16(NAN, one), 0);
  EXPECT_EQ(dequantize_int16(-32768, QuantParams{0.5f, 0}), -16384.0f);
  EXPECT_EQ(dequantize_int16(3, QuantParams{0.1f, 0}),
            static_cast<float>(static_cast<double>(0.1f) * 3));
}

TEST(Int16Params, ActivationRanges) {
  const QuantParams p{0.001f, 0};
  ActivationRange r = activation_range_int16(FusedActivation::Relu6, p);
  EXPECT_EQ(r.min, 0);
  EXPECT_EQ(r.max, 6000);
  r = activation_range_int16(FusedActivation::ReluN1To1, p);
  EXPECT_EQ(r.min, -1000);
  EXPECT_EQ(r.max, 1000);
  r = activation_range_int16(FusedActivation::Relu, p);
  EXPECT_EQ(r.min, 0);
  EXPECT_EQ(r.max, 32767);
  r = activation_range_int16(FusedActivation::None, p);
  EXPECT_EQ(r.min, -32768);
  EXPECT_EQ(r.max, 32767);
  r = activation_range_int16(FusedActivation::Relu6, QuantParams{1e-9f, 0});  // q(6) huge
  EXPECT_EQ(r.max, 32767);
  expect_error(
      [] {
        activation_range_int16(FusedActivation::Relu, QuantParams{0.0f, 0});
      },
      "output scale");
}

// ---------------------------------------------------------------------------------------
// Convolution.

// Runs `isa` if this CPU has it, recording it in the current isa_paths::Report.
bool use(Int8Isa isa) {
  const char* off = std::getenv("DALNAS_NO_SIMD");
  if (off != nullptr && std::string(off) == "1") {
    isa_paths::missing(to_string(isa), "DALNAS_NO_SIMD=1");
    return false;
  }
  if (int16_isa_supported(isa)) {
    isa_paths::ran(to_string(isa));
    return true;
  }
  isa_paths::missing(to_string(isa), "this CPU lacks AVX2");
  return false;
}

std::vector<Int8Isa> all_paths() {
  std::vector<Int8Isa> paths{Int8Isa::Scalar};
  isa_paths::ran("scalar");
  if (use(Int8Isa::AVX2)) paths.push_back(Int8Isa::AVX2);
  return paths;
}

// 3×3 input 0, 1000, ..., 8000, one Sobel-x filter, pad 1, M = 0.25 ({2^30, -1}: reduced
// 2^14, total shift 16), bias 2.
struct Sobel {
  std::vector<int16_t> in{0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000};
  std::vector<int8_t> w{1, 0, -1, 2, 0, -2, 1, 0, -1};
  std::vector<int64_t> bias{2};
  std::vector<int32_t> mult{1 << 30};
  std::vector<int> shift{-1};
  std::vector<int16_t> out = std::vector<int16_t>(9, 0);
  Int16ConvArgs args() {
    Int16ConvArgs a;
    a.in = in.data();
    a.h = a.w = 3;
    a.weight = w.data();
    a.bias = bias.data();
    a.kernel = 3;
    a.pad = 1;
    a.multiplier = mult.data();
    a.shift = shift.data();
    a.out = out.data();
    return a;
  }
};

TEST(Int16Conv, HandComputedSobel) {
  isa_paths::Report report;
  for (Int8Isa isa : all_paths()) {
    SCOPED_TRACE(to_string(isa));
    Sobel s;
    // Centre: (0 − 2000) + 2·(3000 − 5000) + (6000 − 8000) = −8000; +2 = −7998; ·0.25 =
    // −1999.5 -> −1999 (ties toward +infinity). Without the bias it would be −2000.
    // Corner (0,0): taps (0,1)·(−2) and (1,1)·(−1) inside: −2000 − 4000 = −6000; +2;
    // ·0.25 = −1499.5 -> −1499.
    int16_conv(s.args(), isa);
    EXPECT_EQ(s.out[4], -1999);
    EXPECT_EQ(s.out[0], -1499);
    // Right column centre (1,2): taps (0,1),(1,1),(2,1) in x = 1..2 of rows 0..2:
    // 1·1000 + 2·4000 + 1·7000 (kx = 0 column) − 0 (kx = 2 outside) = 16000; +2 -> 4000.5 -> 4001.
    EXPECT_EQ(s.out[5], 4001);
    // Without bias.
    Int16ConvArgs a = s.args();
    a.bias = nullptr;
    int16_conv(a, isa);
    EXPECT_EQ(s.out[4], -2000);
    EXPECT_EQ(s.out[0], -1500);
    // Saturation at the int16 limits by the default clamp [-32768, 32767].
    s.bias[0] = 400000;  // centre (392000) · 0.25 = 98000 -> 32767
    int16_conv(s.args(), isa);
    EXPECT_EQ(s.out[4], 32767);
    s.bias[0] = -400000;  // (-408000) · 0.25 = -102000 -> -32768
    int16_conv(s.args(), isa);
    EXPECT_EQ(s.out[4], -32768);
    // Fused ReLU [0, 32767] and a narrow range [-100, 50].
    s.bias[0] = 2;
    a = s.args();
    a.act_min = 0;
    int16_conv(a, isa);
    EXPECT_EQ(s.out[4], 0);
    EXPECT_EQ(s.out[5], 4001);
    a.act_min = -100;
    a.act_max = 50;
    int16_conv(a, isa);
    EXPECT_EQ(s.out[4], -100);
    EXPECT_EQ(s.out[5], 50);
    // An int64 bias beyond int32: 2^33 − 8000 at M = 2^-20 ({2^30, -19}: reduced 2^14,
    // total shift 34): (2^33 − 8000) / 2^20 = 8191.99... -> 8192.
    s.bias[0] = int64_t{1} << 33;
    s.shift[0] = -19;
    int16_conv(s.args(), isa);
    EXPECT_EQ(s.out[4], 8192);
  }
}

// c_in 512, 3×3 kernel: 4608 taps of (−32768)·(−128) = 2^22 each, 2^34.2 in all, far beyond
// int32 (an int32 accumulation, or int32 partial sums over too many taps, would wrap).
TEST(Int16Conv, Int64AccumulationOf512ChannelsAtTheExtremes) {
  isa_paths::Report report;
  const int c_in = 512;
  std::vector<int16_t> in(static_cast<size_t>(c_in) * 9, -32768);
  std::vector<int8_t> w(static_cast<size_t>(c_in) * 9, -128);
  std::vector<int32_t> mult{1 << 30};
  std::vector<int> shift{-19};  // M = 2^-20
  for (Int8Isa isa : all_paths()) {
    SCOPED_TRACE(to_string(isa));
    std::vector<int16_t> out(9, 0);
    Int16ConvArgs a;
    a.in = in.data();
    a.c_in = c_in;
    a.h = a.w = 3;
    a.weight = w.data();
    a.kernel = 3;
    a.pad = 1;
    a.multiplier = mult.data();
    a.shift = shift.data();
    a.out = out.data();
    int16_conv(a, isa);
    // Corner: 4 taps per channel: 2048 · 2^22 = 2^33 -> 2^13; edge 3072 · 2^22 -> 12288;
    // centre 4608 · 2^22 -> 18432.
    EXPECT_EQ(out[0], 8192);
    EXPECT_EQ(out[1], 12288);
    EXPECT_EQ(out[4], 18432);
    EXPECT_EQ(out[8], 8192);
  }
}

// A naive, float-free reference written from TFLite's loop, independent of the library:
// the taps by explicit bounds, the requantization in __int128 from the definition
// floor((x · r + 2^(t−1)) / 2^t), r = the capped rounded 16-bit multiplier, t = 15 − shift.
std::vector<int16_t> naive_conv(const Int16ConvArgs& a) {
  const int ho = a.out_h(), wo = a.out_w(), k = a.kernel;
  const int cig = a.c_in / a.groups, cog = a.c_out / a.groups;
  std::vector<int16_t> out(static_cast<size_t>(a.batch) * a.c_out * ho * wo);
  for (int n = 0; n < a.batch; ++n) {
    for (int oc = 0; oc < a.c_out; ++oc) {
      const int g = oc / cog;
      for (int oy = 0; oy < ho; ++oy) {
        for (int ox = 0; ox < wo; ++ox) {
          __int128 acc = 0;
          for (int ic = 0; ic < cig; ++ic) {
            for (int ky = 0; ky < k; ++ky) {
              for (int kx = 0; kx < k; ++kx) {
                const int y = oy * a.stride - a.pad + ky, x = ox * a.stride - a.pad + kx;
                if (y < 0 || y >= a.h || x < 0 || x >= a.w) continue;
                const int64_t xi =
                    a.in[((static_cast<int64_t>(n) * a.c_in + g * cig + ic) * a.h + y) * a.w + x];
                const int64_t wi =
                    a.weight[((static_cast<int64_t>(oc) * cig + ic) * k + ky) * k + kx];
                acc += xi * wi;
              }
            }
          }
          if (a.bias != nullptr) acc += a.bias[oc];
          const int64_t m = a.multiplier[oc];
          const int64_t r = m >= 0x7FFF0000 ? 0x7FFF : (m + 32768) / 65536;
          const int t = 15 - a.shift[oc];
          const __int128 num = acc * r + (static_cast<__int128>(1) << (t - 1));
          const __int128 den = static_cast<__int128>(1) << t;
          __int128 q = num / den;
          if (num % den != 0 && num < 0) q -= 1;  // floor
          // Keep the low 32 bits (int64 -> int32 cast), then clamp.
          const uint32_t low = static_cast<uint32_t>(static_cast<uint64_t>(q));
          int64_t v = low >= 0x80000000u ? static_cast<int64_t>(low) - (int64_t{1} << 32) : low;
          v = v < a.act_min ? a.act_min : (v > a.act_max ? a.act_max : v);
          out[((static_cast<size_t>(n) * a.c_out + oc) * ho + oy) * wo + ox] =
              static_cast<int16_t>(v);
        }
      }
    }
  }
  return out;
}

struct Shape {
  int batch, c_in, c_out, h, w, kernel, stride, pad, groups;
};

std::string name(const Shape& s) {
  return std::to_string(s.batch) + "x" + std::to_string(s.c_in) + "x" + std::to_string(s.h) + "x" +
         std::to_string(s.w) + " -> " + std::to_string(s.c_out) + " k" + std::to_string(s.kernel) +
         " s" + std::to_string(s.stride) + " p" + std::to_string(s.pad) + " g" +
         std::to_string(s.groups);
}

// Modes: 0 random values over the whole ranges; 1 every product +2^22 (input −32768,
// weights −128: the int32 overflow case); 2 inputs and weights at random extremes.
struct Problem {
  std::vector<int16_t> in;
  std::vector<int8_t> w;
  std::vector<int64_t> bias;
  std::vector<int32_t> mult;
  std::vector<int> shift;
  Int16ConvArgs a;
  Problem(const Shape& s, std::mt19937& rng, int mode) {
    std::uniform_int_distribution<int> i16(-32768, 32767), w8(-127, 127);
    in.resize(static_cast<size_t>(s.batch) * s.c_in * s.h * s.w);
    w.resize(static_cast<size_t>(s.c_out) * (s.c_in / s.groups) * s.kernel * s.kernel);
    for (auto& v : in) {
      v = static_cast<int16_t>(mode == 0   ? i16(rng)
                               : mode == 1 ? -32768
                                           : (rng() % 2 ? 32767 : -32768));
    }
    for (auto& v : w) {
      v = static_cast<int8_t>(mode == 0 ? w8(rng) : mode == 1 ? -128 : (rng() % 2 ? 127 : -128));
    }
    // Scale of the sums: sqrt(taps) · 2^20 for random values, taps · 2^22 at the extremes.
    // Most channels get M ≈ 2^12 / scale (outputs spread over the int16 range) and a bias up
    // to ±scale / 2 (it matters, without dominating); one in four gets M from 2^-36 to 2^6
    // (shifts over [-31, 7]; below 2^-32 QuantizeMultiplier flushes to {0, 0}) and a bias up
    // to ±2^40; one in eight a multiplier at the 0x7FFF cap.
    const double taps = static_cast<double>(s.c_in / s.groups) * s.kernel * s.kernel;
    const double scale = mode == 0 ? std::sqrt(taps) * 1048576.0 : taps * 4194304.0;
    std::uniform_real_distribution<double> jitter(-2.0, 1.0), wide(-36.0, 6.0);
    for (int oc = 0; oc < s.c_out; ++oc) {
      const bool tame = rng() % 4 != 0;
      const double bias_max = tame ? scale / 2 : std::ldexp(1.0, 40);
      bias.push_back(
          static_cast<int64_t>(std::uniform_real_distribution<double>(-bias_max, bias_max)(rng)));
      const double e = tame ? 12.0 - std::log2(scale) + jitter(rng) : wide(rng);
      QuantizedMultiplier q = QuantizeMultiplier(std::exp2(e));
      if (rng() % 8 == 0) q.multiplier = 0x7FFF0000 + static_cast<int32_t>(rng() % 0xFFFF);
      if (q.shift > 7) q.shift = 7;
      mult.push_back(q.multiplier);
      shift.push_back(q.shift);
    }
    a.in = in.data();
    a.batch = s.batch;
    a.c_in = s.c_in;
    a.h = s.h;
    a.w = s.w;
    a.weight = w.data();
    a.bias = rng() % 4 == 0 ? nullptr : bias.data();
    a.c_out = s.c_out;
    a.kernel = s.kernel;
    a.stride = s.stride;
    a.pad = s.pad;
    a.groups = s.groups;
    a.multiplier = mult.data();
    a.shift = shift.data();
    if (rng() % 3 == 0) {
      a.act_min = 0;  // ReLU
      a.act_max = rng() % 2 ? 32767 : 6000;
    }
  }
};

TEST(Int16Conv, ScalarEqualsNaiveAndSimdEqualsScalarOverShapes) {
  isa_paths::Report report;
  isa_paths::ran("scalar");
  std::vector<Int8Isa> simd;
  if (use(Int8Isa::AVX2)) simd.push_back(Int8Isa::AVX2);
  const Shape shapes[] = {
      {1, 1, 1, 1, 1, 1, 1, 0, 1},       {1, 1, 1, 5, 7, 3, 1, 1, 1},
      {2, 3, 5, 9, 11, 3, 1, 1, 1},      {1, 4, 8, 16, 16, 3, 2, 1, 1},
      {1, 7, 13, 13, 17, 5, 1, 2, 1},    {1, 16, 16, 12, 12, 3, 1, 1, 16},  // depthwise
      {2, 32, 32, 15, 9, 3, 2, 1, 32},                                      // depthwise, s2
      {1, 8, 16, 10, 10, 3, 1, 1, 4},                                       // groups 4
      {1, 12, 6, 11, 13, 1, 1, 0, 3},    {1, 67, 67, 9, 10, 3, 1, 1, 1},
      {1, 67, 1, 7, 7, 5, 2, 2, 1},      {1, 1, 67, 8, 9, 5, 1, 2, 1},
      {1, 33, 65, 17, 19, 1, 2, 0, 1},   {3, 6, 9, 5, 5, 5, 3, 0, 3},    // stride 3
      {1, 64, 64, 23, 3, 3, 1, 1, 1},    {2, 2, 2, 40, 37, 3, 3, 1, 2},  // 1480 px, s3
      {2, 8, 16, 10, 13, 3, 1, 1, 8},                                    // depthwise, multiplier 2
      {1, 5, 15, 19, 17, 5, 2, 2, 5},     // depthwise, k5 s2, multiplier 3
      {1, 3, 3, 33, 2, 5, 1, 2, 3},       // depthwise, narrower than the kernel
      {1, 512, 5, 6, 7, 3, 1, 1, 1},      // 4608 taps: int32 partial sums would overflow
      {2, 512, 3, 3, 3, 3, 1, 0, 1},      // one output pixel per image
      {1, 513, 4, 5, 4, 3, 2, 1, 1},      // odd tap count (4617): a half pair at the end
      {1, 300, 2, 7, 6, 5, 3, 2, 1},      // 7500 taps, k5, s3
      {1, 256, 256, 4, 4, 3, 1, 1, 256},  // depthwise with many channels
      {1, 128, 8, 5, 5, 3, 1, 1, 2},      // grouped with 576 taps per group
  };
  std::mt19937 rng(20261207);
  int compared = 0;
  for (const Shape& s : shapes) {
    for (int mode = 0; mode < 3; ++mode) {
      Problem p(s, rng, mode);
      const size_t n = static_cast<size_t>(s.batch) * s.c_out * p.a.out_h() * p.a.out_w();
      std::vector<int16_t> ref(n, 0x5555);
      p.a.out = ref.data();
      int16_conv(p.a, Int8Isa::Scalar);
      const std::vector<int16_t> naive = naive_conv(p.a);
      size_t bad = 0;
      while (bad < n && naive[bad] == ref[bad]) ++bad;
      EXPECT_EQ(bad, n) << "scalar vs naive " << name(s) << " mode " << mode
                        << ": first difference at " << bad;
      for (Int8Isa isa : simd) {
        std::vector<int16_t> got(n, 0x5555);
        p.a.out = got.data();
        int16_conv(p.a, isa);
        bad = 0;
        while (bad < n && got[bad] == ref[bad]) ++bad;
        EXPECT_EQ(bad, n) << to_string(isa) << " " << name(s) << " mode " << mode
                          << ": first difference at " << bad << " (" << got[bad < n ? bad : 0]
                          << " vs " << ref[bad < n ? bad : 0] << ")";
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, static_cast<int>(std::size(shapes)) * 3 * static_cast<int>(simd.size()));
}

// The tests above pass only if outputs vary: make sure the random problems are not all
// clamped to one value (a sanity check on the generator, mode 0).
TEST(Int16Conv, RandomProblemsProduceVariedOutputs) {
  std::mt19937 rng(7);
  const Shape s{1, 16, 4, 8, 8, 3, 1, 1, 1};
  int distinct_problems = 0;
  for (int t = 0; t < 8; ++t) {
    Problem p(s, rng, 0);
    std::vector<int16_t> out(static_cast<size_t>(4) * 64);
    p.a.out = out.data();
    int16_conv(p.a, Int8Isa::Scalar);
    std::sort(out.begin(), out.end());
    if (std::unique(out.begin(), out.end()) - out.begin() > 60) ++distinct_problems;
  }
  EXPECT_GE(distinct_problems, 5);
}

TEST(Int16Conv, RejectsBadArgumentsNamingTheField) {
  Sobel s;
  Int16ConvArgs a = s.args();
  a.in = nullptr;
  expect_error([&] { int16_conv(a); }, "in, weight");
  a = s.args();
  a.groups = 2;  // does not divide c_in = 1
  expect_error([&] { int16_conv(a); }, "groups 2");
  a = s.args();
  a.in_zero_point = 1;
  expect_error([&] { int16_conv(a); }, "in_zero_point");
  a = s.args();
  a.out_zero_point = -1;
  expect_error([&] { int16_conv(a); }, "out_zero_point");
  a = s.args();
  a.act_min = -32769;
  expect_error([&] { int16_conv(a); }, "activation range");
  a = s.args();
  a.act_min = 5;
  a.act_max = 4;
  expect_error([&] { int16_conv(a); }, "activation range");
  a = s.args();
  s.shift[0] = 8;  // the int64 multiply allows [-31, 7]
  expect_error([&] { int16_conv(a); }, "shift of output channel 0");
  s.shift[0] = -32;
  expect_error([&] { int16_conv(a); }, "shift of output channel 0");
  s.shift[0] = -1;
  s.mult[0] = -1;
  expect_error([&] { int16_conv(a); }, "multiplier of output channel 0");
  s.mult[0] = 1 << 30;
  a.kernel = 9;  // larger than the padded 5×5 input
  expect_error([&] { int16_conv(a); }, "kernel does not fit");
  a = s.args();
  a.stride = 0;
  expect_error([&] { int16_conv(a); }, "stride");
  a = s.args();
  a.c_out = 0;
  expect_error([&] { int16_conv(a); }, "c_out");
  // No AVX-512 VNNI path for int16.
  EXPECT_FALSE(int16_isa_supported(Int8Isa::AVX512VNNI));
  expect_error([&] { int16_conv(s.args(), Int8Isa::AVX512VNNI); }, "does not exist for int16");
  EXPECT_NE(best_int16_isa(), Int8Isa::AVX512VNNI);
}

// ---------------------------------------------------------------------------------------
// ADD

TEST(Int16Add, GeneralPathHandComputed) {
  const QuantParams one{1.0f, 0};
  // s1 = s2 = s_out = 1: M1 = M2 = 0.5, Mo = 2 / 2^15: y = a + b exactly.
  std::vector<int16_t> a{100, 32767, -32768, -5, 1234};
  std::vector<int16_t> b{200, 32767, -32768, 2, -234};
  std::vector<int16_t> y(a.size());
  int16_add(a.data(), one, b.data(), one, 5, one, -32768, 32767, RequantRounding::Double, y.data());
  EXPECT_EQ(y, (std::vector<int16_t>{300, 32767, -32768, -3, 1000}));
  // Fused ReLU: the clamp.
  int16_add(a.data(), one, b.data(), one, 5, one, 0, 32767, RequantRounding::Double, y.data());
  EXPECT_EQ(y[3], 0);
  EXPECT_EQ(y[4], 1000);
  // s_out = 2: (a + b) / 2 with the tie -1.5: double rounding -2 (away from zero), single
  // rounding -1 (ties up); +1.5 -> 2 in both.
  const QuantParams two{2.0f, 0};
  std::vector<int16_t> a2{-1, 1}, b2{-2, 2}, y2(2);
  int16_add(a2.data(), one, b2.data(), one, 2, two, -32768, 32767, RequantRounding::Double,
            y2.data());
  EXPECT_EQ(y2, (std::vector<int16_t>{-2, 2}));
  int16_add(a2.data(), one, b2.data(), one, 2, two, -32768, 32767, RequantRounding::Single,
            y2.data());
  EXPECT_EQ(y2, (std::vector<int16_t>{-1, 2}));
}

TEST(Int16Add, PowerOfTwoPathDiffersFromTheGeneralOne) {
  const QuantParams one{1.0f, 0}, quarter{0.25f, 0};
  // a + b/4 with b = −6: general path 100 − 1.5 = 98.5 -> 99 (double rounding); POT path
  // 100 + RoundingDivideByPOT(−6, 2) = 100 − 2 = 98.
  std::vector<int16_t> a{100, 100, 32767}, b{-6, 6, 32767}, y(3);
  int16_add(a.data(), one, b.data(), quarter, 3, one, -32768, 32767, RequantRounding::Double,
            y.data(), false);
  EXPECT_EQ(y[0], 99);
  EXPECT_EQ(y[1], 102);  // 101.5 -> 102
  EXPECT_EQ(y[2], 32767);
  int16_add(a.data(), one, b.data(), quarter, 3, one, -32768, 32767, RequantRounding::Double,
            y.data(), true);
  EXPECT_EQ(y[0], 98);
  EXPECT_EQ(y[1], 102);    // 6 / 4 = 1.5 -> 2
  EXPECT_EQ(y[2], 32767);  // SaturatingAdd
  // The shifted input may be the first one.
  int16_add(b.data(), quarter, a.data(), one, 3, one, -32768, 32767, RequantRounding::Double,
            y.data(), true);
  EXPECT_EQ(y[0], 98);
  // Not all scales powers of two: the general path even with the flag.
  int16_add(a.data(), one, b.data(), QuantParams{0.3f, 0}, 1, one, -32768, 32767,
            RequantRounding::Double, y.data(), true);
  EXPECT_EQ(y[0], 98);  // 100 − 1.8 = 98.2 -> 98
  // Both inputs shifted, or one above the output: TFLite refuses.
  expect_error(
      [&] {
        int16_add(a.data(), QuantParams{0.5f, 0}, b.data(), quarter, 1, one, -32768, 32767,
                  RequantRounding::Double, y.data(), true);
      },
      "power-of-two");
  expect_error(
      [&] {
        int16_add(a.data(), QuantParams{2.0f, 0}, b.data(), one, 1, one, -32768, 32767,
                  RequantRounding::Double, y.data(), true);
      },
      "power-of-two");
}

TEST(Int16Add, RoundingDivideByPOTInt16) {
  EXPECT_EQ(RoundingDivideByPOTInt16(5, 1), 3);  // 2.5 -> 3 (away from zero)
  EXPECT_EQ(RoundingDivideByPOTInt16(-5, 1), -3);
  EXPECT_EQ(RoundingDivideByPOTInt16(7, 0), 7);
  EXPECT_EQ(RoundingDivideByPOTInt16(-32768, 15), -1);
  EXPECT_EQ(RoundingDivideByPOTInt16(16384, 15), 1);    // 0.5 -> 1
  EXPECT_EQ(RoundingDivideByPOTInt16(-16384, 15), -1);  // -0.5 -> -1
  EXPECT_EQ(RoundingDivideByPOTInt16(16383, 15), 0);
  // gemmlowp's int16 instantiation for exponents >= 16: the mask truncates to -1.
  EXPECT_EQ(RoundingDivideByPOTInt16(0, 16), 1);
  EXPECT_EQ(RoundingDivideByPOTInt16(-100, 20), -1);
}

TEST(Int16Add, RejectsBadParameters) {
  const QuantParams one{1.0f, 0};
  std::vector<int16_t> a{1}, y(1);
  expect_error(
      [&] {
        int16_add(a.data(), QuantParams{1.0f, 3}, a.data(), one, 1, one, -32768, 32767,
                  RequantRounding::Double, y.data());
      },
      "first input zero point 3 must be 0");
  expect_error(
      [&] {
        int16_add(a.data(), one, a.data(), one, 1, QuantParams{1e-6f, 0}, -32768, 32767,
                  RequantRounding::Double, y.data());
      },
      "output multiplier");
  expect_error(
      [&] {
        int16_add(a.data(), one, a.data(), one, 1, one, 0, 40000, RequantRounding::Double,
                  y.data());
      },
      "activation range");
}

// ---------------------------------------------------------------------------------------
// QUANTIZE (requantize)

TEST(Int16Requantize, Int16ToInt8) {
  // M = 0.25 ({2^30, -1}), output zero point -10.
  const QuantParams in{0.25f, 0}, out{1.0f, -10};
  std::vector<int16_t> x{6, -6, 32767, -32768, 0};
  std::vector<int8_t> y(5);
  // 6 · 0.25 = 1.5 -> 2; -1.5 -> -2 (double rounding: away from zero in RoundingDivideByPOT)
  // or -1 (single rounding: ties up); then -10 and the int8 clamp.
  int16_to_int8_requantize(x.data(), 5, in, out, RequantRounding::Double, y.data());
  EXPECT_EQ(y, (std::vector<int8_t>{-8, -12, 127, -128, -10}));
  int16_to_int8_requantize(x.data(), 5, in, out, RequantRounding::Single, y.data());
  EXPECT_EQ(y, (std::vector<int8_t>{-8, -11, 127, -128, -10}));
  expect_error(
      [&] {
        int16_to_int8_requantize(x.data(), 5, QuantParams{0.5f, 1}, out, RequantRounding::Double,
                                 y.data());
      },
      "input zero point 1 must be 0");
  expect_error(
      [&] {
        int16_to_int8_requantize(x.data(), 5, in, QuantParams{1.0f, 200}, RequantRounding::Double,
                                 y.data());
      },
      "output zero point 200");
}

TEST(Int16Requantize, Int16ToInt16AndInt8ToInt16) {
  std::vector<int16_t> x{32767, -32768, 10000, -10000, 3, -3};
  std::vector<int16_t> y(6);
  // M = 0.5 ({2^30, 0}): the rounding is SaturatingRoundingDoublingHighMul's alone (ties
  // toward +infinity): 16383.5 -> 16384, 1.5 -> 2, -1.5 -> -1.
  int16_requantize(x.data(), 6, QuantParams{1.0f, 0}, QuantParams{2.0f, 0}, RequantRounding::Double,
                   y.data());
  EXPECT_EQ(y, (std::vector<int16_t>{16384, -16384, 5000, -5000, 2, -1}));
  // M = 4 ({2^30, 3}): saturates at both int16 limits (-32768, not -32767).
  int16_requantize(x.data(), 6, QuantParams{1.0f, 0}, QuantParams{0.25f, 0},
                   RequantRounding::Double, y.data());
  EXPECT_EQ(y, (std::vector<int16_t>{32767, -32768, 32767, -32768, 12, -12}));
  // Equal parameters: a copy.
  int16_requantize(x.data(), 6, QuantParams{0.37f, 0}, QuantParams{0.37f, 0},
                   RequantRounding::Double, y.data());
  EXPECT_EQ(y, x);
  expect_error(
      [&] {
        int16_requantize(x.data(), 6, QuantParams{1.0f, 0}, QuantParams{1.0f, 2},
                         RequantRounding::Double, y.data());
      },
      "output zero point 2 must be 0");
  // int8 -> int16: M = 256 ({2^30, 9}), input zero point 5.
  std::vector<int8_t> q{127, -128, 5, 6};
  std::vector<int16_t> z(4);
  int8_to_int16_requantize(q.data(), 4, QuantParams{1.0f, 5}, QuantParams{1.0f / 256, 0},
                           RequantRounding::Double, z.data());
  EXPECT_EQ(z, (std::vector<int16_t>{31232, -32768, 0, 256}));
  expect_error(
      [&] {
        int8_to_int16_requantize(q.data(), 4, QuantParams{0.0f, 0}, QuantParams{1.0f, 0},
                                 RequantRounding::Double, z.data());
      },
      "input scale");
  expect_error(
      [&] {
        int8_to_int16_requantize(q.data(), 4, QuantParams{1e30f, 0}, QuantParams{1e-30f, 0},
                                 RequantRounding::Double, z.data());
      },
      "out of range");
}

// ---------------------------------------------------------------------------------------
// Pooling

TEST(Int16Pool, MaxAndAverageSkipOutsideTaps) {
  // 3×3 input, k 2, stride 2, pad 1: windows of 1, 2, 2 and 4 taps.
  std::vector<int16_t> x{-32768, 3, -4, 10, -32768, 7, 1, 2, 32767};
  std::vector<int16_t> y(4);
  Int16PoolArgs a;
  a.in = x.data();
  a.h = a.w = 3;
  a.kernel = 2;
  a.stride = 2;
  a.pad = 1;
  a.out = y.data();
  int16_max_pool(a);
  // (0,0): {x00}; (0,1): {x01, x02}; (1,0): {x10, x20}; (1,1): {x11, x12, x21, x22}.
  EXPECT_EQ(y, (std::vector<int16_t>{-32768, 3, 10, 32767}));
  int16_average_pool(a);
  // -32768; (3 − 4) = -1 / 2 -> (-1 − 1) / 2 = -1; (10 + 1) = 11 / 2 -> (11 + 1) / 2 = 6;
  // (-32768 + 7 + 2 + 32767) = 8 / 4 = 2.
  EXPECT_EQ(y, (std::vector<int16_t>{-32768, -1, 6, 2}));
  a.act_min = 0;
  a.act_max = 5;
  int16_average_pool(a);
  EXPECT_EQ(y, (std::vector<int16_t>{0, 0, 5, 2}));
  int16_max_pool(a);
  EXPECT_EQ(y, (std::vector<int16_t>{0, 3, 5, 5}));
  // Rounding of the average: 2 channels of 2×2, one 2×2 window each.
  std::vector<int16_t> u(2);
  Int16PoolArgs b;
  b.c = 2;
  b.h = b.w = 2;
  b.kernel = 2;
  b.stride = 1;
  b.out = u.data();
  std::vector<int16_t> t2{1, 2, 0, 0, -1, -2, 0, 0};  // sums 3 and -3
  b.in = t2.data();
  int16_average_pool(b);
  EXPECT_EQ(u, (std::vector<int16_t>{1, -1}));        // 3/4 -> 1, -3/4 -> -1
  std::vector<int16_t> t3{1, 1, 0, 0, -1, -1, 0, 0};  // sums 2 and -2: ties 0.5 -> 1, -1
  b.in = t3.data();
  int16_average_pool(b);
  EXPECT_EQ(u, (std::vector<int16_t>{1, -1}));
  std::vector<int16_t> t4{1, 0, 0, 0, -1, 0, 0, 0};  // 0.25 -> 0
  b.in = t4.data();
  int16_average_pool(b);
  EXPECT_EQ(u, (std::vector<int16_t>{0, 0}));
}

// The shared window loop (quant/pool_window.h) takes windows wholly inside the image
// without clipping, and 2×2 / 2 max pooling in a loop of its own: against the clipped
// loop of TFLite's reference over a table of shapes, at the int16 extremes.
TEST(Int16Pool, EqualsTheClippedWindowLoopOverATableOfShapes) {
  struct Case {
    int c, h, w, k, s, pad;
  };
  const Case cases[] = {{2, 8, 8, 2, 2, 0}, {1, 7, 9, 2, 2, 0},  {3, 9, 11, 3, 2, 1},
                        {1, 5, 5, 3, 1, 1}, {2, 6, 33, 2, 2, 0}, {1, 10, 7, 3, 3, 2},
                        {1, 3, 3, 3, 1, 2}, {1, 6, 6, 2, 2, 1}};
  std::mt19937 rng(15);
  std::uniform_int_distribution<int> q(-32768, 32767), coin(0, 3);
  for (const Case& k : cases) {
    std::vector<int16_t> x(static_cast<size_t>(k.c) * k.h * k.w);
    for (auto& v : x) {
      const int r = coin(rng);
      v = static_cast<int16_t>(r == 0 ? -32768 : r == 1 ? 32767 : q(rng));
    }
    Int16PoolArgs a;
    a.in = x.data();
    a.c = k.c;
    a.h = k.h;
    a.w = k.w;
    a.kernel = k.k;
    a.stride = k.s;
    a.pad = k.pad;
    a.act_min = -30000;
    a.act_max = 31000;
    const int oh = a.out_h(), ow = a.out_w();
    for (bool max : {true, false}) {
      std::vector<int16_t> y(static_cast<size_t>(k.c) * oh * ow, 0x5555);
      a.out = y.data();
      if (max) {
        int16_max_pool(a);
      } else {
        int16_average_pool(a);
      }
      EXPECT_EQ(y, naive::pool<int16_t>(max, x, a, -32768))
          << (max ? "max " : "avg ") << k.h << "x" << k.w << " k" << k.k;
    }
  }
}

TEST(Int16Pool, RejectsBadWindows) {
  std::vector<int16_t> x(9), y(9);
  Int16PoolArgs a;
  a.in = x.data();
  a.h = a.w = 3;
  a.kernel = 4;  // does not fit 3×3 without padding
  a.stride = 1;
  a.out = y.data();
  expect_error([&] { int16_max_pool(a); }, "int16 max pool");
  a.kernel = 2;
  a.pad = 2;  // pad >= kernel
  expect_error([&] { int16_average_pool(a); }, "int16 average pool");
  a.pad = 0;
  a.act_max = 32768;
  expect_error([&] { int16_max_pool(a); }, "activation range");
  a.act_max = 32767;
  a.h = a.w = 300;
  a.kernel = 300;  // 90000 taps > 2^16
  expect_error([&] { int16_average_pool(a); }, "2^16 taps");
  a.h = a.w = 3;
  a.kernel = 2;
  a.out = nullptr;
  expect_error([&] { int16_max_pool(a); }, "null tensor");
}

// ---------------------------------------------------------------------------------------
// MUL, MEAN, LOGISTIC

TEST(Int16Mul, HandComputedTiesAndBroadcast) {
  const QuantParams s8{1.0f / 256.0f, 0};
  // s1 = s2 = s_out = 2^-8: y = a·b / 256. 128·3 = 384 -> 1.5: 2 in both variants; -1.5:
  // -2 with double rounding (ties away from zero), -1 with single rounding (ties up).
  std::vector<int16_t> a{128, -128, 300, 32767, -32768}, b{3, 3, -5, 32767, -32768};
  std::vector<int16_t> y(a.size());
  int16_mul(a.data(), s8, b.data(), s8, 1, 1, 5, false, s8, -32768, 32767, RequantRounding::Double,
            y.data());
  // 300·-5 / 256 = -5.86 -> -6; 32767² / 256 and 32768² / 256 saturate to 32767.
  EXPECT_EQ(y, (std::vector<int16_t>{2, -2, -6, 32767, 32767}));
  int16_mul(a.data(), s8, b.data(), s8, 1, 1, 5, false, s8, -32768, 32767, RequantRounding::Single,
            y.data());
  EXPECT_EQ(y, (std::vector<int16_t>{2, -1, -6, 32767, 32767}));
  // Fused ReLU clamps.
  int16_mul(a.data(), s8, b.data(), s8, 1, 1, 5, false, s8, 0, 32767, RequantRounding::Double,
            y.data());
  EXPECT_EQ(y[1], 0);
  EXPECT_EQ(y[2], 0);
  // The gate per channel: 2 channels of 2×1, b = {2, -1} with s_b = 1, s_out = s_a.
  const QuantParams one{1.0f, 0};
  std::vector<int16_t> x{10, 20, 30, 40}, g{2, -1}, z(4);
  int16_mul(x.data(), s8, g.data(), one, 2, 2, 1, true, s8, -32768, 32767, RequantRounding::Double,
            z.data());
  EXPECT_EQ(z, (std::vector<int16_t>{20, 40, -30, -40}));
}

TEST(Int16Mul, RejectsBadParameters) {
  std::vector<int16_t> a(4), y(4);
  const QuantParams ok{0.01f, 0};
  expect_error(
      [&] {
        int16_mul(a.data(), QuantParams{0.01f, 3}, a.data(), ok, 1, 2, 2, false, ok, -32768, 32767,
                  RequantRounding::Double, y.data());
      },
      "first input zero point 3 must be 0");
  expect_error(
      [&] {
        int16_mul(a.data(), ok, a.data(), QuantParams{0.0f, 0}, 1, 2, 2, false, ok, -32768, 32767,
                  RequantRounding::Double, y.data());
      },
      "second input scale");
  expect_error(
      [&] {
        int16_mul(a.data(), ok, a.data(), ok, 1, 2, 2, false, ok, 5, 4, RequantRounding::Double,
                  y.data());
      },
      "activation range");
}

TEST(Int16Mean, HandComputedTiesInBothRoundings) {
  const QuantParams s{1e-3f, 0};
  // M = 1: QuantizeMultiplier gives (2^30, 1); N = 4, sh = 2, M' = 2^30, shift -1.
  // 10 / 4 = 2.5 -> 3 in both; -2.5 -> -3 (double: away from zero), -2 (single: up).
  std::vector<int16_t> x{1, 2, 3, 4, -1, -2, -3, -4}, y(2);
  int16_mean_hw(x.data(), 2, 2, 2, s, s, RequantRounding::Double, y.data());
  EXPECT_EQ(y, (std::vector<int16_t>{3, -3}));
  int16_mean_hw(x.data(), 2, 2, 2, s, s, RequantRounding::Single, y.data());
  EXPECT_EQ(y, (std::vector<int16_t>{3, -2}));
  // Output scale twice the input's: 2.5 / 2 = 1.25 -> 1.
  int16_mean_hw(x.data(), 2, 2, 2, s, QuantParams{2e-3f, 0}, RequantRounding::Double, y.data());
  EXPECT_EQ(y, (std::vector<int16_t>{1, -1}));
}

TEST(Int16Mean, LargestWindowAtTheExtremesAndItsLimit) {
  // 256 × 256 = 2^16 values of 32767: the int32 sum 2^31 − 2^16 holds; the mean is 32767.
  const QuantParams s{0.5f, 0};
  std::vector<int16_t> x(65536, 32767), y(1);
  int16_mean_hw(x.data(), 1, 256, 256, s, s, RequantRounding::Double, y.data());
  EXPECT_EQ(y[0], 32767);
  std::fill(x.begin(), x.end(), int16_t{-32768});
  int16_mean_hw(x.data(), 1, 256, 256, s, s, RequantRounding::Single, y.data());
  EXPECT_EQ(y[0], -32768);
  // A random window against the float mean, within one step.
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> d(-32768, 32767);
  std::vector<int16_t> r(37 * 29);
  double sum = 0;
  for (int16_t& v : r) {
    v = static_cast<int16_t>(d(rng));
    sum += v;
  }
  int16_mean_hw(r.data(), 1, 37, 29, s, QuantParams{0.75f, 0}, RequantRounding::Double, y.data());
  EXPECT_NEAR(y[0], sum / r.size() * 0.5 / 0.75, 1.0);
  std::vector<int16_t> big(257 * 256);
  expect_error(
      [&] { int16_mean_hw(big.data(), 1, 257, 256, s, s, RequantRounding::Double, y.data()); },
      "at most 65536");
  expect_error(
      [&] {
        int16_mean_hw(x.data(), 1, 2, 2, QuantParams{0.5f, 1}, s, RequantRounding::Double,
                      y.data());
      },
      "input zero point 1 must be 0");
}

TEST(Int16Logistic, PrepareFollowsSigmoidPrepare) {
  // 2^-12: CheckedLog2 finds a power of two with left shift 15 - 3 - 12 = 0: multiplier 3.
  Int16Logistic p = int16_logistic_prepare(QuantParams{1.0f / 4096.0f, 0});
  EXPECT_EQ(p.multiplier, 3);
  EXPECT_EQ(p.shift, 0);
  // 8 / 32767 is within 1e-3 of 2^-12 in log2: treated as the power of two too.
  p = int16_logistic_prepare(QuantParams{8.0f / 32767.0f, 0});
  EXPECT_EQ(p.multiplier, 3);
  EXPECT_EQ(p.shift, 0);
  // 3 / 32767: m = 12288·3/32767 = 1.12503, doubled 14 times to 18432.6: (18432, 14).
  p = int16_logistic_prepare(QuantParams{3.0f / 32767.0f, 0});
  EXPECT_EQ(p.multiplier, 18432);
  EXPECT_EQ(p.shift, 14);
  // 2^-10 is a power of two but with left shift 15 - 3 - 10 = 2: the general path,
  // m = 2^-10·4096·3 = 12, doubled 11 times to 24576.
  p = int16_logistic_prepare(QuantParams{1.0f / 1024.0f, 0});
  EXPECT_EQ(p.multiplier, 24576);
  EXPECT_EQ(p.shift, 11);
  expect_error([] { int16_logistic_prepare(QuantParams{4.0f, 0}); }, "too coarse");
  expect_error([] { int16_logistic_prepare(QuantParams{0.01f, 2}); }, "zero point 2 must be 0");
  const QuantParams o = int16_logistic_output_params();
  EXPECT_EQ(o.scale, 1.0f / 32768.0f);
  EXPECT_EQ(o.zero_point, 0);
}

TEST(Int16Logistic, HandComputedFromTheTable) {
  const uint16_t* t = int16_sigmoid_table();
  EXPECT_EQ(t[0], 32768);
  EXPECT_EQ(t[24], 47911);  // sigmoid(1) = 0.731059 · 65536 = 47910.6
  EXPECT_EQ(t[255], 65535);
  const QuantParams s{1.0f / 4096.0f, 0};
  // x = 4096 (1.0): v = 12288, u = 24, no fraction: (47911·2^9 + 2^9) >> 10 = 23956.
  // x = −4096: (2^25 − 47911·2^9 + 2^9 − 1) >> 10 = 8812 (the two sum to 32768 − 0).
  // x = 1: v = 3, (32768·2^9 + 3·(33451 − 32768) + 2^9) >> 10 = 16386; x = −1: 16382.
  // x = 0: 16384 (0.5). |x| = 32767 (8.0): u = 191: 32757; −32768: 11.
  std::vector<int16_t> x{4096, -4096, 1, -1, 0, 32767, -32768, 2048};
  std::vector<int16_t> y(x.size());
  int16_logistic(x.data(), static_cast<int64_t>(x.size()), s, y.data());
  EXPECT_EQ(y, (std::vector<int16_t>{23956, 8812, 16386, 16382, 16384, 32757, 11, 20397}));
  // The general path, 3 / 32767 (18432, 14): x = 10923 -> v = (10923·18432 + 2^13) >> 14 =
  // 12288, the same table point as 1.0 above.
  const int16_t one = 10923;
  int16_t r = 0;
  int16_logistic(&one, 1, QuantParams{3.0f / 32767.0f, 0}, &r);
  EXPECT_EQ(r, 23956);
}

TEST(Int16Logistic, WithinTwoStepsOfSigmoidAndMonotonicOverEveryInput) {
  std::vector<int16_t> x(65536), y(65536);
  for (int i = 0; i < 65536; ++i) x[static_cast<size_t>(i)] = static_cast<int16_t>(i - 32768);
  for (float scale : {1.0f / 4096.0f, 3.0f / 32767.0f, 20.0f / 32767.0f, 1e-5f, 5e-3f}) {
    int16_logistic(x.data(), 65536, QuantParams{scale, 0}, y.data());
    double worst = 0;
    for (size_t i = 0; i < 65536; ++i) {
      const double want = 1.0 / (1.0 + std::exp(-static_cast<double>(x[i]) * scale));
      worst = std::max(worst, std::abs(y[i] / 32768.0 - want));
      if (i > 0) {
        ASSERT_GE(y[i], y[i - 1]) << "scale " << scale << " at x = " << x[i];
      }
    }
    EXPECT_LT(worst, 2.0 / 32768.0) << "scale " << scale;
  }
}

}  // namespace
}  // namespace dalnas
