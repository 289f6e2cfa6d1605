#include "search/rungs.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace dalnas {

std::vector<double> rung_scores(const std::vector<EvaluationRecord>& history, size_t rung) {
  std::vector<double> out;
  for (const auto& r : history) {
    if (r.metrics.contains("reused_from")) continue;
    const auto it = r.metrics.find("rung_fitness");
    if (it == r.metrics.end() || !it->is_array() || it->size() <= rung) continue;
    const auto& v = (*it)[rung];
    if (v.is_number()) out.push_back(v.get<double>());
  }
  return out;
}

namespace {

// The most earlier scores that may be strictly better than a promoted one.
size_t allowed_better(size_t n, double eta) {
  // better < (n + 1) / eta  <=>  better <= ceil((n + 1) / eta) - 1
  const double q = static_cast<double>(n + 1) / eta;
  const double c = std::ceil(q) - 1;
  return c <= 0 ? 0 : static_cast<size_t>(c);
}

}  // namespace

bool rung_promotes(double score, const std::vector<double>& previous, double eta) {
  size_t better = 0;
  for (double p : previous)
    if (p > score) ++better;
  return static_cast<double>(better) < static_cast<double>(previous.size() + 1) / eta;
}

double rung_cutoff(const std::vector<double>& previous, double eta) {
  const size_t m = allowed_better(previous.size(), eta);
  if (m >= previous.size()) return -std::numeric_limits<double>::infinity();
  std::vector<double> sorted = previous;
  std::sort(sorted.begin(), sorted.end(), std::greater<double>());
  return sorted[m];
}

}  // namespace dalnas
