#pragma once
// The census: where does the deployment gap come from? For every genome × input pipeline,
// the four arms of the headline experiment (eval/compare.h) on the target profile, then
// an ablation that switches each device behaviour off one at a time (the trained networks
// are reused; only the device evaluation is repeated), so that a gap is attributed to
// the behaviours that cause it.
//
// Input pipelines (how the network sees its input and where normalisation runs):
//   host   per-band standardisation on the host in fp32, FP16 sent to the device;
//   model  the same statistics applied on the device (Model Optimizer --mean_values /
//          --scale_values: a ScaleShift after the input conversion);
//   raw    no normalisation: the network is trained on the raw values (`raw_scale`: 1
//          for digital numbers, 1e-4 for reflectance), which the host casts and sends.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "device/profile.h"
#include "train/config.h"
#include "train/metrics.h"

namespace dalnas {

// One device behaviour of the profile and how to switch it off.
struct Behaviour {
  std::string name;         // e.g. "prescale"
  std::string description;  // one line
  std::function<void(DeviceProfile&)> switch_off;
  // Whether the behaviour can touch this lowered graph at all (structural behaviours:
  // tiling needs a convolution split over input channels, the pooling quirk a padded
  // average pooling on the engine). Unset: always. Where it cannot, switching it off
  // changes nothing and the census records (b) without evaluating again.
  std::function<bool(const DeviceGraph&, const DeviceProfile&)> applies;
};
// The behaviours of the Myriad pipeline (device/numerics.h), each switched off toward
// the ideal FP16 machine: conversions, prescale, growing-output, tiling, accumulation,
// interpolation, avgpool-borders, shave-activations, flush (subnormals kept), overflow
// (saturation instead of inf), and "all" (every one of them off at once).
std::vector<Behaviour> device_behaviours();
// The behaviours of an integer profile ([integer], device/int8_config.h), each switched
// off toward a finer format where the format runs it: per-channel (one weight scale a
// channel where the profile has one a tensor), reduce-range (weights over [-127, 127]),
// int4-weights (the rule's int4w layers in int8), int8-activations (the rule's int8
// layers with int16 activations, TFLite's 16x8), first-last (the first block and the
// head in fp16), calibration (min / max instead of a clipping calibration), the DPU's
// arithmetic quirks on dpu-int8 (bias-8bit, pool-divisor, add-alignment, hardswish: each
// the exact operation instead, device/int8_config.h), and "all" (every layer of the rule
// in fp16). A row applies only where the format runs it and the graph has what it changes.
std::vector<Behaviour> integer_behaviours();
// integer_behaviours() for an integer profile, else device_behaviours().
std::vector<Behaviour> behaviours_for(const DeviceProfile& profile);
// The profile for one pipeline (host / model / raw): the input placement set on `base`.
// On an integer profile, model normalises in the graph (input = "folded": the host
// quantizes the raw values, a depthwise 1x1 convolution normalises them on the device).
DeviceProfile profile_for_pipeline(const DeviceProfile& base, const std::string& pipeline);

struct CensusOptions {
  TrainConfig train;                 // training of arm (a); seed = the census seed
  std::vector<std::string> genomes;  // genome strings (named genomes resolved by the caller)
  std::vector<std::string> pipelines{"host", "model", "raw"};
  float raw_scale = 1.0f;  // raw pipeline: value = DN · raw_scale
  int finetune_epochs = 2;
  double finetune_lr = 3e-4;
  std::string device = "myriadx";
  bool ablate = true;
  // Also evaluate (c) under each ablation (doubles the ablation's cost); otherwise the
  // ablation rows hold (b) only and aligned_miou is NaN.
  bool ablate_aligned = false;

