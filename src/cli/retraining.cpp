#include "cli/retraining.h"

#include <filesystem>

#include "core/atomic_file.h"
#include "train/checkpoint_file.h"

namespace dalnas::cli {
namespace {

// Whether a retraining's metrics say it trained `genome` (epochs > 0) with `final_train`.
bool same_recipe(const nlohmann::json& m, const std::string& genome,
                 const nlohmann::json& final_train) {
  return m.value("genome", std::string()) == genome && m.value("epochs", -1) > 0 &&
         m.value("final_train", nlohmann::json::object()) == final_train;
}

}  // namespace

bool retrained_before(const std::string& dir, const std::string& genome,
                      const nlohmann::json& final_train, nlohmann::json& m) {
  namespace fs = std::filesystem;
  if (!fs::exists(dir + "/metrics.json") || !fs::exists(dir + "/model.ckpt")) return false;
  try {
    const auto prev = nlohmann::json::parse(read_file(dir + "/metrics.json"));
    if (!same_recipe(prev, genome, final_train)) return false;
    m = prev;
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

bool twin_retrained_before(const std::string& dir, const std::string& genome,
                           const nlohmann::json& final_train, const nlohmann::json& m,
                           nlohmann::json& twin) {
  const std::string ckpt = dir + "/fp32/model.ckpt";
  if (!std::filesystem::exists(ckpt)) return false;
  if (m.contains("fp32_twin")) {
    twin = m["fp32_twin"];
    return true;
  }
  try {
    const CheckpointMeta meta =
        parse_checkpoint_meta(decode_checkpoint_container(read_file(ckpt), ckpt).meta, ckpt);
    const nlohmann::json& x = meta.metrics;
    if (!same_recipe(x, genome, final_train) || x.value("precision", std::string()) != "fp32")
      return false;
    twin = x;
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace dalnas::cli
