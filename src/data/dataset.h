#pragma once
// Dataset loading by name: "synthetic" (built-in), a COCO JSON file, or a folder dataset.
#include <string>
#include <vector>

#include "data/scene.h"
#include "data/synthetic.h"

namespace dalnas {

struct DatasetInfo {
  std::string format;   // "synthetic", "coco" or "folder"
  std::string path;     // the COCO JSON file or the folder ("" for synthetic)
  int annotations = 0;  // COCO annotations decoded into masks (0 for other formats)
};

// `spec`: "synthetic", "synthetic:N" (N scenes, other settings from `synth`), a path to a
// .json COCO file, or a directory (a COCO dataset if it holds exactly one *.json file, else a
// folder dataset with images/ and masks/).
// Throws dalnas::Error naming the path for anything missing or malformed; checks that every
// scene has the same band count, a mask of its image's size, and that the set is non-empty.
// `info`, when given, receives what was loaded.
std::vector<Scene> load_dataset(const std::string& spec, const SyntheticOptions& synth = {},
                                DatasetInfo* info = nullptr);

}  // namespace dalnas
