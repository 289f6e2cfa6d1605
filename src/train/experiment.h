#pragma once
// One training run end to end: load the dataset, split by scene, normalise with train
// statistics, tile into chips, build (or load) the network, train, evaluate whole scenes.
#include <functional>
#include <string>
#include <vector>

#include "data/normalization.h"
#include "data/split.h"
#include "train/checkpoint.h"
#include "train/chips.h"
#include "train/config.h"
#include "train/metrics.h"
#include "train/trainer.h"

namespace dalnas {

struct PreparedData {
  std::vector<Scene> scenes;
  Split split;
  Normalization norm;
  ChipSet train, val;
  int bands = 0;
};

// `norm`: use these statistics instead of computing them from the train split (fine-tuning
// keeps its checkpoint's normalisation).
PreparedData prepare_data(const TrainConfig& cfg, const Normalization* norm = nullptr);

struct TrainOutcome {
  Checkpoint ck;
  TrainHistory history;
  Metrics val;   // whole val scenes, on the host in FP32 arithmetic of the trained weights
  Metrics test;  // whole test scenes
};

// Trains per cfg and evaluates val and test scenes. Starts from `init` when given (its
// weights are copied; `init` is not changed), else from cfg.init when set, else from scratch.
TrainOutcome train_model(const TrainConfig& cfg, PreparedData& data,
                         const EpochCallback& on_epoch = {}, const Checkpoint* init = nullptr);

// A copy of `net` (weights and BatchNorm statistics) using `policy`.
Network clone_network(Network& net, PolicyPtr policy);

// The precision policy a training of `cfg` runs under: its precision mode, FP16 rounding,
// overflow handling, learned ranges / weight steps, device alignment, and the data's
// normalisation statistics.
PolicyPtr training_policy(const TrainConfig& cfg, const Normalization& norm);

std::vector<std::string> scene_names(const std::vector<Scene>& scenes, const std::vector<int>& idx);

}  // namespace dalnas
