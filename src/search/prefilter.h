#pragma once
// Pre-filter: a candidate is trained only when its zero-cost score (eval/zero_cost.h,
// computed at initialisation in well under a second) ranks in the top `keep` share of the
// scores of that kind seen so far in the run ([evaluation] prefilter, prefilter_keep,
// prefilter_warmup in search/search_config.h). The rule is the rung schedule's eager
// promotion (search/rungs.h) with eta = 1 / keep: passed while fewer than keep · (n + 1) of
// the n earlier scores are strictly better. The first `warmup` candidates (fewer than
// `warmup` scores so far) always pass, so that the comparison has a sample. A candidate
// that does not pass is rejected before training; its score stays in the history (the
// record's metrics.zero_cost.<name>), so the cutoff follows every candidate proposed.
// Which zero-cost score ranks well enough to be worth it is measured by
// bench/proxy_fidelity; the default is no pre-filter.
#include <string>
#include <vector>

#include "search/journal.h"

namespace dalnas {

// Zero-cost scores the pre-filter can use ("none" turns it off).
bool is_prefilter_name(const std::string& name);

// The scores of kind `name` in `history` (metrics.zero_cost.<name>, finite numbers; records
// answered from the journal, metrics.reused_from, are not counted again).
std::vector<double> prefilter_scores(const std::vector<EvaluationRecord>& history,
                                     const std::string& name);

// Whether `score` passes against `previous` (keep within (0, 1), warmup >= 0). A
// non-finite score passes only during the warm-up.
bool prefilter_passes(double score, const std::vector<double>& previous, double keep, int warmup);

// The lowest score that would still pass against `previous` after the warm-up.
double prefilter_cutoff(const std::vector<double>& previous, double keep);

}  // namespace dalnas
