#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <queue>
#include <random>

#include "core/error.h"
#include "train/metrics.h"
#include "train/object_metrics.h"

using namespace dalnas;

namespace {

struct Canvas {
  int h, w;
  std::vector<uint8_t> px;
  Canvas(int h_, int w_) : h(h_), w(w_), px(static_cast<size_t>(h_) * w_, 0) {}
  Canvas& rect(int y, int x, int rh, int rw) {
    for (int yy = y; yy < y + rh; ++yy)
      for (int xx = x; xx < x + rw; ++xx) set(yy, xx);
    return *this;
  }
  Canvas& set(int y, int x) {
    px.at(static_cast<size_t>(y) * w + x) = 1;
    return *this;
  }
  const uint8_t* data() const { return px.data(); }
};

ObjectMetrics eval(const Canvas& pred, const Canvas& gt) {
  ObjectMetrics m;
  m.add(pred.data(), gt.data(), gt.h, gt.w);
  return m;
}

// Independent references: BFS labelling, brute-force matching and boundary distances.
std::vector<int> bfs_labels(const Canvas& c, int* n_out) {
  std::vector<int> lab(c.px.size(), 0);
  int n = 0;
  for (int y = 0; y < c.h; ++y)
    for (int x = 0; x < c.w; ++x) {
      if (!c.px[static_cast<size_t>(y) * c.w + x] || lab[static_cast<size_t>(y) * c.w + x])
        continue;
      ++n;
      std::queue<std::pair<int, int>> q;
      q.emplace(y, x);
      lab[static_cast<size_t>(y) * c.w + x] = n;
      while (!q.empty()) {
        auto [cy, cx] = q.front();
        q.pop();
        for (int dy = -1; dy <= 1; ++dy)
          for (int dx = -1; dx <= 1; ++dx) {
            const int ny = cy + dy, nx = cx + dx;
            if (ny < 0 || nx < 0 || ny >= c.h || nx >= c.w) continue;
            const size_t k = static_cast<size_t>(ny) * c.w + nx;
            if (c.px[k] && !lab[k]) {
              lab[k] = n;
              q.emplace(ny, nx);
            }
          }
      }
    }
  *n_out = n;
  return lab;
}

bool is_boundary(const Canvas& c, int y, int x) {
  if (!c.px[static_cast<size_t>(y) * c.w + x]) return false;
  const int d[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
  for (auto& e : d) {
    const int ny = y + e[0], nx = x + e[1];
    if (ny < 0 || nx < 0 || ny >= c.h || nx >= c.w) return true;
    if (!c.px[static_cast<size_t>(ny) * c.w + nx]) return true;
  }
  return false;
}

// {boundary pixels of a, those within chessboard distance 2 of a boundary pixel of b}
std::pair<int64_t, int64_t> brute_boundary(const Canvas& a, const Canvas& b) {
  int64_t total = 0, matched = 0;
  for (int y = 0; y < a.h; ++y)
    for (int x = 0; x < a.w; ++x) {
      if (!is_boundary(a, y, x)) continue;
      ++total;
      bool hit = false;
      for (int yy = 0; yy < b.h && !hit; ++yy)
        for (int xx = 0; xx < b.w && !hit; ++xx)
          hit = is_boundary(b, yy, xx) && std::max(std::abs(yy - y), std::abs(xx - x)) <= 2;
      matched += hit;
    }
  return {total, matched};
}

Canvas random_blobs(int h, int w, int blobs, std::mt19937& rng) {
  Canvas c(h, w);
  std::uniform_int_distribution<int> py(0, h - 1), px(0, w - 1), side(1, 6);
  for (int i = 0; i < blobs; ++i) {
    const int y = py(rng), x = px(rng);
    c.rect(y, x, std::min(side(rng), h - y), std::min(side(rng), w - x));
  }
  std::bernoulli_distribution noise(0.03);
  for (auto& p : c.px)
    if (noise(rng)) p = 1;
  return c;
}

}  // namespace

TEST(ObjectMetrics, DiagonalPixelsAreOneComponent) {
  Canvas c(4, 4);
  c.set(0, 0).set(1, 1).set(2, 2);  // touching only at corners: one 8-connected component
  c.set(0, 3);                      // 4-connectivity would give 4 components; this is a second
  std::vector<int32_t> lab;
  EXPECT_EQ(label_components(c.data(), 4, 4, lab), 2);
  EXPECT_EQ(lab[0], 1);
  EXPECT_EQ(lab[5], 1);
  EXPECT_EQ(lab[10], 1);
  EXPECT_EQ(lab[3], 2);  // numbered in raster order of the first pixel
  // As objects: a diagonal vessel predicted exactly is one vessel, found, in one piece.
  Canvas gt(4, 4);
  gt.set(0, 0).set(1, 1).set(2, 2).set(3, 3);
  const ObjectMetrics m = eval(gt, gt);
  EXPECT_EQ(m.vessels, 1);
  EXPECT_EQ(m.predicted, 1);
  EXPECT_EQ(*m.fragmentation(), 1.0);
}

TEST(ObjectMetrics, LabellingMergesLateJoinsAndMatchesBfs) {
  // A U shape: its two arms get different provisional labels joined on the last row.
  Canvas u(5, 5);
  u.rect(0, 0, 5, 1).rect(0, 4, 5, 1).rect(4, 0, 1, 5);
  std::vector<int32_t> lab;
  EXPECT_EQ(label_components(u.data(), 5, 5, lab), 1);

  std::mt19937 rng(7);
  for (int trial = 0; trial < 100; ++trial) {
    const Canvas c = random_blobs(23, 31, 12, rng);
    int n_ref = 0;
    const auto ref = bfs_labels(c, &n_ref);
    ASSERT_EQ(label_components(c.data(), c.h, c.w, lab), n_ref);
    // The same partition: labels correspond one to one.
    std::vector<int> map(static_cast<size_t>(n_ref) + 1, -1);
    for (size_t i = 0; i < lab.size(); ++i) {
      ASSERT_EQ(lab[i] == 0, ref[i] == 0);
      if (!lab[i]) continue;
      if (map[static_cast<size_t>(ref[i])] < 0) map[static_cast<size_t>(ref[i])] = lab[i];
      ASSERT_EQ(map[static_cast<size_t>(ref[i])], lab[i]);
    }
  }
}

TEST(ObjectMetrics, FoundByIoUWithoutCoveringTheCentroid) {
  Canvas gt(30, 30), pred(30, 30);
  gt.rect(10, 10, 10, 10);   // 100 px, centroid (14.5, 14.5) held by pixel (15, 15)
  pred.rect(10, 10, 5, 10);  // rows 10..14: IoU 50/100, centroid pixel not covered
  const ObjectMetrics m = eval(pred, gt);
  EXPECT_EQ(m.vessels, 1);
  EXPECT_EQ(m.found, 1);
  EXPECT_EQ(*m.recall(), 1.0);
  EXPECT_EQ(*m.precision(), 1.0);

  // IoU just below 0.3 (29/100) and the centroid not covered: missed, and a false positive.
  Canvas thin(30, 30);
  thin.rect(10, 10, 2, 10).rect(12, 10, 1, 9);  // 29 px inside the vessel, rows 10..12
  const ObjectMetrics below = eval(thin, gt);
  EXPECT_EQ(below.found, 0);
  EXPECT_EQ(*below.precision(), 0.0);
  // Exactly 0.3 (30/100) counts.
  Canvas at(30, 30);
  at.rect(10, 10, 3, 10);
  EXPECT_EQ(eval(at, gt).found, 1);
}

TEST(ObjectMetrics, FoundByCentroidOnly) {
  // A 40 px line; its centroid (5, 19.5) is held by pixel (5, 20).
  Canvas gt(11, 50);
  gt.rect(5, 0, 1, 40);
  Canvas dot(11, 50);
  dot.set(5, 20);  // IoU 1/40, but it covers the centroid
  const ObjectMetrics m = eval(dot, gt);
  EXPECT_EQ(m.found, 1);
  EXPECT_EQ(m.true_detections, 1);
  EXPECT_EQ(*m.recall(), 1.0);
  EXPECT_EQ(*m.precision(), 1.0);
  // One pixel to the left is neither: missed, and the dot is a false positive.
  Canvas beside(11, 50);
  beside.set(5, 19);
  const ObjectMetrics miss = eval(beside, gt);
  EXPECT_EQ(miss.found, 0);
  EXPECT_EQ(*miss.recall(), 0.0);
  EXPECT_EQ(*miss.precision(), 0.0);
}

TEST(ObjectMetrics, MissedVesselAndFalsePositiveBlob) {
  Canvas gt(40, 40), pred(40, 40);
  gt.rect(2, 2, 4, 4);    // found exactly
  gt.rect(20, 20, 3, 3);  // missed
  pred.rect(2, 2, 4, 4);
  pred.rect(30, 2, 5, 5);  // a blob where there is no vessel
  const ObjectMetrics m = eval(pred, gt);
  EXPECT_EQ(m.vessels, 2);
  EXPECT_EQ(m.found, 1);
  EXPECT_EQ(m.predicted, 2);
  EXPECT_EQ(m.true_detections, 1);
  EXPECT_DOUBLE_EQ(*m.recall(), 0.5);
  EXPECT_DOUBLE_EQ(*m.precision(), 0.5);
  EXPECT_DOUBLE_EQ(*m.fragmentation(), 1.0);
}

TEST(ObjectMetrics, FragmentedVessels) {
  Canvas gt(20, 60), pred(20, 60);
  gt.rect(2, 0, 3, 45);  // vessel A: 135 px, centroid (3, 22) held by (3, 22)
  pred.rect(2, 0, 3, 10).rect(2, 18, 3, 10).rect(2, 35, 3, 10);  // 3 pieces, the middle one
                                                                 // covers the centroid
  gt.rect(10, 0, 2, 20);                                         // vessel B: 40 px
  pred.rect(10, 0, 2, 9).rect(10, 11, 2, 9);                     // 2 pieces of 18 px: IoU 0.45 each
  const ObjectMetrics m = eval(pred, gt);
  EXPECT_EQ(m.found, 2);
  EXPECT_EQ(m.predicted, 5);
  EXPECT_EQ(m.fragments, 5);
  EXPECT_DOUBLE_EQ(*m.fragmentation(), 2.5);  // (3 + 2) / 2
  // A's outer pieces have IoU 30/135 and cover no centroid: not true detections.
  EXPECT_EQ(m.true_detections, 3);
  EXPECT_DOUBLE_EQ(*m.precision(), 0.6);
}

TEST(ObjectMetrics, SizeBucketsAtTheirBoundaries) {
  EXPECT_EQ(size_bucket(1), SizeBucket::Small);
  EXPECT_EQ(size_bucket(29), SizeBucket::Small);
  EXPECT_EQ(size_bucket(30), SizeBucket::Medium);
  EXPECT_EQ(size_bucket(100), SizeBucket::Medium);
  EXPECT_EQ(size_bucket(101), SizeBucket::Large);

  Canvas gt(8, 120), pred(8, 120);
  gt.rect(0, 0, 1, 29).rect(2, 0, 1, 30).rect(4, 0, 1, 100).rect(6, 0, 1, 101);
  pred.rect(0, 0, 1, 29).rect(4, 0, 1, 100);  // the 29 px and the 100 px vessels
  const ObjectMetrics m = eval(pred, gt);
  EXPECT_EQ(m.vessels_by_size[0], 1);
  EXPECT_EQ(m.vessels_by_size[1], 2);
  EXPECT_EQ(m.vessels_by_size[2], 1);
  EXPECT_EQ(m.found_by_size[0], 1);
  EXPECT_EQ(m.found_by_size[1], 1);
  EXPECT_EQ(m.found_by_size[2], 0);
  EXPECT_DOUBLE_EQ(*m.recall(SizeBucket::Small), 1.0);
  EXPECT_DOUBLE_EQ(*m.recall(SizeBucket::Medium), 0.5);
  EXPECT_DOUBLE_EQ(*m.recall(SizeBucket::Large), 0.0);
  EXPECT_DOUBLE_EQ(*m.recall(), 0.5);
  // A bucket with no vessel is undefined.
  Canvas small_only(8, 120);
  small_only.rect(0, 0, 1, 5);
  const ObjectMetrics s = eval(small_only, small_only);
  EXPECT_FALSE(s.recall(SizeBucket::Large).has_value());
  EXPECT_TRUE(s.recall(SizeBucket::Small).has_value());
}

TEST(ObjectMetrics, BoundaryDefinition) {
  Canvas c(7, 7);
  c.rect(2, 2, 3, 3);  // a 3x3 square: 8 boundary pixels, the centre is interior
  std::vector<uint8_t> b;
  boundary_pixels(c.data(), 7, 7, b);
  int n = 0;
  for (auto v : b) n += v;
  EXPECT_EQ(n, 8);
  EXPECT_EQ(b[3 * 7 + 3], 0);
  // Outside the image is background: a full image is all border, interior excluded.
  Canvas full(4, 5);
  full.rect(0, 0, 4, 5);
  boundary_pixels(full.data(), 4, 5, b);
  n = 0;
  for (auto v : b) n += v;
  EXPECT_EQ(n, 4 * 5 - 2 * 3);
  // A 1-px line is all boundary.
  Canvas line(3, 9);
  line.rect(1, 0, 1, 9);
  boundary_pixels(line.data(), 3, 9, b);
  n = 0;
  for (auto v : b) n += v;
  EXPECT_EQ(n, 9);
}

TEST(ObjectMetrics, BoundaryF1OfShiftedSquares) {
  Canvas gt(40, 40);
  gt.rect(10, 10, 12, 12);
  Canvas one(40, 40), three(40, 40);
  one.rect(10, 11, 12, 12);    // 1 px to the right: every boundary pixel within 1
  three.rect(10, 13, 12, 12);  // 3 px: the inner vertical edges are 3 px from any boundary
  const ObjectMetrics m1 = eval(one, gt);
  EXPECT_DOUBLE_EQ(*m1.boundary_precision(), 1.0);
  EXPECT_DOUBLE_EQ(*m1.boundary_recall(), 1.0);
  EXPECT_DOUBLE_EQ(*m1.boundary_f1(), 1.0);
  const ObjectMetrics m3 = eval(three, gt);
  EXPECT_LT(*m3.boundary_f1(), 1.0);
  EXPECT_GT(*m3.boundary_f1(), 0.0);
  // Counted by hand (44 boundary pixels each; prediction cols 13..24, truth cols 10..21):
  // prediction's top and bottom rows match but for their last pixel (col 24 is 3 px from
  // col 21): 11 + 11; its left edge (col 13, rows 11..20) is 3 px from col 10, so only the 2
  // rows next to each of the truth's top and bottom rows match: 4; its right edge (col 24)
  // none. 26 / 44, and the same the other way by symmetry.
  EXPECT_EQ(m3.pred_boundary, 44);
  EXPECT_EQ(m3.pred_boundary_matched, 26);
  EXPECT_EQ(m3.gt_boundary, 44);
  EXPECT_EQ(m3.gt_boundary_matched, 26);
  EXPECT_DOUBLE_EQ(*m3.boundary_f1(), 26.0 / 44.0);
}

TEST(ObjectMetrics, BoundaryCountsMatchBruteForce) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 30; ++trial) {
    const Canvas a = random_blobs(19, 26, 6, rng), b = random_blobs(19, 26, 6, rng);
    const ObjectMetrics m = eval(a, b);
    const auto [pt, pm] = brute_boundary(a, b);
    const auto [gt_t, gt_m] = brute_boundary(b, a);
    EXPECT_EQ(m.pred_boundary, pt);
    EXPECT_EQ(m.pred_boundary_matched, pm);
    EXPECT_EQ(m.gt_boundary, gt_t);
    EXPECT_EQ(m.gt_boundary_matched, gt_m);
  }
}

