#pragma once
// parallel_for: f(i) for i in [0, n) on `threads` plain threads (0: one per hardware thread,
// at most n), thread k taking i = k, k + t, ...; waits for all and rethrows the first error
// (by thread index). With one thread everything runs on the caller's thread.
#include <functional>

namespace dalnas {

void parallel_for(int n, int threads, const std::function<void(int)>& f);

}  // namespace dalnas
