#pragma once
// Analytic description of a genome's network (no libtorch): per layer shapes, parameters,
// multiply-accumulates and the peak activation memory of a batch-1 forward pass.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/genome.h"

namespace dalnas {

struct LayerInfo {
  std::string name;  // e.g. "enc1.MBConv.expand", "dec0.conv1", "head"
  std::string op;    // conv, dwconv, bn, act, pool, upsample, concat, add, se, ...
  int in_c = 0, out_c = 0, h = 0, w = 0;  // output spatial size
  int64_t params = 0;
  int64_t macs = 0;
};

struct ArchDescription {
  std::string genome;
  int bands = 0, height = 0, width = 0;
  std::vector<LayerInfo> layers;
  int64_t params = 0;
  int64_t macs = 0;
  int64_t peak_activation_bytes =
      0;  // fp32 bytes of the largest set of simultaneously live tensors
  nlohmann::json to_json() const;
  std::string table() const;  // human-readable
};

ArchDescription describe(const Genome& g, int bands, int height, int width);

}  // namespace dalnas
