#include "core/rank_correlation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "core/error.h"

namespace dalnas {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool check(const std::vector<double>& a, const std::vector<double>& b, const char* what) {
  if (a.size() != b.size())
    throw Error(std::string(what) + ": samples of " + std::to_string(a.size()) + " and " +
                std::to_string(b.size()) + " values (paired samples must match)");
  if (a.size() < 2)
    throw Error(std::string(what) + ": needs at least two pairs, found " +
                std::to_string(a.size()));
  for (size_t i = 0; i < a.size(); ++i)
    if (std::isnan(a[i]) || std::isnan(b[i])) return false;
  return true;
}

int sign(double x) {
  return (x > 0) - (x < 0);
}

}  // namespace

std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t x, size_t y) { return v[x] < v[y]; });
  std::vector<double> rank(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    const double r = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) rank[idx[k]] = r;
    i = j + 1;
  }
  return rank;
}

double kendall_tau(const std::vector<double>& a, const std::vector<double>& b) {
  if (!check(a, b, "kendall_tau")) return kNaN;
  // tau-b = (C - D) / sqrt((n0 - n1)(n0 - n2)), n1 / n2: pairs tied in a / in b.
  double concordant_minus_discordant = 0, tied_a = 0, tied_b = 0, pairs = 0;
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = i + 1; j < a.size(); ++j) {
      const int sa = sign(a[i] - a[j]), sb = sign(b[i] - b[j]);
      concordant_minus_discordant += sa * sb;
      tied_a += sa == 0;
      tied_b += sb == 0;
      pairs += 1;
    }
  const double denom = std::sqrt((pairs - tied_a) * (pairs - tied_b));
  return denom > 0 ? concordant_minus_discordant / denom : kNaN;
}

double spearman_rho(const std::vector<double>& a, const std::vector<double>& b) {
  if (!check(a, b, "spearman_rho")) return kNaN;
  const std::vector<double> ra = average_ranks(a), rb = average_ranks(b);
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n;
  const double mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : kNaN;
}

}  // namespace dalnas
