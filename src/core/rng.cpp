#include "core/rng.h"

#include <cstdio>
#include <stdexcept>

#include "core/error.h"
#include "core/hex.h"

namespace dalnas {

namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

const char* kPrefix = "xoshiro256ss";

}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t& w : s_) w = splitmix64(x);
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

uint64_t Rng::below(uint64_t n) {
  if (n == 0) throw std::logic_error("Rng::below(0)");
  // Largest multiple of n representable in [0, 2^64): accept values below it.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % n + 1) % n;
  uint64_t x;
  do {
    x = next_u64();
  } while (x > limit);
  return x % n;
}

int Rng::uniform_int(int lo, int hi) {
  if (lo > hi) throw std::logic_error("Rng::uniform_int: lo > hi");
  const uint64_t span = static_cast<uint64_t>(static_cast<int64_t>(hi) - lo) + 1;
  return static_cast<int>(static_cast<int64_t>(lo) + static_cast<int64_t>(below(span)));
}

double Rng::uniform() {
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

bool Rng::bernoulli(double p) {
  return uniform() < p;
}

std::string Rng::state() const {
  std::string out = kPrefix;
  char buf[20];
  for (uint64_t w : s_) {
    std::snprintf(buf, sizeof buf, ":%016llx", static_cast<unsigned long long>(w));
    out += buf;
  }
  return out;
}

void Rng::set_state(const std::string& text) {
  const std::string prefix = std::string(kPrefix) + ":";
  const std::string what = "random state '" + text + "': ";
  if (text.rfind(prefix, 0) != 0) throw Error(what + "expected it to start with '" + prefix + "'");
  uint64_t w[4];
  size_t pos = prefix.size();
  for (int i = 0; i < 4; ++i) {
    const size_t end = i < 3 ? text.find(':', pos) : text.size();
    if (end == std::string::npos || !parse_hex64(text.substr(pos, end - pos), w[i]))
      throw Error(what + "expected four words of 16 lower-case hex digits separated by ':'");
    pos = end + 1;
  }
  if ((w[0] | w[1] | w[2] | w[3]) == 0) throw Error(what + "all-zero state is not allowed");
  for (int i = 0; i < 4; ++i) s_[i] = w[i];
}

Rng Rng::from_state(const std::string& text) {
  Rng r;
  r.set_state(text);
  return r;
}

bool Rng::operator==(const Rng& o) const {
  return s_[0] == o.s_[0] && s_[1] == o.s_[1] && s_[2] == o.s_[2] && s_[3] == o.s_[3];
}

}  // namespace dalnas
