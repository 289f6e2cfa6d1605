#pragma once
// Rng: the deterministic random stream of the search (xoshiro256**, seeded by splitmix64).
//
// Every helper is written here from integer operations only, so a seed gives the same
// stream on every platform and standard library (std::*_distribution may differ between
// implementations). The whole state is four 64-bit words; state() writes it as one line of
// text and set_state() reads it back, so a resumed search continues the very same stream.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dalnas {

class Rng {
 public:
  // The four state words are successive outputs of splitmix64 started at `seed`.
  explicit Rng(uint64_t seed = 0);

  // The next raw 64-bit output of xoshiro256**.
  uint64_t next_u64();
  // Uniform in [0, n); n must be > 0 (n == 0 throws std::logic_error). Unbiased: raw
  // outputs at or above the largest multiple of n are rejected and drawn again.
  uint64_t below(uint64_t n);
  // Uniform integer in [lo, hi] (inclusive); lo <= hi.
  int uniform_int(int lo, int hi);
  // Uniform double in [0, 1): the top 53 bits of one output times 2^-53.
  double uniform();
  // True with probability p (uniform() < p); p <= 0 never, p >= 1 always (one draw either way).
  bool bernoulli(double p);

  // A uniformly chosen element (v must not be empty).
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(below(v.size()))];
  }
  // Fisher–Yates from the back: for i = n-1 .. 1 swap v[i] with v[below(i + 1)].
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(below(i))]);
  }

  // "xoshiro256ss:" followed by the four state words as 16 lower-case hex digits each,
  // separated by ':'.
  std::string state() const;
  // Reads state(); throws dalnas::Error naming the problem on anything else (or an
  // all-zero state, which xoshiro cannot leave).
  void set_state(const std::string& text);
  static Rng from_state(const std::string& text);

  bool operator==(const Rng& o) const;
  bool operator!=(const Rng& o) const { return !(*this == o); }

 private:
  uint64_t s_[4];
};

}  // namespace dalnas
