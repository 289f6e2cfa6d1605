#include "device/precision_rule.h"

#include <algorithm>

#include "core/error.h"

namespace dalnas {

std::vector<LayerPrecision> resolve_precision(const DeviceGraph& g, const Int8Config& config) {
  const size_t n = g.nodes.size();
  int head = -1;
  if (g.output >= 0 && !g.nodes[static_cast<size_t>(g.output)].inputs.empty()) {
    const int h = g.nodes[static_cast<size_t>(g.output)].inputs[0];
    // The head convolution, or the convolution before a split-off output activation.
    const Node& hn = g.nodes[static_cast<size_t>(h)];
    if (hn.op == OpType::Conv) {
      head = h;
    } else if (hn.op == OpType::Activation && !hn.inputs.empty() &&
               g.nodes[static_cast<size_t>(hn.inputs[0])].op == OpType::Conv) {
      head = hn.inputs[0];
    }
  }
  std::vector<LayerPrecision> out(n, config.precision);
  for (size_t i = 0; i < n; ++i) {
    const Node& node = g.nodes[i];
    if (node.op == OpType::Input || node.op == OpType::Output) {
      out[i] = LayerPrecision::Int8;
      continue;
    }
    LayerPrecision p = node.precision;
    if (p == LayerPrecision::Default && config.first_last != LayerPrecision::Default) {
      bool edge = node.block == 0 || static_cast<int>(i) == head;
      // The head's split-off activation (int8_form) follows the head.
      if (!edge && head >= 0 && node.op == OpType::Activation && !node.inputs.empty() &&
          node.inputs[0] == head) {
        edge = true;
      }
      if (edge) p = config.first_last;
    }
    if (p == LayerPrecision::Default) p = config.precision;
    if (p == LayerPrecision::Default) p = LayerPrecision::Int8;
    if (!format_runs(config.format, p)) {
      throw Error("node '" + node.name + "': precision " + to_string(p) + " is not one " +
                  to_string(config.format) + " runs (" + format_precisions(config.format) + ")");
    }
    out[i] = p;
  }
  return out;
}

bool is_mixed(const std::vector<LayerPrecision>& p) {
  return std::any_of(p.begin(), p.end(),
                     [](LayerPrecision x) { return x != LayerPrecision::Int8; });
}

}  // namespace dalnas
