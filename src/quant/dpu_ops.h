#pragma once
// The fixed-point arithmetic of the AMD/Xilinx Vitis AI DPU (DPUCZDX8G, the DPU of Zynq
// UltraScale+ boards) and of its quantizer, for the "dpu-int8" profile
// (device/int8_emulator.h). Every tensor is int8, symmetric, with a power-of-two scale:
// real = q · 2^−pos, where pos is the tensor's "fix position" (Vitis's fix_point).
// Sources (Vitis AI 3.5 and its simulator; each function names its own):
//   vai_q_pytorch  nndct_shared/quantization/quant_config.py (defaults: int8, symmetric,
//                  per tensor, power-of-two, std_round for weights / bias / input,
//                  half_up for activations, calibration "diffs", activation statistic
//                  "modal"), cpu kernels nndct_fix_kernels.cpp (cpu_diff_S),
//                  nndct_shared/utils/dpu_utils.py (average-pool coefficients)
//   vai_q_onnx     refine.py (adjust_shift_cut, adjust_shift_bias, adjust_shift_write,
//                  align_concat: the compiler's bounds on the shifts)
//   vart           sim-runner Calc::DPURound, Conv::bias / transform, Elew::calc,
//                  Pool::pool_one, Alu hard-sigmoid; cpu-runner fix.cpp, resize_fix.cpp
// Where the sources are silent the choice is stated at the function and in
// devices/README.md ("dpu-int8").
#include <cstdint>
#include <vector>

#include "quant/int8_ops.h"
#include "quant/ort_int8_ops.h"

