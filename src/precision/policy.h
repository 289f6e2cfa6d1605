#pragma once
// PrecisionPolicy: what the forward pass projects to the deployment format, where.
//
//   fp32          no projection (the usual pipeline).
//   fp16-aligned  weights projected to FP16 at every forward; activations projected
//                 wherever the device stores a tensor: the input after normalisation,
//                 after each conv+BN+activation unit, pooling, upsampling,
//                 concatenation and addition. Gradients pass straight through.
//   aligned       the same points, projected as a device profile's pipeline does it
//                 (`align`, precision/alignment.h): its conversions and range, the
//                 input pipeline, the pre-scaled accumulator range and the upsampling
//                 mode.
//                 For an integer target (align.int8) the same points are fake-quantized
//                 to int8 instead (quantization-aware training, precision/fake_quant.h):
//                 weights per output channel, each activation point per tensor with the
//                 range it has seen (min / max of the first training batch, then an
//                 exponential moving average with momentum 0.9; a point never seen in
//                 training uses the tensor's own min / max).
//                 Mixed precision (align.int8_precision / int8_first_last and the genome's
//                 precision genes, as device/precision_rule.h resolves them for the
//                 emulator): the network sets the scope of each encoder block and of the
//                 head (set_scope) before running it; a layer in int4w has its weights
//                 fake-quantized to [−7, 7] per channel; a layer in fp16 projects weights
//                 and activations to FP16 (nearest even) instead, the network input too
//                 when the first block is fp16, and an fp16 encoder block's output is then
//                 fake-quantized to int8 as well (its int8 readers, the decoder, see it so).
//
// Blocks in nn/ call weight() and act() at those points; act() also reports the
// projected tensor to an optional observer (used by tests and diagnostics). The observer
// is called in both modes (in fp32 mode with x itself, which act() returns unchanged), so
// the same hook can record FP32 activation ranges; it is never called by weight().
// The projection itself is project_fp16 (precision/projection.h).
#include <torch/torch.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "core/act_ranges.h"
#include "core/weight_steps.h"
#include "precision/alignment.h"
#include "precision/half.h"
#include "precision/prescale.h"
#include "precision/projection.h"

namespace dalnas {

enum class PrecisionMode { FP32, FP16Aligned, Aligned };

std::string to_string(PrecisionMode m);
// "fp32" / "fp16-aligned" / "aligned".
// Parses those (exactly); throws dalnas::Error naming the value and listing the allowed
// ones otherwise.
PrecisionMode parse_precision(const std::string& s);

struct PrecisionPolicy {
  PrecisionMode mode = PrecisionMode::FP32;
  HalfMode half;                       // rounding options used by the projection
  bool zero_grad_on_overflow = false;  // backward: zero the gradient where forward overflowed
  // Integer targets (asymmetric int8 activations: int8-tflite, onnxruntime-int8): each
  // activation point's range learned by gradient descent (LSQ, precision/learned_range.h)
  // instead of the moving average of batch min / max. The ranges start at the first
  // training batch's min / max (or the ranges set before training); fit() steps them with
  // an optimiser of their own (learned_range_params). Not for int16 layers or power-of-two
  // (dpu-int8) points, which keep the moving average.
  bool learned_ranges = false;
  // Integer targets with per-channel weights (int8, int4w and int16 layers; not dpu-int8's
  // power-of-two grid, not per-tensor weights): each convolution weight's per-output-channel
  // step learned by gradient (LSQ on weights, precision/learned_step.h) instead of the
  // max |w| / qmax the targets compute. A step starts at max |w_c| / qmax in the first
  // training forward through its weight (or at the steps set before training) and is
  // learned as its natural logarithm (a leaf of learned_step_params, which fit() steps at
  // kStepLrFactor times the learning rate: Adam moves a leaf by about its learning rate a
  // step, so the log makes that a relative change whatever the step's size). Weights are
  // known by the names index_weights() recorded; a weight not indexed keeps max |w|.
  bool learned_weight_steps = false;
  static constexpr double kStepLrFactor = 10.0;
  DeviceAlignment align;  // mode aligned: what the device does
  // Mode aligned with align.input_in_model: the data's normalisation (the network's
  // input is normalised; the device normalises raw values itself).
  std::vector<float> norm_mean, norm_std;

  bool enabled() const { return mode != PrecisionMode::FP32; }
  bool device_aligned() const { return mode == PrecisionMode::Aligned; }
  // Projected weight (straight-through) when enabled, else w unchanged.
  torch::Tensor weight(const torch::Tensor& w) const;
  // Projected activation when enabled, else x unchanged. `where` names the point
  // (e.g. "enc2.out", "dec1.concat") for the observer, which (when set) is called in
  // both modes with the tensor act() returns.
  torch::Tensor act(const torch::Tensor& x, const char* where) const;
  // The network's (normalised) input as the device receives it; starts a forward pass
  // (resets the pre-scaling pass). Reports "input" to the observer.
  torch::Tensor input(const torch::Tensor& x) const;
  // A convolution's pre-activation y (BatchNorm applied) and its folded fp32 weights:
  // in aligned mode with pre-scaling and FP16 accumulation, y projected at 2^shift times
  // its size (overflow as the device's storage mode says), shift from OpenVINO's rule in
  // forward order; otherwise y. `in_channels` as the layer's weights hold them.
  torch::Tensor accumulator(const torch::Tensor& y, const torch::Tensor& folded_weight,
                            int in_channels) const;
  bool needs_accumulator() const {
    return device_aligned() && align.prescale && align.fp16_accumulator && !align.fp32_storage;
  }
  // The bilinear coordinate mode of upsampling (half_pixel unless aligned to a device
  // that runs another).
  AlignResize resize() const { return device_aligned() ? align.resize : AlignResize::HalfPixel; }

