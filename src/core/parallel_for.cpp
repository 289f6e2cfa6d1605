#include "core/parallel_for.h"

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

namespace dalnas {

void parallel_for(int n, int threads, const std::function<void(int)>& f) {
  if (n <= 0) return;
  int t = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  t = std::max(1, std::min(t, n));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(t));
  auto work = [&](int first) {
    try {
      for (int i = first; i < n; i += t) f(i);
    } catch (...) {
      errors[static_cast<size_t>(first)] = std::current_exception();
    }
  };
  if (t == 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (int k = 0; k < t; ++k) pool.emplace_back(work, k);
    for (std::thread& th : pool) th.join();
  }
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace dalnas
