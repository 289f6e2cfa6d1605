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

namespace dalnas {

struct EpochStats {
  int epoch = 0;  // 1-based
  double train_loss = 0;
  double lr = 0;
  bool has_val = false;
  Metrics val;  // val.loss = mean validation loss
  double images_per_s = 0;
  double seconds = 0;
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
// schedule: training in stages (multi-fidelity) follows the same learning-rate curve as
// one run. The optimiser state starts afresh in each stage.
struct EpochRange {
  int first = 1;
  int last = 0;
};

// Trains `net` in place with the network's current precision policy. Throws dalnas::Error
// if the loss becomes non-finite ("training diverged ..."). Early stopping and best-weight
// restoring apply within the range.
TrainHistory fit(Network& net, const ChipSet& train, const ChipSet& val, const TrainConfig& cfg,
                 const EpochCallback& on_epoch = {}, const EpochRange& range = {});

// Loss and confusion matrix over a chip set (eval mode, no gradients).
Metrics evaluate_chips(Network& net, const ChipSet& set, const LossOptions& loss, int batch);

// Number of threads to use for `requested` (0 = every core).
int resolve_threads(int requested);

}  // namespace dalnas
