#include <gtest/gtest.h>

#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include "data/augment.h"

namespace dalnas {
namespace {

using Plane = std::vector<float>;

// Independent references: numpy.rot90 (counter-clockwise) and a horizontal flip.
Plane rot90(const Plane& in, int n) {
  Plane out(in.size());
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) out[y * n + x] = in[x * n + (n - 1 - y)];
  return out;
}
Plane fliplr(const Plane& in, int n) {
  Plane out(in.size());
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) out[y * n + x] = in[y * n + (n - 1 - x)];
  return out;
}
Plane reference(Plane p, int n, int k) {
  if (k & 1) p = fliplr(p, n);
  for (int r = 0; r < (k >> 1); ++r) p = rot90(p, n);
  return p;
}

Plane random_plane(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  Plane p(static_cast<size_t>(n) * n);
  for (float& v : p) v = static_cast<float>(rng() % 100000);
  return p;
}

TEST(Augment, KnownSmallCases) {
  // [[1, 2], [3, 4]]
  Plane p{1, 2, 3, 4};
  augment_chip(p.data(), nullptr, 1, 2, 2);  // one counter-clockwise rotation
  EXPECT_EQ(p, (Plane{2, 4, 1, 3}));
  p = {1, 2, 3, 4};
  augment_chip(p.data(), nullptr, 1, 2, 1);  // horizontal flip
  EXPECT_EQ(p, (Plane{2, 1, 4, 3}));
  p = {1, 2, 3, 4};
  augment_chip(p.data(), nullptr, 1, 2, 4);  // 180°
  EXPECT_EQ(p, (Plane{4, 3, 2, 1}));
  p = {1, 2, 3, 4};
  augment_chip(p.data(), nullptr, 1, 2, 0);
  EXPECT_EQ(p, (Plane{1, 2, 3, 4}));
}

TEST(Augment, MatchesNaiveMappingForImageAndMask) {
  for (int n : {1, 4, 5}) {
    const int bands = 3;
    std::vector<Plane> planes;
    for (int b = 0; b < bands; ++b) planes.push_back(random_plane(n, 10 + b + n));
    const Plane mask_f = random_plane(n, 99 + n);
    for (int k = 0; k < 8; ++k) {
      std::vector<float> img;
      for (const Plane& p : planes) img.insert(img.end(), p.begin(), p.end());
      std::vector<uint8_t> mask(mask_f.size());
      for (size_t i = 0; i < mask.size(); ++i) mask[i] = static_cast<int>(mask_f[i]) % 2;
      augment_chip(img.data(), mask.data(), bands, n, k);
      for (int b = 0; b < bands; ++b) {
        const Plane want = reference(planes[b], n, k);
        EXPECT_EQ(Plane(img.begin() + b * n * n, img.begin() + (b + 1) * n * n), want)
            << "n " << n << " k " << k << " band " << b;
      }
      Plane mf(mask_f.size());
      for (size_t i = 0; i < mf.size(); ++i) mf[i] = static_cast<int>(mask_f[i]) % 2;
      const Plane want_mask = reference(mf, n, k);
      for (size_t i = 0; i < mask.size(); ++i) EXPECT_EQ(mask[i], want_mask[i]) << "k " << k;
    }
  }
}

TEST(Augment, EightDistinctSymmetries) {
  const int n = 6;
  const Plane base = random_plane(n, 3);
  std::set<Plane> results;
  for (int k = 0; k < 8; ++k) {
    Plane p = base;
    augment_chip(p.data(), nullptr, 1, n, k);
    results.insert(p);
    std::multiset<float> a(base.begin(), base.end()), b(p.begin(), p.end());
    EXPECT_EQ(a, b);  // a permutation of the pixels
  }
  EXPECT_EQ(results.size(), 8u);
}

TEST(Augment, GroupIdentities) {
  const int n = 7;
  const Plane base = random_plane(n, 4);
  // Four quarter turns, two half turns, and any mirror applied twice are the identity.
  Plane p = base;
  for (int i = 0; i < 4; ++i) augment_chip(p.data(), nullptr, 1, n, 2);
  EXPECT_EQ(p, base);
  p = base;
  augment_chip(p.data(), nullptr, 1, n, 4);
  EXPECT_NE(p, base);
  augment_chip(p.data(), nullptr, 1, n, 4);
  EXPECT_EQ(p, base);
  for (int k : {1, 3, 5, 7}) {
    p = base;
    augment_chip(p.data(), nullptr, 1, n, k);
    EXPECT_NE(p, base);
    augment_chip(p.data(), nullptr, 1, n, k);
    EXPECT_EQ(p, base) << "k " << k;
  }
  // Three quarter turns undo one.
  p = base;
  augment_chip(p.data(), nullptr, 1, n, 2);
  augment_chip(p.data(), nullptr, 1, n, 6);
  EXPECT_EQ(p, base);
}

TEST(Augment, RejectsBadK) {
  Plane p{1, 2, 3, 4};
  EXPECT_THROW(augment_chip(p.data(), nullptr, 1, 2, 8), std::invalid_argument);
  EXPECT_THROW(augment_chip(p.data(), nullptr, 1, 2, -1), std::invalid_argument);
}

}  // namespace
}  // namespace dalnas
