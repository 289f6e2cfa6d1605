#include "search/prefilter.h"

#include <cmath>

#include "search/rungs.h"

namespace dalnas {

bool is_prefilter_name(const std::string& name) {
  return name == "none" || name == "naswot" || name == "synflow" || name == "grad_norm";
}

std::vector<double> prefilter_scores(const std::vector<EvaluationRecord>& history,
                                     const std::string& name) {
  std::vector<double> out;
  for (const auto& r : history) {
    if (r.metrics.contains("reused_from")) continue;
    const auto z = r.metrics.find("zero_cost");
    if (z == r.metrics.end() || !z->is_object()) continue;
    const auto v = z->find(name);
    if (v != z->end() && v->is_number() && std::isfinite(v->get<double>()))
      out.push_back(v->get<double>());
  }
  return out;
}

bool prefilter_passes(double score, const std::vector<double>& previous, double keep, int warmup) {
  if (static_cast<int>(previous.size()) < warmup) return true;
  if (!std::isfinite(score)) return false;
  return rung_promotes(score, previous, 1.0 / keep);
}

double prefilter_cutoff(const std::vector<double>& previous, double keep) {
  return rung_cutoff(previous, 1.0 / keep);
}

}  // namespace dalnas
