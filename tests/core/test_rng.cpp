#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"

namespace dalnas {
namespace {

// Reference outputs of splitmix64-seeded xoshiro256** computed independently (Python, from
// the published algorithms): seed 0 state words are splitmix64(0)'s first four outputs.
TEST(Rng, MatchesReferenceOutputs) {
  Rng r0(0);
  EXPECT_EQ(r0.state(),
            "xoshiro256ss:e220a8397b1dcdaf:6e789e6aa1b965f4:06c45d188009454f:f88bb8a8724c81ec");
  EXPECT_EQ(r0.next_u64(), 0x99ec5f36cb75f2b4ULL);
  EXPECT_EQ(r0.next_u64(), 0xbf6e1f784956452aULL);
  EXPECT_EQ(r0.next_u64(), 0x1a5f849d4933e6e0ULL);
  Rng r42(42);
  EXPECT_EQ(r42.next_u64(), 0x15780b2e0c2ec716ULL);
  EXPECT_EQ(r42.next_u64(), 0x6104d9866d113a7eULL);
  EXPECT_EQ(r42.next_u64(), 0xae17533239e499a1ULL);
}

TEST(Rng, StateRoundTripContinuesTheStream) {
  Rng a(7);
  for (int i = 0; i < 100; ++i) a.next_u64();
  const std::string saved = a.state();
  std::vector<uint64_t> expect;
  for (int i = 0; i < 50; ++i) expect.push_back(a.next_u64());
  Rng b = Rng::from_state(saved);
  EXPECT_EQ(b.state(), saved);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(b.next_u64(), expect[i]) << i;
  EXPECT_TRUE(a == b);
}

TEST(Rng, RejectsMalformedStates) {
  Rng r;
  const std::string good =
      "xoshiro256ss:e220a8397b1dcdaf:6e789e6aa1b965f4:06c45d188009454f:f88bb8a8724c81ec";
  EXPECT_NO_THROW(r.set_state(good));
  for (const std::string& bad :
       {std::string("pcg32:1"), good.substr(0, good.size() - 1), good + ":0000000000000000",
        std::string("xoshiro256ss:E220A8397B1DCDAF:6e789e6aa1b965f4:06c45d188009454f:"
                    "f88bb8a8724c81ec"),
        std::string("xoshiro256ss:0000000000000000:0000000000000000:0000000000000000:"
                    "0000000000000000")}) {
    const Rng before = r;
    EXPECT_THROW(r.set_state(bad), Error) << bad;
    EXPECT_TRUE(r == before) << "a failed set_state must not change the state";
  }
}

TEST(Rng, BelowIsInRangeAndUniform) {
  Rng r(3);
  const int n = 6, draws = 60000;
  std::vector<int> count(n, 0);
  for (int i = 0; i < draws; ++i) {
    const uint64_t v = r.below(n);
    ASSERT_LT(v, static_cast<uint64_t>(n));
    ++count[v];
  }
  // Chi-square with 5 degrees of freedom: 20.5 is the 0.999 quantile.
  double chi2 = 0;
  for (int c : count)
    chi2 += (c - draws / double(n)) * (c - draws / double(n)) / (draws / double(n));
  EXPECT_LT(chi2, 20.5);
  EXPECT_EQ(r.below(1), 0u);
  EXPECT_THROW(r.below(0), std::logic_error);
}

TEST(Rng, UniformIntCoversInclusiveRange) {
  Rng r(5);
  std::set<int> seen;
  for (int i = 0; i < 2000; ++i) {
    const int v = r.uniform_int(-2, 3);
    ASSERT_GE(v, -2);
    ASSERT_LE(v, 3);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_EQ(r.uniform_int(4, 4), 4);
  // Full int range does not overflow.
  const int v = r.uniform_int(INT32_MIN, INT32_MAX);
  (void)v;
}

TEST(Rng, UniformAndBernoulli) {
  Rng r(11);
  double sum = 0;
  int hits = 0;
  const int n = 40000;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    hits += r.bernoulli(0.2);
  }
  EXPECT_NEAR(sum / n, 0.5, 0.01);
  EXPECT_NEAR(hits / double(n), 0.2, 0.01);
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(r.bernoulli(0.0));
    EXPECT_TRUE(r.bernoulli(1.0));
  }
  // uniform() is the top 53 bits of next_u64() scaled by 2^-53.
  Rng a(9), b(9);
  EXPECT_EQ(a.uniform(), std::ldexp(static_cast<double>(b.next_u64() >> 11), -53));
}

TEST(Rng, ShuffleIsAPermutationAndSeedDependent) {
  std::vector<int> v(20);
  for (int i = 0; i < 20; ++i) v[i] = i;
  Rng r1(1), r2(1), r3(2);
  std::vector<int> a = v, b = v, c = v;
  r1.shuffle(a);
  r2.shuffle(b);
  r3.shuffle(c);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, v);
  std::multiset<int> sa(a.begin(), a.end()), sv(v.begin(), v.end());
  EXPECT_EQ(sa, sv);
}

}  // namespace
}  // namespace dalnas
