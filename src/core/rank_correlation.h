#pragma once
// Rank correlations between two paired samples (e.g. a cheap proxy's scores and full
// training's, one pair per network): Kendall's tau-b and Spearman's rho, both with ties
// handled (tau-b's tie correction; rho as Pearson's correlation of average ranks).
//
// Both throw dalnas::Error when the samples differ in length or hold fewer than two
// pairs, and return NaN when undefined (a sample whose values are all equal) or when a
// value is NaN.
#include <vector>

namespace dalnas {

double kendall_tau(const std::vector<double>& a, const std::vector<double>& b);
double spearman_rho(const std::vector<double>& a, const std::vector<double>& b);

// Average ranks (1-based; tied values share the mean of their ranks).
std::vector<double> average_ranks(const std::vector<double>& v);

}  // namespace dalnas
