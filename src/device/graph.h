#pragma once
// DeviceGraph: a small inference IR of what runs on the accelerator, with its weights.
// No libtorch here: built by lower() (device/lower.h) from a trained network, or by the
// ONNX importer; run by the Emulator; costed by the cost models.
//
// Tensors are C × H × W per image (batch 1; the emulator loops over a batch).
// Nodes are stored in topological order; node 0 is the Input.
#include <cstdint>
#include <string>
#include <vector>

#include "core/layer_precision.h"

namespace dalnas {

enum class OpType {
  Input,           // the network input (bands × H × W)
  Conv,            // 2-D convolution (grouped/depthwise via groups), bias, fused activation
  MaxPool,         // kernel × kernel, stride, symmetric pad (padding never wins), floor
  AvgPool,         // kernel × kernel, stride, symmetric pad (padding not counted), floor
  GlobalAvgPool,   // C × H × W -> C × 1 × 1
  Resize,          // bilinear, align_corners = false (half-pixel), or nearest (`nearest`),
                   // to the size of inputs[1] (a shape reference, not read) or to
                   // H·scale × W·scale when scale > 0
  Concat,          // along channels, in input order
  Add,             // element-wise, same shapes; fused activation
  Mul,             // element-wise; inputs[1] may be C × 1 × 1 (broadcast over H × W)
  Activation,      // stand-alone activation (act)
  FullyConnected,  // C_in (flattened) -> out_c, weight out_c × C_in, bias, fused activation
  Output,          // marks inputs[0] as the graph output (identity)
  ConvTranspose,   // transposed 2-D convolution: weight in_c × (out_c/groups) × k × k, stride,
                   // pad (symmetric, cropped), output_pad (extra bottom/right), bias, act
  Softmax,         // softmax over channels at every pixel
  Slice,           // channels [c_begin, c_begin + out_c) of the input (ONNX Split / Slice)
  Shuffle,         // channel shuffle over `groups` groups: output channel j is input channel
                   // (j % groups) · (C / groups) + j / groups (ShuffleNet's Reshape,
                   // Transpose, Reshape)
};

// Swish is x·sigmoid(x) (SiLU; EfficientNet's activation), met in imported graphs only.
enum class ActType { None, ReLU, ReLU6, GELU, HardSwish, Sigmoid, Clip, HardSigmoid, Swish };

// Bilinear resize: how an output coordinate maps to an input coordinate (ONNX's
// coordinate_transformation_mode). HalfPixel: src = (dst + 0.5)·in/out - 0.5 (PyTorch's
// align_corners = false); Asymmetric: src = dst·in/out; AlignCorners: src =
// dst·(in - 1)/(out - 1).
enum class ResizeCoord { HalfPixel, Asymmetric, AlignCorners };

struct Shape {
  int c = 0, h = 0, w = 0;
  int64_t numel() const { return static_cast<int64_t>(c) * h * w; }
  bool operator==(const Shape& o) const { return c == o.c && h == o.h && w == o.w; }
};

struct Node {
  OpType op = OpType::Input;
  std::string name;
  std::vector<int> inputs;  // indices of earlier nodes

