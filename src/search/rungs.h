#pragma once
// Rungs: the bookkeeping of successive halving in its asynchronous form (ASHA-like), used
// by the evaluation schedule "rungs" (search/search_config.h, eval/candidate_evaluator).
//
// A candidate trains to the epochs of rung 0, is scored (its fitness at that point), and
// continues to rung 1 only when that score ranks in the top 1/eta of the scores observed at
// rung 0 so far (itself included); and so on up the rungs. "So far" is the run's history
// when the candidate is evaluated: the decision needs no generation to finish, so the same
// rule serves ga / nsga2 (generation by generation) and regularized-evolution / random
// (one at a time, or asynchronous workers). The scores of a rung are the `rung_fitness`
// arrays (one number per rung reached) in the history's metrics; duplicates answered from
// the journal (metrics.reused_from) are not counted again.
//
// Promotion of score s against the n earlier scores of the rung, by rule:
//   eager  promoted when fewer than (n + 1) / eta of them are strictly better (the top
//          1/eta rounded up): the first candidate of a rung is promoted, and so are most of
//          the first few, so early in a search many candidates climb every rung;
//   asha   promoted when fewer than floor((n + 1) / eta) of them are strictly better (ASHA's
//          top floor(n / eta) of the rung, itself counted): a rung promotes nobody until it
//          holds eta scores, and then about one in eta. A candidate is decided once, when it
//          reaches the rung (no later promotion: the evaluation has ended by then).
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "search/journal.h"

namespace dalnas {

// The scores recorded at rung `rung` (0-based) in `history` (metrics.rung_fitness).
std::vector<double> rung_scores(const std::vector<EvaluationRecord>& history, size_t rung);

enum class RungPromotion { Eager, Asha };

// "eager" | "asha" (nullopt-free: throws dalnas::Error naming `where` for anything else).
RungPromotion parse_rung_promotion(const std::string& s, const std::string& where);
const char* to_string(RungPromotion p);

// Whether `score` ranks in the top 1/eta of `previous` and itself (eta > 1) by `rule`.
bool rung_promotes(double score, const std::vector<double>& previous, double eta,
                   RungPromotion rule = RungPromotion::Eager);

// The lowest score that rung_promotes() would still promote against `previous`
// (-infinity when every score would be; +infinity when none would be, as under asha in a
// rung of fewer than eta scores).
double rung_cutoff(const std::vector<double>& previous, double eta,
                   RungPromotion rule = RungPromotion::Eager);

}  // namespace dalnas
