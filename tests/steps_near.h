#pragma once
// Learned weight steps equal within float rounding: the policy keeps their natural
// logarithms (precision/policy.h), and exp(log(s)) is s to an ulp or two.
#include <cmath>

#include "core/weight_steps.h"

namespace dalnas::test_util {

inline bool steps_near(const WeightSteps& a, const WeightSteps& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, v] : a) {
    const auto it = b.find(name);
    if (it == b.end() || it->second.size() != v.size()) return false;
    for (size_t i = 0; i < v.size(); ++i)
      if (std::fabs(v[i] - it->second[i]) > 1e-6f * std::fabs(v[i])) return false;
  }
  return true;
}

}  // namespace dalnas::test_util
