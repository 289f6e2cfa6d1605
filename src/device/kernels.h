#pragma once
// The emulator's convolution kernels (internal to the device module): one scalar
// reference and SIMD versions that agree with it bit for bit. The semantics are those
// documented in device/emulator.h.
#include <cstdint>
#include <vector>

#include "device/graph.h"
#include "precision/half.h"

namespace dalnas {
namespace kernels {

// One convolution (or fully connected layer as a 1×1 convolution over C_in×1×1).
struct ConvArgs {
  const float* in = nullptr;  // in_shape, stored values
  Shape in_shape;
  float* out = nullptr;  // out_shape
  Shape out_shape;
  const float* weight = nullptr;  // out_c × (in_c / groups) × k × k, prepared (stored) values
  const float* bias = nullptr;    // out_c prepared values (zeros when the layer has none)
  int kernel = 1, stride = 1, pad = 0, groups = 1;
  int block = 0;            // 0: fp32 accumulation; N >= 1: rounding after every block of N
  HalfMode half;            // mode of every rounding to FP16 (accumulation and storage)
  bool store_fp16 = false;  // round the output to FP16 (storage)
  bool unscale = false;     // pre-scaling undo: multiply by unscale_factor
  float unscale_factor = 1.0f;
  ActType act = ActType::None;
  float act_min = 0.0f, act_max = 6.0f, alpha = 0.2f, beta = 0.5f;
};

// Activations in fp32, NaN propagating (see emulator.h).
inline float clip(float x, float lo, float hi) {
  return x != x ? x : (x < lo ? lo : (x > hi ? hi : x));
}
float activate(float x, ActType act, float act_min, float act_max, float alpha, float beta);
// y[i] = activate(y[i], ...) for n values (one switch, then a plain loop).
void activate(float* y, int64_t n, ActType act, float act_min, float act_max, float alpha,
              float beta);
// True for the activations the SIMD kernels evaluate in vector registers; the others
// (GELU, Sigmoid, Swish) are applied afterwards by finish() with the scalar code.
inline bool vector_activation(ActType a) {
  return a != ActType::GELU && a != ActType::Sigmoid && a != ActType::Swish;
}
// Activation and storage rounding of n outputs in place (scalar activation; the storage
// rounding uses F16C when `simd`).
void finish(float* y, int64_t n, const ConvArgs& a, bool simd);

void conv_scalar(const ConvArgs& a);
// SIMD paths: call only where the CPU supports them. They fall back to conv_scalar for
// shapes they do not vectorise (strides above 2).
void conv_avx2(const ConvArgs& a);
void conv_avx512(const ConvArgs& a);
// TODO(avx512fp16): a path with native FP16 arithmetic (vaddph / vmulph, Sapphire Rapids
// and later) would make the fp16-accumulation modes several times faster; it needs a CPU
// with AVX512-FP16 to be tested against the scalar reference and is not written yet.

// True if the SIMD conv kernels (and finish()) implement `mode` bit for bit; the emulator
// takes conv_scalar for modes they do not. They implement every HalfMode (overflow ×
// subnormals × rounding): the F16C-native ones with the conversion instructions, the
// others in integer arithmetic (precision/half_simd.h).
inline bool simd_supports(const HalfMode&) {
  return true;
}

// The CPU checks of precision/half.h (one definition for both modules).
inline bool cpu_has_avx2_f16c() {
  return dalnas::cpu_has_avx2_f16c();
}
inline bool cpu_has_avx512() {
  return dalnas::cpu_has_avx512();
}

// Zero-padded copy of `in` for the kernels: C × (H + 2·pad) × wp rows; columns beyond
// W + 2·pad are zero too. Returns the row length wp >= W + 2·pad, at least `min_wp`.
int pad_input(const float* in, const Shape& s, int pad, int min_wp, std::vector<float>& out);

}  // namespace kernels
}  // namespace dalnas
