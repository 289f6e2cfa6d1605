#include "report/chip_panels.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "device/profile.h"
#include "eval/device_eval.h"
#include "report/image_panel.h"
#include "train/checkpoint.h"
#include "train/object_metrics.h"
#include "train/predict.h"

namespace dalnas::report {

void chip_window(int height, int width, int size, double cy, double cx, int& y0, int& x0) {
  y0 = std::clamp(static_cast<int>(std::lround(cy - size / 2.0)), 0, std::max(0, height - size));
  x0 = std::clamp(static_cast<int>(std::lround(cx - size / 2.0)), 0, std::max(0, width - size));
}

Scene crop_scene(const Scene& s, int y0, int x0, int h, int w) {
  Scene c;
  c.name = s.name;
  c.bands = s.bands;
  c.height = h;
  c.width = w;
  c.image.resize(static_cast<size_t>(s.bands) * h * w);
  c.mask.resize(static_cast<size_t>(h) * w);
  for (int b = 0; b < s.bands; ++b)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        c.image[(static_cast<size_t>(b) * h + y) * w + x] = s.at(b, y0 + y, x0 + x);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      c.mask[static_cast<size_t>(y) * w + x] =
          s.mask[static_cast<size_t>(y0 + y) * s.width + x0 + x];
  return c;
}

namespace {
struct Vessel {
  int scene = 0;
  int64_t area = 0;
  double cy = 0, cx = 0;
  int label = 0;
};
}  // namespace

std::vector<ChipChoice> choose_chips(const std::vector<Scene>& scenes,
                                     const std::vector<int>& which, int size, int max_chips) {
  std::vector<Vessel> vessels;
  std::vector<std::vector<int32_t>> labels(scenes.size());
  for (int si : which) {
    const Scene& s = scenes.at(static_cast<size_t>(si));
    auto& lab = labels[static_cast<size_t>(si)];
    const int n = label_components(s.mask.data(), s.height, s.width, lab);
    std::vector<Vessel> v(static_cast<size_t>(n));
    for (int y = 0; y < s.height; ++y)
      for (int x = 0; x < s.width; ++x) {
        const int l = lab[static_cast<size_t>(y) * s.width + x];
        if (l == 0) continue;
        auto& c = v[static_cast<size_t>(l - 1)];
        c.area += 1;
        c.cy += y;
        c.cx += x;
      }
    for (int l = 0; l < n; ++l) {
      auto c = v[static_cast<size_t>(l)];
      c.scene = si;
      c.label = l + 1;
      c.cy /= static_cast<double>(c.area);
      c.cx /= static_cast<double>(c.area);
      vessels.push_back(c);
    }
  }
  std::stable_sort(vessels.begin(), vessels.end(),
                   [](const Vessel& a, const Vessel& b) { return a.area < b.area; });
  // Smallest, largest, then the quantiles in between.
  std::vector<size_t> order;
  if (!vessels.empty()) {
    order.push_back(0);
    order.push_back(vessels.size() - 1);
    for (int k = 1; k < 8; ++k) order.push_back(vessels.size() * static_cast<size_t>(k) / 8);
    for (size_t i = 0; i < vessels.size(); ++i) order.push_back(i);
  }
  std::set<std::pair<int, int>> shown;  // (scene, label)
  std::vector<ChipChoice> out;
  for (size_t i : order) {
    if (static_cast<int>(out.size()) >= max_chips) break;
    const Vessel& v = vessels[i];
    if (shown.count({v.scene, v.label})) continue;
    const Scene& s = scenes[static_cast<size_t>(v.scene)];
    ChipChoice c;
    c.scene = v.scene;
    chip_window(s.height, s.width, size, v.cy, v.cx, c.y0, c.x0);
    const auto& lab = labels[static_cast<size_t>(v.scene)];
    std::set<int> inside;
    for (int y = c.y0; y < std::min(s.height, c.y0 + size); ++y)
      for (int x = c.x0; x < std::min(s.width, c.x0 + size); ++x)
        if (const int l = lab[static_cast<size_t>(y) * s.width + x]) inside.insert(l);
    c.vessels = static_cast<int>(inside.size());
    c.smallest_px = v.area;
    for (const Vessel& w : vessels)
      if (w.scene == v.scene && inside.count(w.label)) {
        shown.insert({w.scene, w.label});
        c.smallest_px = std::min(c.smallest_px, w.area);
      }
    out.push_back(c);
  }
  return out;
}

std::vector<ChipPanel> make_chip_panels(const std::vector<Scene>& scenes,
                                        const std::vector<int>& test,
                                        const std::vector<PanelModel>& models, int max_chips,
                                        int chip_size) {
  if (scenes.empty() || test.empty()) return {};
  const Scene& first = scenes.at(static_cast<size_t>(test.front()));
  // The network halves the size at each pooling (up to 4 times): a multiple of 16.
  int size = std::min({chip_size, first.height, first.width});
  size = size / 16 * 16;
  if (size < 16) throw Error("panels: scenes smaller than 16 pixels");
  const auto chips = choose_chips(scenes, test, size, max_chips);

  struct Runner {
    Checkpoint ck;
    TileForward forward;
    bool host = true;
    std::unique_ptr<Emulator> emu;
  };
  std::vector<std::unique_ptr<Runner>> runners;
  for (const auto& m : models) {
    auto r = std::make_unique<Runner>();
    r->ck = load_checkpoint(m.checkpoint);
    r->ck.net->eval();
    r->host = is_host_device(m.device);
    if (r->host) {
      r->forward = host_forward(r->ck.net);
    } else {
      const DeviceProfile p = load_profile(m.device);
      DeviceGraph g = lower_for(r->ck.net, r->ck.norm, p);
      g.infer_shapes(Shape{r->ck.bands, size, size});
      r->emu = std::make_unique<Emulator>(g, p.emulator_config());
      r->forward = emulator_forward(*r->emu, 1);
    }
    runners.push_back(std::move(r));
  }
  TileOptions to;
  to.tile = size;
  to.overlap = 0;
  to.batch = 1;
  std::vector<ChipPanel> out;
  for (const auto& c : chips) {
    const Scene& s = scenes[static_cast<size_t>(c.scene)];
    const int h = std::min(size, s.height), w = std::min(size, s.width);
    const Scene chip = crop_scene(s, c.y0, c.x0, h, w);
    ChipPanel p;
    p.scene = s.name;
    p.y0 = c.y0;
    p.x0 = c.x0;
    p.size = size;
    p.vessels = c.vessels;
    p.smallest_px = c.smallest_px;
    p.columns.push_back(
        {"RGB (B04, B03, B02), 2-98 % stretch", encode_png(rgb_composite(chip, 0, 0, h, w))});
    p.columns.push_back({"ground truth", encode_png(mask_image(chip.mask.data(), h, w))});
    for (size_t k = 0; k < models.size(); ++k) {
      Runner& r = *runners[k];
      const auto prob = predict_scene_with(r.forward, chip, r.host ? &r.ck.norm : nullptr, to);
      PanelColumn col;
      col.title = models[k].title;
      col.png = encode_png(error_image(prob.data(), chip.mask.data(), h, w));
      int64_t tp = 0;
      for (size_t i = 0; i < prob.size(); ++i) {
        const bool pv = prob[i] >= 0.5f, g = chip.mask[i] != 0;
        tp += pv && g;
        col.fp += pv && !g;
        col.fn += !pv && g;
      }
      col.iou_vessel = tp + col.fp + col.fn == 0
                           ? 1.0
                           : static_cast<double>(tp) / static_cast<double>(tp + col.fp + col.fn);
      p.columns.push_back(std::move(col));
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace dalnas::report
