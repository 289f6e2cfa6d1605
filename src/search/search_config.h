#pragma once
// SearchConfig: every setting of one search, read from a TOML / JSON config (its tables
// below), resolved with defaults and written back whole to the run folder (config.toml),
// so that `--resume` and reports see exactly what ran.
//
//   [search]
//   strategy = "ga"            # ga | regularized-evolution | nsga2 | random
//   seed = 1                   # strategy, data split and every candidate's training seed
//   device = "myriadx"         # target profile (devices/*.toml) or "host"
//   input_size = [256, 256]    # H, W of one inference for the cost model
//   interface = "usb3"         # usb2 | usb3 (host link in the cost model)
//   shaves = 0                 # SHAVE cores the blob uses (0 = all)
//   requests = 1               # inferences in flight (>= 2: pipelined FPS)
//   max_evaluations = 0        # stop after this many evaluations (0: the strategy's budget)
//   time_budget_s = 0          # stop starting new evaluations after this (0: none)
//   screen = true              # the strategy does not propose a genome whose cost model
//                              # already breaks a hard constraint (fitness.constraints,
//                              # --max-latency): it draws again (search/strategy.h), so
//                              # such genomes take no evaluation, no place in the
//                              # population and no share of the budget; false: they are
//                              # proposed and rejected before training (the journal
//                              # holds them). Not part of evaluation_identity().
//   [strategy]                 # the strategy's parameters (search/ga.h, ...) over
//                              # default_strategy_params(strategy)
//   [search_space]             # core/search_space.h
//   [fitness]                  # search/fitness.h
//   [evaluation]
//   epochs = 6                 # training epochs per candidate (full fidelity)
//   split = "val"              # scenes whose device metrics enter the fitness
//   inheritance = true         # start from the parent's weights where layers match
//   inherit_min_share = 0.5    #   when at least this share of parameters is inherited
//   inherit_epochs = 3         #   and then train this many epochs instead of `epochs`
//   schedule = "two-stage"     # two-stage | rungs: how a from-scratch candidate spends epochs
//   multi_fidelity = true      # two-stage: train `low_epochs` first, the rest only when
//   low_epochs = 2             #   promising (multi_fidelity = false: `epochs` at once)
//   promote_fraction = 0.5     #   promoted: low-fidelity fitness in the top share so far
//   rungs = [1, 2, 4, 6]       # rungs: successive halving (search/rungs.h). A candidate
//                              #   trains to each rung's epoch count in turn, continuing
//                              #   from where it stopped on one learning-rate schedule of
//                              #   the last rung's length, and goes on only while its
//                              #   fitness is in the top 1/eta of the rung so far. Strictly
//                              #   increasing; the last rung is `epochs` (`epochs` may be
//                              #   left out: it is then the last rung; `rungs` may be
//                              #   left out: the default rungs below `epochs`, then it).
//   eta = 2                    #   keep the top 1/eta at each rung (> 1)
//   rung_chip_fraction = [1, 1, 1, 1]  # share of the training chips each epoch of a rung
//                              #   draws (seeded, different every epoch); one per rung,
//                              #   within (0, 1]; e.g. [0.25, 0.5, 1, 1] (left out with
//                              #   `rungs` given: 1 at every rung)
//   early_stop = false         #   stop before a rung when even mIoU 1 could not reach the
//                              #   rung's cutoff (the cost terms alone rule it out)
//   promotion = "eager"        #   "eager": promoted while in the top 1/eta of the rung so
//                              #   far rounded up (the first of a rung always goes on);
//                              #   "asha": ASHA's top floor(n/eta), so a rung promotes
//                              #   nobody until it holds eta scores (search/rungs.h)
//   rung_score = "kept"        #   the weights a rung is scored with (and saved): "kept",
//                              #   those training keeps (the lowest validation loss so
//                              #   far, as a finished run would), or "last", those of the
//                              #   rung's last epoch (training continues from the last
//                              #   either way; the retraining of the winner keeps the best)
//                              # (inherited candidates train inherit_epochs at once in
//                              # either schedule; the settings of the schedule not in use
//                              # are not part of evaluation_identity())
//   prefilter = "none"         # none | naswot | synflow | grad_norm: train a candidate
//   prefilter_keep = 0.5       #   only when that zero-cost score (eval/zero_cost.h, at
//   prefilter_warmup = 8       #   initialisation) ranks in the top prefilter_keep of the
//                              #   run's scores so far (search/prefilter.h); the first
//                              #   prefilter_warmup candidates all train; the others are
//                              #   rejected before training (either schedule)
//   final_epochs = 30          # the best genome is retrained this long into best/
//   final_fp32_twin = true     # with precision aligned: the best genome is also retrained
//                              # in FP32 (same epochs and seed) into best/fp32/, and
//                              # converted after training on the device, so that best/
//                              # holds the headline comparison for the winner
//   final_seeds = 1            # the best genome (and its twin) is retrained with this many
//                              # training seeds (search.seed, +1, ...): the first into best/
//                              # (deployed), the others into best/seeds/<seed>/; best/
//                              # metrics.json "over_seeds" gives mean and sd of each test
//                              # and val mIoU (one training's seed moves mIoU by ~0.01 on
//                              # sen2ships, as much as the networks of a search differ)
//   final_candidates = 1       # > 1: the search's top K feasible candidates (by fitness)
//                              # are each retrained like the winner (final_epochs,
//                              # [final_train], final_seeds seeds) into finalists/<id>/
//                              # <seed>/, and the winner is the one whose fitness with its
//                              # mean device mIoU over the seeds (on `split`, the search's
//                              # metric; cost metrics as the search measured them) is best
//                              # (search/finalists.h): one short training's score is mostly
//                              # seed on sen2ships, so its top-1 is partly luck. Its
//                              # retrainings become best/ and best/seeds/ (not trained again)
//   rescore_candidates = 0     # > 1: the search's top N feasible candidates are trained
//   rescore_folds = 3          # again from scratch as a candidate is (same schedule, no
//                              # inheritance) on each of rescore_folds cross-validation
//                              # folds of the scenes outside test ([train] split.folds:
//                              # every such scene validates in one fold), and the winner
//                              # (and the finalists) come from their fitness with the mean
//                              # device mIoU over the folds (search/rescore.h): selection on
//                              # all the non-test scenes instead of the two val scenes.
//                              # Costs N x folds candidate trainings after the time budget;
//                              # results in rescore/ (a resumed run keeps them)
//   baseline = ""              # a network to compare the winner with, e.g. "reference"
//                              # (a named genome, a genome string or pynas:<code>): it is
//                              # retrained like the winner (final_epochs, [final_train], the
//                              # same final_seeds seeds and scenes) into baseline/<seed>/, and
//                              # summary.json "baseline" and the report give the winner's
//                              # mIoU minus the baseline's per seed, its mean, the exact
//                              # paired p, and the latency and parameter ratios
//                              # (search/baseline.h). Costs final_seeds retrainings after the
//                              # winner's; a resumed run keeps those it finished
//   keep_checkpoints = true    # candidates' weights in checkpoints/ (needed to inherit)
//   measure_latency = false    # latency from the profile's [measure] table (a real device
//                              # or host timing) instead of the cost model
//   [train]                    # train/config.h (data, precision, batch, lr, tiling, ...)
//   [final_train]              # [train] keys that differ for the winner's retraining into
//                              # best/ (and its FP32 twin) only, e.g. the recipe of
//                              # `dalnas train` (lr = 3e-3, patience = 10, tiling = {size =
//                              # 128, stride = 64}) where the candidates train on a cheaper
//                              # one; merged over [train] key by key. Not part of
//                              # evaluation_identity(); data, split, normalization,
//                              # precision, seed, epochs (evaluation.final_epochs), eval_tile
//                              # and eval_overlap cannot differ (the winner is retrained and
//                              # evaluated on the search's scenes, numerics and tiles)
//
// `train.epochs` is ignored (the [evaluation] epochs apply); `train.seed` is set from
// search.seed. Unknown keys are errors naming the table and key.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/search_space.h"
#include "search/fitness.h"

