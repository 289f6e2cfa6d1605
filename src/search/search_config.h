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
//   multi_fidelity = true      # train `low_epochs` first, the rest only when promising
//   low_epochs = 2
//   promote_fraction = 0.5     # promoted: low-fidelity fitness in the top share so far
//   final_epochs = 30          # the best genome is retrained this long into best/
//   keep_checkpoints = true    # candidates' weights in checkpoints/ (needed to inherit)
//   measure_latency = false    # latency from the profile's [measure] table (a real device
//                              # or host timing) instead of the cost model
//   [train]                    # train/config.h (data, precision, batch, lr, tiling, ...)
//
// `train.epochs` is ignored (the [evaluation] epochs apply); `train.seed` is set from
// search.seed. Unknown keys are errors naming the table and key.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/search_space.h"
#include "search/fitness.h"

namespace dalnas {

struct EvaluationConfig {
  int epochs = 6;
  std::string split = "val";
  bool inheritance = true;
  double inherit_min_share = 0.5;
  int inherit_epochs = 3;
  bool multi_fidelity = true;
  int low_epochs = 2;
  double promote_fraction = 0.5;
  int final_epochs = 30;
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
  nlohmann::json strategy_params = nlohmann::json::object();
  SearchSpace space;
  FitnessConfig fitness;
  EvaluationConfig evaluation;
  nlohmann::json train = nlohmann::json::object();  // TrainConfig's JSON (train/config.h)

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
