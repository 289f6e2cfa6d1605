#pragma once
// The precision rule of a mixed-precision integer profile: which number format
// (core/layer_precision.h) every node of a device graph runs in.
//
// A node's precision is, first match wins:
//   1. its own precision when not Default (lower() copies a genome block's precision gene,
//      e.g. "...-q4w", to every node of the block; int8_form's split activations inherit
//      their convolution's);
//   2. Int8Config::first_last (when not Default) for the nodes of the first encoder block
//      (Node::block == 0) and for the convolution that feeds the Output (the head);
//   3. Int8Config::precision.
// Input and Output nodes are always Int8 (the host quantizes the input, dequantizes the
// output). Imported graphs (no block numbers) get rule 2 for the head only.
//
// Which formats accept which precisions: format_runs (device/int8_config.h): int8-tflite
// all four (int16 is TFLite's 16x8 scheme); onnxruntime-int8 int8 and int4w (int4w is a
// weight range, which a QDQ model stores as int8); dpu-int8 int8 only.
#include "device/graph.h"
#include "device/int8_config.h"

namespace dalnas {

// Every node's precision by the rule above (never Default). Throws dalnas::Error naming
// the node when its precision is one the format cannot run.
std::vector<LayerPrecision> resolve_precision(const DeviceGraph& g, const Int8Config& config);

// True when some node of the resolved graph is not Int8 (a mixed-precision graph).
bool is_mixed(const std::vector<LayerPrecision>& p);

}  // namespace dalnas
