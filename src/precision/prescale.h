#pragma once
// Myriad X weight pre-scaling: before a layer runs on the neural engine, OpenVINO's MYRIAD
// plugin multiplies its FP16 weights and bias by 2^shift so that small weights use FP16's
// range; the engine multiplies the accumulated result by 2^-shift afterwards (a
// per-output-channel "scales" input, applied after accumulation), so the accumulator
// holds 2^shift times the true value.
//
// The rule follows OpenVINO's pass "analyzeWeightableLayers" (weights_analysis.cpp,
// 2021-2022.3), for every Conv, FullyConnected and Deconvolution stage that runs on the
// hardware, in graph order:
//   e(w)     = the FP16 exponent field of w minus 15 (zeros and subnormals give -15);
//   shift    = min(15 - max e(w), -mean e(w)) (mean over the weights with e != -15, in
//              double, truncated toward zero; -15 if there are none);
//   growing output: on the first stage, if shift < 4, the network's output is "growing"
//              (no ScaleShift / Power / Convert stage with a scale below 0.1 at the input)
//              and the weights have more than one input channel, normalVal = 5;
//   first stage: shift > 10 -> shift - 8; then shift = min(shift, cap) (8 for
//              convolutions and deconvolutions, 9 for fully connected layers);
//   shift   -= normalVal (every stage, once normalVal is set);
//   shift >= 1 scales by 2^shift; otherwise no scaling (shift 0 here).
// Not modelled: the output-statistics variant (IR with statistics) and per-layer
// overrides (MYRIAD_SCALES_PATTERN).
#include <cstddef>

namespace dalnas {

// min(15 - max_exp, -mean_exp) of FP16 weights `w16` (floats exactly representable in
// FP16; others are rounded to nearest even first).
int prescale_raw_shift(const float* w16, size_t n);

// The pass over a network's scalable layers, in graph order.
struct PrescalePass {
  bool growing_output = false;  // apply the "growing output" rule (see above)
  bool first = true;            // the next layer is the first scalable one
  int normal_val = 0;           // set to 5 by the first layer when the rule applies

  // The shift of the next scalable layer (0: not scaled).
  int next(const float* w16, size_t n, int cap, int in_channels);
};

// The rule for one layer without the growing-output adjustment (tests, diagnostics).
int prescale_shift(const float* w16, size_t n, int cap, bool first_layer);

}  // namespace dalnas
