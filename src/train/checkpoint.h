#pragma once
// Checkpoints: weights, genome, input bands, normalisation, the resolved training config
// and a format version, in one file with a checksum verified on load. The container and
// the metadata are read and checked without libtorch (train/checkpoint_file.h); libtorch
// only gets weights that passed the checksum.
#include <torch/torch.h>

#include <string>

#include "nn/network.h"
#include "train/checkpoint_file.h"

namespace dalnas {

struct Checkpoint : CheckpointMeta {
  Network net{nullptr};
};

// The activation ranges the checkpoint's network was trained at (quantization-aware
// training): its policy's int8_ranges() when it has any, else the file's act_ranges.
const ActRanges& trained_act_ranges(const Checkpoint& ck);

// The weight steps the checkpoint's network was trained at (learned weight steps): its
// policy's weight_steps() when it has any, else the file's weight_steps.
WeightSteps trained_weight_steps(const Checkpoint& ck);

// Writes atomically (temporary file + rename). The metadata's act_ranges are the network
// policy's int8_ranges() when it has any (quantization-aware training), else ck.act_ranges;
// its weight_steps likewise (trained_weight_steps).
void save_checkpoint(const std::string& path, const Checkpoint& ck);
// Throws dalnas::Error naming the file for a missing file, a bad magic, an unsupported
// version, a checksum mismatch (truncated or corrupted file), metadata that is wrong in a
// field (named) or weights that do not fit the genome. The file's act_ranges are set on the
// network's policy (set_int8_ranges) when it trains or runs quantization-aware, and its
// weight_steps (set_weight_steps) when that policy learns weight steps.
Checkpoint load_checkpoint(const std::string& path, PolicyPtr policy = nullptr);

}  // namespace dalnas
