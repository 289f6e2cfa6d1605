#include "device/trained_ranges.h"

#include "core/error.h"

namespace dalnas {

namespace {
int find_node(const DeviceGraph& g, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].name == name) return static_cast<int>(i);
  return -1;
}
}  // namespace

int trained_range_node(const DeviceGraph& form, const std::string& point) {
  if (point == "input.raw") {  // the raw values before a normalisation on the device
    return find_node(form, "normalize") >= 0 ? find_node(form, "input") : -1;
  }
  if (point == "input") {
    const int n = find_node(form, "normalize");
    return n >= 0 ? n : find_node(form, "input");
  }
  // P.pre: the tensor before an activation int8_form split off (nn/activation.h), the
  // node P itself; nothing where P's activation was fused.
  static const std::string kPre = ".pre";
  if (point.size() > kPre.size() &&
      point.compare(point.size() - kPre.size(), kPre.size(), kPre) == 0) {
    const std::string base = point.substr(0, point.size() - kPre.size());
    const int act = find_node(form, base + ".act");
    if (act < 0 || form.nodes[static_cast<size_t>(act)].op != OpType::Activation) return -1;
    return find_node(form, base);
  }
  const int split = find_node(form, point + ".act");
  if (split >= 0 && form.nodes[static_cast<size_t>(split)].op == OpType::Activation) return split;
  return find_node(form, point);
}

int apply_trained_ranges(const DeviceGraph& form, const ActRanges& trained,
                         std::vector<TensorRange>& ranges) {
  if (ranges.size() != form.nodes.size())
    throw Error("trained ranges: " + std::to_string(ranges.size()) + " ranges for a graph of " +
                std::to_string(form.nodes.size()) + " nodes");
  int applied = 0;
  for (const auto& [point, range] : trained) {
    const int i = trained_range_node(form, point);
    if (i < 0) continue;
    ranges[static_cast<size_t>(i)] = TensorRange{range.first, range.second};
    ++applied;
  }
  return applied;
}

}  // namespace dalnas
