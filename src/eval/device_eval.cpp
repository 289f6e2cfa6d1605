#include "eval/device_eval.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/error.h"
#include "data/tiling.h"
#include "device/int8_emulator.h"
#include "device/lower.h"
#include "device/trained_ranges.h"
#include "eval/external_device.h"

namespace dalnas {

bool is_host_device(const std::string& device) {
  return device == "host";
}

TileForward emulator_forward(const Emulator& emu, int threads) {
  return [&emu, threads](const float* in, int n, int bands, int t, float* logits) {
    const auto out = emu.run_batch(in, n, Shape{bands, t, t}, threads);
    std::copy(out.begin(), out.end(), logits);
  };
}

DeviceGraph lower_for(Network& net, const Normalization& norm, bool fold_normalization,
                      const WeightSteps& steps) {
  LowerOptions lo;
  lo.norm_mean = norm.mean;
  lo.norm_std = norm.std;
  lo.fold_normalization = fold_normalization;
  lo.weight_steps = steps;
  return lower(net, lo);
}

DeviceGraph lower_for(Network& net, const Normalization& norm, const DeviceProfile& profile,
                      const WeightSteps& steps) {
  return lower_for(net, norm, profile.fold_normalization, steps);
}

int calibration_tiles(const std::vector<Scene>& scenes, const std::vector<int>& which,
                      const TileOptions& opt, int count, std::vector<float>& out) {
  struct At {
    int scene, y, x;
  };
  std::vector<At> grid;
  for (int i : which) {
    const Scene& s = scenes.at(static_cast<size_t>(i));
    for (int y : tile_origins(s.height, opt.tile, opt.overlap)) {
      for (int x : tile_origins(s.width, opt.tile, opt.overlap)) grid.push_back({i, y, x});
    }
  }
  const int n = std::min<int>(count, static_cast<int>(grid.size()));
  if (n < 1) return 0;
  const int bands = scenes.at(static_cast<size_t>(grid[0].scene)).bands;
  const int64_t per = static_cast<int64_t>(bands) * opt.tile * opt.tile;
  out.assign(static_cast<size_t>(per * n), 0.0f);
  for (int k = 0; k < n; ++k) {
    // Evenly spread: the k-th of n over the grid (the first and, for n > 1, the last).
    const size_t g = n == 1 ? 0 : static_cast<size_t>(int64_t{k} * (grid.size() - 1) / (n - 1));
    const At& a = grid[g];
    extract_chip(scenes[static_cast<size_t>(a.scene)], a.y, a.x, opt.tile, out.data() + per * k,
                 nullptr);
  }
  return n;
}

namespace {
// The listed scenes predicted tile by tile with `run`: metrics and NaN pixels added to r.
void score_scenes(const TileForward& run, const std::vector<Scene>& scenes,
                  const std::vector<int>& which, const TileOptions& opt, DeviceMetrics& r) {
  for (int i : which) {
    const auto prob = predict_scene_with(run, scenes[static_cast<size_t>(i)], nullptr, opt);
    const Scene& s = scenes[static_cast<size_t>(i)];
    r.metrics.add_scene(prob.data(), s.mask.data(), s.height, s.width);
    r.nan_pixels += std::count_if(prob.begin(), prob.end(), [](float p) { return std::isnan(p); });
  }
}
}  // namespace

Int8Setup int8_setup(Checkpoint& ck, const DeviceProfile& profile, const std::vector<Scene>& scenes,
                     const TileOptions& opt, const std::vector<int>* calibration) {
  if (!profile.integer) throw Error("device '" + profile.name + "' is not an integer profile");
  if (calibration == nullptr || calibration->empty()) {
    throw Error("device '" + profile.name +
                "': post-training int8 quantization needs calibration scenes (the training "
                "split); none were given");
  }
  Int8Setup s;
  const Int8Config& ic = *profile.integer;
  const Shape tile{ck.bands, opt.tile, opt.tile};
  DeviceGraph g = lower_for(ck.net, ck.norm, profile, trained_weight_steps(ck));
  g.infer_shapes(tile);
  s.form = int8_form(g, tile);
  s.tile_count = calibration_tiles(scenes, *calibration, opt, ic.calibration_tiles, s.tiles);
  s.ranges = calibrate_ranges(s.form, s.tiles.data(), s.tile_count, tile, ic);
  if (ic.trained_ranges) s.trained = apply_trained_ranges(s.form, trained_act_ranges(ck), s.ranges);
  return s;
}

DeviceMetrics evaluate_int8(const DeviceGraph& form, const std::vector<TensorRange>& ranges,
                            const Int8Config& config, const std::vector<Scene>& scenes,
                            const std::vector<int>& which, const TileOptions& opt) {
  const Int8Emulator e(form, ranges, config);
  const int threads = at::get_num_threads();
  const TileForward run = [&e, threads](const float* in, int n, int bands, int t, float* logits) {
    const auto out = e.run_batch(in, n, Shape{bands, t, t}, threads);
    std::copy(out.begin(), out.end(), logits);
  };
  DeviceMetrics r;
  score_scenes(run, scenes, which, opt, r);
  return r;
}

DeviceMetrics evaluate_on_device(Checkpoint& ck, const std::string& device,
                                 const std::vector<Scene>& scenes, const std::vector<int>& which,
                                 const TileOptions& opt, const DeviceProfile* profile,
                                 const std::vector<int>* calibration) {
  DeviceMetrics r;
  r.device = device;
  if (is_host_device(device)) {
    r.metrics = evaluate_scenes(ck.net, scenes, which, ck.norm, opt);
    return r;
  }
  DeviceProfile loaded;
  if (!profile) {
    loaded = load_profile(external_profile_name(device));
    profile = &loaded;
  }
  if (is_external_device(device) || is_external_profile(*profile)) {
    return evaluate_external(ck, parse_external_profile(*profile), scenes, which, opt);
  }
  if (profile->integer) {
    const Int8Setup q = int8_setup(ck, *profile, scenes, opt, calibration);
    r = evaluate_int8(q.form, q.ranges, *profile->integer, scenes, which, opt);
    r.device = device;
    r.metrics.params = count_parameters(*ck.net);
    return r;
  }
  DeviceGraph g = lower_for(ck.net, ck.norm, *profile);
  g.infer_shapes(Shape{ck.bands, opt.tile, opt.tile});
  // --threads (set_threads) reaches the emulators through libtorch's thread count.
  const int threads = at::get_num_threads();
  const Emulator emu(g, profile->emulator_config());
  const TileForward run = emulator_forward(emu, threads);
  score_scenes(run, scenes, which, opt, r);
  r.metrics.params = count_parameters(*ck.net);
  return r;
}

}  // namespace dalnas