TEST(ObjectMetrics, MatchingAgreesWithBruteForce) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 50; ++trial) {
    const Canvas p = random_blobs(21, 29, 8, rng), g = random_blobs(21, 29, 8, rng);
    int np = 0, ng = 0;
    const auto lp = bfs_labels(p, &np), lg = bfs_labels(g, &ng);
    std::vector<int> found(static_cast<size_t>(ng) + 1, 0), tp(static_cast<size_t>(np) + 1, 0);
    int64_t fragments = 0;
    for (int gi = 1; gi <= ng; ++gi) {
      double sy = 0, sx = 0, area = 0;
      for (size_t k = 0; k < lg.size(); ++k)
        if (lg[k] == gi) {
          sy += static_cast<double>(k / g.w);
          sx += static_cast<double>(k % g.w);
          ++area;
        }
      const int cy = static_cast<int>(std::floor(sy / area + 0.5));
      const int cx = static_cast<int>(std::floor(sx / area + 0.5));
      int overlapping = 0;
      for (int pi = 1; pi <= np; ++pi) {
        double inter = 0, uni = 0;
        for (size_t k = 0; k < lg.size(); ++k) {
          inter += lg[k] == gi && lp[k] == pi;
          uni += lg[k] == gi || lp[k] == pi;
        }
        overlapping += inter > 0;
        if (inter / uni >= 0.3 - 1e-12 || lp[static_cast<size_t>(cy) * g.w + cx] == pi)
          found[static_cast<size_t>(gi)] = tp[static_cast<size_t>(pi)] = 1;
      }
      if (found[static_cast<size_t>(gi)]) fragments += std::max(overlapping, 1);
    }
    const ObjectMetrics m = eval(p, g);
    EXPECT_EQ(m.vessels, ng);
    EXPECT_EQ(m.predicted, np);
    EXPECT_EQ(m.found, std::count(found.begin(), found.end(), 1));
    EXPECT_EQ(m.true_detections, std::count(tp.begin(), tp.end(), 1));
    EXPECT_EQ(m.fragments, fragments);
  }
}

