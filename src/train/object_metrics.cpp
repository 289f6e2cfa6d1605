#include "train/object_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace dalnas {

namespace {

// IoU >= kMatchIoU as exact integer arithmetic: 10 * intersection >= 3 * union.
constexpr int64_t kIoUNum = 3, kIoUDen = 10;
static_assert(static_cast<double>(kIoUNum) / kIoUDen == ObjectMetrics::kMatchIoU,
              "kIoUNum / kIoUDen must equal kMatchIoU");

std::optional<double> ratio(int64_t num, int64_t den) {
  if (den == 0) return std::nullopt;
  return static_cast<double>(num) / static_cast<double>(den);
}

nlohmann::json opt_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::string opt_str(const std::optional<double>& v) {
  if (!v) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", *v);
  return buf;
}

// A mask by rows as runs of foreground pixels: row y holds spans[row[y] .. row[y + 1]), each
// the columns [x0, x1), sorted and disjoint. Everything below works on runs, so its cost is
// one pass over the mask (eight background pixels at a time) plus the number of runs.
struct Span {
  int32_t x0, x1;
};
struct RowSpans {
  std::vector<Span> spans;
  std::vector<size_t> row;  // height + 1 offsets into spans
  size_t begin(int y) const { return row[static_cast<size_t>(y)]; }
  size_t end(int y) const { return row[static_cast<size_t>(y) + 1]; }
};

RowSpans runs_of(const uint8_t* mask, int height, int width) {
  RowSpans r;
  r.row.assign(static_cast<size_t>(height) + 1, 0);
  for (int y = 0; y < height; ++y) {
    const uint8_t* m = mask + static_cast<size_t>(y) * static_cast<size_t>(width);
    int x = 0;
    while (x < width) {
      for (uint64_t v; x + 8 <= width; x += 8) {
        std::memcpy(&v, m + x, 8);
        if (v) break;
      }
      while (x < width && !m[x]) ++x;
      if (x >= width) break;
      const int x0 = x;
      while (x < width && m[x]) ++x;
      r.spans.push_back({x0, x});
    }
    r.row[static_cast<size_t>(y) + 1] = r.spans.size();
  }
  return r;
}

// The 8-connected component of every run, 1..n numbered in raster order of their first pixel
// (union-find over runs; a run touches a run of the row above when their columns overlap
// or meet at a corner). Returns n.
int label_runs(const RowSpans& r, int height, std::vector<int32_t>& comp) {
  const size_t n = r.spans.size();
  std::vector<size_t> parent(n);
  for (size_t i = 0; i < n; ++i) parent[i] = i;
  const auto find = [&](size_t a) {
    while (parent[a] != a) a = parent[a] = parent[parent[a]];
    return a;
  };
  for (int y = 1; y < height; ++y) {
    size_t j = r.begin(y - 1);
    const size_t prev_end = r.end(y - 1);
    for (size_t i = r.begin(y); i < r.end(y); ++i) {
      const Span s = r.spans[i];
      while (j < prev_end && r.spans[j].x1 < s.x0) ++j;  // ends left of the west diagonal
      for (size_t k = j; k < prev_end && r.spans[k].x0 <= s.x1; ++k) {
        size_t a = find(i), b = find(k);
        if (a == b) continue;
        if (a > b) std::swap(a, b);
        parent[b] = a;  // the root is the run met first in raster order
      }
    }
  }
  comp.assign(n, 0);
  std::vector<int32_t> id(n, 0);
  int32_t count = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t root = find(i);
    if (!id[root]) id[root] = ++count;
    comp[i] = id[root];
  }
  return count;
}

// Sorted disjoint spans: out = a ∩ b.
void intersect(const Span* a, size_t na, const Span* b, size_t nb, std::vector<Span>& out) {
  out.clear();
  for (size_t i = 0, j = 0; i < na && j < nb;) {
    const int32_t x0 = std::max(a[i].x0, b[j].x0), x1 = std::min(a[i].x1, b[j].x1);
    if (x0 < x1) out.push_back({x0, x1});
    if (a[i].x1 < b[j].x1)
      ++i;
    else
      ++j;
  }
}

