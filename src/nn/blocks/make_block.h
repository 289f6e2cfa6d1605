#pragma once
// make_block: the encoder block for one gene. `name` prefixes the block's activation
// points (e.g. "enc1" -> "enc1.expand"); the policy is shared, not copied.
#include <memory>
#include <string>

#include "nn/network.h"

namespace dalnas {

std::shared_ptr<BlockImpl> make_block(const BlockGene& gene, int in_channels, PolicyPtr policy,
                                      const std::string& name);

}  // namespace dalnas
