#pragma once
// A genome's network drawn as a block diagram (SVG text): the encoder stages down the left
// with their pooling, the bottleneck, the decoder levels up the right (upsample, 1×1
// projection, concatenation with the skip, two 3×3 convolutions to the decoder width; see
// nn/network.h) and the skips between them, then the 1×1 head.
#include <string>

#include "core/genome.h"

namespace dalnas::report {

// `bands`: input bands (labelled on the input box). Every text is escaped.
std::string architecture_svg(const Genome& g, int bands);

}  // namespace dalnas::report
