#include "eval/calibration_sensitivity.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "device/trained_ranges.h"

namespace dalnas {

std::string CalibrationSensitivity::table() const {
  std::ostringstream o;
  char line[256];
  std::snprintf(line, sizeof line, "every node %-12s mIoU %.4f\n", base_method.c_str(), base_miou);
  o << line;
  std::snprintf(line, sizeof line, "every node %-12s mIoU %.4f (%+.4f)\n\n",
                alternative_method.c_str(), alternative_miou, alternative_miou - base_miou);
  o << line;
  std::snprintf(line, sizeof line, "%-28s %-22s %-22s %8s %8s\n", "node alone changed",
                (base_method + " range").c_str(), (alternative_method + " range").c_str(), "mIoU",
                "diff");
  o << line;
  for (const auto& n : nodes) {
    char a[40], b[40];
    std::snprintf(a, sizeof a, "[%.4g, %.4g]", n.base.min, n.base.max);
    std::snprintf(b, sizeof b, "[%.4g, %.4g]", n.alternative.min, n.alternative.max);
    std::snprintf(line, sizeof line, "%-28s %-22s %-22s %8.4f %+8.4f\n", n.node.c_str(), a, b,
                  n.miou, n.delta);
    o << line;
  }
  return o.str();
}

SensitivityAlternative parse_sensitivity_alternative(const std::string& s) {
  if (s == "trained") return SensitivityAlternative::trained_ranges();
  SensitivityAlternative a;
  try {
    a.method = parse_calibration_method(s);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (or trained: the network's trained ranges)");
  }
  return a;
}

CalibrationSensitivity calibration_sensitivity(Checkpoint& ck, const DeviceProfile& profile_in,
                                               const SensitivityAlternative& alternative,
                                               const std::vector<Scene>& scenes,
                                               const std::vector<int>& which,
                                               const TileOptions& opt,
                                               const std::vector<int>* calibration) {
  if (!profile_in.integer)
    throw Error("sensitivity: profile '" + profile_in.name +
                "' is not an integer profile (no [integer] table)");
  DeviceProfile profile = profile_in;
  if (alternative.trained) {
    if (trained_act_ranges(ck).empty())
      throw Error(
          "--sensitivity trained: the checkpoint has no trained activation ranges (it was not "
          "trained quantization-aware for an integer profile)");
    profile.integer->trained_ranges = false;  // the base: every node re-calibrated
  } else if (alternative.method == CalibrationMethod::Diffs &&
             profile.integer->format != Int8Format::Dpu) {
    throw Error(
        "calibration 'diffs' chooses power-of-two fix positions; it is a setting of "
        "format dpu-int8 only");
  }
  const Int8Setup q = int8_setup(ck, profile, scenes, opt, calibration);
  const Int8Config& base = *profile.integer;
  std::vector<TensorRange> alt_ranges;
  if (alternative.trained) {
    alt_ranges = q.ranges;
    apply_trained_ranges(q.form, trained_act_ranges(ck), alt_ranges);
  } else {
    Int8Config alt = base;
    alt.calibration = alternative.method;
    const Shape tile{ck.bands, opt.tile, opt.tile};
    alt_ranges = calibrate_ranges(q.form, q.tiles.data(), q.tile_count, tile, alt);
    if (base.trained_ranges) apply_trained_ranges(q.form, trained_act_ranges(ck), alt_ranges);
  }

  CalibrationSensitivity r;
  r.base_method = to_string(base.calibration);
  r.alternative_method = alternative.trained ? "trained" : to_string(alternative.method);
  r.base_miou = evaluate_int8(q.form, q.ranges, base, scenes, which, opt).metrics.cm.miou();
  r.alternative_miou =
      evaluate_int8(q.form, alt_ranges, base, scenes, which, opt).metrics.cm.miou();
  for (size_t i = 0; i < q.form.nodes.size(); ++i) {
    const Node& n = q.form.nodes[i];
    const TensorRange &a = q.ranges[i], &b = alt_ranges[i];
    if (a.min == b.min && a.max == b.max) continue;
    if (n.op == OpType::MaxPool || n.op == OpType::AvgPool || n.op == OpType::Resize ||
        n.op == OpType::Output)
      continue;  // parameters shared with the input: the range is not read
    std::vector<TensorRange> one = q.ranges;
    one[i] = b;
    NodeSensitivity s;
    s.node = n.name;
    s.base = a;
    s.alternative = b;
    s.miou = evaluate_int8(q.form, one, base, scenes, which, opt).metrics.cm.miou();
    s.delta = s.miou - r.base_miou;
    r.nodes.push_back(s);
  }
  std::stable_sort(
      r.nodes.begin(), r.nodes.end(),
      [](const NodeSensitivity& x, const NodeSensitivity& y) { return x.delta < y.delta; });
  return r;
}

}  // namespace dalnas
