#pragma once
// The checkpoint container, without libtorch: framing, checksum and metadata. The weights
// are carried as opaque bytes (a libtorch archive) that `train/checkpoint.cpp` hands to
// libtorch only after this layer has verified them, so everything a file can say about
// itself is checked here, where the fuzz target `checkpoint` reaches it.
//
// Layout: "DALNASCK" | u32 format version | u64 json size | json | u64 weights size |
//         weights | u64 FNV-1a checksum of everything before it (all little-endian).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/act_ranges.h"
#include "core/genome.h"
#include "core/weight_steps.h"
#include "data/normalization.h"

namespace dalnas {

constexpr uint32_t kCheckpointVersion = 1;
// The most input bands a checkpoint may declare (a multispectral sensor has tens).
constexpr int kCheckpointMaxBands = 1024;

struct CheckpointContainer {
  uint32_t version = kCheckpointVersion;
  std::string meta;     // the metadata, JSON text as stored
  std::string weights;  // the weights, bytes as stored
};

// The file's bytes for `meta` and `weights`, checksum included.
std::string encode_checkpoint_container(const std::string& meta, const std::string& weights);
// Throws dalnas::Error naming `path` for a bad magic, a bad checksum (corrupted or
// truncated), an unsupported version or sizes that do not add up to the file's size.
CheckpointContainer decode_checkpoint_container(const std::string& bytes, const std::string& path);

// What the metadata says, checked: a genome that parses, 1..kCheckpointMaxBands bands, a
// normalisation with one mean and one std per band, config and metrics objects.
struct CheckpointMeta {
  Genome genome;
  int bands = 0;
  Normalization norm;
  nlohmann::json config = nlohmann::json::object();   // resolved training configuration
  nlohmann::json metrics = nlohmann::json::object();  // metrics recorded when saved
  // Quantization-aware training's activation ranges (core/act_ranges.h; "act_ranges",
  // absent when empty). save_checkpoint writes the network's policy's own when it has any.
  ActRanges act_ranges;
  // Learned weight steps (core/weight_steps.h; "weight_steps", absent when empty).
  WeightSteps weight_steps;
};

std::string checkpoint_meta_json(const CheckpointMeta& m);
// Throws dalnas::Error naming `path` and the field that is wrong.
CheckpointMeta parse_checkpoint_meta(const std::string& meta, const std::string& path);

}  // namespace dalnas