namespace dalnas {

// Calc::DPURound: saturate to [−128, 127], else round to nearest with ties toward +∞
// ("half up": −2.5 → −2, 2.5 → 3), i.e. floor(v + 0.5). The activations' rounding.
int8_t dpu_round(double v);
// std::round saturated to [−128, 127] (ties away from zero): STD_ROUND, the rounding of
// constants (weights, bias) and of the input's fix op.
int8_t std_round_int8(double v);

// How a float is quantized at a fix position: q = sat(round(x · 2^pos)).
enum class FixRound {
  Std,     // std_round_int8: weights, bias, the input
  HalfUp,  // dpu_round: activations
};
int8_t fix_quantize(float x, int pos, FixRound r);
float fix_dequantize(int8_t q, int pos);  // q · 2^−pos

// The largest fix position at which [lo, hi] does not overflow int8 (cpu_diff_S's
// starting point): step = max(lo / −128.5, hi / 127.5), pos = floor(log2(1 / step)); 18
// when step <= FLT_MIN (an all-zero tensor). A non-finite bound throws dalnas::Error.
int max_fix_pos(float lo, float hi);

// The "diffs" calibration of one tensor (cpu_diff_S): among pos in [p, p + range) with p =
// max_fix_pos(min x, max x), the one whose fake quantization (q · 2^−pos, rounding r,
// saturated) has the least sum of squared errors; the first (smallest) on ties. n >= 1.
int diffs_fix_pos(const float* x, int64_t n, FixRound r, int range = 5);

// The most frequent value of `positions` (vai_q's "modal" statistic over calibration
// batches); the smallest of the most frequent on ties. Throws dalnas::Error when empty.
int modal_fix_pos(const std::vector<int>& positions);

// Convolution requantization, as the DPU computes it (sim-runner Conv::bias, transform):
//   acc = Σ w·x (int32, no zero points) + bias · 2^shift_bias
//   y   = dpu_round(acc / 2^shift_cut), then the fused ReLU / ReLU6 as clamps
// with shift_cut = pos_w + pos_in − pos_out and shift_bias = pos_w + pos_in − pos_bias.
// This is TFLite's single-rounding MultiplyByQuantizedMultiplier with the multiplier 2^30
// and shift 1 − shift_cut (round half up of x / 2^shift_cut), so the int8 convolution
// kernels (quant/int8_conv.h, scalar and SIMD) compute it with these arguments.
struct DpuConvShifts {
  int shift_cut = 0;   // in [0, 16] (the compiler's bound, vai_q adjust_shift_cut)
  int shift_bias = 0;  // in [0, 16] here (see dpu_conv_shifts)
  int pos_w = 0;       // the weights' fix position after the adjustments
  int pos_b = 0;       // the bias's fix position after the adjustments
};
// vai_q's adjustments, in its order: shift_cut outside [0, 16] moves the weights'
// position to the bound; then shift_bias outside its bound moves the bias's position.
// The compiler's lower bound for shift_bias is min(0, shift_cut − 16) (a bias finer than
// the accumulator); here it is 0, so the bias always adds as an integer in accumulator
// units (a stated choice: the sources do not say how a negative shift rounds).
DpuConvShifts dpu_conv_shifts(int pos_in, int pos_out, int pos_w, int pos_b);
constexpr int32_t kDpuMultiplier = int32_t{1} << 30;  // with shift = 1 − shift_cut
// ReLU6's upper clamp in output units: 6 · 2^pos_out, capped at 127 (the hardware's
// constant is 6 << 4 = 96, for outputs at fix position 4; positions below 0 round it).
int32_t dpu_relu6_max(int pos_out);

// Element-wise add of two tensors (sim-runner Elew::calc, ELEW_TYPE_ADD), each input read
// at the coarser position p = min(pos_a, pos_b) with two extra bits, truncated:
//   t = floor(4·a / 2^(pos_a − p)) + floor(4·b / 2^(pos_b − p))
//   y = clamp(dpu_round(t · 2^(pos_out − p) / 4), act_min, act_max)
// pos_out − p is the negated shift_write, bounded to [−15, 15] (dpu_add_out_pos).
// `truncate` false: the exact sum rounded once, y = clamp(dpu_round(a · 2^(pos_out − pos_a)
// + b · 2^(pos_out − pos_b)), act_min, act_max) (the census's switch, eval/census.h).
void dpu_add(const int8_t* a, int pos_a, const int8_t* b, int pos_b, int64_t n, int pos_out,
             int32_t act_min, int32_t act_max, int8_t* y, bool truncate = true);
// vai_q adjust_shift_write: the output position moved into [p − 15, p + 15].
int dpu_add_out_pos(int pos_a, int pos_b, int pos_out);

// Element-wise multiply (the squeeze-excitation gate): the exact product rounded once,
//   y = clamp(dpu_round(a · b · 2^(pos_out − pos_a − pos_b)), act_min, act_max)
// `b` has c·h·w values or c (per channel, broadcast over h × w). (The simulator's
// ELEW_TYPE_MULT keeps two extra bits per input as the add does; with integer inputs
// that changes nothing.)
void dpu_mul(const int8_t* a, int pos_a, const int8_t* b, int pos_b, int c, int h, int w,
             bool b_per_channel, int pos_out, int32_t act_min, int32_t act_max, int8_t* y);

// The DPU's average-pool divisor as m / 2^s (dpu_utils.get_avgpool_dpu_coeff; the
// simulator's Pool::pool_one): 3×3 → 7/64, 5×5 → 10/256, 6×6 → 7/256, 7×7 → 21/1024,
// 14×14 → 21/4096; any other count n = k·k (and the global mean over n = h·w,
// calculate_op_scale) the m / 2^s nearest 1/n over s in [0, ceil(log2(128·n))), m =
// round-half-even(2^s / n), the first s of least error.
struct DpuDivisor {
  int64_t m = 1;
  int s = 0;
};
DpuDivisor dpu_pool_divisor(int kernel);
DpuDivisor dpu_mean_divisor(int64_t n);

// Average pooling (Pool::pool_one): the window's sum (padding counts as 0, the divisor is
// always k·k), times the divisor, rescaled to the output position, rounded once:
//   y = dpu_round(Σ q · m / 2^s · 2^(pos_out − pos_in))
// Arguments checked as int8_average_pool's (check_pool).
// `exact` (both): divide by the count itself, y = dpu_round(Σ q · 2^(pos_out − pos_in) / n),
// instead of the hardware's divisor (the census's switch, eval/census.h).
void dpu_average_pool(const Int8PoolArgs& a, int pos_in, int pos_out, bool exact = false);
// Global average over H × W per channel, the same with dpu_mean_divisor(h·w). Output c.
void dpu_mean_hw(const int8_t* x, int c, int h, int w, int pos_in, int pos_out, int8_t* y,
                 bool exact = false);
// Whether the hardware's divisor of n values is 1 / n exactly (m / 2^s = 1 / n).
bool dpu_divisor_exact(const DpuDivisor& d, int64_t n);

// Bilinear resize: not a DPUCZDX8G operation, so it runs in Vitis's CPU runner
// (resize_fix.cpp: interpolate the integer values in float, then dpu_round at the output
// position, here the input's). The source coordinates are ONNX's (ort_bilinear_axis).
void dpu_resize_bilinear(const int8_t* x, int c, int in_h, int in_w, int out_h, int out_w,
                         OrtCoord coord, int pos, int8_t* y);

// A 256-entry table of an element-wise function for an int8 input at pos_in to an output
// at pos_out: y = dpu_round(f(q · 2^−pos_in) · 2^pos_out) (a CPU-runner operation:
// Sigmoid, GELU, HardSigmoid with ONNX's constants); f = nullptr: the identity (a
// requantization between positions). Index with q + 128 (int8_apply_table).
Int8Table dpu_table(int pos_in, int pos_out, float (*f)(float) = nullptr);

// The DPU's hard-swish (sim-runner Conv::transform, RELU_TYPE_HSWISH), per input q at
// pos_in, with hard-sigmoid's 2731 / 2^14 ≈ 1/6 and its output at position 7:
//   hs = dpu_round(max(0, (q + 3·2^pos_in) · 2731) / 2^(pos_in + 7))       (saturates)
//   y  = dpu_round(q · hs · 2^(pos_out − pos_in − 7))
Int8Table dpu_hardswish_table(int pos_in, int pos_out);

}  // namespace dalnas
