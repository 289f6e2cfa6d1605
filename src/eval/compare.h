#pragma once
// The headline experiment: post-training FP16 conversion versus deployment-aligned
// fine-tuning, for one architecture and dataset, measured on the (emulated) device.
//
// Per seed:
//   (a) fp32_host       train in FP32, metrics on the host in FP32
//   (b) ptq_device      (a) converted after training, metrics on the device
//   (c) aligned_device  (a) fine-tuned E epochs aligned to the profile (--precision
//                       aligned: its conversions, range, accumulators, upsampling)
//   (d) control_device  (a) fine-tuned E epochs in FP32 (same schedule), on the device,
//                       so that a gain of (c) cannot be just more training
// All on the test scenes. gap_recovered = (c - b) / (a - b) on the seed means.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "device/profile.h"
#include "train/config.h"
#include "train/metrics.h"

namespace dalnas {

struct CompareOptions {
  TrainConfig train;  // (a)'s configuration; its seed is the first seed
  int seeds = 3;
  // Runs seeds first_seed .. first_seed + seeds - 1 (offsets from train.seed): one seed of a
  // comparison spread over MPI workers (dist/compare_jobs.h) computes what the whole
  // comparison computes for it. The numerics sweep belongs to offset 0.
  int first_seed = 0;
  int finetune_epochs = 5;
  double finetune_lr = 3e-4;  // fine-tuning learning rate for (c) and (d)
  std::string device = "myriadx";

  // Throws dalnas::Error naming `where` and the field.
  nlohmann::json to_json() const;
  static CompareOptions from_json(const nlohmann::json& j, const std::string& where);
  // When set, the first seed's networks (a) and (c) are saved there as fp32.ckpt and
  // aligned.ckpt (the report's image panels run them).
  std::string checkpoint_dir;
};

struct CompareRun {
  uint64_t seed = 0;
  Metrics fp32_host, ptq_device, aligned_device, control_device;
  int64_t ptq_nan_pixels = 0, aligned_nan_pixels = 0, control_nan_pixels = 0;
  double seconds = 0;
};

struct CompareResult {
  std::string genome, device, device_numerics, data;
  int64_t params = 0;
  std::vector<CompareRun> runs;
  std::vector<std::string> test_scenes;

  // Mean and sample standard deviation of mIoU over the seeds for one column.
  static std::pair<double, double> miou_stats(const std::vector<double>& v);
  std::vector<double> column(const std::string& which) const;  // fp32_host, ptq_device, ...
  double gap_recovered() const;                                // NaN when (a) - (b) is zero
  nlohmann::json to_json() const;
  // Reads what to_json() wrote (seconds per run included); throws dalnas::Error naming
  // `where` and the field.
  static CompareResult from_json(const nlohmann::json& j, const std::string& where);
  // One comparison of several parts (e.g. seeds run on different workers): runs ordered by
  // seed. Throws dalnas::Error if genome, device or data differ.
  static CompareResult merge(const std::vector<CompareResult>& parts);
  std::string csv() const;
  std::string table() const;
};

// Evaluates one checkpoint's test metrics under many device numerics at once (the sweep).
struct SweepRow {
  std::string variant;  // e.g. "acc=fp16 norm=folded prescale=on"
  double ptq_miou = 0, aligned_miou = 0, fp32_host_miou = 0;
  int64_t ptq_nan_pixels = 0;
};

using CompareProgress = std::function<void(const std::string& line)>;

CompareResult run_compare(const CompareOptions& opt, const CompareProgress& progress = {},
                          std::vector<SweepRow>* sweep = nullptr);

// The device variants of the sweep: accumulation {fp32, fp16-blocked:32, fp16} ×
// normalisation {host, folded} × pre-scaling {on, off}, starting from `base`.
std::vector<std::pair<std::string, DeviceProfile>> sweep_variants(const DeviceProfile& base);

}  // namespace dalnas