// The boundary of a mask (see the header) as runs: a pixel of a run is interior when it is
// not the run's first or last pixel and the rows above and below both cover it.
RowSpans boundary_runs(const RowSpans& r, int height) {
  RowSpans out;
  out.row.assign(static_cast<size_t>(height) + 1, 0);
  std::vector<Span> inner, t, interior;
  for (int y = 0; y < height; ++y) {
    interior.clear();
    if (y > 0 && y + 1 < height) {
      inner.clear();
      for (size_t i = r.begin(y); i < r.end(y); ++i)
        if (r.spans[i].x1 - r.spans[i].x0 > 2)
          inner.push_back({r.spans[i].x0 + 1, r.spans[i].x1 - 1});
      intersect(inner.data(), inner.size(), r.spans.data() + r.begin(y - 1),
                r.end(y - 1) - r.begin(y - 1), t);
      intersect(t.data(), t.size(), r.spans.data() + r.begin(y + 1), r.end(y + 1) - r.begin(y + 1),
                interior);
    }
    size_t k = 0;  // every interior span lies inside one run
    for (size_t i = r.begin(y); i < r.end(y); ++i) {
      int32_t x = r.spans[i].x0;
      for (; k < interior.size() && interior[k].x0 < r.spans[i].x1; ++k) {
        if (x < interior[k].x0) out.spans.push_back({x, interior[k].x0});
        x = interior[k].x1;
      }
      if (x < r.spans[i].x1) out.spans.push_back({x, r.spans[i].x1});
    }
    out.row[static_cast<size_t>(y) + 1] = out.spans.size();
  }
  return out;
}

// {pixels of `self`, those within chessboard distance `tol` of a pixel of `other`}: row y of
// `other` dilated by the (2 tol + 1)-square is the union of rows y - tol .. y + tol, each run
// widened by tol on both sides.
std::pair<int64_t, int64_t> match_runs(const RowSpans& self, const RowSpans& other, int height,
                                       int width, int tol) {
  int64_t total = 0, matched = 0;
  std::vector<Span> near, hit;
  for (int y = 0; y < height; ++y) {
    if (self.begin(y) == self.end(y)) continue;
    for (size_t i = self.begin(y); i < self.end(y); ++i)
      total += self.spans[i].x1 - self.spans[i].x0;
    near.clear();
    for (int yy = std::max(0, y - tol); yy <= std::min(height - 1, y + tol); ++yy)
      for (size_t i = other.begin(yy); i < other.end(yy); ++i)
        near.push_back(
            {std::max(0, other.spans[i].x0 - tol), std::min(width, other.spans[i].x1 + tol)});
    if (near.empty()) continue;
    std::sort(near.begin(), near.end(), [](Span a, Span b) { return a.x0 < b.x0; });
    size_t m = 0;  // merge into sorted disjoint spans
    for (size_t i = 1; i < near.size(); ++i) {
      if (near[i].x0 <= near[m].x1)
        near[m].x1 = std::max(near[m].x1, near[i].x1);
      else
        near[++m] = near[i];
    }
    near.resize(m + 1);
    intersect(self.spans.data() + self.begin(y), self.end(y) - self.begin(y), near.data(),
              near.size(), hit);
    for (const Span& s : hit) matched += s.x1 - s.x0;
  }
  return {total, matched};
}

template <typename T>
void paint(const RowSpans& r, int height, int width, const std::vector<T>& value,
           std::vector<T>& out) {
  out.assign(static_cast<size_t>(height) * static_cast<size_t>(width), 0);
  for (int y = 0; y < height; ++y)
    for (size_t i = r.begin(y); i < r.end(y); ++i)
      std::fill(
          out.begin() + static_cast<ptrdiff_t>(static_cast<size_t>(y) * width + r.spans[i].x0),
          out.begin() + static_cast<ptrdiff_t>(static_cast<size_t>(y) * width + r.spans[i].x1),
          value[i]);
}

}  // namespace

int label_components(const uint8_t* mask, int height, int width, std::vector<int32_t>& labels) {
  const RowSpans r = runs_of(mask, height, width);
  std::vector<int32_t> comp;
  const int n = label_runs(r, height, comp);
  paint(r, height, width, comp, labels);
  return n;
}

