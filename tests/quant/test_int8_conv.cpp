// The int8 convolution (quant/int8_conv.h): a hand-computed case on every path, and the
// SIMD paths against the scalar reference over a table of shapes, bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "isa_paths.h"
#include "quant/int8_conv.h"

namespace dalnas {
namespace {

const Int8Isa kSimd[] = {Int8Isa::AVX2, Int8Isa::AVX512VNNI};

// Runs `isa` if this CPU has it, recording it in the current isa_paths::Report.
bool use(Int8Isa isa) {
  const char* off = std::getenv("DALNAS_NO_SIMD");
  if (off != nullptr && std::string(off) == "1") {
    isa_paths::missing(to_string(isa), "DALNAS_NO_SIMD=1");
    return false;
  }
  if (int8_isa_supported(isa)) {
    isa_paths::ran(to_string(isa));
    return true;
  }
  isa_paths::missing(to_string(isa),
                     isa == Int8Isa::AVX2 ? "this CPU lacks AVX2" : "this CPU lacks AVX-512 VNNI");
  return false;
}

// 3×3 input 1..9 with zero point 1 (x − z = 0..8), one Sobel-x filter, pad 1, M = 0.25
// ({2^30, -1}), output zero point -5.
struct Sobel {
  std::vector<int8_t> in{1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<int8_t> w{1, 0, -1, 2, 0, -2, 1, 0, -1};
  std::vector<int32_t> bias{100};
  std::vector<int32_t> mult{1 << 30};
  std::vector<int> shift{-1};
  std::vector<int8_t> out = std::vector<int8_t>(9, 0);
  Int8ConvArgs args() {
    Int8ConvArgs a;
    a.in = in.data();
    a.h = a.w = 3;
    a.in_zero_point = 1;
    a.weight = w.data();
    a.bias = bias.data();
    a.kernel = 3;
    a.pad = 1;
    a.multiplier = mult.data();
    a.shift = shift.data();
    a.out_zero_point = -5;
    a.out = out.data();
    return a;
  }
};

TEST(Int8Conv, HandComputedSobel) {
  isa_paths::Report report;
  std::vector<Int8Isa> paths{Int8Isa::Scalar};
  isa_paths::ran("scalar");
  for (Int8Isa isa : kSimd) {
    if (use(isa)) paths.push_back(isa);
  }
  for (Int8Isa isa : paths) {
    SCOPED_TRACE(to_string(isa));
    Sobel s;
    // Centre: Σ w·(x − z) = (0 − 2) + (6 − 10) + (6 − 8) = -8; +100 = 92; ·0.25 = 23; -5 = 18.
    // Corner (0,0): only taps (0,1)·(-2) and (1,1)·(-1) inside: -2 − 4 = -6; +100 = 94;
    // ·0.25 = 23.5 -> 24 in both roundings; -5 = 19.
    int8_conv(s.args(), isa);
    EXPECT_EQ(s.out[4], 18);
    EXPECT_EQ(s.out[0], 19);
    // Bias -100: corner -106·0.25 = -26.5: double rounding -27 (SRDHM -53 exact, then -26.5
    // away from zero), single rounding -26 (ties up); minus 5.
    s.bias[0] = -100;
    Int8ConvArgs a = s.args();
    int8_conv(a, isa);
    EXPECT_EQ(s.out[0], -32);
    a.rounding = RequantRounding::Single;
    int8_conv(a, isa);
    EXPECT_EQ(s.out[0], -31);
    // Fused activation clamp (ReLU6-like range [-5, 10]) and no bias: corner -6·0.25 = -1.5
    // -> -2 (double) - 5 = -7 -> clamped to -5; centre -8·0.25 = -2 - 5 = -7 -> -5.
    a = s.args();
    a.bias = nullptr;
    a.act_min = -5;
    a.act_max = 10;
    int8_conv(a, isa);
    EXPECT_EQ(s.out[0], -5);
    EXPECT_EQ(s.out[4], -5);
    s.bias[0] = 400;  // centre 392·0.25 = 98 - 5 = 93 -> clamped to 10
    a = s.args();
    a.act_max = 10;
    int8_conv(a, isa);
    EXPECT_EQ(s.out[4], 10);
  }
}

TEST(Int8Conv, RejectsBadArguments) {
  Sobel s;
  Int8ConvArgs a = s.args();
  a.groups = 2;  // does not divide c_in = 1
  EXPECT_THROW(int8_conv(a), Error);
  a = s.args();
  a.in_zero_point = 128;
  EXPECT_THROW(int8_conv(a), Error);
  a = s.args();
  a.act_min = 5;
  a.act_max = 4;
  EXPECT_THROW(int8_conv(a), Error);
  a = s.args();
  s.shift[0] = 31;
  EXPECT_THROW(int8_conv(a), Error);
  s.shift[0] = -1;
  s.mult[0] = -1;
  EXPECT_THROW(int8_conv(a), Error);
  s.mult[0] = 1 << 30;
  a.kernel = 9;  // larger than the padded 5×5 input
  EXPECT_THROW(int8_conv(a), Error);
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

// One random problem of `s`: inputs, weights and zero points over their whole ranges,
// biases up to ±2^20, multipliers from 2^-24 to 2^4 (left shifts too), activation ranges
// now full, now narrow.
struct Problem {
  std::vector<int8_t> in, w;
  std::vector<int32_t> bias, mult;
  std::vector<int> shift;
  std::vector<float> fscale;  // ONNX Runtime's float requantization (a.scale) when `onnx`
  Int8ConvArgs a;
  Problem(const Shape& s, std::mt19937& rng, RequantRounding rounding, bool extreme,
          bool onnx = false) {
    std::uniform_int_distribution<int> byte(-128, 127), wbyte(-127, 127);
    in.resize(static_cast<size_t>(s.batch) * s.c_in * s.h * s.w);
    w.resize(static_cast<size_t>(s.c_out) * (s.c_in / s.groups) * s.kernel * s.kernel);
    for (auto& v : in) v = static_cast<int8_t>(extreme ? -128 : byte(rng));
    for (auto& v : w) v = static_cast<int8_t>(extreme ? (rng() % 2 ? 127 : -127) : wbyte(rng));
    std::uniform_int_distribution<int32_t> b(-(1 << 20), 1 << 20);
    std::uniform_real_distribution<double> e(-24.0, 4.0);
    for (int oc = 0; oc < s.c_out; ++oc) {
      bias.push_back(b(rng));
      const QuantizedMultiplier q = QuantizeMultiplier(std::exp2(e(rng)), rounding);
      mult.push_back(q.multiplier);
      shift.push_back(q.shift);
      fscale.push_back(static_cast<float>(std::exp2(e(rng))));
    }
    a.in = in.data();
    a.batch = s.batch;
    a.c_in = s.c_in;
    a.h = s.h;
    a.w = s.w;
    a.in_zero_point = extreme ? 127 : byte(rng);
    a.weight = w.data();
    a.bias = rng() % 4 == 0 ? nullptr : bias.data();
    a.c_out = s.c_out;
    a.kernel = s.kernel;
    a.stride = s.stride;
    a.pad = s.pad;
    a.groups = s.groups;
    a.multiplier = mult.data();
    a.shift = shift.data();
    a.rounding = rounding;
    if (onnx) a.scale = fscale.data();
    a.out_zero_point = byte(rng);
    if (rng() % 2) {
      a.act_min = std::max(-128, a.out_zero_point);  // ReLU
      a.act_max = std::min(127, a.out_zero_point + 60);
    }
  }
};

TEST(Int8Conv, SimdEqualsScalarOverShapes) {
  isa_paths::Report report;
  isa_paths::ran("scalar");
  std::vector<Int8Isa> paths;
  for (Int8Isa isa : kSimd) {
    if (use(isa)) paths.push_back(isa);
  }
  const Shape shapes[] = {
      {1, 1, 1, 1, 1, 1, 1, 0, 1},
      {1, 1, 1, 5, 7, 3, 1, 1, 1},
      {2, 3, 5, 9, 11, 3, 1, 1, 1},
      {1, 4, 8, 16, 16, 3, 2, 1, 1},
      {1, 7, 13, 13, 17, 5, 1, 2, 1},
      {1, 16, 16, 12, 12, 3, 1, 1, 16},  // depthwise
      {2, 32, 32, 15, 9, 3, 2, 1, 32},   // depthwise, s2
      {1, 8, 16, 10, 10, 3, 1, 1, 4},    // groups 4
      {1, 12, 6, 11, 13, 1, 1, 0, 3},
      {1, 67, 67, 9, 10, 3, 1, 1, 1},
      {1, 67, 1, 7, 7, 5, 2, 2, 1},
      {1, 1, 67, 8, 9, 5, 1, 2, 1},
      {1, 33, 65, 17, 19, 1, 2, 0, 1},
      {3, 6, 9, 5, 5, 5, 2, 0, 3},
      {1, 64, 64, 23, 3, 3, 1, 1, 1},
      {1, 2, 2, 40, 37, 3, 2, 1, 2},
      {2, 8, 16, 10, 13, 3, 1, 1, 8},   // depthwise, multiplier 2
      {1, 5, 15, 19, 17, 5, 2, 2, 5},   // depthwise, k5 s2, multiplier 3
      {1, 67, 67, 3, 35, 1, 1, 0, 67},  // depthwise 1×1
      {1, 3, 3, 33, 2, 5, 1, 2, 3},     // depthwise, narrower than the kernel
      {1, 5, 9, 21, 70, 3, 1, 1, 1},    // rows of 70: two full vector pairs and a tail
      {2, 9, 11, 29, 31, 7, 3, 3, 1},   // stride 3: nine phases
      {1, 10, 12, 16, 16, 2, 2, 0, 1},  // even kernel, stride 2, no padding
      {1, 6, 8, 12, 33, 3, 2, 1, 2},    // grouped, stride 2, odd width
      {1, 17, 3, 9, 16, 1, 1, 0, 1},    // 1×1, rows exactly one vector (AVX-512)
      {1, 24, 40, 8, 8, 3, 1, 1, 1},    // 8×8: rows narrower than an AVX-512 vector
      {1, 6, 6, 9, 77, 3, 2, 1, 6},     // depthwise, stride 2, rows of 39: four vectors a pass
      {2, 4, 8, 7, 100, 5, 3, 2, 4},    // depthwise, stride 3, multiplier 2, rows of 34
      {1, 3, 3, 6, 70, 5, 1, 2, 3},     // depthwise, k5 s1, rows of 70 (two passes, a tail)
      // 3×3 stride 1 (AVX2: the integer Winograd path): odd channel counts, partial tiles,
      // padding 0 / 1 / 2, partial channel blocks, several tile blocks and a tail.
      {1, 2, 3, 4, 4, 3, 1, 1, 1},      // one tile row, one tile column pair
      {1, 5, 7, 33, 35, 3, 1, 1, 1},    // odd c_in (last pair half empty), odd sizes
      {2, 16, 20, 18, 40, 3, 1, 0, 1},  // no padding: 16×38
      {1, 9, 5, 7, 50, 3, 1, 2, 1},     // padding 2: 9×52, 26 tiles a row
      {1, 32, 37, 16, 16, 3, 1, 1, 1},  // 37 output channels: a block of one
      {1, 6, 4, 3, 3, 3, 1, 0, 1},      // a 1×1 output: one tile, three quarters unused
      {1, 4, 6, 5, 100, 3, 1, 1, 1},    // 50 tiles a row: three blocks of 16 and a tail
  };
  std::mt19937 rng(20261129);
  int compared = 0, winograd = 0;
  for (Shape s : shapes) {
    if (s.c_in % s.groups != 0 || s.c_out % s.groups != 0) s.groups = 1;
    for (int mode = 0; mode < 3; ++mode) {  // double, single, ONNX Runtime's float
      const RequantRounding rounding =
          mode == 1 ? RequantRounding::Single : RequantRounding::Double;
      for (bool extreme : {false, true}) {
        Problem p(s, rng, rounding, extreme, mode == 2);
        const size_t n = static_cast<size_t>(s.batch) * s.c_out * p.a.out_h() * p.a.out_w();
        std::vector<int8_t> ref(n, 0);
        p.a.out = ref.data();
        int8_conv(p.a, Int8Isa::Scalar);
        for (Int8Isa isa : paths) {
          std::vector<int8_t> got(n, 0x55);
          p.a.out = got.data();
          int8_conv(p.a, isa);
          size_t bad = 0;
          while (bad < n && got[bad] == ref[bad]) ++bad;
          EXPECT_EQ(bad, n) << to_string(isa) << " " << name(s) << " "
                            << (mode == 2 ? "onnxruntime" : to_string(rounding))
                            << (extreme ? " extreme" : "") << ": first difference at " << bad
                            << " (" << int(got[bad < n ? bad : 0]) << " vs "
                            << int(ref[bad < n ? bad : 0]) << ")";
          ++compared;
        }
        // Where the AVX2 Winograd branch is exact, both AVX2 branches on their own
        // (int8_conv_avx2 takes one of them, by speed).
        if (use(Int8Isa::AVX2) && int8_winograd_exact(p.a)) {
          std::vector<int8_t> got(n, 0x55);
          p.a.out = got.data();
          int8_conv_avx2_winograd(p.a);
          EXPECT_EQ(got, ref) << "avx2 winograd " << name(s);
          std::fill(got.begin(), got.end(), int8_t{0x55});
          int8_conv_avx2_direct(p.a);
          EXPECT_EQ(got, ref) << "avx2 direct " << name(s);
          ++winograd;
        }
      }
    }
  }
  EXPECT_EQ(compared, static_cast<int>(std::size(shapes)) * 6 * static_cast<int>(paths.size()));
  // The thirteen 3×3 stride-1 single-group shapes, six problems each.
  if (use(Int8Isa::AVX2)) {
    EXPECT_EQ(winograd, 13 * 6);
  }
}

// The largest sums a 3×3 convolution can make: every x − z_in = −255 and every weight
// −128 (each tap +32,640), with 1,827 input channels (the most for which the AVX2
// Winograd branch's 4·Y stays inside int32: 4·9·32,640·1,827 = 2,146,798,080; both AVX2
// branches run) and with 1,828 (the direct convolution only). A multiplier of 2^-23 maps the
// interior sum, 536,699,520, to 64, so a sum wrong by a multiple of 2^30 (a lost top bit) would
// show in every output.
TEST(Int8Conv, LargestThreeByThreeSumsAreExact) {
  for (int c_in : {1827, 1828}) {
    const int h = 4, w = 5, c_out = 2;
    std::vector<int8_t> in(static_cast<size_t>(c_in) * h * w, -128);
    std::vector<int8_t> wt(static_cast<size_t>(c_out) * c_in * 9, -128);
    for (size_t i = static_cast<size_t>(c_in) * 9; i < wt.size(); ++i) wt[i] = 127;  // oc 1
    const QuantizedMultiplier q = QuantizeMultiplier(std::exp2(-23.0));
    std::vector<int32_t> mult(c_out, q.multiplier);
    std::vector<int> shift(c_out, q.shift);
    Int8ConvArgs a;
    a.in = in.data();
    a.c_in = c_in;
    a.h = h;
    a.w = w;
    a.in_zero_point = 127;
    a.weight = wt.data();
    a.c_out = c_out;
    a.kernel = 3;
    a.pad = 1;
    a.multiplier = mult.data();
    a.shift = shift.data();
    std::vector<int8_t> ref(static_cast<size_t>(c_out) * h * w);
    a.out = ref.data();
    int8_conv(a, Int8Isa::Scalar);
    // Interior outputs (9 taps) of channel 0: 9·32,640·c_in / 2^23 (1,827: 63.98 -> 64);
    // of channel 1 (weights 127: −32,385 a tap): 1,827: −63.48 -> −63; 1,828: −63.52 -> −64.
    const double taps = 9.0 * c_in / 8388608.0;
    EXPECT_EQ(ref[static_cast<size_t>(1 * w + 1)], std::lround(32640 * taps)) << c_in;
    EXPECT_EQ(ref[static_cast<size_t>(h * w + 1 * w + 1)], std::lround(-32385 * taps)) << c_in;
    for (Int8Isa isa : kSimd) {
      if (!use(isa)) continue;
      std::vector<int8_t> got(ref.size(), 0x55);
      a.out = got.data();
      int8_conv(a, isa);
      EXPECT_EQ(got, ref) << to_string(isa) << " c_in " << c_in;
    }
    EXPECT_EQ(int8_winograd_exact(a), c_in == 1827);
    if (use(Int8Isa::AVX2) && int8_winograd_exact(a)) {
      std::vector<int8_t> got(ref.size(), 0x55);
      a.out = got.data();
      int8_conv_avx2_winograd(a);
      EXPECT_EQ(got, ref) << "avx2 winograd c_in " << c_in;
    }
  }
}

// The reference itself on a case with every tap outside the image but one: the result
// must be the in-image tap alone (padding = input zero point, as TFLite's "omit").
TEST(Int8Conv, PaddingIsTheInputZeroPoint) {
  std::vector<int8_t> in{50};
  std::vector<int8_t> w(25, 127);
  std::vector<int32_t> mult{1 << 30};
  std::vector<int> shift{0};  // M = 0.5
  std::vector<int8_t> out(1);
  Int8ConvArgs a;
  a.in = in.data();
  a.in_zero_point = -10;  // x − z = 60
  a.weight = w.data();
  a.kernel = 5;
  a.pad = 2;
  a.multiplier = mult.data();
  a.shift = shift.data();
  a.out = out.data();
  a.out_zero_point = 0;
  a.act_min = -128;
  a.act_max = 127;
  int8_conv(a, Int8Isa::Scalar);
  // 127·60 = 7620; ·0.5 = 3810 -> clamped to 127. With M = 2^-7: 7620/128 = 59.53 -> 60.
  EXPECT_EQ(out[0], 127);
  mult[0] = 1 << 30;
  shift[0] = -6;  // 0.5·2^-6 = 2^-7
  int8_conv(a, Int8Isa::Scalar);
  EXPECT_EQ(out[0], 60);
}

// ONNX Runtime's requantization (MlasRequantizeOutput) by hand: float(acc) · scale rounded
// to nearest, ties to even (cvtps2dq), then the zero point and the clamp.
TEST(Int8Conv, OnnxRuntimeRequantizationRoundsHalfToEven) {
  EXPECT_EQ(requantize_float(5, 0.5f, 0, -128, 127), 2);    // 2.5 -> 2
  EXPECT_EQ(requantize_float(7, 0.5f, 0, -128, 127), 4);    // 3.5 -> 4
  EXPECT_EQ(requantize_float(-5, 0.5f, 0, -128, 127), -2);  // -2.5 -> -2
  EXPECT_EQ(requantize_float(-7, 0.5f, 3, -128, 127), -1);  // -3.5 -> -4, + 3
  EXPECT_EQ(requantize_float(1000, 1.0f, 10, -128, 127), 127);
  EXPECT_EQ(requantize_float(-1000, 1.0f, -10, -128, 127), -128);
  EXPECT_EQ(requantize_float(-50, 1.0f, -100, -100, 127), -100);  // ReLU clamp at z
  // TFLite's fixed point rounds the same tie up (toward +infinity): 2.5 -> 3.
  const QuantizedMultiplier half = QuantizeMultiplier(0.5);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(5, half), 3);
  // The scalar path and the SIMD paths agree on a conv whose sums hit ties.
  std::vector<int8_t> in(64), w(9, 1), out_ref(64), out(64);
  for (int i = 0; i < 64; ++i) in[static_cast<size_t>(i)] = static_cast<int8_t>(i - 32);
  const float sc = 0.5f;
  Int8ConvArgs a;
  a.in = in.data();
  a.h = a.w = 8;
  a.weight = w.data();
  a.kernel = 3;
  a.pad = 1;
  a.scale = &sc;
  a.out = out_ref.data();
  int8_conv(a, Int8Isa::Scalar);
  for (Int8Isa isa : kSimd) {
    if (!use(isa)) continue;
    a.out = out.data();
    int8_conv(a, isa);
    EXPECT_EQ(out, out_ref) << to_string(isa);
  }
  // The corner output sums in[0] + in[1] + in[8] + in[9] = -32 - 31 - 24 - 23 = -110: -55.
  EXPECT_EQ(out_ref[0], -55);
}

// DALNAS_INT8_ISA caps the path best_int8_isa() picks; an unknown name is an error naming
// the variable.
TEST(Int8Conv, TheIsaCapIsHonouredAndCheckedByName) {
  const char* old = std::getenv("DALNAS_INT8_ISA");
  const std::string saved = old ? old : "";
  setenv("DALNAS_INT8_ISA", "scalar", 1);
  EXPECT_EQ(best_int8_isa(), Int8Isa::Scalar);
  setenv("DALNAS_INT8_ISA", "avx2", 1);
  EXPECT_EQ(best_int8_isa(), int8_isa_supported(Int8Isa::AVX2) ? Int8Isa::AVX2 : Int8Isa::Scalar);
  setenv("DALNAS_INT8_ISA", "avx512", 1);
  try {
    best_int8_isa();
    ADD_FAILURE() << "an unknown path was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("DALNAS_INT8_ISA"), std::string::npos) << e.what();
  }
  if (old) {
    setenv("DALNAS_INT8_ISA", saved.c_str(), 1);
  } else {
    unsetenv("DALNAS_INT8_ISA");
  }
}

}  // namespace
}  // namespace dalnas