  // The whole options (for a census spread over MPI workers, dist/census_jobs.h); from_json
  // throws dalnas::Error naming `where` and the field.
  nlohmann::json to_json() const;
  static CensusOptions from_json(const nlohmann::json& j, const std::string& where);
};

// The census's independent units of work: per genome, the pipelines that share trained
// networks ((a) and (d) depend only on the normalisation: host and model share them, raw
// trains its own), in the order run_census() runs them. A census spread over workers hands
// out units; order_cells() puts the cells back in run_census()'s order (genomes, then
// pipelines, as in the options).
struct CensusUnit {
  std::string genome;
  std::vector<std::string> pipelines;
};
std::vector<CensusUnit> census_units(const CensusOptions& opt);

struct Ablation {
  std::string behaviour;
  bool applies = true;  // false: no layer of the network has the behaviour
  double ptq_miou = 0, aligned_miou = 0;
  int64_t ptq_nan_pixels = 0;
  // Why the device could not run the network with the behaviour off (e.g. 16-bit
  // activations in a layer whose activation has no int16 kernel); then ptq_miou and
  // aligned_miou are NaN and the row counts in no mean. Empty: it ran.
  std::string failure;
};

struct CensusCell {
  std::string genome, pipeline;
  int64_t params = 0;
  Metrics fp32_host, ptq_device, aligned_device, control_device;
  int64_t ptq_nan_pixels = 0, aligned_nan_pixels = 0;
  std::string aligned_failure;  // why aligned fine-tuning failed (empty: it did not)
  // Aligned fine-tuning: training chips left out because the device reads their input as
  // non-finite, and steps skipped for a non-finite loss, summed over epochs (train/trainer.h).
  int64_t aligned_dropped_chips = 0, aligned_skipped_steps = 0;
  std::string failure;  // why the cell failed as a whole (training of (a) or (d))
  std::vector<Ablation> ablations;
  double seconds = 0;

  double gap() const { return fp32_host.cm.miou() - ptq_device.cm.miou(); }
  nlohmann::json to_json() const;
  // Throws dalnas::Error naming `where` on a malformed cell.
  static CensusCell from_json(const nlohmann::json& j, const std::string& where);
  // What switching `behaviour` off gives back of the post-conversion gap (mIoU).
  double attributed(const Ablation& a) const { return a.ptq_miou - ptq_device.cm.miou(); }
};

struct CensusResult {
  std::string device, data;
  std::vector<std::string> test_scenes;
  std::vector<CensusCell> cells;
  double seconds = 0;
  nlohmann::json to_json() const;
  std::string csv() const;    // one row per cell × (none + behaviour)
  std::string table() const;  // the text table with what it found
  // Reads what to_json() wrote (census.json); throws dalnas::Error naming `where` and the
  // field on a malformed file.
  static CensusResult from_json(const nlohmann::json& j, const std::string& where);
  // One census of several (e.g. parts run on different machines or processes): cells in
  // order, seconds summed. Throws dalnas::Error if device, data or test scenes differ.
  static CensusResult merge(const std::vector<CensusResult>& parts);
};

void order_cells(std::vector<CensusCell>& cells, const CensusOptions& opt);

// Resuming a census (`dalnas compare --resume DIR`): the cells of `previous` kept are those
// of every unit (census_units) whose cells are all there and did not fail; a unit cut short
// or with a failed cell runs again whole (its cells share the unit's training). Sets
// (*unit_done)[u] for each unit kept. Cells come back in the options' order.
std::vector<CensusCell> census_cells_kept(const CensusOptions& opt, const CensusResult& previous,
                                          std::vector<bool>* unit_done = nullptr);
// Why a census made with `before` cannot be resumed with `now`: the first setting that
// differs ("/train/epochs is 4 in the folder and 3 now"), or "" when none does. Thread
// counts may differ (they change the time, not what is computed).
std::string census_options_mismatch(const CensusOptions& before, const CensusOptions& now);

using CensusProgress = std::function<void(const std::string& line)>;
// Where a census run starts (run_census, dist::run_census_mpi): a result with the device's
// name and the data, and, with `previous` (a resumed census), its kept cells, test scenes and
// seconds so far; the census's units, with done[u] for each unit kept. Says "resumed: K cells kept,
// L of U units to run" through `progress` when resuming.
struct CensusStart {
  CensusResult result;
  std::vector<CensusUnit> units;  // census_units(opt)
  std::vector<bool> done;         // per unit
};
CensusStart census_start(const CensusOptions& opt, const std::string& device,
                         const CensusResult* previous, const CensusProgress& progress);
// `on_cell` is called after each finished cell (e.g. to write partial results), with the
// cells in the options' order. With `previous` (a resumed census), its kept cells
// (census_cells_kept) are not run again and its seconds count toward the result's.
CensusResult run_census(const CensusOptions& opt, const CensusProgress& progress = {},
                        const std::function<void(const CensusResult&)>& on_cell = {},
                        const CensusResult* previous = nullptr);

}  // namespace dalnas
