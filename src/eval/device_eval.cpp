#include "eval/device_eval.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#include "device/lower.h"
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

DeviceMetrics evaluate_on_device(Checkpoint& ck, const std::string& device,
                                 const std::vector<Scene>& scenes, const std::vector<int>& which,
                                 const TileOptions& opt, const DeviceProfile* profile) {
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
  g.infer_shapes(Shape{ck.bands, opt.tile, opt.tile});
  Emulator emu(g, profile->emulator_config());
  // --threads (set_threads) reaches the emulator through libtorch's thread count.
  const TileForward run = emulator_forward(emu, at::get_num_threads());
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
