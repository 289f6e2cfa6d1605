#pragma once
// Seconds on the steady clock, for measuring durations (differences only: the origin is
// arbitrary). The one definition the search loops, the evaluators and the benchmarks use.
#include <chrono>

namespace dalnas {

inline double steady_now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace dalnas
