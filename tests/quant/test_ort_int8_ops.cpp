// ONNX Runtime's int8 kernels (quant/ort_int8_ops.h), hand-computed: ties go to even,
// zero points added before rounding where ORT adds them in float, floor in the Q10 resize.
// Checked against ONNX Runtime itself in tests/onnx/test_onnxruntime.cpp.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "quant/ort_int8_ops.h"

namespace dalnas {
namespace {

TEST(OrtInt8Ops, AddRoundsTiesToEven) {
  const QuantParams p{0.5f, 0}, out{1.0f, 0};
  const int8_t a[] = {1, 1, 3, -1, 100};
  const int8_t b[] = {2, 0, 0, 0, 100};
  int8_t y[5];
  ort_add(a, p, b, p, 5, out, -128, 127, y);
  EXPECT_EQ(y[0], 2);    // 1.5 -> 2
  EXPECT_EQ(y[1], 0);    // 0.5 -> 0
  EXPECT_EQ(y[2], 2);    // 1.5 -> 2
  EXPECT_EQ(y[3], 0);    // -0.5 -> -0
  EXPECT_EQ(y[4], 100);  // 100
  // TFLite's ADD rounds the 0.5 of y[1] up: the two formats differ on ties.
  int8_t t[5];
  int8_add(a, p, b, p, 5, out, -128, 127, RequantRounding::Double, t);
  EXPECT_NE(t[1], y[1]);
  // Zero points fold into the float constant; the clamp applies last.
  const QuantParams pz{0.5f, 4}, oz{1.0f, -3};
  ort_add(a, pz, b, pz, 1, oz, -2, 127, y);  // 0.5·(1 − 4) + 0.5·(2 − 4) − 3 = −5.5, clamp
  EXPECT_EQ(y[0], -2);
}

TEST(OrtInt8Ops, MulAddsTheZeroPointBeforeRounding) {
  const QuantParams p{0.5f, 0}, out{0.5f, 1};
  const int8_t a[] = {1, 2};
  const int8_t b[] = {3, 3};
  int8_t y[2];
  ort_mul(a, p, b, p, 1, 1, 2, false, out, -128, 127, y);
  EXPECT_EQ(y[0], 2);  // 3·0.5 + 1 = 2.5 -> 2 (rounding first would give 1.5 -> 2, + 1 = 3)
  EXPECT_EQ(y[1], 4);  // 6·0.5 + 1 = 4
  // Per-channel broadcast of b.
  const int8_t bc[] = {2};
  ort_mul(a, p, bc, p, 1, 1, 2, true, out, -128, 127, y);
  EXPECT_EQ(y[0], 2);  // 2·0.5 + 1 = 2
  EXPECT_EQ(y[1], 3);  // 4·0.5 + 1 = 3
}

TEST(OrtInt8Ops, GlobalAveragePool) {
  const int8_t x[] = {1, 2, 3, 4, -1, -2, -3, -4};
  int8_t y[2];
  ort_global_average_pool(x, 2, 2, 2, QuantParams{1.0f, 0}, QuantParams{1.0f, 0}, y);
  EXPECT_EQ(y[0], 2);   // 10 / 4 = 2.5 -> 2
  EXPECT_EQ(y[1], -2);  // -2.5 -> -2
  ort_global_average_pool(x, 1, 2, 2, QuantParams{1.0f, 1}, QuantParams{1.0f, 5}, y);
  EXPECT_EQ(y[0], 7);  // (10 − 4) / 4 = 1.5 -> 2, + 5
  ort_global_average_pool(x, 1, 2, 2, QuantParams{100.0f, 0}, QuantParams{1.0f, 0}, y);
  EXPECT_EQ(y[0], 127);  // saturates
}

TEST(OrtInt8Ops, AveragePoolCountsTapsInsideTheImage) {
  const int8_t x[] = {1, 2, 3, 4};
  int8_t y[4];
  Int8PoolArgs a;
  a.in = x;
  a.c = 1, a.h = 2, a.w = 2, a.kernel = 3, a.stride = 1, a.pad = 1;
  a.out = y;
  ort_average_pool(a, QuantParams{1.0f, 0}, QuantParams{1.0f, 0});
  for (int k = 0; k < 4; ++k) EXPECT_EQ(y[k], 2) << k;  // 10 / 4 = 2.5 -> 2 everywhere
  ort_average_pool(a, QuantParams{1.0f, 0}, QuantParams{1.0f, 1});
  EXPECT_EQ(y[0], 4);  // 2.5 + 1 (+ 128) = 131.5 -> 132 − 128: the zero point before rounding
}

TEST(OrtInt8Ops, BilinearResizeInFloatThenQuantizeToEven) {
  // 1 × 2 -> 1 × 4, half-pixel: source columns 0 (clamped), 0.25, 0.75, 1 (clamped).
  const QuantParams p{1.0f, 0};
  const int8_t x[] = {-3, 0};
  int8_t y[4];
  ort_resize_bilinear(x, 1, 1, 2, 1, 4, OrtCoord::HalfPixel, p, y);
  EXPECT_EQ(y[0], -3);
  EXPECT_EQ(y[1], -2);  // −2.25
  EXPECT_EQ(y[2], -1);  // −0.75
  EXPECT_EQ(y[3], 0);
  const int8_t t[] = {-2, 0};
  ort_resize_bilinear(t, 1, 1, 2, 1, 4, OrtCoord::HalfPixel, p, y);
  EXPECT_EQ(y[1], -2);  // −1.5 -> −2 (even)
  EXPECT_EQ(y[2], 0);   // −0.5 -> 0 (even)
  ort_resize_bilinear(x, 1, 1, 2, 1, 4, OrtCoord::AlignCorners, p, y);
  EXPECT_EQ(y[1], -2);  // column 1/3: −2.0
  EXPECT_EQ(y[2], -1);  // column 2/3: −1.0
  EXPECT_EQ(y[3], 0);
}

// The kernel blends a row at a time (scalar, and eight outputs a vector on AVX2); the
// reference is ORT's per-output expression.
TEST(OrtInt8Ops, BilinearResizeEqualsThePerOutputFormulaOverShapes) {
  struct Case {
    int c, ih, iw, oh, ow;
  };
  const Case cases[] = {{2, 5, 6, 10, 12}, {1, 1, 2, 1, 4},   {3, 7, 9, 14, 18},
                        {1, 8, 8, 3, 5},   {2, 4, 33, 9, 70}, {1, 16, 16, 32, 32}};
  std::mt19937 rng(14);
  std::uniform_int_distribution<int> q(-128, 127);
  const QuantParams p{0.047f, -9};
  for (const Case& k : cases) {
    std::vector<int8_t> x(static_cast<size_t>(k.c) * k.ih * k.iw);
    for (auto& v : x) v = static_cast<int8_t>(q(rng));
    for (OrtCoord coord : {OrtCoord::Asymmetric, OrtCoord::AlignCorners, OrtCoord::HalfPixel}) {
      std::vector<int8_t> y(static_cast<size_t>(k.c) * k.oh * k.ow, 0x55);
      ort_resize_bilinear(x.data(), k.c, k.ih, k.iw, k.oh, k.ow, coord, p, y.data());
      if (int8_isa_supported(Int8Isa::AVX2)) {  // the AVX2 rows: the same bits
        std::vector<int8_t> v(y.size(), 0x55);
        ort_resize_bilinear(x.data(), k.c, k.ih, k.iw, k.oh, k.ow, coord, p, v.data(),
                            Int8Isa::AVX2);
        EXPECT_EQ(v, y) << k.ih << "x" << k.iw << " -> " << k.oh << "x" << k.ow;
      }
      const BilinearAxis ay = ort_bilinear_axis(k.ih, k.oh, coord);
      const BilinearAxis ax = ort_bilinear_axis(k.iw, k.ow, coord);
      for (int ch = 0; ch < k.c; ++ch) {
        auto at = [&](int yy, int xx) {
          return dequantize_int8(x[(static_cast<size_t>(ch) * k.ih + yy) * k.iw + xx], p);
        };
        for (int oy = 0; oy < k.oh; ++oy) {
          for (int ox = 0; ox < k.ow; ++ox) {
            const int y1 = ay.i1[oy], y2 = ay.i2[oy], x1 = ax.i1[ox], x2 = ax.i2[ox];
            const float v = ax.d2[ox] * ay.d2[oy] * at(y1, x1) +
                            ax.d1[ox] * ay.d2[oy] * at(y1, x2) +
                            ax.d2[ox] * ay.d1[oy] * at(y2, x1) + ax.d1[ox] * ay.d1[oy] * at(y2, x2);
            ASSERT_EQ(int(y[(static_cast<size_t>(ch) * k.oh + oy) * k.ow + ox]),
                      int(quantize_int8_even(v, p)))
                << k.ih << "x" << k.iw << " -> " << k.oh << "x" << k.ow << " at " << oy << ","
                << ox;
          }
        }
      }
    }
  }
}

TEST(OrtInt8Ops, TablesQuantizeWithTiesToEven) {
  const Int8Table t = ort_table(QuantParams{0.5f, 0}, QuantParams{1.0f, 0});
  EXPECT_EQ(t[1 + 128], 0);    // 0.5 -> 0
  EXPECT_EQ(t[3 + 128], 2);    // 1.5 -> 2
  EXPECT_EQ(t[-1 + 128], 0);   // −0.5 -> 0
  EXPECT_EQ(t[-3 + 128], -2);  // −1.5 -> −2
  const Int8Table sq =
      ort_table(QuantParams{0.5f, 0}, QuantParams{1.0f, 0}, [](float v) { return v * v; });
  EXPECT_EQ(sq[3 + 128], 2);  // 2.25 -> 2
}

}  // namespace
}  // namespace dalnas