namespace dalnas {

struct EvaluationConfig {
  int epochs = 6;
  std::string split = "val";
  bool inheritance = true;
  double inherit_min_share = 0.5;
  int inherit_epochs = 3;
  std::string schedule = "two-stage";  // "two-stage" | "rungs"
  bool multi_fidelity = true;
  int low_epochs = 2;
  double promote_fraction = 0.5;
  std::vector<int> rungs = {1, 2, 4, 6};  // schedule "rungs": epochs at each rung
  double eta = 2.0;
  std::vector<double> rung_chip_fraction = {1, 1, 1, 1};  // one per rung
  bool early_stop = false;
  std::string rung_score = "kept";  // kept | last
  std::string promotion = "eager";  // eager | asha (search/rungs.h)
  std::string prefilter = "none";   // none | naswot | synflow | grad_norm (search/prefilter.h)
  double prefilter_keep = 0.5;      // the top share that trains, within (0, 1)
  int prefilter_warmup = 8;         // the first candidates all train (the sample)
  bool uses_rungs() const { return schedule == "rungs"; }
  int final_epochs = 30;
  bool final_fp32_twin = true;
  int final_seeds = 1;
  int final_candidates = 1;    // the top K retrained and compared before the winner is chosen
  int rescore_candidates = 0;  // > 1: the top N re-scored on folds (search/rescore.h)
  int rescore_folds = 3;       // ... on this many folds of the scenes outside test
  std::string baseline;        // retrained like the winner and compared (search/baseline.h)
  bool keep_checkpoints = true;
  bool measure_latency = false;
};

struct SearchConfig {
  std::string strategy = "ga";
  uint64_t seed = 1;
  std::string device = "myriadx";
  int input_h = 256, input_w = 256;
  std::string interface = "usb3";
  int shaves = 0;
  int requests = 1;
  int64_t max_evaluations = 0;
  double time_budget_s = 0;
  // A transient failure (search/evaluator.h) is evaluated again at once up to this many
  // times before it is recorded; a resumed search evaluates recorded ones again anyway.
  int transient_retries = 0;
  bool screen = true;  // the strategy draws again for a genome the cost model rules out
  nlohmann::json strategy_params = nlohmann::json::object();
  SearchSpace space;
  FitnessConfig fitness;
  EvaluationConfig evaluation;
  nlohmann::json train = nlohmann::json::object();        // TrainConfig's JSON (train/config.h)
  nlohmann::json final_train = nlohmann::json::object();  // overrides of `train` for best/

  // The built-in default: a small search on the synthetic default data that finishes in
  // minutes on 2 cores (ga, population 12, 4 generations, 6 epochs per candidate (2 at low
  // fidelity, 3 when inherited), the best retrained 30 epochs). `dalnas search` without a
  // config file adds a 7-minute time budget as a safety net.
  static SearchConfig defaults();
  // The built-in default's parameters of each strategy (about 45 evaluations); a
  // [strategy] table replaces them key by key.
  static nlohmann::json default_strategy_params(const std::string& strategy);
  // Settings from `j` over defaults(); `where` names the file in errors.
  static SearchConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
  // The part of the configuration that determines a candidate's result (training, data,
  // device, evaluation, fitness inputs): its hash keys the journal's duplicate lookup.
  nlohmann::json evaluation_identity() const;
};

// "90", "90s", "30m", "2h", "1h30m" -> seconds; throws dalnas::Error naming `what`.
double parse_duration(const std::string& s, const std::string& what);

}  // namespace dalnas
