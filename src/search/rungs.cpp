#include "search/rungs.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/error.h"

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

// How many earlier scores may be strictly better than a promoted one: fewer than
// (n + 1) / eta (eager) or than floor((n + 1) / eta) (asha).
size_t allowed_better(size_t n, double eta, RungPromotion rule) {
  const double q = static_cast<double>(n + 1) / eta;
  // eager: better < q  <=>  better <= ceil(q) - 1; asha: better < floor(q).
  const double c = rule == RungPromotion::Asha ? std::floor(q) : std::ceil(q) - 1;
  return c <= 0 ? 0 : static_cast<size_t>(c);
}

}  // namespace

RungPromotion parse_rung_promotion(const std::string& s, const std::string& where) {
  if (s == "eager") return RungPromotion::Eager;
  if (s == "asha") return RungPromotion::Asha;
  throw Error(where + ": '" + s + "' is not a promotion rule (allowed: eager, asha)");
}

const char* to_string(RungPromotion p) {
  return p == RungPromotion::Asha ? "asha" : "eager";
}

bool rung_promotes(double score, const std::vector<double>& previous, double eta,
                   RungPromotion rule) {
  size_t better = 0;
  for (double p : previous)
    if (p > score) ++better;
  if (rule == RungPromotion::Asha) return better < allowed_better(previous.size(), eta, rule);
  return static_cast<double>(better) < static_cast<double>(previous.size() + 1) / eta;
}

double rung_cutoff(const std::vector<double>& previous, double eta, RungPromotion rule) {
  if (rule == RungPromotion::Asha) {
    const size_t m = allowed_better(previous.size(), eta, rule);  // promoted: better < m
    if (m == 0) return std::numeric_limits<double>::infinity();
    if (m > previous.size()) return -std::numeric_limits<double>::infinity();
    std::vector<double> sorted = previous;
    std::sort(sorted.begin(), sorted.end(), std::greater<double>());
    return sorted[m - 1];
  }
  const size_t m = allowed_better(previous.size(), eta, rule);  // promoted: better <= m
  if (m >= previous.size()) return -std::numeric_limits<double>::infinity();
  std::vector<double> sorted = previous;
  std::sort(sorted.begin(), sorted.end(), std::greater<double>());
  return sorted[m];
}

}  // namespace dalnas
