#include "core/repeatability.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"
#include "core/rng.h"

namespace dalnas {

namespace {

constexpr double kPi = 3.14159265358979323846;

// MS_between and MS_within of `v` dealt to n genomes of r consecutive values each.
std::pair<double, double> mean_squares(const std::vector<double>& v, size_t n, size_t r) {
  double grand = 0;
  for (double x : v) grand += x;
  grand /= static_cast<double>(v.size());
  double between = 0, within = 0;
  for (size_t g = 0; g < n; ++g) {
    double m = 0;
    for (size_t s = 0; s < r; ++s) m += v[g * r + s];
    m /= static_cast<double>(r);
    between += (m - grand) * (m - grand);
    for (size_t s = 0; s < r; ++s) within += (v[g * r + s] - m) * (v[g * r + s] - m);
  }
  return {static_cast<double>(r) * between / static_cast<double>(n - 1),
          within / static_cast<double>(n * (r - 1))};
}

double f_ratio(double ms_between, double ms_within) {
  if (ms_within > 0) return ms_between / ms_within;
  return ms_between > 0 ? std::numeric_limits<double>::infinity() : 0.0;
}

}  // namespace

double Repeatability::reliability(int k) const {
  const double g = genome_sd * genome_sd, s = seed_sd * seed_sd;
  if (g <= 0) return 0;
  return g / (g + s / static_cast<double>(std::max(1, k)));
}

double Repeatability::expected_tau(int k) const {
  return 2.0 / kPi * std::asin(std::clamp(reliability(k), 0.0, 1.0));
}

int Repeatability::seeds_for_tau(double tau) const {
  if (!(tau > 0 && tau < 1)) throw Error("seeds_for_tau: tau must lie in (0, 1)");
  const double g = genome_sd * genome_sd, s = seed_sd * seed_sd;
  if (g <= 0) return -1;
  // R_k >= R  <=>  k >= R s / ((1 - R) g).
  const double r = std::sin(tau * kPi / 2.0);
  const double k = std::ceil(r * s / ((1.0 - r) * g) - 1e-9);
  return std::max(1, static_cast<int>(std::min(k, 1e9)));
}

Repeatability repeatability(const std::vector<std::vector<double>>& scores, int permutations,
                            uint64_t seed) {
  if (scores.size() < 2)
    throw Error("repeatability: needs at least two genomes, found " +
                std::to_string(scores.size()));
  const size_t n = scores.size(), r = scores.front().size();
  if (r < 2)
    throw Error("repeatability: needs at least two seeds per genome, found " + std::to_string(r));
  std::vector<double> v;
  v.reserve(n * r);
  for (size_t g = 0; g < n; ++g) {
    if (scores[g].size() != r)
      throw Error("repeatability: genome " + std::to_string(g + 1) + " has " +
                  std::to_string(scores[g].size()) + " scores, genome 1 has " + std::to_string(r) +
                  " (every genome needs the same number of seeds)");
    for (double x : scores[g]) {
      if (!std::isfinite(x))
        throw Error("repeatability: genome " + std::to_string(g + 1) + " has a score that is " +
                    "not a finite number");
      v.push_back(x);
    }
  }
  if (permutations < 0) throw Error("repeatability: permutations must be >= 0");

  Repeatability out;
  out.genomes = static_cast<int>(n);
  out.seeds = static_cast<int>(r);
  for (double x : v) out.mean += x;
  out.mean /= static_cast<double>(v.size());
  const auto [msb, msw] = mean_squares(v, n, r);
  out.seed_sd = std::sqrt(msw);
  out.genome_sd = std::sqrt(std::max(0.0, (msb - msw) / static_cast<double>(r)));
  out.f = f_ratio(msb, msw);
  double m1 = 0, v1 = 0;
  for (size_t g = 0; g < n; ++g) m1 += scores[g][0];
  m1 /= static_cast<double>(n);
  for (size_t g = 0; g < n; ++g) v1 += (scores[g][0] - m1) * (scores[g][0] - m1);
  out.raw_between_sd = std::sqrt(v1 / static_cast<double>(n - 1));

  // Permutation test. Scale-free tolerance so that a deal equal to the observed one (up to
  // rounding of the sums) counts as "at least".
  Rng rng(seed);
  std::vector<double> deal = v;
  int at_least = 1;  // the observed deal
  for (int k = 0; k < permutations; ++k) {
    rng.shuffle(deal);
    const auto [b, w] = mean_squares(deal, n, r);
    const double fk = f_ratio(b, w);
    if (fk >= out.f * (1 - 1e-12)) ++at_least;
  }
  out.p = static_cast<double>(at_least) / static_cast<double>(permutations + 1);
  return out;
}

}  // namespace dalnas
