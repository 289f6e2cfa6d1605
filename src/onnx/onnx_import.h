#pragma once
// import_onnx: an ONNX model (batch 1, NCHW, opset 7 - 17) as a DeviceGraph, for the cost
// model and the emulator. Reads .onnx and gzip-compressed .onnx.gz files (the gzip magic
// decides, not the name).
//
// Mapping (the ONNX library's protobuf types, libonnx):
//   Conv                  Conv (kernel kh × kw, equal strides, equal dilations; pads with
//                         as much more at the bottom as at the right: pad, pad_w, pad_end)
//   ConvTranspose         ConvTranspose (as Conv, plus output_padding; no output_shape)
//   BatchNormalization    folded into the preceding Conv / ConvTranspose / FullyConnected
//                         (Gemm, BatchNorm1d) when it is that node's only consumer, else a
//                         1×1 depthwise Conv (scale, shift); on N × C too
//   Relu, Clip, Sigmoid,  fused into the preceding Conv / ConvTranspose / Add / Mul /
//   HardSigmoid,          FullyConnected when it is that node's only consumer, else an
//   HardSwish, Gelu,      Activation node (Clip(0, 6) becomes ReLU6); HardSwish, SiLU
//   Swish (alpha 1)       (Swish) and GELU written as several nodes are recognised first
//                         (onnx/onnx_fuse.h)
//   MaxPool, AveragePool  MaxPool / AvgPool (kernel kh × kw, equal strides, pads as Conv;
//                         ceil_mode as extra bottom / right padding (MaxPool, or where it
//                         changes nothing); count_include_pad = 1 and a Pad before an
//                         AveragePool: AvgPool with count_pad)
//   ReduceMean            over H and W: GlobalAvgPool
//   GlobalAveragePool     GlobalAvgPool
//   Resize, Upsample      Resize with a scale (equal on H and W; from `scales`, `sizes` or
//                         the attribute): linear needs half_pixel coordinates; nearest
//                         needs an integer scale (and, for asymmetric coordinates, floor
//                         rounding or a scale of 2)
//   Concat                Concat (axis 1)
//   Add, Mul              Add / Mul of two tensors (Mul: the second may be C×1×1); with a
//                         constant: folded into a FullyConnected's bias (Add), else a 1×1
//                         depthwise Conv (per-channel or scalar constant)
//   Gemm, MatMul          FullyConnected (constant weights; Gemm's alpha / beta folded)
//   Flatten, Reshape      no node: flattening to [1, K] (or a reshape to the same shape)
//   Reshape, Transpose,   a channel shuffle (ShuffleNet): Reshape to [1, G, C/G, H, W],
//   Reshape               Transpose perm (0, 2, 1, 3, 4), Reshape back: one Shuffle node
//   Split, Slice          along channels (step 1): a Slice node per used output
//   Identity, Dropout     no node (Identity over an initializer: the same constant)
//   Cast                  no node (between float types: the device's storage decides)
//   Pad                   zero padding of H and W: folded into the next Conv or
//                         AveragePool (which then counts the zeros)
//   Softmax               Softmax over channels (errors where ONNX's axis means otherwise)
//   Constant              a constant for the above
// Anything else, or an attribute the device graph cannot express, is a dalnas::Error
// "<file>: node '<name>' (<op>): <what>". The graph's input is the one graph input that is
// not an initializer, [1, C, H, W] (or [1, K] for networks of fully connected layers: K × 1 × 1);
// `input_override` replaces its C×H×W (needed when the
// model's dimensions are symbolic). The model must have one output.
//
// Untrusted files: dimensions are checked before any size arithmetic (a tensor holds at
// most 2^31 values, a dimension at most 2^24, products are overflow-checked), and a
// compressed model may inflate to at most kMaxInflatedBytes; beyond, a dalnas::Error
// naming the file.
#include <string>

#include "device/graph.h"

namespace dalnas {

DeviceGraph import_onnx(const std::string& path, const Shape* input_override = nullptr);
// The same from the file's bytes (plain or gzip); `path` only names it in errors.
DeviceGraph import_onnx_bytes(const std::string& bytes, const std::string& path,
                              const Shape* input_override = nullptr);

// The most a .onnx.gz may decompress to (2 GiB, protobuf's own limit for a message).
constexpr size_t kMaxInflatedBytes = size_t(2) << 30;

// gzip (or zlib) decompression; throws dalnas::Error naming `path` on a corrupt stream or
// when the output would exceed `max_bytes` (a "zip bomb" stops there, not at memory's end).
std::string gunzip(const std::string& bytes, const std::string& path,
                   size_t max_bytes = kMaxInflatedBytes);

}  // namespace dalnas
