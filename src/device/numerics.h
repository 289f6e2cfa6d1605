#pragma once
// The numerics of a device: how values are stored, how sums are accumulated, what happens
// at the edges of FP16, and which ops run on which engine (each engine with its own
// numerics). The exact rules are in device/emulator.h.
#include <string>

#include "device/graph.h"
#include "precision/half.h"

namespace dalnas {

// Storage format of weights, biases and every node's output.
enum class Storage { FP32, FP16 };

// How the products of a reduction (conv, fully connected, average pooling) are summed.
//   FP32:          in fp32, in the reduction order.
//   FP16:          acc = h(acc + h(p)) after every product (h = round to FP16);
//                  identical to FP16Blocked with block = 1.
//   FP16Blocked:N: products summed in fp32 within consecutive blocks of N reduction
//                  indices (from the block's first product); after each block
//                  acc = h(acc + h(block sum)).
struct Accumulation {
  enum Kind { FP32, FP16, FP16Blocked };
  Kind kind = FP32;
  int block = 0;  // FP16Blocked only (>= 1)

  // The block length of the rounding loop: FP16 -> 1, FP16Blocked -> block, FP32 -> 0.
  int rounding_block() const { return kind == FP16 ? 1 : kind == FP16Blocked ? block : 0; }
  bool operator==(const Accumulation& o) const {
    return kind == o.kind && (kind != FP16Blocked || block == o.block);
  }
};

struct Numerics {
  Storage storage = Storage::FP32;
  Accumulation acc;
  HalfMode half;            // overflow and subnormal behaviour of every rounding to FP16
  bool prescale = false;    // Myriad per-layer weight pre-scaling (neural-engine conv / FC)
  int prescale_cap = 8;     // largest shift of a convolution
  int prescale_cap_fc = 9;  // largest shift of a fully connected layer
};

// Which kernels the emulator uses. Auto picks the best the CPU supports (AVX-512, then
// AVX2 + F16C, then scalar); naming one the CPU lacks is an error. The results are bit
// for bit the same on every path.
enum class KernelIsa { Auto, Scalar, AVX2, AVX512 };

struct EmulatorConfig {
  Numerics nce;    // neural compute engine (hardware conv / pooling / FC)
  Numerics shave;  // vector cores (everything else)
  // false (or DALNAS_NO_SIMD=1 in the environment) forces the scalar reference kernels.
  bool simd = true;
  KernelIsa isa = KernelIsa::Auto;
};

// Placement: Conv (all of them), MaxPool / AvgPool with kernel == stride
// (non-overlapping windows) and FullyConnected run on the neural engine; everything else
// (including the Input node, i.e. the conversion of the input, and ConvTranspose, which
// OpenVINO's MYRIAD plugin runs as a software stage) on the SHAVE cores.
bool on_neural_engine(const Node& n);
inline const Numerics& numerics_of(const Node& n, const EmulatorConfig& c) {
  return on_neural_engine(n) ? c.nce : c.shave;
}

// Text forms: "fp32" / "fp16"; "fp32" / "fp16" / "fp16-blocked:N"; "inf" / "saturate";
// "keep" / "flush"; "auto" / "scalar" / "avx2" / "avx512". parse_* throw dalnas::Error
// naming the allowed values.
Storage parse_storage(const std::string& s);
Accumulation parse_accumulation(const std::string& s);
Overflow parse_overflow(const std::string& s);
Subnormals parse_subnormals(const std::string& s);
KernelIsa parse_kernel_isa(const std::string& s);
std::string to_string(Storage s);
std::string to_string(const Accumulation& a);
std::string to_string(Overflow o);
std::string to_string(Subnormals s);
std::string to_string(KernelIsa i);
// One line, e.g. "fp16 storage, fp16-blocked:8 accumulation, overflow inf, subnormals
// flush, prescale (cap 8 / fc 9)".
std::string to_string(const Numerics& n);

}  // namespace dalnas
