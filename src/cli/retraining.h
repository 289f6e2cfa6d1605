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

}  // namespace dalnas::cli
