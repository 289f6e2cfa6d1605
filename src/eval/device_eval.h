#pragma once
// Metrics as the device would produce them: the checkpoint lowered to a DeviceGraph
// (device/lower.h) and run by the Emulator with a device profile's numerics, on whole
// scenes tile by tile exactly like the host evaluation (train/predict.h).
#include <string>
#include <vector>

#include "data/scene.h"
#include "device/emulator.h"
#include "device/int8_emulator.h"
#include "device/profile.h"
#include "train/checkpoint.h"
#include "train/predict.h"

namespace dalnas {

// `device`: "host" (libtorch FP32 forward), a profile name / path (devices/*.toml), or
// "external:NAME" for a profile of kind external (eval/external_device.h; a profile of that
// kind named without the prefix runs externally too).
bool is_host_device(const std::string& device);

// Tile runner for an emulator (raw values in: the emulator normalises on the host side
// or on the device, as the lowered graph says).
TileForward emulator_forward(const Emulator& emu, int threads = 0);

// Lowers `net` with `norm` and the profile's normalisation placement; `steps`: learned
// weight steps for the convolutions' Node::weight_scale (device/lower.h; an integer target
// deploys at them).
DeviceGraph lower_for(Network& net, const Normalization& norm, const DeviceProfile& profile,
                      const WeightSteps& steps = {});
// The same with the normalisation placement given directly (external devices).
DeviceGraph lower_for(Network& net, const Normalization& norm, bool fold_normalization,
                      const WeightSteps& steps = {});

// Whole-scene metrics of the checkpoint on `device` (see is_host_device). For an emulated
// device the result also counts pixels whose logit was NaN in `nan_pixels` (scored as
// background).
struct DeviceMetrics {
  Metrics metrics;
  std::string device;
  int64_t nan_pixels = 0;
  double device_ms_per_tile = -1;  // external devices that report timing (eval/external_device.h)
};
//
// An integer profile ([integer], device/int8_emulator.h) quantizes the network after
// training: activation ranges are calibrated on up to calibration_tiles tiles (of the
// evaluation's tile size) spread evenly over the `calibration` scenes - the training split,
// never the scenes evaluated - and the Int8Emulator runs the tiles. Without calibration
// scenes an integer profile is an error.
DeviceMetrics evaluate_on_device(Checkpoint& ck, const std::string& device,
                                 const std::vector<Scene>& scenes, const std::vector<int>& which,
                                 const TileOptions& opt, const DeviceProfile* profile = nullptr,
                                 const std::vector<int>* calibration = nullptr);

// An integer profile's post-training quantization of the checkpoint (what
// evaluate_on_device runs): the lowered graph in int8 form, the calibration tiles of the
// `calibration` scenes, each node's calibrated range and, where the profile says so, the
// checkpoint's trained ranges in place (`trained`: how many nodes took one). Throws
// dalnas::Error for a profile that is not integer or no calibration scenes.
struct Int8Setup {
  DeviceGraph form;
  std::vector<float> tiles;  // tile_count × bands × tile × tile raw values
  int tile_count = 0;
  std::vector<TensorRange> ranges;
  int trained = 0;
};
Int8Setup int8_setup(Checkpoint& ck, const DeviceProfile& profile, const std::vector<Scene>& scenes,
                     const TileOptions& opt, const std::vector<int>* calibration);
// Whole-scene metrics of `form` run by the Int8Emulator at `ranges` (metrics.params unset).
DeviceMetrics evaluate_int8(const DeviceGraph& form, const std::vector<TensorRange>& ranges,
                            const Int8Config& config, const std::vector<Scene>& scenes,
                            const std::vector<int>& which, const TileOptions& opt);

// Up to `count` tiles (bands × tile × tile each, raw values) spread evenly over the tile
// grid (step tile − overlap) of the listed scenes, in scene order; returns how many.
int calibration_tiles(const std::vector<Scene>& scenes, const std::vector<int>& which,
                      const TileOptions& opt, int count, std::vector<float>& out);

}  // namespace dalnas
