#pragma once
// SearchSpace: which genomes a search may visit, and the variation operators over them.
//
// A genome is in the space when every gene takes one of the allowed values: the block
// type, width, kernel, expansion (MBConv / MBConvNoRes only) and activation of every
// stage, every pooling, the decoder width and the number of stages; and, when a parameter
// counter is installed, its trainable parameters (at `in_bands` input bands) are at most
// `max_params`.
//
// Every genome returned by sample(), and by mutate() and crossover() given genomes of the
// space, is in the space (validate() passes). All randomness comes from the Rng passed in,
// so a seed reproduces every operator.
//
// Configuration (JSON object, e.g. the [search_space] table of a search config; every key
// optional, unknown keys rejected):
//   block_types     ["ConvAct", "ConvBnAct", "ConvSE", "MBConv", "MBConvNoRes",
//                    "ResNetBlock", "DenseNetBlock"]                      (default: all)
//   widths          a list [8, 16, 24] or a range {min = 8, max = 64, step = 8} (default)
//   kernels         [3, 5]
//   expansions      [3, 4, 5, 6]
//   activations     ["relu", "relu6", "gelu", "hswish"]
//   poolings        ["max", "avg"]
//   stages          {min = 3, max = 5}   (within the genome's 3..5)
//   decoder_widths  a list or a range, like widths                        (default [8, 16, 32])
//   in_bands        4
//   max_params      400000 (pynas's cap); 0 = no cap
//   max_attempts    1000: draws before sample() gives up on the parameter cap
//   precisions      ["default"]: each block's precision gene (core/layer_precision.h):
//                   default (the profile's rule), int8, int4w, int16, fp16; with more than one
//                   the search draws and mutates it per block (a mixed-precision search)
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/genome.h"

namespace dalnas {

class Rng;

struct SearchSpace {
  std::vector<BlockType> block_types = {
      BlockType::ConvAct,     BlockType::ConvBnAct,   BlockType::ConvSE,       BlockType::MBConv,
      BlockType::MBConvNoRes, BlockType::ResNetBlock, BlockType::DenseNetBlock};
  std::vector<int> widths = {8, 16, 24, 32, 40, 48, 56, 64};
  std::vector<int> kernels = {3, 5};
  std::vector<int> expansions = {3, 4, 5, 6};
  std::vector<Activation> activations = {Activation::ReLU, Activation::ReLU6, Activation::GELU,
                                         Activation::HardSwish};
  std::vector<Pooling> poolings = {Pooling::Max, Pooling::Avg};
  int min_stages = 3;
  int max_stages = 5;
  std::vector<int> decoder_widths = {8, 16, 32};
  int in_bands = 4;
  // Parameter cap; 0 = none. Enforced only when `param_counter` is installed (the counter
  // lives in nn/describe, which core cannot link): the caller installs e.g.
  //   space.param_counter = [&](const Genome& g) { return describe(g, bands, 64, 64).params; };
  int64_t max_params = 400000;
  std::function<int64_t(const Genome&)> param_counter;
  int max_attempts = 1000;
  std::vector<LayerPrecision> precisions = {LayerPrecision::Default};

  // Reads the configuration above (missing keys keep the defaults). Throws dalnas::Error
  // "<where>.<key>: <problem>" naming the key and the allowed values.
  static SearchSpace from_json(const nlohmann::json& j, const std::string& where = "search_space");
  // The configuration with explicit lists (ranges expanded); from_json(to_json()) gives the
  // same space (the counter is not part of it).
  nlohmann::json to_json() const;
  // Checks the space itself (non-empty lists, values the genome grammar allows, no
  // duplicates, 3 <= min_stages <= max_stages <= 5); throws dalnas::Error naming the key.
  void check() const;

  // Throws dalnas::Error naming the first gene outside the space, its value and the allowed
  // values (e.g. "genome block 2 (MBConv): width 20 not in the search space (allowed: 8, 16)").
  void validate(const Genome& g) const;
  bool contains(const Genome& g) const;
  // True when no cap applies or the genome's parameters are at most max_params.
  bool within_cap(const Genome& g) const;

  // A uniformly random genome: stage count, then every gene independently. Redrawn while
  // over the parameter cap; after max_attempts draws throws dalnas::Error.
  Genome sample(Rng& rng) const;
  // Per-gene mutation: every gene (each stage's type, width, kernel, expansion, activation,
  // precision when more than one is allowed;
  // each pooling; the decoder width; and the stage count) is, with probability `rate`,
  // redrawn to a *different* allowed value when there is one. A block-type change keeps
  // the other genes and gives the block an expansion exactly when the new type takes one.
  // A stage-count change adds a random stage (with a random pooling) at a random position
  // or removes a random stage (and one of its neighbouring poolings), within the stage
  // range. The result may equal `g` (no gene drawn). Genomes over the cap are redrawn up to
  // max_attempts times; if none fits, `g` is returned unchanged.
  Genome mutate(const Genome& g, double rate, Rng& rng) const;
  // Single-point crossover on the stage list (genes: stage 1..n, then the decoder width):
  // a cut c in 1..min(na, nb)-1; the child has a's first c stages and the pooling after
  // them, then b's stages from c on with their poolings and b's decoder width, so it has
  // nb stages and consistent poolings. Cuts are tried in random order until the child is
  // within the cap; if none is, a copy of `a` is returned.
  Genome crossover(const Genome& a, const Genome& b, Rng& rng) const;
};

}  // namespace dalnas
