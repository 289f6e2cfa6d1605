#pragma once
// Segmentation metrics from a dataset-level confusion matrix (pixels summed over every
// image before any ratio is taken, as the paper reports mIoU), and, for whole scenes,
// vessel-level metrics (train/object_metrics.h).
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "train/object_metrics.h"

namespace dalnas {

struct ConfusionMatrix {
  uint64_t tp = 0, fp = 0, fn = 0, tn = 0;  // vessel = positive

  void add(const float* prob, const uint8_t* mask, size_t n, float threshold = 0.5f);
  void add(const ConfusionMatrix& o) {
    tp += o.tp;
    fp += o.fp;
    fn += o.fn;
    tn += o.tn;
  }
  uint64_t total() const { return tp + fp + fn + tn; }

  // A ratio whose denominator is zero is 1 when the numerator's class is absent
  // from both prediction and truth (nothing to find, nothing found), else 0.
  double iou_vessel() const;
  double iou_background() const;
  double miou() const { return 0.5 * (iou_vessel() + iou_background()); }
  double precision() const;
  double recall() const;
  double f1() const;
  double accuracy() const;
};

struct Metrics {
  ConfusionMatrix cm;
  ObjectMetrics objects;  // whole scenes only (add_scene); empty for chip-level metrics
  int64_t params = 0;
  double loss = 0.0;  // mean loss where known (validation), else 0

  // One whole scene (height × width): the confusion matrix and the vessel-level metrics.
  void add_scene(const float* prob, const uint8_t* mask, int height, int width,
                 float threshold = 0.5f);

  // {miou, iou_background, iou_vessel, precision, recall, f1, accuracy, params, tp, fp, fn, tn},
  // and "objects" (ObjectMetrics::to_json) when whole scenes were added.
  nlohmann::json to_json() const;
  // Reads what to_json() wrote (the confusion matrix, params and objects; the rest is derived
  // from them); throws dalnas::Error naming `where` and the field.
  static Metrics from_json(const nlohmann::json& j, const std::string& where);
  std::string summary() const;          // one line, pixel metrics
  std::string objects_summary() const;  // one line, vessel-level metrics ("" without scenes)
};

}  // namespace dalnas
