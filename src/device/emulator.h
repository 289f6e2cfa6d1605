#pragma once
// Emulator: runs a DeviceGraph with a device's numerics in plain C++ (no libtorch), with a
// scalar reference path and SIMD paths (AVX-512, AVX2 + F16C) chosen at run time that
// give the same results bit for bit.
//
// Semantics (the scalar reference defines them; h(x) = round x to FP16 and back, nearest
// even, with the placement's overflow / subnormal mode, precision/half.h):
// - Placement: on_neural_engine() (device/numerics.h) picks `nce` or `shave` numerics for
//   each node; the node's weights, accumulation and output rounding use them.
// - Host normalisation: when the graph has norm_mean / norm_std and !norm_folded, run()
//   first computes (x - mean[c]) / std[c] in fp32 (that is the host's job); otherwise
//   the raw input goes to the device.
// - Storage FP16: weights and biases are rounded to FP16 once, in the constructor (after
//   pre-scaling); the input is rounded on entry (Input runs on SHAVE: 65535 becomes +inf
//   with overflow inf, 65504 with saturate); every node's output is rounded, except
//   Concat and Output, which copy stored values. Storage FP32: nothing is rounded.
// - Conv: the reduction index runs over the group's input channels (outer), then ky, then
//   kx. Zero padding is read as stored +0 (the product w·0 is computed like any other).
//   Products w·x are fp32 (exact for FP16 operands). The accumulator starts at +0.
//     acc fp32:           acc += p, in order; y = acc + bias.
//     acc fp16-blocked:N: block sums in fp32 over N consecutive reduction indices (the
//                         last block may be shorter), s = p1 + p2 + ... starting from the
//                         block's first product; after each block acc = h(acc + h(s));
//                         then y = h(acc + bias).
//     acc fp16:           fp16-blocked:1, i.e. acc = h(acc + h(p)) for every product.
//   A layer without bias adds +0. Then, if pre-scaled, y = y · 2^-shift (fp32, exact);
//   then the fused activation (fp32); then storage rounding.
// - Pre-scaling (Numerics.prescale; neural-engine Conv and FullyConnected): shift from
//   the layer's FP16 weights (device/prescale.h; weights rounded with the placement's
//   overflow mode, subnormals kept, as in an FP16 IR file); weights and bias become
//   w16 · 2^shift, then rounded to FP16 in the placement's mode (storage FP16) - so tiny
//   weights that a flushing device would lose survive. A bias too large for the scaled
//   range overflows as it would on the device.
// - FullyConnected: a 1×1 convolution over the flattened input (index c, y, x row-major).
// - ConvTranspose (scalar code only; weights rounded like a Conv's, on SHAVE): each
//   output element sums, over the group's input channels (outer), then ky, then kx, the
//   products w[ci][oc][ky][kx] · x[ci][iy][ix] of the taps with oy + pad - ky = iy·stride
//   (and the same for x) inside the input, with the accumulation rule above; then bias,
//   un-scaling, activation and storage rounding as for Conv.
// - MaxPool: the maximum over the window, row-major; a NaN in the window gives NaN (the
//   first one met). AvgPool / GlobalAvgPool: sum of the stored values, row-major, with
//   the placement's accumulation rule (as above, the values in place of products), then
//   y = sum · (1.0f / count) in fp32 (count = k·k or H·W), then storage rounding. With
//   pad > 0 the window is clipped to the input: padding never wins a maximum and is not
//   counted in an average (count = the window's pixels inside the input).
// - Add / Mul: fp32 a + b / a · b of stored values (Mul: b may be C×1×1), the fused
//   activation, storage rounding. Activation: act, storage rounding.
// - Resize (bilinear, align_corners = false like torch's F.interpolate): ratio =
//   1 / scale when scale > 0, else in / out (fp32); src = ratio·(dst + 0.5) - 0.5, clamped
//   at 0; i0 = floor(src), i1 = i0 + 1 (clamped to the last), l1 = src - i0, l0 = 1 - l1;
//   y = l0y·(l0x·v00 + l1x·v01) + l1y·(l0x·v10 + l1x·v11) in fp32; storage rounding.
//   Resize nearest: src = min(floor(dst · in / out), in - 1) per axis (integer arithmetic);
//   for integer scale factors this is ONNX's half_pixel / asymmetric-floor nearest.
// - Softmax over channels per pixel in fp32: e_c = exp(x_c - max), y_c = e_c / Σ e (sum in
//   channel order); storage rounding.
// - Activations in fp32, NaN in NaN out: ReLU x > 0 ? x : (NaN ? x : +0); ReLU6 / Clip
//   x < lo ? lo : (x > hi ? hi : x) (NaN stays); GELU x·0.5·(1 + erf(x·(1/√2)));
//   HardSwish x·clip(x + 3, 0, 6) / 6; Sigmoid 1 / (1 + exp(-x)); HardSigmoid
//   clip(alpha·x + beta, 0, 1); Swish x / (1 + exp(-x)) (in FP16 arithmetic on SHAVE:
//   x·sigmoid(x), each operation rounded).
#include <cstdint>
#include <vector>

