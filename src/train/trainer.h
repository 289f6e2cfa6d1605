#pragma once
// Trainer: Adam, optional cosine decay, per-sample augmentation, early stopping on the
// validation loss (restoring the best weights), a progress callback per epoch.
#include <functional>
#include <string>
#include <vector>

#include "nn/network.h"
#include "train/chips.h"
#include "train/config.h"
#include "train/metrics.h"
#include "train/train_state.h"

namespace dalnas {

struct EpochStats {
  int epoch = 0;  // 1-based
  double train_loss = 0;
  double lr = 0;
  bool has_val = false;
  Metrics val;  // val.loss = mean validation loss
  double images_per_s = 0;
  double seconds = 0;
  // Precision aligned: training chips left out because the device reads their input as
  // non-finite (e.g. raw values beyond FP16's range become infinity), and steps skipped
  // because the device's forward overflowed to a non-finite loss. See fit().
  int64_t dropped_chips = 0;
  int64_t skipped_steps = 0;
  int64_t chips = 0;  // training chips the epoch drew (all, or EpochRange::chip_fraction's share)
};

struct TrainHistory {
  std::vector<EpochStats> epochs;
  int best_epoch = 0;  // epoch whose weights were kept (0: none ran)
  bool early_stopped = false;
  double seconds = 0;
};

// Called after every epoch with the seconds still expected (from the mean epoch time).
using EpochCallback = std::function<void(const EpochStats&, int total_epochs, double eta_s)>;

// Epochs first..last (1-based, inclusive; last 0 = cfg.epochs) of a cfg.epochs-long
// schedule: training in stages (rungs, multi-fidelity) follows the same learning-rate curve
// as one run. Passed a TrainState (train_state.h), consecutive ranges compute exactly what
// one uninterrupted run computes (the optimiser's state, the last weights and early stopping
// carry over); without one, the optimiser starts afresh and early stopping and best-weight
// restoring apply within the range. An epoch's shuffle and augmentation are seeded by
// (cfg.seed, epoch), whatever range it is in.
// chip_fraction < 1: each epoch trains on that share of the training chips (at least two),
// the first ceil(fraction * N) of the epoch's shuffled order, so the subset is drawn from
// the same seeded stream and changes from epoch to epoch (cheaper low-fidelity epochs).
struct EpochRange {
  int first = 1;
  int last = 0;
  double chip_fraction = 1.0;
};

// Trains `net` in place with the network's current precision policy. Throws dalnas::Error
// if the loss becomes non-finite ("training diverged ..."). Early stopping and best-weight
// restoring apply within the range.
//
// Non-finite values under precision aligned. The forward computes what the device computes,
// so where the device overflows the forward holds infinities too, and one infinite chip
// poisons a whole batch (BatchNorm statistics, the weight gradients' sums). What the device
// outputs there is NaN whatever the weights are, so nothing can be learnt from it:
//   - a chip whose input the device reads as non-finite (checked per chip with the profile's
//     input pipeline before the forward) is left out of the batch (EpochStats.dropped_chips);
//   - a step whose loss is still non-finite (an overflow inside the network) is skipped
//     without an update (EpochStats.skipped_steps);
//   - an epoch in which every step is skipped is "training diverged".
// Gradients through saturated (finite) values pass straight through as documented in
// precision/policy.h. Under fp32 and fp16-aligned, any non-finite loss is divergence.
TrainHistory fit(Network& net, const ChipSet& train, const ChipSet& val, const TrainConfig& cfg,
                 const EpochCallback& on_epoch = {}, const EpochRange& range = {},
                 TrainState* state = nullptr);

// Copies weights saved as parameters then buffers (TrainState::last and ::best) into `m`;
// throws dalnas::Error when the count does not match the module's.
void load_weights(torch::nn::Module& m, const std::vector<torch::Tensor>& saved);

// Loss and confusion matrix over a chip set (eval mode, no gradients).
Metrics evaluate_chips(Network& net, const ChipSet& set, const LossOptions& loss, int batch);

// Number of threads to use for `requested` (0 = every core).
int resolve_threads(int requested);

}  // namespace dalnas
