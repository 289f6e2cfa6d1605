#pragma once
// MnasNet's fitness at a target latency: the form both the finalists' and the re-scoring's
// tests rank with (at the target the reward is the mIoU itself).
#include "search/fitness.h"

namespace dalnas {
namespace testing_search {

inline FitnessConfig mnasnet(double target_ms) {
  FitnessConfig c;
  c.form = FitnessForm::MnasNet;
  c.target_latency_ms = target_ms;
  return c;
}

}  // namespace testing_search
}  // namespace dalnas
