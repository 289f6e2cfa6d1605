#include "cli/retraining.h"

#include <filesystem>

#include "core/atomic_file.h"

namespace dalnas::cli {

bool retrained_before(const std::string& dir, const std::string& genome,
                      const nlohmann::json& final_train, nlohmann::json& m) {
  namespace fs = std::filesystem;
  if (!fs::exists(dir + "/metrics.json") || !fs::exists(dir + "/model.ckpt")) return false;
  try {
    const auto prev = nlohmann::json::parse(read_file(dir + "/metrics.json"));
    if (prev.value("genome", std::string()) != genome || prev.value("epochs", -1) <= 0 ||
        prev.value("final_train", nlohmann::json::object()) != final_train)
      return false;
    m = prev;
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace dalnas::cli
