#pragma once
// CandidateEvaluator: the local evaluator of `dalnas search` (search/evaluator.h).
//
// Per candidate, in order of cost:
//   1. cost model (no training): the genome's network is lowered for the target profile
//      and the analytic model (cost/cost_model.h) gives latency, FPS, peak memory and
//      energy (cost/cost_model.h's model kind of the profile, with its measured lookup
//      table when it has one); parameters are counted. A hard constraint already violated
//      here rejects the candidate before any training (status rejected). With
//      evaluation.measure_latency the profile's [measure] table then measures the latency
//      (external command on the exported ONNX, or host timing) and it replaces the
//      estimate; a failed measurement fails the candidate ("unmeasured: <reason>").
//   2. training with the run's precision policy (fp16-aligned: FP16 projections in the
//      forward pass; fp32: the usual pipeline), from the weights of the first parent whose
//      layers match when inheritance is on (at least inherit_min_share of the parameters:
//      then inherit_epochs epochs), else from scratch for `epochs` epochs. With
//      multi-fidelity a from-scratch candidate trains low_epochs first; only when its
//      fitness at that point ranks in the top promote_fraction of the low-fidelity results
//      so far does it train the remaining epochs (successive halving, asynchronous form).
//      With schedule "rungs" a from-scratch candidate climbs evaluation.rungs instead
//      (search/rungs.h): trained to each rung's epochs (continuing from where it stopped,
//      one learning-rate schedule of the last rung's length, rung_chip_fraction of the
//      chips per epoch), scored on the device, and promoted while that fitness is in the top
//      1/eta of the rung's scores in `history` (evaluation.rung_score: with the weights
//      training keeps, or the last epoch's). Metrics: rung_fitness, rung_miou, rung_s (seconds
//      of training and device evaluation up to it; one per rung reached), rung (the last rung
//      reached, 0-based), promoted, early_stopped. Between rungs the weights and rung state are
//      saved to <run>/checkpoints/<genome hash>.rung.ck (atomically); an evaluation of the same
//      genome that finds that file (a search killed mid-candidate and resumed) continues from the
//      rung it records, and ends with the same result as an uninterrupted one
//      (metrics.resumed_at_rung says so). The file is removed when the candidate's evaluation ends.
//   3. lowering and emulation of the device on whole scenes of the evaluation split: the
//      mIoU that enters the fitness is the device's, for fp32 and fp16-aligned alike.
// Every candidate's weights are saved to <run>/checkpoints/<genome hash>.ck (parents for
// inheritance). A parent whose checkpoint cannot be read (truncated, corrupted) is skipped:
// the child trains from scratch (or from the next parent) and its metrics say why
// (inheritance_skipped). Divergence and dalnas::Error return status failed with the
// reason; an unmeasured latency, a device timeout (dalnas::TransientError) and running out
// of memory return a transient failure (evaluated again on resume); other exceptions
// (programming errors) propagate to the driver, which stops the search.
//
// Seeds: a candidate trains with a seed derived from the search seed and its genome, so a
// genome's result does not depend on when it was proposed.
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/genome.h"
#include "search/evaluator.h"
#include "search/search_config.h"

namespace dalnas {

// A search's prepared data (scenes, split, normalisation, the chip tensors: train/
// experiment.h's PreparedData), built once and shared read-only by every candidate of an
// evaluator and by evaluators of the same data settings.
struct SearchData;
struct PreparedData;
// The prepared data inside (e.g. the training chips for zero-cost scores).
const PreparedData& prepared_data(const SearchData& d);
// Prepares the data of `cfg`'s [train] table and seed (what the evaluator would build).
std::shared_ptr<const SearchData> prepare_search_data(const SearchConfig& cfg);

class CandidateEvaluator : public Evaluator {
 public:
  // Loads and prepares the data once (split and normalisation from the search seed) and
  // loads the device profile. Throws dalnas::Error for a bad [train] table, data or device.
  // `log` receives one line per training stage (may be empty). `data`: the prepared data to
  // share (prepare_search_data() or another evaluator's data()); it must be of the same data
  // settings (dalnas::Error otherwise); null: prepared here.
  CandidateEvaluator(const SearchConfig& cfg, std::string run_dir,
                     std::function<void(const std::string&)> log = {},
                     std::shared_ptr<const SearchData> data = nullptr);
  ~CandidateEvaluator() override;

  EvalOutcome evaluate(const Candidate& c, const std::vector<EvaluationRecord>& history) override;

  // The resolved training configuration (TrainConfig JSON) the candidates use.
  nlohmann::json train_config() const;
  int bands() const;
  // The prepared data every candidate trains on (shareable).
  std::shared_ptr<const SearchData> data() const;
  // Called after each rung of schedule "rungs" (rung index, 0-based) once its state file is
  // written; what it throws leaves the evaluation (tests simulate a kill with it).
  std::function<void(int rung)> on_rung;
  // Schedule "rungs" with rung_score "kept": also score each rung with its last epoch's
  // weights (metrics.rung_miou_last, one per rung reached; equal to rung_miou where the last
  // epoch is the kept one), for bench/proxy_fidelity to compare the two scores of one run.
  bool also_score_last = false;
  // Mixed into every candidate's training seed (initial weights, chip order, augmentation;
  // not the data, which is prepared once from the search seed): the same genome on the same
  // data with another seed, for bench/proxy_fidelity --repeat-full (how repeatable a full
  // training's score is). 0: the search's own seeds.
  uint64_t training_seed_salt = 0;
  // Latency / memory / energy / params of `g` on the target (step 1 alone), as metrics.
  nlohmann::json cost(const Genome& g) const;
  // Why step 1 would reject `g` (the hard constraints on cost(g)), or "" when it would not:
  // the screen `dalnas search` gives its strategy (SearchConfig::screen, search/strategy.h).
  // A genome whose cost cannot be computed passes (its evaluation then fails, saying why).
  std::string cost_rejection(const Genome& g) const;

  // Retrains `g` from scratch for evaluation.final_epochs epochs (the search seed) with the
  // candidates' [train] settings and [final_train] over them (its own chips where it changes
  // the tiling; metrics.final_train records the overrides), saves
  // <dir>/model.ckpt, exports <dir>/model-fp32.onnx and model-fp16.onnx at the search's
  // input size, and returns its metrics: host FP32 and device metrics on the val and test
  // splits, params, latency, FPS, peak memory, energy, the ONNX file names.
  // `fp32_twin`: train in FP32 whatever the search's precision (the same epochs and seed),
  // so that its device metrics are those of post-training conversion; no ONNX export.
  // `seed_offset` > 0: trained with the search seed + seed_offset (evaluation.final_seeds'
  // repetitions; metrics.seed records it); no ONNX export either.
  nlohmann::json train_final(
      const Genome& g, const std::string& dir,
      const std::function<void(int epoch, int total, double eta_s)>& on_epoch = {},
      bool fp32_twin = false, int seed_offset = 0);

  // The latency of `g` (ms) measured by the profile's [measure] table (an external command
  // on the exported ONNX, or host timing); false with `why` when unmeasured.
  bool measure(const Genome& g, double& ms, std::string& why) const;

  // Where candidate `g`'s weights are kept.
  std::string checkpoint_path(const Genome& g) const;
  // Where candidate `g`'s rung state is kept between rungs (schedule "rungs").
  std::string rung_state_path(const Genome& g) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The training seed of genome `g` in a search seeded `search_seed`.
uint64_t candidate_seed(uint64_t search_seed, const Genome& g);

}  // namespace dalnas
