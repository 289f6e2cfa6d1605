#pragma once
// TrainConfig: every setting of one training run, with JSON round trip (saved in checkpoints
// and run folders) and validation that names the offending field.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "data/split.h"
#include "data/synthetic.h"
#include "data/tiling.h"
#include "precision/policy.h"
#include "train/loss.h"

namespace dalnas {

struct TrainConfig {
  std::string data = "synthetic";
  SyntheticOptions synthetic;
  std::string arch = "reference";
  PrecisionMode precision = PrecisionMode::FP32;
  HalfMode half;  // projection rounding (fp16-aligned)
  // precision aligned: the device profile the forward pass follows (its name is saved;
  // the CLI resolves it into `align`, device/alignment.h).
  std::string align_device;
  DeviceAlignment align;
  // Input normalisation of the data: standard (per-band mean / std of the train scenes),
  // none (raw values, e.g. digital numbers) or reflectance (DN / 10000).
  std::string normalization = "standard";
  bool zero_grad_on_overflow = true;  // see precision/policy.h
  int epochs = 30;
  int batch = 16;
  double lr = 3e-3;
  double weight_decay = 1e-4;
  bool cosine = true;  // cosine learning-rate decay to lr/20 over the epochs
  LossOptions loss;
  // BatchNorm statistics frozen for the last N epochs (its layers in eval mode: the
  // running statistics normalise and stop moving, the affine parameters still learn), so
  // that the network ends training with the statistics an integer target folds into its
  // convolutions (quantization-aware training's "freeze BN"). 0: never. -1 (auto, the
  // default): 1 where the training is quantization-aware for an integer profile and has an
  // epoch to spare (2 or more epochs, or a fine-tuning from --init), else 0 — the recipe of
  // PyTorch's and TensorFlow's QAT. Without it, the activation ranges learn on batch
  // statistics while the device folds the running ones; where those have not converged
  // (few batches an epoch), the trained ranges do not fit the deployed network.
  int freeze_bn_epochs = -1;
  // freeze_bn_epochs with auto resolved, for a training that is (or is not)
  // quantization-aware for an integer profile; from_trained_weights: a fine-tuning that
  // starts from trained weights however they were loaded (as --init does).
  int resolved_freeze_bn_epochs(bool quantization_aware, bool from_trained_weights = false) const;
  // Integer targets trained quantization-aware (precision aligned): "ema" keeps each
  // activation range as a moving average of batch min / max; "learned" learns it by
  // gradient (LSQ, precision/learned_range.h). Either way the ranges deploy with the
  // weights (device/trained_ranges.h).
  std::string qat_ranges = "ema";
  // ... and their weights: "max" quantizes each output channel at max |w| / qmax (what the
  // targets compute); "learned" learns each channel's step by gradient (LSQ on weights,
  // precision/learned_step.h), and the steps deploy with the weights (device/lower.h).
  std::string qat_weights = "max";
  // The validation figure that picks the kept weights and drives early stopping: "loss"
  // (the mean validation loss, lower is better) or "miou" (the mIoU on the validation chips
  // as the forward computes them — the device's numerics under precision aligned — higher is
  // better). The loss can bottom out epochs before the mIoU stops improving (a small network
  // whose loss rises while its vessel IoU still grows), so a search's task metric may want
  // the second.
  std::string monitor = "loss";
  int patience = 10;        // early stopping on the monitored figure; 0 disables
  double min_delta = 1e-4;  // smallest improvement of the monitored figure that counts
  uint64_t seed = 1;
  int threads = 0;                         // 0 = all cores
  TilingOptions tiling{128, 64, 0.25, 1};  // 128-px chips every 64 px
  SplitOptions split;
  bool augment = true;
  int eval_tile = 256;    // whole-scene prediction: tile side
  int eval_overlap = 32;  //   and overlap between tiles
  std::string init;       // checkpoint to start from (fine-tuning), or empty

  nlohmann::json to_json() const;
  // Unknown keys and wrong types are errors naming the key (context = file name or "config").
  static TrainConfig from_json(const nlohmann::json& j, const std::string& context);
  // Throws dalnas::Error naming the field for out-of-range values.
  void validate() const;
};

}  // namespace dalnas
