#pragma once
// Folder datasets: DIR/images/<stem>.<tif|tiff|png> paired with DIR/masks/<stem>.<tif|tiff|png>.
// Masks are 0/1 or 0/255 single-band. An image without a mask (or the reverse), or a mask
// whose size differs from its image, is an error naming the file.
#include <string>
#include <vector>

#include "data/scene.h"

namespace dalnas {

std::vector<Scene> load_folder(const std::string& dir);

}  // namespace dalnas
