#pragma once
// Training options shared by `dalnas train` and `dalnas compare`: flags override
// --set KEY=VALUE (any TrainConfig key, dotted into its tables), which overrides the
// values of --config FILE (TOML or JSON), which override TrainConfig's defaults.
#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "train/config.h"

namespace dalnas::cli {

struct TrainArgs {
  std::string config_file;
  std::string out;
  bool json = false;
  bool quiet = false;
  std::map<std::string, std::string> set;  // flag key -> value as typed
  std::vector<std::string> overrides;      // --set key=value, in order
};

// Adds --config, --data, --arch, --precision, --epochs, ... to `cmd`.
void add_train_options(CLI::App* cmd, const std::shared_ptr<TrainArgs>& a);
// The resolved, validated configuration.
TrainConfig resolve_train_config(const TrainArgs& a);

}  // namespace dalnas::cli
