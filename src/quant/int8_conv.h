#pragma once
// The int8 2-D convolution of TFLite's reference kernel
// (tensorflow/lite/kernels/internal/reference/integer_ops/conv.h, ConvPerChannel; the same
// arithmetic as DepthwiseConvPerChannel in depthwise_conv.h for groups == channels), on
// NCHW tensors:
//   acc  = Σ_{taps inside the image} w[oc][ic][ky][kx] · (x[ic][iy][ix] − in_zero_point)
//          (taps outside the image are skipped: "Zero padding by omitting the areas
//          outside the image", i.e. padding with the input zero point)
//   acc += bias[oc]                                   (if bias != nullptr)
//   acc  = MultiplyByQuantizedMultiplier(acc, multiplier[oc], shift[oc])  (fixed_point.h)
//   acc += out_zero_point
//   out  = (int8) clamp(acc, act_min, act_max)        (fused ReLU / ReLU6 as clamps)
// or, when `scale` is given, ONNX Runtime's requantization (MLAS MlasRequantizeOutput, the
// QLinearConv of a QDQ model) in place of the fixed-point multiply:
//   f    = float(acc + bias[oc]) · scale[oc]          (float multiply; scale[oc] is
//                                                     float(s_in · s_w[oc]) / s_out in float)
//   out  = (int8) clamp(nearbyint(f) + out_zero_point, act_min, act_max)
//          (nearbyint: ties to even, the default rounding mode; cvtps2dq in the SIMD paths)
// The int32 accumulator wraps modulo 2^32 (TFLite's own comment: no overflow below 2^16
// taps per output, as |w·(x − z)| <= 127·255; beyond, its int32 += is undefined in C++).
// Weights are per-channel symmetric int8 (zero point 0), OIHW: c_out × (c_in / groups)
// × k × k; groups as in TFLite's grouped ConvPerChannel (filter_input_depth =
// c_in / groups, filters_per_group = c_out / groups, group = oc / filters_per_group).
// Dilation 1, square kernel, same padding on all sides (out = (in + 2·pad − k)/stride + 1).
//
// One scalar reference and SIMD paths (AVX2; AVX-512 VNNI) equal to it bit for bit,
// chosen at run time by the CPU (DALNAS_NO_SIMD=1 forces the scalar reference).
#include <cstdint>

#include "quant/fixed_point.h"

namespace dalnas {

struct Int8ConvArgs {
  const int8_t* in = nullptr;  // batch × c_in × h × w
  int batch = 1, c_in = 1, h = 1, w = 1;
  int32_t in_zero_point = 0;       // [−128, 127]
  const int8_t* weight = nullptr;  // c_out × (c_in / groups) × kernel × kernel
  const int32_t* bias = nullptr;   // c_out values, or nullptr
  int c_out = 1, kernel = 1, stride = 1, pad = 0, groups = 1;
  const int32_t* multiplier = nullptr;  // c_out (QuantizeMultiplier of s_in·s_w[c]/s_out)
  const int* shift = nullptr;           // c_out
  RequantRounding rounding = RequantRounding::Double;
  // ONNX Runtime's float requantization (above) when set: c_out multipliers, > 0 and finite;
  // `multiplier`, `shift` and `rounding` are then unused and may be null.
  const float* scale = nullptr;
  int32_t out_zero_point = 0;  // [−128, 127]
  int32_t act_min = -128, act_max = 127;
  int8_t* out = nullptr;  // batch × c_out × out_h() × out_w()

  int out_h() const { return (h + 2 * pad - kernel) / stride + 1; }
  int out_w() const { return (w + 2 * pad - kernel) / stride + 1; }
};

// Throws dalnas::Error naming the field when the arguments are inconsistent (sizes,
// groups, zero points, activation range, a multiplier < 0 or a shift outside [−31, 30], a
// float scale that is not finite and > 0).
void check(const Int8ConvArgs& a);

enum class Int8Isa { Scalar, AVX2, AVX512VNNI };
const char* to_string(Int8Isa isa);
// Whether this CPU (and OS) runs the path: AVX2; AVX-512 F/BW/VL + VNNI.
bool int8_isa_supported(Int8Isa isa);
// The best supported path; Scalar when DALNAS_NO_SIMD=1.
Int8Isa best_int8_isa();

// Checks the arguments and runs the convolution on `isa` (throws dalnas::Error if this
// CPU lacks it).
void int8_conv(const Int8ConvArgs& a, Int8Isa isa);
// The same on best_int8_isa().
void int8_conv(const Int8ConvArgs& a);

// The paths themselves, without checks (internal; the tests call them through int8_conv).
void int8_conv_scalar(const Int8ConvArgs& a);
void int8_conv_avx2(const Int8ConvArgs& a);
void int8_conv_avx512vnni(const Int8ConvArgs& a);
// The AVX2 path computes some 3×3 stride-1 convolutions by an exact integer Winograd
// F(2×2, 3×3) (quant/int8_conv_winograd.inc): int8_winograd_exact says whether that
// algorithm is exact for `a` (3×3, stride 1, one group, at most 1,827 input channels),
// int8_conv_avx2_uses_winograd whether int8_conv_avx2 takes it (where it is also faster,
// unless DALNAS_INT8_WINOGRAD=0);
// the two branches run on their own for the tests and bench/int8_conv
// (int8_conv_avx2_winograd needs int8_winograd_exact).
bool int8_winograd_exact(const Int8ConvArgs& a);
bool int8_conv_avx2_uses_winograd(const Int8ConvArgs& a);
void int8_conv_avx2_winograd(const Int8ConvArgs& a);
void int8_conv_avx2_direct(const Int8ConvArgs& a);

// ONNX Runtime's requantization of one int32 sum (bias included): the scalar formula above.
int32_t requantize_float(int32_t acc, float scale, int32_t out_zero_point, int32_t act_min,
                         int32_t act_max);

}  // namespace dalnas
