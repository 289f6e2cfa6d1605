#pragma once
// TrainState: what carries over from one range of epochs to the next of the same
// learning-rate schedule (the search's rungs and two-stage schedule), so that training in
// ranges computes exactly what one uninterrupted run computes:
//   - the optimiser's state (Adam's moments and step counts);
//   - the weights where the last range stopped (after a range the network holds the best
//     weights so far, as a finished run would; the next range continues from the last);
//   - the early-stopping bookkeeping (best loss, epochs since, the best weights, stopped);
//   - quantization-aware training's activation ranges (precision/policy.h, int8_ranges)
//     where the last range stopped and with the best weights: they are state as much as
//     the weights are (the moving averages continue, and the best weights deploy with
//     the ranges they were trained at).
// The shuffling and augmentation of an epoch are seeded by (seed, epoch) in fit(), so they
// need no state.
//
// Saved to a file (a search killed mid-rung continues from it): "DALNASTS" | u32 version |
// u64 size | libtorch archive | u64 FNV-1a checksum of everything before it; written
// atomically. Version 2 adds the ranges (JSON text as bytes, "ranges") and the learned
// ranges' optimiser ("range_optimizer"); version 1 files read with neither. Version 3 adds
// the learned weight steps ("weight_steps": JSON of their log leaves, last and best; the
// range optimiser then holds their Adam state too); earlier files read with none.
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/act_ranges.h"
#include "core/weight_steps.h"

namespace dalnas {

struct TrainState {
  int epochs_done = 0;              // the last epoch trained (0: none)
  std::vector<torch::Tensor> last;  // parameters then buffers where training stopped
  std::vector<torch::Tensor> best;  // the best weights so far (empty: none)
  double best_loss = INFINITY;      // the monitored figure, lower is better (-mIoU: monitor miou)
  int best_epoch = 0;
  int since_best = 0;
  bool stopped = false;         // early stopping ended the schedule: later ranges train nothing
  std::string optimizer;        // the optimiser's libtorch archive (empty: a fresh optimiser)
  std::string range_optimizer;  // learned ranges (LSQ): their optimiser's archive (empty: none)
  ActRanges last_ranges;        // int8 activation ranges where training stopped (empty: none)
  ActRanges best_ranges;        // ... with the best weights
  // Learned weight steps (PrecisionPolicy::learned_weight_steps) as their log leaves
  // (weight_steps(true)), where training stopped and with the best weights (empty: none).
  WeightSteps last_steps, best_steps;

  // Writes atomically. Reads throw dalnas::Error naming the file (missing, bad magic,
  // unsupported version, checksum mismatch, unreadable archive).
  void save(const std::string& path) const;
  static TrainState load(const std::string& path);
};

}  // namespace dalnas
