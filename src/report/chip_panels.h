#pragma once
// Image panels of test chips with vessels (small ones among them): the RGB composite, the
// ground truth, and each model's prediction with false positives and false negatives
// coloured (report/image_panel.h), as PNG bytes. Predictions are made here from the run's
// checkpoints on the chip alone (one tile of the chip's size): on the host in FP32
// (libtorch) or on the device (the profile's emulator, eval/device_eval.h).
#include <string>
#include <vector>

#include "data/scene.h"

namespace dalnas::report {

// One column of the panels: a checkpoint run on the host or on a device profile.
struct PanelModel {
  std::string title;       // e.g. "FP32 on the host"
  std::string checkpoint;  // path
  std::string device;      // "host" or a device profile name / path
};

struct PanelColumn {
  std::string title;
  std::string png;  // PNG bytes
  double iou_vessel = 0;
  int64_t fp = 0, fn = 0;
};

struct ChipPanel {
  std::string scene;
  int y0 = 0, x0 = 0, size = 0;
  int vessels = 0;                   // ground-truth components inside the chip
  int64_t smallest_px = 0;           // area of the smallest of them (whole component)
  std::vector<PanelColumn> columns;  // RGB, ground truth, then one per model
};

// A window of `size` × `size` around (cy, cx), moved inside the scene.
void chip_window(int height, int width, int size, double cy, double cx, int& y0, int& x0);
// Up to `max_chips` windows of side `size` over the scenes' vessels: the one holding the
// smallest vessel first, then ones holding the largest and intermediate sizes, each window
// holding a vessel not yet shown. (scene index, y0, x0).
struct ChipChoice {
  int scene = 0, y0 = 0, x0 = 0;
  int vessels = 0;
  int64_t smallest_px = 0;
};
std::vector<ChipChoice> choose_chips(const std::vector<Scene>& scenes,
                                     const std::vector<int>& which, int size, int max_chips);
// The window of a scene as a scene of its own.
Scene crop_scene(const Scene& s, int y0, int x0, int h, int w);

// The panels; throws dalnas::Error for an unreadable checkpoint or profile.
std::vector<ChipPanel> make_chip_panels(const std::vector<Scene>& scenes,
                                        const std::vector<int>& test,
                                        const std::vector<PanelModel>& models, int max_chips = 4,
                                        int chip_size = 64);

}  // namespace dalnas::report
