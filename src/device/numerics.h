#pragma once
// The numerics of a device: how values are stored, how sums are accumulated, what happens
// at the edges of FP16, and which ops run on which engine (each engine with its own
// numerics). The exact rules are in device/emulator.h.
#include <optional>
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
//   FP16Blocked:hw (block = 0): one block per hardware coefficient block of the layer:
//                  HwTiling::channels_per_block(k) input channels × k² products (for
//                  pooling: max_coeff_per_block values).
struct Accumulation {
  enum Kind { FP32, FP16, FP16Blocked };
  Kind kind = FP32;
  int block = 0;  // FP16Blocked: N >= 1, or 0 for the hardware's coefficient block

  // The block length of the rounding loop: FP16 -> 1, FP16Blocked -> block (0 for hw:
  // ask block_for()), FP32 -> 0.
  int rounding_block() const { return kind == FP16 ? 1 : kind == FP16Blocked ? block : 0; }
  bool hw_block() const { return kind == FP16Blocked && block == 0; }
  bool operator==(const Accumulation& o) const {
    return kind == o.kind && (kind != FP16Blocked || block == o.block);
  }
};

struct Numerics {
  Storage storage = Storage::FP32;
  Accumulation acc;
  HalfMode half;            // rounding, overflow and subnormals of every rounding to FP16
  bool prescale = false;    // Myriad per-layer weight pre-scaling (neural-engine conv / FC)
  int prescale_cap = 8;     // largest shift of a convolution
  int prescale_cap_fc = 9;  // largest shift of a fully connected layer
  // OpenVINO's "growing output" adjustment of the pre-scaling (normalVal = 5 subtracted
  // from every layer's shift; precision/prescale.h).
  bool prescale_growing_output = false;
  // Transcendental activations (Sigmoid, GELU, HardSwish, HardSigmoid, Swish) evaluated in FP16
  // arithmetic (every elementary operation rounded to FP16), as SHAVE code does; false:
  // in fp32 with one rounding of the result.
  bool fp16_activations = false;
};

// The neural engine's tiling of a convolution over input channels (OpenVINO MYRIAD
// plugin, graph_transformer tiling: CNN_MAX_COEFF_PER_BLOCK, CNN_MAX_CHANNELS). A
// hardware pass reads at most channels_per_pass(k) input channels; a layer with more
// is split ("@soc=M/N"): each part's output is stored in FP16 by the engine, the parts
// are added by SHAVE Sum stages (FP16 adds, in order), the bias goes with part 0 only,
// and the activation runs after the last sum on SHAVE. Depthwise convolutions run as
// block-diagonal dense ones (their tiles hold zeros for the other channels).
struct HwTiling {
  bool enabled = false;
  int max_coeff_per_block = 256;  // coefficients (input channels × k²) per block
  int max_blocks = 16;            // blocks per pass (ASSUMPTION, devices/README.md)
  int max_channels = 2048;        // channels per tile

  int channels_per_block(int k) const;  // max(1, max_coeff_per_block / k²), <= max_channels
  int channels_per_pass(int k) const;   // channels_per_block(k) · max_blocks, <= max_channels
  // Hardware passes of Conv node `n` on the engine reading `in_c` input channels: a dense
  // one (groups 1) split over input channels, a depthwise one (groups == out_c) over its
  // groups; 1 for others and when tiling is off. The emulator (Emulator::hw_parts) and the
  // cost model (SHAVE Sum stages) both count passes with this.
  int parts(const Node& n, int in_c) const;
};

// Where the input normalisation (x - mean) / std runs.
//   Host:   on the host in fp32; the device receives normalised values.
//   Model:  inside the model (Model Optimizer --mean_values / --scale_values): a device
//           ScaleShift on SHAVE after the input conversion, y = h(x·s + b) with
//           s = 1/std, b = -mean/std stored as plugin constants.
//   Folded: folded into the first convolution's weights (the device sees raw values).
// A network trained without normalisation (raw digital numbers or reflectance) has
// none to place; it behaves as Host with the identity.
enum class InputPipeline { Host, Model, Folded };
// What the host sends: FP16 (the host casts, with `host_cast`), FP32 or U8 (the device's
// SHAVE Convert stage converts, with `device_convert`; U8 values must be integers in
// [0, 255]). The MYRIAD plugin rejects U16.
enum class InputPrecision { FP16, FP32, U8 };

// Which kernels the emulator uses. Auto picks the best the CPU supports (AVX-512, then
// AVX2 + F16C, then scalar); naming one the CPU lacks is an error. The results are bit
// for bit the same on every path.
enum class KernelIsa { Auto, Scalar, AVX2, AVX512 };

struct EmulatorConfig {
  Numerics nce;    // neural compute engine (hardware conv / pooling / FC)
  Numerics shave;  // vector cores (everything else)