TEST(ObjectMetrics, EmptyCasesAreUndefinedNotZeroOrOne) {
  Canvas none(10, 10);
  const ObjectMetrics e = eval(none, none);
  EXPECT_EQ(e.scenes, 1);
  EXPECT_FALSE(e.recall().has_value());
  EXPECT_FALSE(e.precision().has_value());
  EXPECT_FALSE(e.fragmentation().has_value());
  EXPECT_FALSE(e.boundary_precision().has_value());
  EXPECT_FALSE(e.boundary_recall().has_value());
  EXPECT_FALSE(e.boundary_f1().has_value());
  const auto j = e.to_json();
  for (const char* k : {"recall", "precision", "fragmentation", "boundary_f1"})
    EXPECT_TRUE(j.at(k).is_null()) << k;
  EXPECT_NE(e.summary().find("recall n/a"), std::string::npos);

  // A prediction where there is no vessel: recall undefined, precision and boundary F1 zero.
  Canvas blob(10, 10);
  blob.rect(3, 3, 2, 2);
  const ObjectMetrics fp = eval(blob, none);
  EXPECT_FALSE(fp.recall().has_value());
  EXPECT_DOUBLE_EQ(*fp.precision(), 0.0);
  EXPECT_FALSE(fp.boundary_recall().has_value());
  EXPECT_DOUBLE_EQ(*fp.boundary_f1(), 0.0);
  // A vessel and no prediction: recall zero, precision undefined, boundary F1 zero.
  const ObjectMetrics fn = eval(none, blob);
  EXPECT_DOUBLE_EQ(*fn.recall(), 0.0);
  EXPECT_FALSE(fn.precision().has_value());
  EXPECT_FALSE(fn.fragmentation().has_value());
  EXPECT_DOUBLE_EQ(*fn.boundary_f1(), 0.0);
}

