#pragma once
// Weight inheritance: a child network starts from its parent's trained weights wherever a
// layer matches (same parameter or buffer name and the same shape), as in network
// morphism / "weight sharing by inheritance" in evolutionary NAS. The rest keeps its fresh
// initialisation.
#include <cstdint>

#include "nn/network.h"

namespace dalnas {

struct InheritStats {
  int64_t copied = 0;  // parameter values copied
  int64_t total = 0;   // parameter values of the child
  int tensors = 0;     // parameter and buffer tensors copied
  double share() const { return total ? static_cast<double>(copied) / total : 0.0; }
};

// Copies every parameter and buffer of `parent` whose name and shape match one of `child`.
InheritStats inherit_weights(Network& child, Network& parent);

}  // namespace dalnas
