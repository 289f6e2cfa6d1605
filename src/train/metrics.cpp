#include "train/metrics.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace dalnas {

void ConfusionMatrix::add(const float* prob, const uint8_t* mask, size_t n, float threshold) {
  uint64_t tp_ = 0, fp_ = 0, fn_ = 0, tn_ = 0;
  for (size_t i = 0; i < n; ++i) {
    const bool pred = prob[i] >= threshold;  // NaN predicts background
    const bool truth = mask[i] != 0;
    tp_ += pred & truth;
    fp_ += pred & !truth;
    fn_ += !pred & truth;
    tn_ += !pred & !truth;
  }
  tp += tp_;
  fp += fp_;
  fn += fn_;
  tn += tn_;
}

static double ratio(uint64_t num, uint64_t den) {
  return den == 0 ? 1.0 : static_cast<double>(num) / static_cast<double>(den);
}

double ConfusionMatrix::iou_vessel() const {
  return ratio(tp, tp + fp + fn);
}
double ConfusionMatrix::iou_background() const {
  return ratio(tn, tn + fp + fn);
}
double ConfusionMatrix::precision() const {
  if (tp + fp == 0) return fn == 0 ? 1.0 : 0.0;
  return ratio(tp, tp + fp);
}
double ConfusionMatrix::recall() const {
  if (tp + fn == 0) return fp == 0 ? 1.0 : 0.0;
  return ratio(tp, tp + fn);
}
double ConfusionMatrix::f1() const {
  const uint64_t den = 2 * tp + fp + fn;
  return den == 0 ? 1.0 : 2.0 * static_cast<double>(tp) / static_cast<double>(den);
}
double ConfusionMatrix::accuracy() const {
  return ratio(tp + tn, total());
}

void Metrics::add_scene(const float* prob, const uint8_t* mask, int height, int width,
                        float threshold) {
  const size_t n = static_cast<size_t>(height) * static_cast<size_t>(width);
  cm.add(prob, mask, n, threshold);
  objects.add(prob, mask, height, width, threshold);
}

Metrics Metrics::from_json(const nlohmann::json& j, const std::string& where) {
  Metrics m;
  try {
    m.cm.tp = j.at("tp").get<uint64_t>();
    m.cm.fp = j.at("fp").get<uint64_t>();
    m.cm.fn = j.at("fn").get<uint64_t>();
    m.cm.tn = j.at("tn").get<uint64_t>();
    if (j.contains("params")) m.params = j.at("params").get<int64_t>();
    if (j.contains("objects")) m.objects = ObjectMetrics::from_json(j.at("objects"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": " + e.what());
  }
  return m;
}

nlohmann::json Metrics::to_json() const {
  nlohmann::json j = {{"miou", cm.miou()},
                      {"iou_background", cm.iou_background()},
                      {"iou_vessel", cm.iou_vessel()},
                      {"precision", cm.precision()},
                      {"recall", cm.recall()},
                      {"f1", cm.f1()},
                      {"accuracy", cm.accuracy()},
                      {"params", params},
                      {"tp", cm.tp},
                      {"fp", cm.fp},
                      {"fn", cm.fn},
                      {"tn", cm.tn}};
  if (objects.scenes > 0) j["objects"] = objects.to_json();
  return j;
}

std::string Metrics::summary() const {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "mIoU %.4f  IoU vessel %.4f  IoU background %.4f  precision %.4f  recall %.4f  "
                "F1 %.4f",
                cm.miou(), cm.iou_vessel(), cm.iou_background(), cm.precision(), cm.recall(),
                cm.f1());
  return buf;
}

std::string Metrics::objects_summary() const {
  return objects.scenes > 0 ? objects.summary() : std::string();
}

}  // namespace dalnas
