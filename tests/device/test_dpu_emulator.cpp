// The dpu-int8 format of the integer emulator (device/int8_emulator.h, quant/dpu_ops.h):
// power-of-two positions from the "diffs" calibration, concat alignment, the shift bounds,
// each convolution equal to the DPU formula recomputed here, scalar = SIMD, and the
// network's result near the float model's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "core/error.h"
#include "device/emulator.h"
#include "device/int8_emulator.h"
#include "device/int8_test_graphs.h"
#include "device/profile.h"
#include "quant/dpu_ops.h"

namespace dalnas {
namespace {

using int8_test::conv;
using int8_test::images;
using int8_test::simple;
using int8_test::unet;

const Shape kIn{3, 16, 16};

Int8Config dpu_config() {
  Int8Config c;
  c.format = Int8Format::Dpu;
  c.calibration = CalibrationMethod::Diffs;
  c.weight_max = 128;
  return c;
}

TEST(DpuCalibration, DiffsGivesAPowerOfTwoRangePerTensor) {
  std::mt19937 rng(21);
  const DeviceGraph f = int8_form(unet(rng), kIn);
  const auto x = images(4, kIn, rng);
  const auto r = calibrate_ranges(f, x.data(), 4, kIn, dpu_config());
  const auto mm = calibrate_ranges(f, x.data(), 4, kIn, Int8Config{});
  int finer = 0;
  for (size_t i = 0; i + 1 < f.nodes.size(); ++i) {
    // [−128, 127] · 2^−pos, and max_fix_pos recovers pos.
    const int pos = max_fix_pos(r[i].min, r[i].max);
    EXPECT_FLOAT_EQ(r[i].min, -128.0f * std::ldexp(1.0f, -pos)) << f.nodes[i].name;
    EXPECT_FLOAT_EQ(r[i].max, 127.0f * std::ldexp(1.0f, -pos)) << f.nodes[i].name;
    // Never coarser than the overflow-free position of the whole min/max range by more
    // than what one tile's range allows; often finer (diffs clips outliers).
    finer += pos > max_fix_pos(mm[i].min, mm[i].max);
  }
  EXPECT_GT(finer, 0);
  // diffs is a DPU calibration only.
  Int8Config wrong;
  wrong.calibration = CalibrationMethod::Diffs;
  EXPECT_THROW(calibrate_ranges(f, x.data(), 4, kIn, wrong), Error);
}

TEST(DpuEmulator, PositionsFollowTheQuantizersRules) {
  std::mt19937 rng(22);
  const DeviceGraph f = int8_form(unet(rng), kIn);
  const auto x = images(4, kIn, rng);
  const Int8Config cfg = dpu_config();
  const Int8Emulator emu(f, calibrate_ranges(f, x.data(), 4, kIn, cfg), cfg);
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    const Node& n = f.nodes[i];
    const int pos = emu.fix_position(static_cast<int>(i));
    EXPECT_EQ(emu.params(static_cast<int>(i)).zero_point, 0) << n.name;  // symmetric
    EXPECT_EQ(emu.params(static_cast<int>(i)).scale, std::ldexp(1.0f, -pos)) << n.name;
    if (n.op == OpType::MaxPool || n.op == OpType::AvgPool || n.op == OpType::Resize) {
      EXPECT_EQ(pos, emu.fix_position(n.inputs[0])) << n.name;  // shared
    }
    if (n.op == OpType::Concat) {
      for (int k : n.inputs) EXPECT_EQ(emu.fix_position(k), pos) << n.name;  // aligned
    }
    if (n.op == OpType::Conv) {
      const auto& d = emu.conv(static_cast<int>(i));
      const int shift_cut = 1 - d.shift[0];
      EXPECT_GE(shift_cut, 0) << n.name;
      EXPECT_LE(shift_cut, 16) << n.name;
      // One power-of-two weight scale per tensor; shift_cut = pos_w + pos_in − pos_out.
      const int pos_w = -static_cast<int>(std::lround(std::log2(d.weight_scale[0])));
      EXPECT_EQ(shift_cut, pos_w + emu.fix_position(n.inputs[0]) - pos) << n.name;
      for (float s : d.weight_scale) EXPECT_EQ(s, d.weight_scale[0]);
      for (int32_t m : d.multiplier) EXPECT_EQ(m, kDpuMultiplier);
    }
  }
}

TEST(DpuEmulator, EachConvolutionIsTheDpuFormulaOnItsInput) {
  std::mt19937 rng(23);
  const DeviceGraph f = int8_form(unet(rng), kIn);
  const auto x = images(3, kIn, rng);
  const Int8Config cfg = dpu_config();
  const Int8Emulator emu(f, calibrate_ranges(f, x.data(), 3, kIn, cfg), cfg);
  const auto all = emu.run_all(x.data(), kIn);
  const std::vector<Shape> shapes = f.compute_shapes(kIn);
  int checked = 0;
  for (size_t i = 0; i < f.nodes.size(); ++i) {
    const Node& n = f.nodes[i];
    if (n.op != OpType::Conv) continue;
    const auto& d = emu.conv(static_cast<int>(i));
    const int sc = 1 - d.shift[0];
    const Shape is = shapes[static_cast<size_t>(n.inputs[0])], os = shapes[i];
    const std::vector<int8_t>& in = all[static_cast<size_t>(n.inputs[0])];
    const int cin_g = is.c / n.groups, cout_g = n.out_c / n.groups;
    for (int o = 0; o < n.out_c; ++o) {
      for (int yy = 0; yy < os.h; ++yy) {
        for (int xx = 0; xx < os.w; ++xx) {
          int64_t acc = d.bias[static_cast<size_t>(o)];
          const int g = o / cout_g;
          for (int c = 0; c < cin_g; ++c) {
            for (int ky = 0; ky < n.kernel; ++ky) {
              for (int kx = 0; kx < n.kernel; ++kx) {
                const int iy = yy * n.stride - n.pad + ky, ix = xx * n.stride - n.pad + kx;
                if (iy < 0 || iy >= is.h || ix < 0 || ix >= is.w) continue;
                acc +=
                    int64_t{
                        d.weight[((static_cast<size_t>(o) * cin_g + c) * n.kernel + ky) * n.kernel +
                                 kx]} *
                    in[(static_cast<size_t>(g * cin_g + c) * is.h + iy) * is.w + ix];
              }
            }
          }
          const int8_t q = dpu_round(std::ldexp(static_cast<double>(acc), -sc));
          const int8_t want =
              static_cast<int8_t>(std::min<int32_t>(std::max<int32_t>(q, d.act_min), d.act_max));
          ASSERT_EQ(all[i][(static_cast<size_t>(o) * os.h + yy) * os.w + xx], want) << n.name;
        }
      }
    }
    ++checked;
  }
  EXPECT_GE(checked, 6);
}

TEST(DpuEmulator, ScalarAndSimdGiveTheSameResultAndTheFloatModelIsNear) {
  std::mt19937 rng(24);
  const DeviceGraph f = int8_form(unet(rng), kIn);
  const auto calib = images(8, kIn, rng);
  Int8Config simd = dpu_config(), scalar = dpu_config();
  scalar.simd = false;
  const auto r = calibrate_ranges(f, calib.data(), 8, kIn, simd);
  const Int8Emulator a(f, r, simd), b(f, r, scalar);
  const auto x = images(4, kIn, rng);
  const auto ya = a.run_batch(x.data(), 4, kIn, 2);
  const auto yb = b.run_batch(x.data(), 4, kIn, 1);
  ASSERT_EQ(ya.size(), yb.size());
  for (size_t i = 0; i < ya.size(); ++i) ASSERT_EQ(ya[i], yb[i]) << i;
  const Emulator ref(f, EmulatorConfig{});
  double err = 0, range = 0;
  const int64_t per = static_cast<int64_t>(ya.size() / 4);
  for (int k = 0; k < 4; ++k) {
    const auto want = ref.run(x.data() + kIn.numel() * k, kIn);
    for (int64_t i = 0; i < per; ++i) {
      err += std::abs(want[static_cast<size_t>(i)] - ya[static_cast<size_t>(k * per + i)]);
      range = std::max(range, static_cast<double>(std::abs(want[static_cast<size_t>(i)])));
    }
  }
  const double mean = err / static_cast<double>(ya.size());
  EXPECT_GT(mean, 0.0);
  EXPECT_LT(mean, 0.08 * range);
  // It is not the TFLite arithmetic: the same graph and calibration tiles differ there.
  const Int8Emulator tfl(f, calibrate_ranges(f, calib.data(), 8, kIn, Int8Config{}), Int8Config{});
  const auto yt = tfl.run_batch(x.data(), 4, kIn, 2);
  int64_t differ = 0;
  for (size_t i = 0; i < ya.size(); ++i) differ += ya[i] != yt[i];
  EXPECT_GT(differ, 0);
}

TEST(DpuEmulator, AvgPoolUsesTheHardwaresDivisorAndPaddingCounts) {
  // Input → 3×3 average pool, stride 1, pad 1 → output: at a corner only 4 of 9 taps are
  // inside, and the DPU still multiplies by 7/64 (TFLite divides by 4).
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  Node ap = simple(OpType::AvgPool, "pool", {0});
  ap.kernel = 3;
  ap.stride = 1;
  ap.pad = 1;
  const int p = g.add(ap);
  g.add(simple(OpType::Output, "out", {p}));
  const Shape in{1, 4, 4};
  g.infer_shapes(in);
  std::vector<float> x(16, 1.0f);
  const std::vector<TensorRange> r(g.nodes.size(), TensorRange{-1.9f, 1.9f});  // position 6
  const Int8Emulator emu(g, r, dpu_config());
  EXPECT_EQ(emu.fix_position(0), 6);
  const auto y = emu.run(x.data(), in);
  // corner: 4 · 64 · 7/64 = 28 → 28/64; centre: 9 · 64 · 7/64 = 63 → 63/64.
  EXPECT_FLOAT_EQ(y[0], 28.0f / 64.0f);
  EXPECT_FLOAT_EQ(y[5], 63.0f / 64.0f);
  // The census's switch (dpu_pool_divisor off): the count itself, 9 · 64 / 9 = 64 at the
  // centre; the corner's 4 · 64 / 9 = 28.4 still rounds to 28.
  Int8Config exact = dpu_config();
  exact.dpu_pool_divisor = false;
  const auto ye = Int8Emulator(g, r, exact).run(x.data(), in);
  EXPECT_FLOAT_EQ(ye[0], 28.0f / 64.0f);
  EXPECT_FLOAT_EQ(ye[5], 1.0f);
}

// Each of the DPU's arithmetic quirks the census switches off (Int8Config::dpu_*) reaches
// the arithmetic: on a graph with biased convolutions, an add and a hard-swish, switching
// one off changes the output; on a graph without an add or a hard-swish those two change
// nothing.
TEST(DpuEmulator, EachArithmeticQuirkCanBeSwitchedToTheExactOperation) {
  std::mt19937 rng(26);
  const DeviceGraph f = int8_form(unet(rng), kIn);
  const auto calib = images(4, kIn, rng);
  const auto r = calibrate_ranges(f, calib.data(), 4, kIn, dpu_config());
  const auto x = images(3, kIn, rng);
  const auto base = Int8Emulator(f, r, dpu_config()).run_batch(x.data(), 3, kIn, 1);
  const auto differing = [&](const DeviceGraph& g, const std::vector<TensorRange>& rg,
                             const std::vector<float>& want, void (*off)(Int8Config&)) {
    Int8Config c = dpu_config();
    off(c);
    const auto y = Int8Emulator(g, rg, c).run_batch(x.data(), 3, kIn, 1);
    int64_t n = 0;
    for (size_t i = 0; i < y.size(); ++i) n += y[i] != want[i];
    return n;
  };
  using Off = void (*)(Int8Config&);
  const Off bias = [](Int8Config& c) { c.dpu_bias_int8 = false; };
  const Off add = [](Int8Config& c) { c.dpu_add_truncation = false; };
  const Off hswish = [](Int8Config& c) { c.dpu_hardswish = false; };
  EXPECT_GT(differing(f, r, base, bias), 0);
  EXPECT_GT(differing(f, r, base, hswish), 0);
  // The add's truncation drops bits only where its inputs' positions differ by more than
  // its two extra bits (here 5) and the output is finer than the coarser input (at
  // the coarser input's position, the two extra bits and half-up rounding give the exact
  // sum's result: a truncated k − 1/2 still rounds up); equal positions add exactly.
  DeviceGraph sum;
  sum.add(simple(OpType::Input, "in", {}));
  const int ca = sum.add(conv("a", 0, 3, 2, 1, 1, ActType::None, rng));
  Node nb = conv("b", 0, 3, 2, 1, 1, ActType::None, rng);
  for (float& w : nb.weight) w /= 32.0f;  // 5 positions finer than a
  for (float& w : nb.bias) w /= 32.0f;
  const int cb = sum.add(nb);
  const int s = sum.add(simple(OpType::Add, "sum", {ca, cb}));
  sum.add(simple(OpType::Output, "out", {s}));
  sum.infer_shapes(kIn);
  std::vector<TensorRange> sr = calibrate_ranges(sum, calib.data(), 4, kIn, dpu_config());
  sr[static_cast<size_t>(s)].min = sr[static_cast<size_t>(ca)].min / 4;  // 2 positions finer
  sr[static_cast<size_t>(s)].max = sr[static_cast<size_t>(ca)].max / 4;
  const Int8Emulator truncating(sum, sr, dpu_config());
  ASSERT_GE(truncating.fix_position(cb), truncating.fix_position(ca) + 3);
  ASSERT_GT(truncating.fix_position(s), truncating.fix_position(ca));
  const auto sbase = truncating.run_batch(x.data(), 3, kIn, 1);
  EXPECT_GT(differing(sum, sr, sbase, add), 0);
  std::vector<TensorRange> same = sr;
  same[static_cast<size_t>(cb)] = sr[static_cast<size_t>(ca)];
  const auto equal_base = Int8Emulator(sum, same, dpu_config()).run_batch(x.data(), 3, kIn, 1);
  EXPECT_EQ(differing(sum, same, equal_base, add), 0);
  // A graph of convolutions and pooling only (no add, no hard-swish).
  DeviceGraph plain;
  plain.add(simple(OpType::Input, "in", {}));
  const int c1 = plain.add(conv("c1", 0, 3, 4, 3, 1, ActType::ReLU, rng));
  Node mp = simple(OpType::MaxPool, "pool", {c1});
  mp.kernel = mp.stride = 2;
  const int p = plain.add(mp);
  const int h = plain.add(conv("head", p, 4, 1, 1, 1, ActType::None, rng));
  plain.add(simple(OpType::Output, "out", {h}));
  const DeviceGraph pf = int8_form(plain, kIn);
  const auto pr = calibrate_ranges(pf, calib.data(), 4, kIn, dpu_config());
  const auto pbase = Int8Emulator(pf, pr, dpu_config()).run_batch(x.data(), 3, kIn, 1);
  EXPECT_EQ(differing(pf, pr, pbase, add), 0);
  EXPECT_EQ(differing(pf, pr, pbase, hswish), 0);
}

TEST(DpuEmulator, APoolAfterAnAddFollowsTheAddsBoundedPosition) {
  // The add's calibrated range is tiny (position 26), shift_write bounds it to its inputs'
  // position + 15; the max pool after it must read the add's tensor at that position.
  std::mt19937 rng(25);
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  const int a = g.add(conv("a", 0, 1, 2, 1, 1, ActType::None, rng));
  const int b = g.add(conv("b", 0, 1, 2, 1, 1, ActType::None, rng));
  const int s = g.add(simple(OpType::Add, "sum", {a, b}));
  Node mp = simple(OpType::MaxPool, "pool", {s});
  mp.kernel = mp.stride = 2;
  const int p = g.add(mp);
  g.add(simple(OpType::Output, "out", {p}));
  const Shape in{1, 4, 4};
  g.infer_shapes(in);
  std::vector<TensorRange> r(g.nodes.size(), TensorRange{-1.9f, 1.9f});  // position 6
  r[static_cast<size_t>(s)] = TensorRange{-1e-6f, 1e-6f};
  const Int8Emulator emu(g, r, dpu_config());
  EXPECT_EQ(max_fix_pos(-1e-6f, 1e-6f), 26);
  EXPECT_EQ(emu.fix_position(s), 6 + 15);
  EXPECT_EQ(emu.fix_position(p), emu.fix_position(s));
  EXPECT_EQ(emu.params(p).scale, emu.params(s).scale);
}

TEST(DpuProfile, LoadsAndRefusesSettingsOfOtherFormats) {
  const DeviceProfile p = load_profile("dpu-int8");
  ASSERT_TRUE(p.integer.has_value());
  EXPECT_EQ(p.integer->format, Int8Format::Dpu);
  EXPECT_EQ(p.integer->calibration, CalibrationMethod::Diffs);
  EXPECT_EQ(p.integer->weight_max, 128);
  const auto parse = [](const std::string& integer) {
    return parse_profile(nlohmann::json::parse(R"({"name": "t", "integer": )" + integer + "}"),
                         "t.toml");
  };
  EXPECT_NO_THROW(parse(R"({"format": "dpu-int8", "calibration": "minmax"})"));
  try {
    parse(R"({"format": "dpu-int8", "rounding": "single"})");
    FAIL() << "rounding accepted for dpu-int8";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("integer.rounding"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse(R"({"format": "dpu-int8", "reduce_range": true})"), Error);
  // dpu_exact: the census's quirk rows as a setting (a DPU that computes one exactly).
  EXPECT_TRUE(p.integer->dpu_bias_int8 && p.integer->dpu_pool_divisor &&
              p.integer->dpu_add_truncation && p.integer->dpu_hardswish);
  const DeviceProfile exact =
      parse(R"({"format": "dpu-int8", "dpu_exact": ["add-alignment", "hardswish"]})");
  EXPECT_TRUE(exact.integer->dpu_bias_int8);
  EXPECT_TRUE(exact.integer->dpu_pool_divisor);
  EXPECT_FALSE(exact.integer->dpu_add_truncation);
  EXPECT_FALSE(exact.integer->dpu_hardswish);
  for (const char* bad : {R"({"format": "dpu-int8", "dpu_exact": ["rounding"]})",
                          R"({"format": "dpu-int8", "dpu_exact": "hardswish"})",
                          R"({"format": "int8-tflite", "dpu_exact": ["hardswish"]})"}) {
    try {
      parse(bad);
      FAIL() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("integer.dpu_exact"), std::string::npos) << e.what();
    }
  }
  try {
    parse(R"({"format": "int8-tflite", "calibration": "diffs"})");
    FAIL() << "diffs accepted for int8-tflite";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dpu-int8 only"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dalnas
