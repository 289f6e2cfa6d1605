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

// How many places of a rung promote: a score is promoted when fewer earlier scores than
// this are strictly better. eager: better < (n + 1) / eta, which for a whole count is
// better < ceil((n + 1) / eta); asha: better < floor((n + 1) / eta).
size_t promoting_places(size_t n, double eta, RungPromotion rule) {
  const double q = static_cast<double>(n + 1) / eta;
  const double c = rule == RungPromotion::Asha ? std::floor(q) : std::ceil(q);
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
  return better < promoting_places(previous.size(), eta, rule);
}

double rung_cutoff(const std::vector<double>& previous, double eta, RungPromotion rule) {
  const size_t m = promoting_places(previous.size(), eta, rule);
  if (m == 0) return std::numeric_limits<double>::infinity();  // nobody, whatever the score
  if (m > previous.size()) return -std::numeric_limits<double>::infinity();  // everybody
  std::vector<double> sorted = previous;
  std::sort(sorted.begin(), sorted.end(), std::greater<double>());
  return sorted[m - 1];  // at or above it, at most m - 1 earlier scores are better
}

}  // namespace dalnas
