#pragma once
// Myriad X weight pre-scaling: before a layer runs on the neural engine, its FP16 weights
// and bias are multiplied by 2^shift so that small weights use FP16's range (and survive
// flushing of subnormals); the layer's output is multiplied by 2^-shift afterwards.
//
// The rule follows OpenVINO's MYRIAD plugin (pass "analyzeWeightableLayers",
// weights_analysis.cpp, OpenVINO 2019-2022), without its output-statistics variant:
//   e(w)     = the FP16 exponent field of w minus 15 (zeros and subnormals give -15);
//   max_exp  = the largest e(w) over all weights;
//   mean_exp = the mean of e(w) over the weights with e(w) != -15 (normal weights),
//              computed in double and truncated toward zero; -15 if there are none;
//   shift    = min(15 - max_exp, -mean_exp);
//   the first scalable layer of the network: shift > 10 -> shift - 8;
//   shift    = min(shift, cap)       (OpenVINO: 8 for convolutions, 9 for fully connected);
//   shift <= 1 -> 0 (no scaling; OpenVINO scales only when shift > 1).
// Not emulated: the extra reduction by 5 of the first layer's shift that OpenVINO applies
// when the network contains no small ScaleShift / Power stages ("growing output").
#include <cstddef>

namespace dalnas {

// `w16` holds the layer's weights already rounded to FP16 (as floats).
int prescale_shift(const float* w16, size_t n, int cap, bool first_layer);

}  // namespace dalnas
