#pragma once
// Dataset loading by name: "synthetic" (built-in), a COCO JSON file, or a folder dataset.
#include <string>
#include <vector>

#include "data/scene.h"
#include "data/synthetic.h"

namespace dalnas {

// `spec`: "synthetic", "synthetic:N" (N scenes), a path to a .json COCO file, or a directory
// (a COCO dataset if it holds exactly one annotations*.json, else a folder dataset).
// Throws dalnas::Error naming the path for anything missing or malformed; checks that every
// scene has the same band count, a mask of its image's size, and that the set is non-empty.
std::vector<Scene> load_dataset(const std::string& spec, const SyntheticOptions& synth = {});

}  // namespace dalnas
