#pragma once
// Genome: the architecture of one encoder–decoder segmentation network.
//
// Canonical string form (stable; appears in logs, reports and file names, so it
// uses only [A-Za-z0-9_-]): tokens separated by '_':
//
//   <block>_<pool>_<block>_<pool>_<block>[...]_dec-<W>
//
// with 3–5 blocks, a pooling token (`max` or `avg`, 2×2 stride 2) between
// consecutive blocks, and the decoder width last. A block token is
//
//   <Type>-<width>-k<kernel>[-e<expansion>]-<activation>
//
//   Type        ConvAct | ConvBnAct | ConvSE | MBConv | MBConvNoRes | ResNetBlock | DenseNetBlock
//   width       output channels, 1..1024
//   kernel      k3 | k5
//   expansion   e3..e6, present for MBConv and MBConvNoRes only
//   activation  relu | relu6 | gelu | hswish
//   precision   optional, last: q8 | q4w | f16 (core/layer_precision.h): the block's number
//               format on a mixed-precision integer target; absent = the profile's rule
//
// Example:  ConvBnAct-16-k3-relu_max_MBConv-24-k3-e4-relu6_max_ResNetBlock-32-k3-relu_dec-16
//
// Each block's output is a skip connection; the last block is the bottleneck.
// The decoder (see nn/network.h) upsamples back through every skip.
#include <cstdint>
#include <string>
#include <vector>

#include "core/layer_precision.h"

namespace dalnas {

enum class BlockType {
  ConvAct,
  ConvBnAct,
  ConvSE,
  MBConv,
  MBConvNoRes,
  ResNetBlock,
  DenseNetBlock
};
enum class Activation { ReLU, ReLU6, GELU, HardSwish };
enum class Pooling { Max, Avg };

struct BlockGene {
  BlockType type = BlockType::ConvBnAct;
  int width = 16;
  int kernel = 3;
  int expansion = 0;  // MBConv / MBConvNoRes only (3..6); 0 for every other type
  Activation act = Activation::ReLU;
  LayerPrecision precision = LayerPrecision::Default;  // Default: the profile's rule
  bool operator==(const BlockGene& o) const {
    return type == o.type && width == o.width && kernel == o.kernel && expansion == o.expansion &&
           act == o.act && precision == o.precision;
  }
};

struct Genome {
  std::vector<BlockGene> blocks;  // 3..5 encoder stages
  std::vector<Pooling> pools;  // blocks.size() - 1: pools[i] sits between blocks[i] and blocks[i+1]
  int decoder_width = 16;

  // Parses the canonical form. Throws dalnas::Error naming the offending token
  // (by position and text) and the allowed values.
  static Genome parse(const std::string& text);
  // The canonical string; parse(g.str()) == g.
  std::string str() const;
  // Stable 64-bit hash of the canonical string (FNV-1a), for caches and file names.
  uint64_t hash() const;
  // Throws dalnas::Error if the structure is invalid (stage count, widths, kernel, expansion).
  void validate() const;

  bool operator==(const Genome& o) const {
    return blocks == o.blocks && pools == o.pools && decoder_width == o.decoder_width;
  }
  bool operator!=(const Genome& o) const { return !(*this == o); }
};

std::string to_string(BlockType t);
std::string to_string(Activation a);
std::string to_string(Pooling p);
bool has_expansion(BlockType t);

// Named genomes: "reference" (the paper-sized network, 90k–100k parameters at 4 bands)
// and a few others. Returns true and fills `out` if `name` is known.
bool named_genome(const std::string& name, Genome& out);
std::vector<std::string> named_genome_names();

// Resolves a user's --arch value: a named genome, `pynas:<code>`, or a canonical string.
Genome resolve_arch(const std::string& arch, int in_bands);

}  // namespace dalnas
