#include "core/permutation_test.h"

#include <cmath>
#include <cstdint>

namespace dalnas {

double permutation_p(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> all = a;
  all.insert(all.end(), b.begin(), b.end());
  const size_t n = all.size(), k = a.size();
  if (k == 0 || k == n || n > 20) return std::nan("");
  double total = 0;
  for (double x : all) total += x;
  double sum_a = 0;
  for (double x : a) sum_a += x;
  const auto diff = [&](double s) {
    return s / static_cast<double>(k) - (total - s) / static_cast<double>(n - k);
  };
  const double observed = diff(sum_a);
  uint64_t count = 0, at_least = 0;
  for (uint32_t mask = 0; mask < (1u << n); ++mask) {
    if (static_cast<size_t>(__builtin_popcount(mask)) != k) continue;
    double s = 0;
    for (size_t i = 0; i < n; ++i)
      if (mask & (1u << i)) s += all[i];
    ++count;
    at_least += diff(s) >= observed - 1e-12;
  }
  return static_cast<double>(at_least) / static_cast<double>(count);
}

double paired_permutation_p(const std::vector<double>& d) {
  const size_t m = d.size();
  if (m == 0 || m > 20) return std::nan("");
  double observed = 0;
  for (double x : d) observed += x;
  uint64_t at_least = 0;
  for (uint32_t mask = 0; mask < (1u << m); ++mask) {
    double s = 0;
    for (size_t i = 0; i < m; ++i) s += (mask & (1u << i)) ? -d[i] : d[i];
    at_least += s >= observed - 1e-12;
  }
  return static_cast<double>(at_least) / static_cast<double>(uint64_t{1} << m);
}

}  // namespace dalnas