  // The deployment pipeline. The defaults describe an ideal machine; devices/myriadx.toml
  // sets OpenVINO 2022.3's MYRIAD pipeline (sources in devices/README.md).
  InputPipeline input = InputPipeline::Host;
  InputPrecision input_precision = InputPrecision::FP16;
  // Conversions to FP16; unset: the SHAVE engine's mode for the input, the neural
  // engine's overflow with subnormals kept for IR weights, the layer's engine mode for
  // re-scaled weights (the behaviour before these settings existed).
  std::optional<HalfMode> host_cast;         // the host's cast of the input to FP16
  std::optional<HalfMode> device_convert;    // the device's Convert of an FP32 / U8 input
  std::optional<HalfMode> ir_weights;        // weights and biases into the FP16 IR (MO)
  std::optional<HalfMode> plugin_constants;  // constants converted inside the plugin
                                             // (re-scaled weights, ScaleShift values)
  // What a half_pixel bilinear resize computes on the device (MYRIAD's Interp supports
  // align_corners and asymmetric only and translates the others to asymmetric).
  ResizeCoord half_pixel_resize = ResizeCoord::HalfPixel;
  HwTiling tiling;
  // Activations the neural engine fuses into a convolution (ReLU, ReLU6, Clip with
  // min 0); others run as a separate SHAVE stage on the stored FP16 output.
  bool nce_fuses_only_relu_clamp = false;
  // Hardware average pooling with padding excluded gives wrong borders (it counts the
  // padding) where it stays on the engine (output larger than 5×5).
  bool hw_avgpool_counts_padding = false;
  // Transposed convolutions run as zero-insertion Upsampling (SHAVE) + a hardware
  // convolution, pre-scaled like one.
  bool deconv_on_nce = false;
  // false (or DALNAS_NO_SIMD=1 in the environment) forces the scalar reference kernels.
  bool simd = true;
  KernelIsa isa = KernelIsa::Auto;
};

// Placement: Conv (all of them), MaxPool / AvgPool with kernel == stride
// (non-overlapping windows) and FullyConnected run on the neural engine; everything else
// (including the Input node, i.e. the conversion of the input, and ConvTranspose, which
// OpenVINO's MYRIAD plugin runs as a software stage) on the SHAVE cores.
bool on_neural_engine(const Node& n);
// The same with the pipeline's choices (ConvTranspose on the engine when deconv_on_nce).
bool on_neural_engine(const Node& n, const EmulatorConfig& c);
// The activations the neural engine applies inside its own stage: none, ReLU, and Clamp
// from 0 (ReLU6) (OpenVINO MYRIAD merge_hw_stages.cpp; LeakyReLU too, which the IR has
// not). With [numerics] fused_activations = "relu-clamp" any other activation of an engine
// node is a SHAVE stage after it (EmulatorConfig::nce_fuses_only_relu_clamp).
bool nce_fusable(const Node& n);
inline const Numerics& numerics_of(const Node& n, const EmulatorConfig& c) {
  return on_neural_engine(n, c) ? c.nce : c.shave;
}

// Text forms: "fp32" / "fp16"; "fp32" / "fp16" / "fp16-blocked:N" / "fp16-blocked:hw";
// "inf" / "saturate"; "keep" / "flush" / "min-normal"; "even" / "away";
// "auto" / "scalar" / "avx2" / "avx512"; conversions "numpy" / "ie" (kNumpyHalf /
// kIeHalf) or "ROUNDING/OVERFLOW/SUBNORMALS" (e.g. "even/saturate/flush");
// "host" / "model" / "folded"; "fp16" / "fp32" / "u8". parse_* throw dalnas::Error
// naming the allowed values.
Storage parse_storage(const std::string& s);
Accumulation parse_accumulation(const std::string& s);
Overflow parse_overflow(const std::string& s);
Subnormals parse_subnormals(const std::string& s);
Rounding parse_rounding(const std::string& s);
HalfMode parse_conversion(const std::string& s);
InputPipeline parse_input_pipeline(const std::string& s);
InputPrecision parse_input_precision(const std::string& s);
KernelIsa parse_kernel_isa(const std::string& s);
std::string to_string(Storage s);
std::string to_string(const Accumulation& a);
std::string to_string(Overflow o);
std::string to_string(Subnormals s);
std::string to_string(Rounding r);
std::string conversion_name(const HalfMode& m);  // "numpy", "ie" or "even/inf/keep"
std::string to_string(InputPipeline p);
std::string to_string(InputPrecision p);
std::string to_string(KernelIsa i);
// One line, e.g. "fp16 storage, fp16-blocked:8 accumulation, overflow inf, subnormals
// flush, prescale (cap 8 / fc 9)".
std::string to_string(const Numerics& n);

}  // namespace dalnas
