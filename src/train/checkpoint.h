#pragma once
// Checkpoints: weights, genome, input bands, normalisation, the resolved training config
// and a format version, in one file with a checksum verified on load.
//
// Layout: "DALNASCK" | u32 format version | u64 json size | json | u64 weights size |
//         weights (libtorch archive) | u64 FNV-1a checksum of everything before it.
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

#include "core/genome.h"
#include "data/normalization.h"
#include "nn/network.h"

namespace dalnas {

constexpr uint32_t kCheckpointVersion = 1;

struct Checkpoint {
  Genome genome;
  int bands = 0;
  Normalization norm;
  nlohmann::json config;   // resolved training configuration
  nlohmann::json metrics;  // optional: metrics recorded when saved
  Network net{nullptr};
};

// Writes atomically (temporary file + rename).
void save_checkpoint(const std::string& path, const Checkpoint& ck);
// Throws dalnas::Error naming the file for a missing file, a bad magic, an unsupported
// version, a checksum mismatch (truncated or corrupted file) or weights that do not
// fit the genome.
Checkpoint load_checkpoint(const std::string& path, PolicyPtr policy = nullptr);

}  // namespace dalnas