void boundary_pixels(const uint8_t* mask, int height, int width, std::vector<uint8_t>& out) {
  const RowSpans b = boundary_runs(runs_of(mask, height, width), height);
  paint(b, height, width, std::vector<uint8_t>(b.spans.size(), 1), out);
}

SizeBucket size_bucket(int64_t area_px) {
  if (area_px < kSmallBelowPx) return SizeBucket::Small;
  if (area_px <= kLargeAbovePx) return SizeBucket::Medium;
  return SizeBucket::Large;
}

const char* to_string(SizeBucket b) {
  switch (b) {
    case SizeBucket::Small:
      return "small";
    case SizeBucket::Medium:
      return "medium";
    case SizeBucket::Large:
      return "large";
  }
  return "?";
}

void ObjectMetrics::add(const uint8_t* pred, const uint8_t* gt, int height, int width) {
  ++scenes;
  const RowSpans rp = runs_of(pred, height, width), rg = runs_of(gt, height, width);
  std::vector<int32_t> cp, cg;
  const int np = label_runs(rp, height, cp);
  const int ng = label_runs(rg, height, cg);
  predicted += np;
  vessels += ng;
  if (np == 0 && ng == 0) return;

  // Areas, centroid sums (exact integers) and the pixels each (vessel, predicted component)
  // pair shares, row by row.
  std::vector<int64_t> area_p(static_cast<size_t>(np) + 1, 0), area_g(static_cast<size_t>(ng) + 1);
  std::vector<int64_t> sum_y(area_g.size(), 0), sum_x(area_g.size(), 0);
  for (size_t i = 0; i < rp.spans.size(); ++i)
    area_p[static_cast<size_t>(cp[i])] += rp.spans[i].x1 - rp.spans[i].x0;
  std::vector<std::pair<uint64_t, int64_t>> pairs;  // (g << 32 | p, shared pixels)
  for (int y = 0; y < height; ++y) {
    size_t j = rp.begin(y);
    for (size_t i = rg.begin(y); i < rg.end(y); ++i) {
      const Span s = rg.spans[i];
      const auto g = static_cast<size_t>(cg[i]);
      const int64_t len = s.x1 - s.x0;
      area_g[g] += len;
      sum_y[g] += static_cast<int64_t>(y) * len;
      sum_x[g] += (static_cast<int64_t>(s.x0) + s.x1 - 1) * len / 2;  // x0 + ... + (x1 - 1)
      while (j < rp.end(y) && rp.spans[j].x1 <= s.x0) ++j;
      for (size_t k = j; k < rp.end(y) && rp.spans[k].x0 < s.x1; ++k) {
        const int64_t shared = std::min(s.x1, rp.spans[k].x1) - std::max(s.x0, rp.spans[k].x0);
        pairs.emplace_back(static_cast<uint64_t>(g) << 32 | static_cast<uint32_t>(cp[k]), shared);
      }
    }
  }
  std::sort(pairs.begin(), pairs.end());

  std::vector<uint8_t> found_g(area_g.size(), 0), true_p(area_p.size(), 0);
  std::vector<int64_t> overlapping(area_g.size(), 0);
  for (size_t a = 0; a < pairs.size();) {
    int64_t inter = 0;
    size_t b = a;
    for (; b < pairs.size() && pairs[b].first == pairs[a].first; ++b) inter += pairs[b].second;
    const auto g = static_cast<size_t>(pairs[a].first >> 32);
    const auto p = static_cast<size_t>(pairs[a].first & 0xffffffffu);
    const int64_t uni = area_g[g] + area_p[p] - inter;
    ++overlapping[g];
    if (kIoUDen * inter >= kIoUNum * uni) found_g[g] = true_p[p] = 1;
    a = b;
  }
  for (size_t g = 1; g < area_g.size(); ++g) {
    // floor(mean + 1/2) = floor((2 sum + area) / (2 area)), exact
    const auto cy = static_cast<int>((2 * sum_y[g] + area_g[g]) / (2 * area_g[g]));
    const auto cx = static_cast<int32_t>((2 * sum_x[g] + area_g[g]) / (2 * area_g[g]));
    const auto first = rp.spans.begin() + static_cast<ptrdiff_t>(rp.begin(cy));
    const auto last = rp.spans.begin() + static_cast<ptrdiff_t>(rp.end(cy));
    const auto it = std::upper_bound(first, last, cx, [](int32_t x, Span s) { return x < s.x0; });
    if (it != first && std::prev(it)->x1 > cx)
      found_g[g] =
          true_p[static_cast<size_t>(cp[static_cast<size_t>(std::prev(it) - rp.spans.begin())])] =
              1;
    const auto bucket = static_cast<size_t>(size_bucket(area_g[g]));
    ++vessels_by_size[bucket];
    if (found_g[g]) {
      ++found;
      ++found_by_size[bucket];
      fragments += std::max<int64_t>(overlapping[g], 1);
    }
  }
  for (size_t p = 1; p < true_p.size(); ++p) true_detections += true_p[p];

  const RowSpans bp = boundary_runs(rp, height), bg = boundary_runs(rg, height);
  const auto [pt, pm] = match_runs(bp, bg, height, width, kBoundaryTolerance);
  const auto [gt_t, gt_m] = match_runs(bg, bp, height, width, kBoundaryTolerance);
  pred_boundary += pt;
  pred_boundary_matched += pm;
  gt_boundary += gt_t;
  gt_boundary_matched += gt_m;
}

