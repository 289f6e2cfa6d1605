#include "cli/checkpoint_data.h"

#include "core/error.h"
#include "data/dataset.h"

namespace dalnas::cli {

TrainConfig trained_config(const Checkpoint& ck, const std::string& path) {
  nlohmann::json c = ck.config;
  c.erase("split_scenes");
  return TrainConfig::from_json(c, path + ": config");
}

std::vector<Scene> load_model_scenes(const Checkpoint& ck, const TrainConfig& trained,
                                     const std::string& data) {
  std::vector<Scene> scenes = load_dataset(data, trained.synthetic);
  if (scenes.front().bands != ck.bands) {
    throw Error(data + ": scenes have " + std::to_string(scenes.front().bands) +
                " bands but the model takes " + std::to_string(ck.bands));
  }
  return scenes;
}

std::vector<int> split_scene_indices(const Checkpoint& ck, const std::vector<Scene>& scenes,
                                     const std::string& split) {
  std::vector<int> which;
  if (!ck.config.contains("split_scenes") || !ck.config["split_scenes"].contains(split)) {
    return which;
  }
  for (const auto& n : ck.config["split_scenes"][split]) {
    const std::string name = n.get<std::string>();
    for (size_t i = 0; i < scenes.size(); ++i) {
      if (scenes[i].name == name) {
        which.push_back(static_cast<int>(i));
        break;
      }
    }
  }
  return which;
}

}  // namespace dalnas::cli