TEST(ObjectMetrics, MergeEqualsAddingEveryScene) {
  Canvas g1(20, 20), p1(20, 20), g2(15, 25), p2(15, 25);
  g1.rect(1, 1, 5, 5).rect(10, 10, 6, 2);
  p1.rect(1, 2, 5, 5);
  g2.rect(3, 3, 2, 12);
  p2.rect(3, 3, 2, 4).rect(3, 9, 2, 4).rect(12, 20, 2, 2);
  ObjectMetrics all;
  all.add(p1.data(), g1.data(), 20, 20);
  all.add(p2.data(), g2.data(), 15, 25);
  ObjectMetrics a = eval(p1, g1), b = eval(p2, g2);
  a.merge(b);
  EXPECT_EQ(a.to_json(), all.to_json());
  EXPECT_EQ(ObjectMetrics::from_json(all.to_json()).to_json(), all.to_json());  // round trip
  nlohmann::json broken = all.to_json();
  broken.erase("fragments");
  EXPECT_THROW(ObjectMetrics::from_json(broken), Error);
  EXPECT_EQ(all.scenes, 2);
  EXPECT_EQ(all.vessels, 3);
  // Counts are summed before the ratio: 2 found of 3, not the mean of 1/2 and 1/1.
  EXPECT_EQ(all.found, 2);
  EXPECT_DOUBLE_EQ(*all.recall(), 2.0 / 3.0);
}