void ObjectMetrics::add(const float* prob, const uint8_t* gt, int height, int width,
                        float threshold) {
  std::vector<uint8_t> pred(static_cast<size_t>(height) * static_cast<size_t>(width));
  for (size_t i = 0; i < pred.size(); ++i) pred[i] = prob[i] >= threshold;  // NaN: background
  add(pred.data(), gt, height, width);
}

void ObjectMetrics::merge(const ObjectMetrics& o) {
  scenes += o.scenes;
  vessels += o.vessels;
  found += o.found;
  predicted += o.predicted;
  true_detections += o.true_detections;
  fragments += o.fragments;
  for (int b = 0; b < kSizeBuckets; ++b) {
    vessels_by_size[static_cast<size_t>(b)] += o.vessels_by_size[static_cast<size_t>(b)];
    found_by_size[static_cast<size_t>(b)] += o.found_by_size[static_cast<size_t>(b)];
  }
  pred_boundary += o.pred_boundary;
  pred_boundary_matched += o.pred_boundary_matched;
  gt_boundary += o.gt_boundary;
  gt_boundary_matched += o.gt_boundary_matched;
}

std::optional<double> ObjectMetrics::recall() const {
  return ratio(found, vessels);
}
std::optional<double> ObjectMetrics::recall(SizeBucket b) const {
  const auto k = static_cast<size_t>(b);
  return ratio(found_by_size[k], vessels_by_size[k]);
}
std::optional<double> ObjectMetrics::precision() const {
  return ratio(true_detections, predicted);
}
std::optional<double> ObjectMetrics::fragmentation() const {
  return ratio(fragments, found);
}
std::optional<double> ObjectMetrics::boundary_precision() const {
  return ratio(pred_boundary_matched, pred_boundary);
}
std::optional<double> ObjectMetrics::boundary_recall() const {
  return ratio(gt_boundary_matched, gt_boundary);
}
std::optional<double> ObjectMetrics::boundary_f1() const {
  const auto p = boundary_precision(), r = boundary_recall();
  if (!p && !r) return std::nullopt;
  if (!p || !r) return 0.0;  // one mask has boundary pixels, the other none
  if (*p + *r == 0) return 0.0;
  return 2 * *p * *r / (*p + *r);
}

