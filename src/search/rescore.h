#pragma once
// Re-scoring the search's best few on cross-validation folds ([evaluation]
// rescore_candidates = N, rescore_folds = K). A search scores each candidate on the same
// few val scenes (two on sen2ships), so its ranking can follow those scenes: on
// sen2ships the winner of a one-hour search on one split was level with `reference` on its
// val scenes and 0.03 below on its test scenes. After the search, its top N feasible
// candidates are each trained again from scratch as the search trained a candidate (the
// same schedule and recipe, no inheritance) on each of K folds of the scenes outside test
// (data/split.h: SplitOptions::folds; fold k validates on the k-th group of those scenes
// and trains on the others, so over the folds every non-test scene validates once), and
// they are ranked by the fitness with the mean device mIoU over the folds. The winner (and
// the finalists, with final_candidates) come from that ranking. Test scenes take no part.
//
// Input per candidate: its search record (id, genome, search fitness and metrics) and one
// result per fold: {"status": "ok", "miou": m} or {"status": "failed", "reason": why}.
// The fitness of a re-scored candidate is compute_fitness(config, the search's metrics
// with "miou" replaced by the mean over the folds): the cost terms as the search measured
// them.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "search/fitness.h"

namespace dalnas {

struct Rescored {
  uint64_t candidate_id = 0;
  std::string genome;
  double search_fitness = 0;
  nlohmann::json search_metrics;      // the search's metrics of the candidate
  std::vector<nlohmann::json> folds;  // one result per fold (above), fold 1 first
};

struct RescoreRanking {
  // Indices into the candidates, best first: those with every fold scored and feasible by
  // fitness (ties: the search's order), then the others in the search's order (a fold
  // failed, or infeasible with the mean).
  std::vector<size_t> order;
  nlohmann::json table;  // one object per candidate, in the candidates' order (below)
};

// Each table row: candidate_id, genome, search_fitness, search_miou, fold_miou (per fold,
// null where it failed), mean, sd, fitness (with the mean; null when a fold failed),
// feasible, failed (the first failed fold's "fold k: reason", or null), rank (1-based
// place in `order`). Throws dalnas::Error naming the candidate and fold when a result is
// malformed, the candidates are empty, or their fold counts differ.
RescoreRanking rank_rescored(const FitnessConfig& config, const std::vector<Rescored>& candidates);

// The ranking as a fixed-width table for the terminal, in rank order (the first marked).
std::string rescored_table(const nlohmann::json& table, const std::string& device);

}  // namespace dalnas
