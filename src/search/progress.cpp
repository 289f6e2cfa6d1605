#include "search/progress.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dalnas {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

ProgressTracker::ProgressTracker(const SearchConfig& cfg, int64_t planned, double elapsed_before,
                                 double t0, const std::vector<EvaluationRecord>& records,
                                 int workers)
    : time_budget_s_(cfg.time_budget_s),
      planned_(planned),
      elapsed_before_(elapsed_before),
      t0_(t0),
      workers_(std::max(1, workers)),
      best_(kNaN) {
  for (const auto& r : records) note(r);
}

double ProgressTracker::elapsed() const {
  return elapsed_before_ + (steady_now_s() - t0_);
}

void ProgressTracker::evaluated(double seconds) {
  eval_seconds_ += seconds;
  ++evaluated_;
}

void ProgressTracker::note(const EvaluationRecord& r) {
  if (!r.feasible || r.status != EvalStatus::Ok || std::isnan(r.fitness)) return;
  auto it = generation_best_.find(r.generation);
  if (it == generation_best_.end() || r.fitness > it->second)
    generation_best_[r.generation] = r.fitness;
  if (std::isnan(best_) || r.fitness > best_) best_ = r.fitness;
}

SearchProgress ProgressTracker::report(const EvaluationRecord& rec, bool reused, bool retry,
                                       int64_t done) const {
  SearchProgress p;
  p.record = &rec;
  p.reused = reused;
  p.retry = retry;
  p.done = done;
  p.planned = std::max(planned_, p.done);
  p.elapsed_s = elapsed();
  const double mean = evaluated_ ? eval_seconds_ / static_cast<double>(evaluated_) : 0.0;
  p.eta_s = mean * static_cast<double>(p.planned - p.done) / workers_;
  if (time_budget_s_ > 0) p.eta_s = std::min(p.eta_s, time_budget_s_ - p.elapsed_s);
  p.eta_s = std::max(0.0, p.eta_s);
  auto it = generation_best_.find(rec.generation);
  p.generation_best = it == generation_best_.end() ? kNaN : it->second;
  p.best = best_;
  return p;
}

}  // namespace dalnas
