#pragma once
// A search's results as files and summaries: candidates.csv (every evaluation),
// pareto.csv (the non-dominated feasible ones) and the best candidate.
#include <optional>
#include <string>
#include <vector>

#include "search/fitness.h"
#include "search/journal.h"

namespace dalnas {

// Indices of the feasible, successful records that no other such record dominates on
// `objectives` (fitness.h names; miou and fitness maximised, the others minimised), in
// record order.
std::vector<size_t> pareto_front(const std::vector<EvaluationRecord>& records,
                                 const std::vector<std::string>& objectives);

// The feasible successful record with the highest fitness (the lower candidate id on a
// tie), or nothing when none is feasible.
std::optional<size_t> best_record(const std::vector<EvaluationRecord>& records);

// Why a search has no winner, as one line for the user when best_record() finds nothing:
// how many evaluations failed (transient ones apart), were rejected before training or were
// trained but infeasible, the most common reason (numbers ignored when counting: "latency
// 12.1 ms > 10" and "latency 14.0 ms > 10" are one reason) with how often it occurred, and
// what to change for that reason. Empty when some record is usable.
std::string no_winner_message(const std::vector<EvaluationRecord>& records);

// CSV text, one header row then one row per record (RFC 4180 quoting):
// candidate_id, generation, origin, parents, genome, status, fitness, feasible, miou,
// vessel_iou, latency_ms, fps, params, peak_memory_bytes, energy_mj, epochs, fidelity,
// inherited_from, reused_from, seconds, reason, object_recall, object_precision,
// fragmentation, boundary_f1 (vessel-level, train/object_metrics.h). Missing or undefined
// (null) numbers are empty cells.
std::string candidates_csv(const std::vector<EvaluationRecord>& records,
                           const std::vector<size_t>& which);
std::string candidates_csv(const std::vector<EvaluationRecord>& records);

}  // namespace dalnas
