#pragma once
// The int8 kernels of TFLite's reference implementation other than the convolution
// (quant/int8_conv.h), on one C × H × W tensor (NCHW; TFLite is NHWC, which changes the
// memory order only, never a value). Each function names its source; the arithmetic is
// TFLite's, bit for bit, in both MultiplyByQuantizedMultiplier variants (fixed_point.h).
// Parameters are computed the way the TFLite interpreter prepares the node (its Prepare
// functions), from the float scales. Where TFLite CHECKs a precondition, these functions
// throw dalnas::Error naming the operation and what is wrong.
//
// Operations whose input and output must share (scale, zero point) in a TFLite int8 model
// (quantization_spec.md: MAX_POOL_2D, AVERAGE_POOL_2D, CONCATENATION, RESIZE_BILINEAR,
// RESIZE_NEAREST_NEIGHBOR) take one QuantParams for both.
#include <cstdint>
#include <vector>

#include "quant/fixed_point.h"
#include "quant/quant_params.h"

namespace dalnas {

// TFLite QUANTIZE from int8 to int8 (kernels/quantize.cc Prepare: M = double(s_in) /
// double(s_out), QuantizeMultiplier; reference_ops::Requantize):
//   y = clamp(MBQM(x − z_in, M) + z_out, −128, 127)
// Equal parameters copy.
void int8_requantize(const int8_t* x, int64_t n, const QuantParams& in, const QuantParams& out,
                     RequantRounding rounding, int8_t* y);

// ADD (kernels/add.cc Prepare for int8; reference_integer_ops::Add, AddElementwise):
//   left_shift = 20; T = 2·max(s1, s2) (float); M1 = s1 / T, M2 = s2 / T,
//   Mo = T / (2^20 · s_out) (double division of float operands), each by
//   QuantizeMultiplierSmallerThanOneExp (must be in (0, 1));
//   y = clamp(MBQM(MBQM((a − z1)·2^20, M1) + MBQM((b − z2)·2^20, M2), Mo) + z_out,
//             act_min, act_max)
void int8_add(const int8_t* a, const QuantParams& pa, const int8_t* b, const QuantParams& pb,
              int64_t n, const QuantParams& out, int32_t act_min, int32_t act_max,
              RequantRounding rounding, int8_t* y);

// MUL (kernels/mul.cc Prepare: M = double(s1)·double(s2) / double(s_out);
// reference_integer_ops::Mul, MulElementwise / BroadcastMul4DSlow):
//   y = clamp(MBQM((a − z1)·(b − z2), M) + z_out, act_min, act_max)
// `b` has either c·h·w values or c values (one per channel, broadcast over h × w).
void int8_mul(const int8_t* a, const QuantParams& pa, const int8_t* b, const QuantParams& pb, int c,
              int h, int w, bool b_per_channel, const QuantParams& out, int32_t act_min,
              int32_t act_max, RequantRounding rounding, int8_t* y);

// Pooling over a k × k window with `stride` and symmetric `pad` (out = (in + 2·pad − k) /
// stride + 1), taps outside the image skipped (reference_integer_ops::MaxPool /
// AveragePool):
//   max: y = clamp(max over taps, act_min, act_max)
//   average: acc = Σ taps (int32), n = number of taps inside the image,
//            y = clamp(acc > 0 ? (acc + n/2) / n : (acc − n/2) / n, act_min, act_max)
//            (C division: the nearest integer, ties away from zero)
struct Int8PoolArgs {
  const int8_t* in = nullptr;
  int c = 1, h = 1, w = 1;
  int kernel = 2, stride = 2, pad = 0;
  int32_t act_min = -128, act_max = 127;
  int8_t* out = nullptr;
  int out_h() const { return (h + 2 * pad - kernel) / stride + 1; }
  int out_w() const { return (w + 2 * pad - kernel) / stride + 1; }
};
// Throws dalnas::Error naming `op` when the window does not fit or a pointer is null.
void check_pool(const Int8PoolArgs& a, const char* op);
void int8_max_pool(const Int8PoolArgs& a);
void int8_average_pool(const Int8PoolArgs& a);

// MEAN over H × W (kernels/reduce.cc Prepare: M = double(s_in) / double(s_out),
// QuantizeMultiplier; reference_ops::QuantizedMeanOrSum), per channel:
//   N = h·w; sum = Σ q (int32); sh = min(floor(log2 N), 32, 31 + e)
//   M' = (int32)((int64(M0) << sh) / N); y = clamp(MBQM(sum − z_in·N, M', e − sh) + z_out)
// Output c × 1 × 1.
void int8_mean_hw(const int8_t* x, int c, int h, int w, const QuantParams& in,
                  const QuantParams& out, RequantRounding rounding, int8_t* y);

// RESIZE_BILINEAR (reference_ops::ResizeBilinearInteger), shared parameters, from in_h ×
// in_w to out_h × out_w. Q10 coordinates per axis:
//   scale10 = ((1 << 10)·in + out/2) / out  (align_corners with out > 1: in − 1, out − 1)
//   v = i·scale10 (+ scale10/2 − 512 with half_pixel_centers)
//   i0 = max(v / 1024, 0), i1 = min((v + 1023) / 1024, in − 1)   (C division)
// Then, with fy = v_y − 1024·y0, fx = v_x − 1024·x0 (int64):
//   s = q00·(1024 − fy)(1024 − fx) + q10·fy(1024 − fx) + q01·(1024 − fy)fx + q11·fy·fx
//   Double: y = (s + (s > 0 ? 2^19 : −2^19)) / 2^20  (C division)
//   Single: y = (s + 2^19) >> 20                      (TFLITE_SINGLE_ROUNDING)
// half_pixel_centers and align_corners both set is TFLite's error; here too.
void int8_resize_bilinear(const int8_t* x, int c, int in_h, int in_w, int out_h, int out_w,
                          bool align_corners, bool half_pixel_centers, RequantRounding rounding,
                          int8_t* y);

// Nearest neighbour with the emulator's rule (src = min(floor(dst·in / out), in − 1) in
// integers, TFLite's RESIZE_NEAREST_NEIGHBOR without half_pixel_centers / align_corners
// for integer factors): a copy of int8 values.
void int8_resize_nearest(const int8_t* x, int c, int in_h, int in_w, int out_h, int out_w,
                         int8_t* y);

// The same two resizes on int16 tensors (TFLite's ResizeBilinearInteger<int16_t>: the same
// int64 sums and rounding; nearest copies): the int16 layers of the 16x8 scheme
// (quant/int16_ops.h), input and output parameters shared.
void int16_resize_bilinear(const int16_t* x, int c, int in_h, int in_w, int out_h, int out_w,
                           bool align_corners, bool half_pixel_centers, RequantRounding rounding,
                           int16_t* y);
void int16_resize_nearest(const int16_t* x, int c, int in_h, int in_w, int out_h, int out_w,
                          int16_t* y);

// A 256-entry table of an element-wise function, built in float as TFLite's LUTPopulate
// (kernels/internal/common.h) builds it for int8 LOGISTIC, TANH, GELU:
//   T[q] = clamp((int32)(round(f(s_in·(q − z_in)) · (1 / s_out)) + z_out), −128, 127)
// (products and the reciprocal in float; round = std::round, ties away from zero). Index
// with q + 128.
using Int8Table = std::vector<int8_t>;
Int8Table int8_table(const QuantParams& in, const QuantParams& out, float (*f)(float));
void int8_apply_table(const int8_t* x, int64_t n, const Int8Table& table, int8_t* y);

// LOGISTIC's fixed output parameters (quantization_spec.md): scale 1/256, zero point −128.
QuantParams logistic_output_params();

}  // namespace dalnas