  std::function<void(const std::string& where, const torch::Tensor& projected)> observer;

  // Mixed precision (integer targets): where the forward pass is. block >= 0: encoder block
  // `block` (and the pooling before it) with its genome precision `gene`; kHead: the head
  // convolution; kOther: the decoder (the profile's default). Reset by input().
  static constexpr int kOther = -2, kHead = -1;
  void set_scope(int block, LayerPrecision gene = LayerPrecision::Default) const {
    scope_block_ = block;
    scope_gene_ = gene;
  }
  // The format of the layers in the current scope (the rule above; Int8 outside an integer
  // target).
  LayerPrecision scope_precision() const;
  // An fp16 or int16 encoder block's output as its int8 readers see it (identity
  // otherwise).
  torch::Tensor block_output(const torch::Tensor& x, const std::string& where) const;

  // Integer targets: the activation range each point has seen (lo, hi), by point name
  // (core/act_ranges.h). Part of a quantization-aware network's state: training keeps it
  // with the weights (train/train_state.h), checkpoints store it, and set_int8_ranges puts
  // it back (a point absent from `r` starts again from its first training batch).
  const ActRanges& int8_ranges() const;
  // Set by the network at the start of each forward: a training forward (module in training
  // mode, gradients recorded). Integer ranges learn in a training forward at every point,
  // the network input too (which carries no gradient); elsewhere a point learns only when
  // its tensor records a gradient.
  void set_training_forward(bool t) const { training_forward_ = t; }
  // Whether the forward pass fake-quantizes to an integer target (aligned mode, align.int8).
  bool quantization_aware() const { return int8(); }
  void set_int8_ranges(ActRanges r) const;
  // learned_ranges: the (lo, hi) tensors being learned, by point name (created by the
  // first training forward through each point); after an optimiser step,
  // keep_learned_ranges_valid() keeps lo <= hi − 2^-10.
  std::vector<torch::Tensor> learned_range_params() const;
  void keep_learned_ranges_valid() const;
  // Every range starts again from the next training batch through its point: moving
  // averages restart there, learned ranges (the same tensors, still in their optimiser)
  // take that batch's min / max and learn on. Training calls it where BatchNorm freezes:
  // ranges seen on batch statistics do not describe the network the device folds.
  void restart_int8_ranges() const;

  // learned_weight_steps: the network's weight parameters by name (named_parameters), so
  // that weight() knows which step a tensor has. NetworkImpl calls it once it is built; a
  // policy serves one network.
  void index_weights(const torch::nn::Module& net) const;
  // The learned steps by parameter name: exp of each leaf, the floats the forward uses
  // (`log`: the leaves themselves, for a training state that must continue exactly).
  WeightSteps weight_steps(bool log = false) const;
  // Replaces the learned steps (`log`: `s` holds leaves, as weight_steps(true) gave them);
  // a weight absent from `s` starts again at its next training forward. Throws
  // dalnas::Error naming the parameter when its step count is not its channel count at use.
  void set_weight_steps(const WeightSteps& s, bool log = false) const;
  // The leaves being learned (log steps), in parameter-name order.
  std::vector<torch::Tensor> learned_step_params() const;

 private:
  HalfMode act_mode() const { return device_aligned() ? align.storage : half; }
  mutable PrescalePass pass_;  // the forward pass's pre-scaling state
  bool int8() const { return device_aligned() && align.int8; }
  // An integer tensor's fake quantization at its running range: int8, or int16 (an int16
  // layer's activations).
  torch::Tensor int8_act(const torch::Tensor& x, const std::string& where,
                         bool int16 = false) const;
  mutable ActRanges ranges_;                              // int8 act ranges
  mutable std::map<std::string, torch::Tensor> learned_;  // learned_ranges: (lo, hi) leaves
  mutable std::set<std::string> restart_learned_;         // learned ranges to set from a batch
  // learned_weight_steps: log-step leaves by parameter name, and the names by tensor.
  mutable std::map<std::string, torch::Tensor> log_steps_;
  mutable std::map<const void*, std::string> weight_names_;
  // The weight's fake quantization to [−qmax, qmax] with its learned step where it has one
  // (or gets one: a training forward), else at max |w|.
  torch::Tensor int_weight(const torch::Tensor& w, int qmax, bool per_tensor) const;
  mutable bool training_forward_ = false;
  mutable int scope_block_ = kOther;
  mutable LayerPrecision scope_gene_ = LayerPrecision::Default;
};

}  // namespace dalnas