  // Conv / ConvTranspose / FullyConnected
  int out_c = 0;
  int kernel = 1;  // square kernels (pooling too)
  int stride = 1;
  int pad = 0;         // symmetric padding (Conv, pooling; ConvTranspose: output cropping)
  int output_pad = 0;  // ConvTranspose: extra output rows / columns at the bottom / right
  int groups = 1;
  // Imported graphs only (ONNX import; lower() never sets them, the emulator and the ONNX
  // export reject nodes that use them): Conv / pooling kernels whose width differs from
  // their height (`kernel` is then the height), padding of W that differs from H's, extra
  // padding at the bottom and right (asymmetric pads, pooling's ceil_mode), dilated
  // convolutions, average pooling that counts the padding (count_include_pad).
  int kernel_w = 0;        // 0: = kernel
  int pad_w = -1;          // -1: = pad
  int pad_end = 0;         // extra rows / columns at the bottom / right
  int dilation = 1;        // Conv
  bool count_pad = false;  // AvgPool: the divisor is kernel² wherever the window lies
  int c_begin = 0;         // Slice: first input channel
  int kw() const { return kernel_w > 0 ? kernel_w : kernel; }
  int pw() const { return pad_w >= 0 ? pad_w : pad; }
  // Uses a field that only imported graphs carry (see above).
  bool extended() const {
    return kernel_w > 0 || pad_w >= 0 || pad_end != 0 || dilation != 1 || count_pad;
  }
  // Conv: out_c × (in_c/groups) × k × k; ConvTranspose: in_c × (out_c/groups) × k × k;
  // FC: out_c × in_c
  std::vector<float> weight;
  std::vector<float> bias;  // out_c (empty = no bias)
  // Conv: the trained per-output-channel weight scales (learned weight steps of
  // quantization-aware training, folded: lower() from core/weight_steps.h); empty: none, an
  // integer target computes max |w_c| / qmax. Integer targets with per-channel weights
  // quantize at these instead ([integer] ranges = "trained", the default).
  std::vector<float> weight_scale;
  // Activations (fused into Conv / Add / FullyConnected, or the op of an Activation node)
  ActType act = ActType::None;
  float act_min = 0.0f, act_max = 6.0f;  // Clip bounds (ReLU6 = Clip(0, 6))
  float alpha = 0.2f, beta = 0.5f;       // HardSigmoid: clip(alpha·x + beta, 0, 1)
  // Resize
  float scale = 0.0f;
  bool nearest = false;  // nearest neighbour: src = min(floor(dst · in / out), in - 1)
  ResizeCoord coord = ResizeCoord::HalfPixel;  // bilinear only

  // Mixed-precision integer targets (core/layer_precision.h): the node's number format
  // (Default: the profile's rule decides) and the genome block it was lowered from (-1:
  // none, e.g. the decoder, the head or an imported graph). lower() sets both;
  // resolve_precision (device/int8_emulator.h) replaces Default by the profile's rule.
  LayerPrecision precision = LayerPrecision::Default;
  int block = -1;

  Shape shape;  // output shape, filled by DeviceGraph::infer_shapes
};

struct DeviceGraph {
  std::vector<Node> nodes;
  Shape input;      // bands × H × W the graph was built for
  int output = -1;  // index of the Output node

  // Input normalisation that the host applies before the device, or (folded = true)
  // that has been folded into the first convolution so the device receives raw values.
  std::vector<float> norm_mean, norm_std;
  bool norm_folded = false;

  // Appends, returns its index; an Output node also becomes `output`. Throws
  // dalnas::Error if an input index does not name an earlier node.
  int add(Node n);
  // Computes every node's output shape for an input of `in` (throws dalnas::Error naming
  // the node on inconsistent shapes or a weight size that does not fit).
  void infer_shapes(const Shape& in);
  // The same shapes, returned instead of stored (node i's output shape at index i).
  std::vector<Shape> compute_shapes(const Shape& in) const;
  // Multiply-accumulates of one inference (after infer_shapes): convolutions (transposed:
  // weights × input pixels) and fully connected layers only.
  int64_t macs() const;
  int64_t params() const;       // weights + biases
  std::string summary() const;  // one line per node
};

std::string to_string(const Shape& s);  // "C×H×W" as "16x128x128"
std::string to_string(OpType op);       // "conv", "maxpool", ... "fc", "output"
std::string to_string(ActType a);       // "none", "relu", "relu6", ... "hardsigmoid"
// "half_pixel" / "asymmetric" / "align_corners" (ONNX's names); parse throws
// dalnas::Error naming the allowed values.
std::string to_string(ResizeCoord c);
ResizeCoord parse_resize_coord(const std::string& s);

}  // namespace dalnas
