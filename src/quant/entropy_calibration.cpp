#include "quant/entropy_calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"

namespace dalnas {

int entropy_cut(const std::vector<double>& hist, int levels) {
  const int bins = static_cast<int>(hist.size());
  if (levels < 1 || bins < levels) {
    throw Error("entropy calibration: " + std::to_string(bins) + " bins for " +
                std::to_string(levels) + " levels");
  }
  std::vector<double> suffix(static_cast<size_t>(bins) + 1, 0.0);  // mass of bins >= k
  for (int k = bins - 1; k >= 0; --k) suffix[k] = suffix[k + 1] + hist[k];
  int best = bins;
  double best_kl = std::numeric_limits<double>::infinity();
  std::vector<double> p, q;
  for (int i = levels; i <= bins; ++i) {
    p.assign(hist.begin(), hist.begin() + i);
    p[static_cast<size_t>(i) - 1] += suffix[i];
    q.assign(static_cast<size_t>(i), 0.0);
    for (int j = 0; j < levels; ++j) {
      const int start = static_cast<int>(static_cast<int64_t>(j) * i / levels);
      const int end = static_cast<int>(static_cast<int64_t>(j + 1) * i / levels);
      double total = 0.0;
      int nonzero = 0;
      for (int k = start; k < end; ++k) {
        total += hist[k];
        nonzero += hist[k] != 0.0;
      }
      if (nonzero == 0) continue;
      for (int k = start; k < end; ++k) {
        if (hist[k] != 0.0) q[k] = total / nonzero;
      }
    }
    double sp = 0.0, sq = 0.0;
    for (int k = 0; k < i; ++k) {
      sp += p[k];
      sq += q[k];
    }
    if (sp <= 0.0) continue;
    double kl = 0.0;
    for (int k = 0; k < i; ++k) {
      if (p[k] <= 0.0) continue;
      const double pk = p[k] / sp;
      const double qk = sq > 0.0 && q[k] > 0.0 ? q[k] / sq : 1e-12;
      kl += pk * std::log(pk / qk);
    }
    if (kl < best_kl) {
      best_kl = kl;
      best = i;
    }
  }
  return best;
}

float entropy_threshold(const float* x, int64_t n, int bins, int levels, bool skip_zeros) {
  if (n < 1) throw Error("entropy calibration: no values");
  float m = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) throw Error("entropy calibration: a non-finite value");
    m = std::max(m, std::fabs(x[i]));
  }
  if (m == 0.0f) return 0.0f;
  const double width = static_cast<double>(m) / bins;
  std::vector<double> hist(static_cast<size_t>(bins), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    if (skip_zeros && x[i] == 0.0f) continue;
    const int b = std::min(bins - 1, static_cast<int>(std::fabs(x[i]) / width));
    hist[static_cast<size_t>(b)] += 1.0;
  }
  return static_cast<float>(entropy_cut(hist, levels) * width);
}

}  // namespace dalnas
