// dalnas eval: metrics of a trained model on whole scenes, on the host or as a device computes.
#include <cstdio>
#include <set>

#include "cli/checkpoint_data.h"
#include "cli/commands.h"
#include "core/error.h"
#include "data/dataset.h"
#include "eval/calibration_sensitivity.h"
#include "eval/device_eval.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/experiment.h"
#include "train/predict.h"

namespace dalnas::cli {

namespace {
struct EvalArgs {
  std::string model, data, split = "test", device = "host";
  std::string sensitivity;  // --sensitivity METHOD (integer devices)
  int threads = 0, tile = 0, overlap = -1;
  bool json = false;
};
}  // namespace

void add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained model on whole scenes");
  auto a = std::make_shared<EvalArgs>();
  cmd->add_option("--model", a->model, "Checkpoint (model.ckpt)")->required();
  cmd->add_option("--data", a->data, "Dataset (default: the one the model was trained on)");
  cmd->add_option("--split", a->split,
                  "train, val, test (the model's own scene split) or all (every scene)")
      ->check(CLI::IsMember({"train", "val", "test", "all"}));
  cmd->add_option(
      "--device", a->device,
      "Where the network runs: host (FP32 libtorch here), a device profile "
      "emulated bit for bit (myriadx, fp16-ideal, fp32, int8-tflite, or a .toml path), or "
      "external:PROFILE, a real device behind a command (docs/devices.md)");
  cmd->add_option("--sensitivity", a->sensitivity,
                  "Integer devices: quantize with the profile's calibration, then once per "
                  "layer with that layer's range alone from METHOD (minmax, percentile, "
                  "entropy, diffs, or trained: the ranges a quantization-aware network was "
                  "trained at, against re-calibration), and print each layer's mIoU change, "
                  "largest loss first")
      ->type_name("METHOD");
  cmd->add_option("--threads", a->threads, "CPU threads (default: all cores)");
  cmd->add_option("--tile", a->tile, "Tile side for whole-scene prediction (default: as trained)");
  cmd->add_option("--overlap", a->overlap, "Overlap between tiles (default: as trained)");
  cmd->add_flag("--json", a->json, "Print the metrics as one JSON object");

  cmd->callback([a]() {
    set_threads(a->threads);
    // Checked before anything is loaded: the method, and a device with calibration.
    SensitivityAlternative alternative;
    DeviceProfile profile;
    if (!a->sensitivity.empty()) {
      try {
        alternative = parse_sensitivity_alternative(a->sensitivity);
      } catch (const Error& e) {
        throw Error(std::string("--sensitivity: ") + e.what());
      }
      if (is_host_device(a->device))
        throw Error(
            "--sensitivity: needs an integer --device (int8-tflite, onnxruntime-int8, "
            "dpu-int8, ...), not host");
      profile = load_profile(a->device);
      if (!profile.integer)
        throw Error("--sensitivity: device '" + a->device +
                    "' is not an integer profile (no [integer] table)");
    }
    Checkpoint ck = load_checkpoint(a->model);
    const TrainConfig trained = trained_config(ck, a->model);
    const std::string data = a->data.empty() ? trained.data : a->data;
    std::vector<Scene> scenes = load_model_scenes(ck, trained, data);
    std::vector<int> which;
    if (a->split == "all") {
      for (size_t i = 0; i < scenes.size(); ++i) which.push_back(static_cast<int>(i));
    } else {
      const auto& names = ck.config["split_scenes"][a->split];
      for (const auto& n : names) {
        const std::string name = n.get<std::string>();
        auto it = std::find_if(scenes.begin(), scenes.end(),
                               [&](const Scene& s) { return s.name == name; });
        if (it == scenes.end())
          throw Error(data + ": has no scene '" + name + "' of the model's " + a->split +
                      " split; use --split all for data the model has never seen");
        which.push_back(static_cast<int>(it - scenes.begin()));
      }
      if (which.empty())
        throw Error(a->model + ": the model's " + a->split + " split is empty; use --split all");
    }
    TileOptions to;
    to.tile = a->tile > 0 ? a->tile : trained.eval_tile;
    to.overlap = a->overlap >= 0 ? a->overlap : trained.eval_overlap;
    if (to.overlap * 2 >= to.tile) throw Error("--overlap must be less than half of --tile");
    // Calibration scenes of an integer device: the model's training scenes found in --data.
    const std::vector<int> calib = split_scene_indices(ck, scenes, "train");
    if (!a->sensitivity.empty()) {
      const CalibrationSensitivity r =
          calibration_sensitivity(ck, profile, alternative, scenes, which, to, &calib);
      if (a->json) {
        nlohmann::json rows = nlohmann::json::array();
        for (const auto& n : r.nodes)
          rows.push_back({{"node", n.node},
                          {"base_range", {n.base.min, n.base.max}},
                          {"alternative_range", {n.alternative.min, n.alternative.max}},
                          {"miou", n.miou},
                          {"delta", n.delta}});
        std::printf("%s\n", nlohmann::json{{"device", a->device},
                                           {"split", a->split},
                                           {"base", r.base_method},
                                           {"alternative", r.alternative_method},
                                           {"base_miou", r.base_miou},
                                           {"alternative_miou", r.alternative_miou},
                                           {"nodes", rows}}
                                .dump()
                                .c_str());
      } else {
        std::printf("model   %s\ndevice  %s, split %s (%zu scenes)\n\n%s", a->model.c_str(),
                    a->device.c_str(), a->split.c_str(), which.size(), r.table().c_str());
      }
      return;
    }
    const DeviceMetrics dm = evaluate_on_device(ck, a->device, scenes, which, to, nullptr, &calib);
    const Metrics& m = dm.metrics;
    nlohmann::json j = m.to_json();
    j["genome"] = ck.genome.str();
    j["device"] = a->device;
    if (!is_host_device(a->device)) j["nan_pixels"] = dm.nan_pixels;
    if (dm.device_ms_per_tile >= 0) j["device_ms_per_tile"] = dm.device_ms_per_tile;
    j["split"] = a->split;
    j["scenes"] = scene_names(scenes, which);
    if (a->json) {
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("model   %s\n", a->model.c_str());
      std::printf("genome  %s (%lld parameters)\n", ck.genome.str().c_str(),
                  static_cast<long long>(m.params));
      std::printf("data    %s, split %s (%zu scenes), device %s\n", data.c_str(), a->split.c_str(),
                  which.size(), a->device.c_str());
      std::printf("%s\n", m.summary().c_str());
      std::printf("%s\n", m.objects_summary().c_str());
      if (dm.device_ms_per_tile >= 0)
        std::printf("device  %.3f ms per %dx%d tile (as the device reported)\n",
                    dm.device_ms_per_tile, to.tile, to.tile);
      if (dm.nan_pixels > 0)
        std::printf("warning: %lld pixels came out NaN on the device (scored as background)\n",
                    static_cast<long long>(dm.nan_pixels));
    }
  });
}

}  // namespace dalnas::cli
