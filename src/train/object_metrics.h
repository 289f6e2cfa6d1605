#pragma once
// Object-level (vessel-level) metrics on whole-scene masks, accumulated over a dataset.
//
// Vessels are the 8-connected components of the ground-truth mask; predicted objects are the
// 8-connected components of the predicted mask (probability >= threshold; NaN is background).
// Masks must be whole scenes: a component cut at a chip border would count twice.
//
// The rules (kMatchIoU = 0.3):
// - IoU of a vessel g and a predicted component p: |g ∩ p| / |g ∪ p| in pixels.
// - The centroid of a vessel is the mean of its pixels' (row, column); the pixel that "holds"
//   it is (floor(row + 0.5), floor(column + 0.5)). A predicted component covers the centroid
//   when that pixel belongs to it (for a bent vessel the pixel may lie outside the vessel).
// - A vessel is found when some predicted component has IoU >= 0.3 with it or covers its
//   centroid. Recall = found vessels / vessels.
// - A predicted component is a true detection when it has IoU >= 0.3 with some vessel or
//   covers some vessel's centroid. Precision = true detections / predicted components.
// - Fragmentation = the mean, over found vessels, of the number of predicted components that
//   share at least one pixel with the vessel, counted as 1 when none does (a vessel found only
//   by a component covering a centroid pixel outside the vessel). 1.0 = every found vessel in
//   one piece.
// - Size buckets by a vessel's area in pixels: small < 30, medium 30..100 (both inclusive),
//   large > 100. Recall per bucket; precision has no bucket (a false positive has no vessel).
//
// Boundary F1 at a tolerance of kBoundaryTolerance = 2 px:
// - The boundary of a mask: its foreground pixels that have at least one 4-neighbour (up,
//   down, left, right) in the background; pixels outside the image count as background, so a
//   mask touching the scene's edge has a boundary along it. A 1-pixel-wide shape is all
//   boundary.
// - Distance is chessboard (Chebyshev, max(|dy|, |dx|)): a boundary pixel is matched when the
//   other mask has a boundary pixel in the 5x5 window centred on it.
// - Boundary precision = matched predicted boundary pixels / predicted boundary pixels;
//   boundary recall = matched ground-truth boundary pixels / ground-truth boundary pixels;
//   F1 = their harmonic mean, pixels summed over the whole dataset before any ratio.
//
// Undefined values are std::nullopt (JSON null, "n/a" in text), never a silent 0 or 1: recall
// with no vessel, precision with no predicted component, fragmentation with no found vessel,
// boundary precision (recall) with no predicted (ground-truth) boundary pixel. Boundary F1 is
// undefined when both are undefined, 0 when exactly one is (one mask empty, the other not).
#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dalnas {

// 8-connected components of `mask` (non-zero = foreground), height × width row-major:
// `labels` receives 0 for background and 1..n per component, numbered in raster order of
// their first pixel. Returns n. Two-pass union-find, O(pixels).
int label_components(const uint8_t* mask, int height, int width, std::vector<int32_t>& labels);

// `out[i]` = 1 where pixel i is a boundary pixel of `mask` (the definition above), else 0.
void boundary_pixels(const uint8_t* mask, int height, int width, std::vector<uint8_t>& out);

enum class SizeBucket : int { Small = 0, Medium = 1, Large = 2 };
constexpr int kSizeBuckets = 3;
constexpr int64_t kSmallBelowPx = 30;   // small: area < 30
constexpr int64_t kLargeAbovePx = 100;  // large: area > 100; medium: 30..100
SizeBucket size_bucket(int64_t area_px);
const char* to_string(SizeBucket b);  // "small", "medium", "large"

struct ObjectMetrics {
  static constexpr double kMatchIoU = 0.3;
  static constexpr int kBoundaryTolerance = 2;  // pixels, chessboard distance

  int64_t scenes = 0;           // masks added
  int64_t vessels = 0;          // ground-truth components
  int64_t found = 0;            // vessels found
  int64_t predicted = 0;        // predicted components
  int64_t true_detections = 0;  // predicted components matching some vessel
  int64_t fragments = 0;        // summed over found vessels (see fragmentation())
  std::array<int64_t, kSizeBuckets> vessels_by_size{}, found_by_size{};
  int64_t pred_boundary = 0, pred_boundary_matched = 0;
  int64_t gt_boundary = 0, gt_boundary_matched = 0;

  // One whole scene: `pred` and `gt` non-zero = vessel, height × width row-major.
  void add(const uint8_t* pred, const uint8_t* gt, int height, int width);
  // The same from probabilities: vessel where prob >= threshold (NaN = background), as
  // ConfusionMatrix::add.
  void add(const float* prob, const uint8_t* gt, int height, int width, float threshold = 0.5f);
  void merge(const ObjectMetrics& o);

  std::optional<double> recall() const;
  std::optional<double> recall(SizeBucket b) const;
  std::optional<double> precision() const;
  std::optional<double> fragmentation() const;
  std::optional<double> boundary_precision() const;
  std::optional<double> boundary_recall() const;
  std::optional<double> boundary_f1() const;

  // {recall, precision, fragmentation, boundary_f1, boundary_precision, boundary_recall,
  //  vessels, found, predicted, true_detections, fragments, by_size: {small, medium, large:
  //  {min_px, max_px, vessels, found, recall}}, pred_boundary, pred_boundary_matched,
  //  gt_boundary, gt_boundary_matched, match_iou, boundary_tolerance_px, boundary_distance,
  //  scenes}; undefined values are null.
  nlohmann::json to_json() const;
  // The counts back from to_json() (the ratios are recomputed); throws Error on a missing or
  // mistyped count.
  static ObjectMetrics from_json(const nlohmann::json& j);
  // One line: "vessels recall 0.8000 (8/10: <30 px 0.5000 (1/2), ...)  precision ...".
  std::string summary() const;
};

}  // namespace dalnas
