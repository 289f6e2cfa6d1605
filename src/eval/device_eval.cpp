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

DeviceGraph lower_for(Network& net, const Normalization& norm, bool fold_normalization) {
  LowerOptions lo;
  lo.norm_mean = norm.mean;
  lo.norm_std = norm.std;
  lo.fold_normalization = fold_normalization;
  return lower(net, lo);
}

DeviceGraph lower_for(Network& net, const Normalization& norm, const DeviceProfile& profile) {
  return lower_for(net, norm, profile.fold_normalization);
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
  DeviceGraph g = lower_for(ck.net, ck.norm, *profile);
  const Shape tile{ck.bands, opt.tile, opt.tile};
  g.infer_shapes(tile);
  // --threads (set_threads) reaches the emulators through libtorch's thread count.
  const int threads = at::get_num_threads();
  std::unique_ptr<Emulator> emu;
  std::unique_ptr<Int8Emulator> int8;
  TileForward run;
  if (profile->integer) {
    if (calibration == nullptr || calibration->empty()) {
      throw Error("device '" + profile->name +
                  "': post-training int8 quantization needs calibration scenes (the training "
                  "split); none were given");
    }
    const Int8Config& ic = *profile->integer;
    std::vector<float> tiles;
    const int n = calibration_tiles(scenes, *calibration, opt, ic.calibration_tiles, tiles);
    const DeviceGraph form = int8_form(g, tile);
    auto ranges = calibrate_ranges(form, tiles.data(), n, tile, ic);
    if (ic.trained_ranges) apply_trained_ranges(form, trained_act_ranges(ck), ranges);
    int8 = std::make_unique<Int8Emulator>(form, ranges, ic);
    const Int8Emulator* e = int8.get();
    run = [e, threads](const float* in, int n, int bands, int t, float* logits) {
      const auto out = e->run_batch(in, n, Shape{bands, t, t}, threads);
      std::copy(out.begin(), out.end(), logits);
    };
  } else {
    emu = std::make_unique<Emulator>(g, profile->emulator_config());
    run = emulator_forward(*emu, threads);
  }
  for (int i : which) {
    const auto prob = predict_scene_with(run, scenes[static_cast<size_t>(i)], nullptr, opt);
    const Scene& s = scenes[static_cast<size_t>(i)];
    r.metrics.add_scene(prob.data(), s.mask.data(), s.height, s.width);
    r.nan_pixels += std::count_if(prob.begin(), prob.end(), [](float p) { return std::isnan(p); });
  }
  r.metrics.params = count_parameters(*ck.net);
  return r;
}

}  // namespace dalnas
