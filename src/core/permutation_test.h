#pragma once
// Exact permutation tests for a few values (e.g. one metric over the training seeds of two
// networks, or a strategy's final best against random's over search seeds): whether a
// difference of means could be the seeds' chance. Every relabelling or sign flip is
// enumerated, so the p-values are exact; ties count as "at least".
#include <vector>

namespace dalnas {

// One-sided, unpaired: the chance that, relabelling the pooled values at random, the mean of
// a group the size of `a` minus the rest's is at least the observed mean(a) - mean(b).
// NaN when a group is empty or there are more than 20 values in all.
double permutation_p(const std::vector<double>& a, const std::vector<double>& b);

// One-sided, paired: per-pair differences `d` (the same seed on both sides); the chance that,
// flipping the signs of the differences at random, their mean is at least the observed one.
// Pairing removes the seed-to-seed spread, which the unpaired test carries. NaN when `d` is
// empty or has more than 20 values. The smallest p it can give is 2^-|d| (0.125 for three
// seeds).
double paired_permutation_p(const std::vector<double>& d);

}  // namespace dalnas
