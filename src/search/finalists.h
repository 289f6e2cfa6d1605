#pragma once
// Choosing the winner among the search's best few ([evaluation] final_candidates): each
// finalist is retrained like the winner (final_epochs, [final_train]) with final_seeds
// training seeds, and the winner is the finalist whose fitness with its mean device mIoU
// over those seeds is highest. On sen2ships one training's seed moves device mIoU by about
// 0.01 while the networks of a search differ by about 0.006 (bench/proxy_fidelity
// --repeat-full), so the search's own top-1, chosen by one short training each, is partly
// the luck of its seed; the mean of several full trainings of a few candidates is not.
//
// Input per finalist: its search record (candidate id, genome, search fitness, the search's
// metrics: latency_ms, params, ... as the search measured them) and each retraining's
// metrics (CandidateEvaluator::train_final: "seed" and "device_<split>" with "miou").
// The fitness of a finalist is compute_fitness(config, the search's metrics with "miou"
// replaced by the mean over its retrainings): the cost terms stay as the search ranked
// them, the accuracy term becomes the retrained one.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "search/fitness.h"

namespace dalnas {

struct Finalist {
  uint64_t candidate_id = 0;
  std::string genome;
  double search_fitness = 0;              // the search's score (its rank among the finalists)
  nlohmann::json search_metrics;          // the search's metrics of the candidate
  std::vector<nlohmann::json> retrained;  // one train_final() result per seed
};

struct FinalistsChoice {
  size_t chosen = 0;     // index into the finalists
  nlohmann::json table;  // one object per finalist, in the finalists' order (below)
};

// Each table row: candidate_id, genome, search_fitness, search_miou, seeds, miou (per
// seed, device mIoU on `split`), mean, sd, fitness (with the mean), feasible, chosen.
// The chosen finalist is the feasible one of highest fitness; on a tie the one the search
// ranked first (the lower index). None feasible: the first. Throws dalnas::Error naming
// the finalist and field when a retraining lacks the split's mIoU or `finalists` is empty.
FinalistsChoice choose_finalist(const FitnessConfig& config, const std::string& split,
                                const std::vector<Finalist>& finalists);

// The finalists as a fixed-width table for the terminal (one row each, the chosen marked).
std::string finalists_table(const nlohmann::json& table, const std::string& device);

}  // namespace dalnas