nlohmann::json ObjectMetrics::to_json() const {
  nlohmann::json by_size = nlohmann::json::object();
  const int64_t lo[kSizeBuckets] = {1, kSmallBelowPx, kLargeAbovePx + 1};
  for (int k = 0; k < kSizeBuckets; ++k) {
    const auto b = static_cast<SizeBucket>(k);
    const auto i = static_cast<size_t>(k);
    by_size[to_string(b)] = {{"min_px", lo[k]},
                             {"max_px", b == SizeBucket::Small ? nlohmann::json(kSmallBelowPx - 1)
                                        : b == SizeBucket::Medium ? nlohmann::json(kLargeAbovePx)
                                                                  : nlohmann::json(nullptr)},
                             {"vessels", vessels_by_size[i]},
                             {"found", found_by_size[i]},
                             {"recall", opt_json(recall(b))}};
  }
  return {{"recall", opt_json(recall())},
          {"precision", opt_json(precision())},
          {"fragmentation", opt_json(fragmentation())},
          {"boundary_f1", opt_json(boundary_f1())},
          {"boundary_precision", opt_json(boundary_precision())},
          {"boundary_recall", opt_json(boundary_recall())},
          {"vessels", vessels},
          {"found", found},
          {"predicted", predicted},
          {"true_detections", true_detections},
          {"fragments", fragments},
          {"by_size", by_size},
          {"pred_boundary", pred_boundary},
          {"pred_boundary_matched", pred_boundary_matched},
          {"gt_boundary", gt_boundary},
          {"gt_boundary_matched", gt_boundary_matched},
          {"match_iou", kMatchIoU},
          {"boundary_tolerance_px", kBoundaryTolerance},
          {"boundary_distance", "chessboard"},
          {"scenes", scenes}};
}

ObjectMetrics ObjectMetrics::from_json(const nlohmann::json& j) {
  const auto count = [](const nlohmann::json& o, const char* key, const std::string& where) {
    if (!o.is_object() || !o.contains(key) || !o.at(key).is_number_integer())
      throw Error(where + "." + key + ": expected an integer count");
    return o.at(key).get<int64_t>();
  };
  ObjectMetrics m;
  m.scenes = count(j, "scenes", "objects");
  m.vessels = count(j, "vessels", "objects");
  m.found = count(j, "found", "objects");
  m.predicted = count(j, "predicted", "objects");
  m.true_detections = count(j, "true_detections", "objects");
  m.fragments = count(j, "fragments", "objects");
  m.pred_boundary = count(j, "pred_boundary", "objects");
  m.pred_boundary_matched = count(j, "pred_boundary_matched", "objects");
  m.gt_boundary = count(j, "gt_boundary", "objects");
  m.gt_boundary_matched = count(j, "gt_boundary_matched", "objects");
  if (!j.contains("by_size")) throw Error("objects.by_size: missing");
  for (int k = 0; k < kSizeBuckets; ++k) {
    const char* name = to_string(static_cast<SizeBucket>(k));
    const std::string where = std::string("objects.by_size.") + name;
    if (!j.at("by_size").contains(name)) throw Error(where + ": missing");
    const auto& b = j.at("by_size").at(name);
    m.vessels_by_size[static_cast<size_t>(k)] = count(b, "vessels", where);
    m.found_by_size[static_cast<size_t>(k)] = count(b, "found", where);
  }
  return m;
}

std::string ObjectMetrics::summary() const {
  std::string s = "vessels recall " + opt_str(recall()) + " (" + std::to_string(found) + "/" +
                  std::to_string(vessels) + "; ";
  const char* names[kSizeBuckets] = {"<30 px", "30-100 px", ">100 px"};
  for (int k = 0; k < kSizeBuckets; ++k) {
    const auto i = static_cast<size_t>(k);
    s += std::string(k ? ", " : "") + names[k] + " " + opt_str(recall(static_cast<SizeBucket>(k))) +
         " " + std::to_string(found_by_size[i]) + "/" + std::to_string(vessels_by_size[i]);
  }
  s += ")  precision " + opt_str(precision()) + " (" + std::to_string(true_detections) + "/" +
       std::to_string(predicted) + ")  fragmentation " + opt_str(fragmentation()) +
       "  boundary F1 " + opt_str(boundary_f1()) + " (P " + opt_str(boundary_precision()) + " R " +
       opt_str(boundary_recall()) + ", " + std::to_string(kBoundaryTolerance) + " px)";
  return s;
}

}  // namespace dalnas
