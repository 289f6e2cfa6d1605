#pragma once
// Bilinear resize with OpenVINO's "asymmetric" coordinates (src = dst · in / out, clamped
// to in - 1), as a libtorch autograd op: the upsampling of a network aligned to a device
// that runs asymmetric interpolation (the Myriad's Interp; device/emulator.h computes the
// same). libtorch has no such mode, and composing it from index_select ops cost more than
// the convolutions of a small network in aligned training (three times the FP32
// upsampling's time, forward and backward); this is one pass each way.
//
// Forward, per (n, c) plane: horizontally first, row = x[x0] · (1 - lx) + x[x1] · lx, then
// vertically, out = row[y0] · (1 - ly) + row[y1] · ly, each product and sum rounded to the
// tensor's type in that order (no fused multiply-add): bit for bit the emulator's order and
// the index_select composition's result. Backward: the transpose (each output's gradient
// spread to its four sources with the same weights). float32 and float64, CPU, NCHW.
#include <torch/torch.h>

namespace dalnas {

torch::Tensor asymmetric_resize(const torch::Tensor& x, int64_t out_h, int64_t out_w);

}  // namespace dalnas