#include "device/graph.h"
#include "device/numerics.h"

namespace dalnas {

class Emulator {
 public:
  // Copies the graph and prepares the weights (FP16 rounding, pre-scaling). Throws
  // dalnas::Error if config.isa names SIMD kernels this CPU lacks, or if the graph's
  // shapes do not fit its `input` (when set).
  Emulator(const DeviceGraph& graph, const EmulatorConfig& config);

  // One image, C × H × W floats of shape `in`; returns the Output node's tensor. Thread
  // safe; each thread keeps its intermediate buffers for its next runs (no allocation
  // per image once warm).
  std::vector<float> run(const float* input, const Shape& in) const;
  // n images stored one after the other; returns n outputs one after the other. Images
  // run in parallel on `threads` threads (0: one per hardware thread, at most n).
  std::vector<float> run_batch(const float* input, int n, const Shape& in, int threads = 0) const;
  // Every node's output (index = node index), for diagnostics.
  std::vector<std::vector<float>> run_all(const float* input, const Shape& in) const;
  // Node i alone (not the Input node): reads its inputs' stored values from `values`
  // (indexed by node; only node i's inputs are read), writes its output to y (resized).
  // `shapes` as DeviceGraph::compute_shapes gives them. The mixed-precision integer
  // emulator (device/int8_emulator.h) runs its FP16 nodes with this.
  void run_node(size_t i, const std::vector<Shape>& shapes,
                const std::vector<std::vector<float>>& values, std::vector<float>& y) const;

  Shape output_shape(const Shape& in) const;
  // The kernels in use (never Auto): Scalar when config.simd is false or DALNAS_NO_SIMD=1.
  KernelIsa isa() const { return isa_; }
  const EmulatorConfig& config() const { return config_; }
  // The graph with its weights and biases as stored on the device (pre-scaled, rounded;
  // Conv / FullyConnected without bias get a bias of zeros).
  const DeviceGraph& graph() const { return graph_; }
  // The pre-scaling shift of node i (0 where none).
  int prescale_shift(int node) const { return shifts_.at(static_cast<size_t>(node)); }
  // Number of hardware passes node i is split into over input channels (1: not split).
  int hw_parts(int node) const;
  // OpenVINO's "growing output" test for this graph and pipeline (precision/prescale.h).
  bool growing_output() const;

 private:
  void input_node(const float* input, const Shape& in, std::vector<float>& y) const;
  void conv_node(size_t i, const std::vector<float>& x, const Shape& is, const Shape& os,
                 std::vector<float>& y) const;
  void execute(const float* input, const Shape& in, bool keep_all,
               std::vector<std::vector<float>>& values) const;
  void compute(size_t i, const float* input, const Shape& in, const std::vector<Shape>& shapes,
               const std::vector<std::vector<float>>& values, std::vector<float>& y) const;

  DeviceGraph graph_;
  EmulatorConfig config_;
  KernelIsa isa_ = KernelIsa::Scalar;
  std::vector<int> shifts_;
  std::vector<std::vector<std::vector<float>>> parts_;  // per node: weights of each part
};

// Counts over one tensor, to find where a network breaks in low precision.
struct TensorStats {
  int64_t count = 0, nan = 0, inf = 0, zero = 0;
  int64_t fp16_subnormal = 0;  // nonzero values with |x| < 2^-14
  float max_abs = 0.0f;        // over finite values
  int64_t nonfinite() const { return nan + inf; }
};
TensorStats tensor_stats(const std::vector<float>& values);

}  // namespace dalnas
