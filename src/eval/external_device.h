#pragma once
// External devices: a real accelerator (or anything else) behind a command. dalnas writes the
// exported model (onnx/onnx_export.h) and a batch of input tiles as NumPy .npy files, runs
// the profile's command with a timeout, reads the output tiles back and computes the metrics
// itself. The protocol (files, shapes, dtypes, exit codes, timing) is in docs/devices.md.
//
// Profile (devices/<name>.toml), kind "external":
//   name = "ncs2"
//   kind = "external"
//   [external]
//   command = "python3 run.py {model} {inputs} {outputs} {timing}"   # required
//   timeout_s = 300            # per command run (default 600)
//   precision = "fp16"         # fp16 | fp32: which export the device gets (default fp16)
//   batch = 8                  # most tiles per command run (default 8)
//   fold_normalization = false # true: raw values in, normalisation is the model's first op
//   opset = 11                 # ONNX opset of the export (default 11)
//   workdir = ""               # where the files go (default: a new temporary folder)
//   keep_files = false         # keep inputs / outputs / the folder afterwards (debugging)
// Placeholders in `command` (each replaced by a shell-quoted value): {model} {inputs}
// {outputs} {timing} {workdir} {batch} {channels} {height} {width} {precision} {profile_dir}.
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "device/graph.h"
#include "device/profile.h"
#include "eval/device_eval.h"
#include "train/predict.h"

namespace dalnas {

struct ExternalProfile {
  std::string name, path;  // the profile's name and file
  std::string command;
  double timeout_s = 600;
  bool fp16 = true;
  int batch = 8;
  bool fold_normalization = false;
  int opset = 11;
  std::string workdir;
  bool keep_files = false;
};

// True for a profile with kind = "external".
bool is_external_profile(const DeviceProfile& p);
// "external:NAME" (a profile name or path) names an external device.
bool is_external_device(const std::string& device);
// NAME of "external:NAME"; other strings unchanged.
std::string external_profile_name(const std::string& device);
// The [external] table of a profile of kind "external". Throws dalnas::Error "<file>:
// external.<key>: <problem>" for a missing command, an unknown key or a bad value (a
// placeholder the command may not use included).
ExternalProfile parse_external_profile(const DeviceProfile& p);
ExternalProfile load_external_profile(const std::string& name_or_path);

// What the device's runs added up to.
struct ExternalStats {
  int calls = 0;               // command runs
  int64_t tiles = 0;           // tiles sent
  double command_seconds = 0;  // wall time of the command runs (model loading included)
  int64_t timed_tiles = 0;     // tiles whose run reported a timing file
  double device_ms = 0;        // sum over those tiles of the reported latency_ms
  double ms_per_tile() const { return timed_tiles > 0 ? device_ms / double(timed_tiles) : -1; }
};

class ExternalDevice {
 public:
  // `graph`: the network as lowered for this device (lower_for_external); it is exported once
  // per input size. Creates the work folder.
  ExternalDevice(DeviceGraph graph, ExternalProfile profile);
  ~ExternalDevice();
  ExternalDevice(const ExternalDevice&) = delete;
  ExternalDevice& operator=(const ExternalDevice&) = delete;

  // n images of C × H × W raw values (normalised here, in fp32, unless the graph folded the
  // normalisation) -> n outputs of the graph's output shape, one after the other. Runs the
  // command once per `batch` images. Throws dalnas::Error "device '<name>' (<file>): <what>"
  // on a timeout (dalnas::TransientError: a search evaluates the candidate again on resume),
  // a non-zero exit, a missing or malformed outputs file or a wrong shape.
  void run(const float* in, int n, const Shape& shape, float* out);
  // Tile runner for predict_scene_with (raw values in; one output channel).
  TileForward forward();

  const ExternalStats& stats() const { return stats_; }
  const std::string& workdir() const { return workdir_; }
  const ExternalProfile& profile() const { return profile_; }

 private:
  // Throws dalnas::Error naming the device (TransientError when `transient`).
  [[noreturn]] void fail(const std::string& what, bool transient = false) const;
  const std::string& model_for(const Shape& s);

  DeviceGraph graph_;
  ExternalProfile profile_;
  std::string workdir_;
  bool own_workdir_ = false;
  std::vector<std::pair<Shape, std::string>> models_;  // exported model per input shape
  ExternalStats stats_;
  std::mutex mutex_;
};

// Lowers `net` with `norm` and the profile's normalisation placement.
DeviceGraph lower_for_external(Network& net, const Normalization& norm, const ExternalProfile& p);

// Whole-scene metrics of the checkpoint on the external device (evaluate_on_device's
// external branch); device_ms_per_tile when the command reported timings.
DeviceMetrics evaluate_external(Checkpoint& ck, const ExternalProfile& p,
                                const std::vector<Scene>& scenes, const std::vector<int>& which,
                                const TileOptions& opt);

}  // namespace dalnas
