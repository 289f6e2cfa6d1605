#pragma once
// Whether a retraining of `dalnas search` (the winner's in best/, a finalist's, the
// baseline's) finished before in a folder with the run's current recipe, so that a resumed
// run keeps it instead of training it again.
#include <nlohmann/json.hpp>
#include <string>

namespace dalnas::cli {

// True when `dir` holds model.ckpt and a metrics.json of `genome` trained (epochs > 0) with
// the recipe `final_train` (the run's [final_train]); its metrics are then in `m`. A
// metrics.json that does not parse counts as not finished.
bool retrained_before(const std::string& dir, const std::string& genome,
                      const nlohmann::json& final_train, nlohmann::json& m);

// True when `dir`/fp32 holds the FP32 twin of `dir`'s retraining, finished before: its
// model.ckpt and either the twin's metrics recorded in the seed's metrics `m`
// (m["fp32_twin"]) or, where the run stopped between the two (a twin that finished on a
// worker before its seed's retraining failed), the metrics saved in the checkpoint itself,
// of `genome` trained in FP32 (epochs > 0) with the recipe `final_train`. The twin's
// metrics are then in `twin`. A checkpoint that does not read counts as not finished.
bool twin_retrained_before(const std::string& dir, const std::string& genome,
                           const nlohmann::json& final_train, const nlohmann::json& m,
                           nlohmann::json& twin);

}  // namespace dalnas::cli
