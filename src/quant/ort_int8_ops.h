#pragma once
// The int8 kernels ONNX Runtime's CPU execution provider runs for a QDQ model after graph
// optimisation (x86-64, "all" level), other than the convolution (quant/int8_conv.h with
// `scale`: QLinearConv, MlasRequantizeOutput). Each function names its source in
// microsoft/onnxruntime. On x86 ORT turns int8 activations into uint8 (QDQS8ToU8
// Transformer: value + 128, zero point + 128); the functions below compute in the int8
// domain, which gives the same integers wherever the arithmetic is in integers or adds the
// zero point after rounding, and may differ by one unit where ORT adds a shifted zero point
// in float before rounding (QLinearAdd, QLinearMul, QLinearAveragePool) — the tests count
// those cases. Rounding is to nearest even throughout (cvtps2dq / nearbyintf), not
// TFLite's ties away from zero.
#include <cstdint>
#include <vector>

#include "quant/int8_conv.h"
#include "quant/int8_ops.h"
#include "quant/quant_params.h"

namespace dalnas {

// Which kernel ORT runs for an Add, Mul, AveragePool or GlobalAveragePool of a QDQ model:
//   Fused: its QLinear kernel (in the uint8 domain on x86), where every input tensor's
//          QuantizeLinear feeds only this node, so that QDQS8ToU8Transformer turned all
//          of them into uint8 and the QDQ selector matched;
//   Float: DequantizeLinear -> the float op -> QuantizeLinear, where an input feeds other
//          nodes too (a skip connection): that input stays int8, its type differs from
//          the uint8 output's and the selector leaves the group unfused.
enum class OrtPath { Fused, Float };

// QLinearAdd (com.microsoft; mlas/lib/intrinsics/avx2/qladd_avx2.cpp):
//   rA = sA / sC, rB = sB / sC                               (float)
//   F  = float(zC) − (rA·zA + rB·zB)                         (float, no fused multiply-add)
//   t  = fma(float(qA), rA, fma(float(qB), rB, F))
//   y  = clamp(nearbyint(t), act_min, act_max)
// with every q and z in the uint8 domain (+ 128) and 128 taken off the result.
// Float: y = clamp(quantize_int8_even(dqA + dqB), act_min, act_max).
void ort_add(const int8_t* a, const QuantParams& pa, const int8_t* b, const QuantParams& pb,
             int64_t n, const QuantParams& out, int32_t act_min, int32_t act_max, int8_t* y,
             OrtPath path = OrtPath::Fused);

// QLinearMul (com.microsoft; mlas/lib/qlmul.cpp):
//   p = (qA − zA)·(qB − zB)                                  (int32, exact)
//   y = clamp(nearbyint(float(p)·((sA·sB) / sC) + float(zC + 128)) − 128, act_min, act_max)
// `b` has c·h·w values or c values (one per channel, broadcast over h × w).
// Float: y = clamp(quantize_int8_even(dqA · dqB), act_min, act_max).
void ort_mul(const int8_t* a, const QuantParams& pa, const int8_t* b, const QuantParams& pb, int c,
             int h, int w, bool b_per_channel, const QuantParams& out, int32_t act_min,
             int32_t act_max, int8_t* y, OrtPath path = OrtPath::Fused);

// QLinearGlobalAveragePool (com.microsoft; mlas/lib/qlgavgpool.cpp), per channel:
//   N = h·w; scale = s_in / (s_out · float(N)); acc = Σ q − z_in·N (int32)
//   y = clamp(nearbyint(float(acc)·scale), −128 − z_out, 127 − z_out) + z_out
// Output c × 1 × 1.
// Float: y = quantize_int8_even((Σ dq, in order) / float(N)).
void ort_global_average_pool(const int8_t* x, int c, int h, int w, const QuantParams& in,
                             const QuantParams& out, int8_t* y, OrtPath path = OrtPath::Fused);

// QLinearAveragePool (com.microsoft; contrib_ops/cpu/quantization/qlinear_pool.cc) with
// count_include_pad = 0, k × k window, `stride`, symmetric `pad` (a.act_* unused), in the
// uint8 domain (zero point + 128):
//   sum = Σ over taps inside the image of s_in·float(q − z_in)   (float, raster order)
//   y = clamp((int)nearbyint(sum / n / s_out + float(z_out + 128)) − 128, −128, 127)
// Float: y = quantize_int8_even(sum / n): the zero point added after rounding.
void ort_average_pool(const Int8PoolArgs& a, const QuantParams& in, const QuantParams& out,
                      OrtPath path = OrtPath::Fused);

// Resize, linear: ORT keeps DequantizeLinear -> Resize -> QuantizeLinear in float (the
// tests see its optimised and unoptimised runs agree); its float kernel
// (providers/cpu/tensor/upsample.h, UpsampleBilinear; setup in upsample.cc), per axis for
// output index i (scale = out / in, float):
//   half_pixel: o = (i + 0.5) / scale − 0.5   align_corners: o = i·(in − 1) / (out − 1)
//   asymmetric: o = i / scale;  o = clamp(o, 0, in − 1)
//   i1 = (int)o, i2 = min(i1 + 1, in − 1), d1 = |o − i1|, d2 = |o − i2| (both 0.5 if i1 == i2)
//   v = d2x·d2y·X(i1y, i1x) + d1x·d2y·X(i1y, i2x) + d2x·d1y·X(i2y, i1x) + d1x·d1y·X(i2y, i2x)
// on the dequantized values, then QuantizeLinear (ties to even) with the shared params `p`.
enum class OrtCoord { HalfPixel, AlignCorners, Asymmetric };
// One axis of that setup (providers/cpu/tensor/upsample.cc, SetupUpsampleBilinear): per
// output index the two source indices and their weights (d1 weighs i2, d2 weighs i1).
struct BilinearAxis {
  std::vector<int> i1, i2;
  std::vector<float> d1, d2;
};
BilinearAxis ort_bilinear_axis(int in, int out, OrtCoord coord);
// `isa` other than Scalar takes the AVX2 row (ort_resize_avx2.cpp), bit for bit the same,
// where the CPU has AVX2.
void ort_resize_bilinear(const int8_t* x, int c, int in_h, int in_w, int out_h, int out_w,
                         OrtCoord coord, const QuantParams& p, int8_t* y,
                         Int8Isa isa = Int8Isa::Scalar);
// One output row of it, eight outputs a vector: f1, f2 the two dequantized input rows,
// i1 / i2 / dx1 / dx2 the x axis's setup, n outputs.
void ort_resize_row_avx2(const float* f1, const float* f2, const int* i1, const int* i2,
                         const float* dx1, const float* dx2, float dy1, float dy2, int n,
                         const QuantParams& p, int8_t* out);

// A 256-entry table of an element-wise function as ORT builds it for QLinearSigmoid,
// QLinearConcat's requantization and the DequantizeLinear -> op -> QuantizeLinear group of a
// function it does not fuse (contrib_ops/cpu/quantization/qlinear_lookup_table.cc):
//   T[q] = quantize_int8_even(f(s_in · float(q − z_in)), out)
// f = nullptr: the identity (a requantization). Index with q + 128 (int8_apply_table).
Int8Table ort_table(const QuantParams& in, const QuantParams& out, float (*f)(float) = nullptr);

}  // namespace dalnas