TEST(ObjectMetrics, ProbabilitiesUseTheThresholdAndNaNIsBackground) {
  std::vector<float> prob = {0.9f, NAN, 0.2f, 0.5f, 0.49f, 0.7f};  // 1 x 6
  std::vector<uint8_t> gt = {1, 1, 0, 0, 0, 0};
  ObjectMetrics m;
  m.add(prob.data(), gt.data(), 1, 6);
  EXPECT_EQ(m.predicted, 3);  // {0}, {3}, {5}: NaN breaks the first piece off
  EXPECT_EQ(m.vessels, 1);
  EXPECT_EQ(m.found, 1);  // IoU 1/2
  EXPECT_EQ(m.true_detections, 1);
}

TEST(ObjectMetrics, MetricsAddSceneFillsBothAndJsonOnlyWithScenes) {
  Metrics chips;
  EXPECT_FALSE(chips.to_json().contains("objects"));  // chip-level metrics have no objects
  EXPECT_EQ(chips.objects_summary(), "");
  Metrics m;
  std::vector<float> prob = {1, 1, 0, 0, 0, 0, 0, 0, 1};  // 3 x 3
  std::vector<uint8_t> gt = {1, 1, 0, 0, 0, 0, 0, 0, 0};
  m.add_scene(prob.data(), gt.data(), 3, 3);
  EXPECT_EQ(m.cm.tp, 2u);
  EXPECT_EQ(m.cm.fp, 1u);
  const auto j = m.to_json();
  ASSERT_TRUE(j.contains("objects"));
  EXPECT_EQ(j["objects"]["vessels"], 1);
  EXPECT_EQ(j["objects"]["predicted"], 2);
  EXPECT_DOUBLE_EQ(j["objects"]["precision"].get<double>(), 0.5);
  EXPECT_EQ(j["objects"]["by_size"]["medium"]["min_px"], 30);
  EXPECT_EQ(j["objects"]["by_size"]["medium"]["max_px"], 100);
  EXPECT_TRUE(j["objects"]["by_size"]["large"]["max_px"].is_null());
  for (const char* k : {"miou", "iou_vessel", "precision", "recall", "f1", "tp"})
    EXPECT_TRUE(j.contains(k)) << k;  // the pixel metrics are unchanged
  EXPECT_NE(m.objects_summary().find("precision 0.5000 (1/2)"), std::string::npos);
}
