#pragma once
// ActRanges: the activation range (lo, hi) that quantization-aware training learned at each
// quantization point of a network, by the point's name ("input", "enc0.conv", "dec1.concat",
// "head", ...; precision/policy.h names them, device/lower.cpp gives the device graph's
// nodes the same names). Training keeps them with the weights (train/train_state.h), the
// checkpoint stores them ("act_ranges" in its metadata), and an integer target deploys them
// instead of re-calibrating (device/trained_ranges.h), as a TFLite converter deploys a QAT
// model's FakeQuant ranges.
//
// JSON form: {"enc0.conv": [lo, hi], ...}.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace dalnas {

using ActRanges = std::map<std::string, std::pair<float, float>>;

nlohmann::json act_ranges_json(const ActRanges& r);
// Throws dalnas::Error naming `where` and the point for anything but an object of
// [lo, hi] pairs of finite numbers with lo <= hi.
ActRanges parse_act_ranges(const nlohmann::json& j, const std::string& where);

}  // namespace dalnas
