#pragma once
// WeightSteps: the per-output-channel weight step sizes that quantization-aware training
// learned (LSQ on weights, precision/learned_step.h), by the weight parameter's name in the
// network ("enc0.conv.weight", "dec_conv1.0.weight", "head.weight", ...: libtorch's
// named_parameters). A step is in the units of the weight the network holds, before
// BatchNorm is folded; lower() turns it into the folded weight's scale (step times
// |gamma / sqrt(var + eps)| of its channel, device/lower.h) and an integer target quantizes
// that layer's weights at it instead of at max |w| / qmax, as a TFLite converter deploys a
// QAT model's trained weight quantizers. Training keeps them with the weights
// (train/train_state.h) and the checkpoint stores them ("weight_steps" in its metadata).
//
// JSON form: {"enc0.conv.weight": [s0, s1, ...], ...}.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dalnas {

using WeightSteps = std::map<std::string, std::vector<float>>;

nlohmann::json weight_steps_json(const WeightSteps& s);
// Throws dalnas::Error naming `where` and the parameter for anything but an object of
// non-empty arrays of finite numbers above 0 (and within float's range). `log`: the values
// are natural logarithms of steps (a training state's leaves): any finite float.
WeightSteps parse_weight_steps(const nlohmann::json& j, const std::string& where, bool log = false);

}  // namespace dalnas
