#pragma once
// COCO-format segmentation datasets: a JSON file whose images are multi-band rasters.
// Segmentations: uncompressed RLE ({"counts": [..], "size": [h, w]}), compressed RLE
// strings (pycocotools' LEB128-like encoding) and polygons ([[x0,y0,x1,y1,...], ...]).
// The union of a scene's annotations is its vessel mask.
#include <cstdint>
#include <string>
#include <vector>

#include "data/scene.h"

namespace dalnas {

// Decodes an RLE (column-major runs starting with background, as pycocotools) into a
// row-major height × width mask, OR-ed into `mask`. Throws dalnas::Error with `context`
// if the runs do not sum to height × width.
void rle_decode_into(const std::vector<uint32_t>& counts, int height, int width,
                     std::vector<uint8_t>& mask, const std::string& context);
// Decodes pycocotools' compressed RLE string into run counts.
std::vector<uint32_t> rle_from_string(const std::string& s, const std::string& context);
// Rasterises polygons (pixel coordinates, as pycocotools' frPyObjects + decode) into `mask`.
void polygon_fill_into(const std::vector<std::vector<double>>& polygons, int height, int width,
                       std::vector<uint8_t>& mask);

// Loads every image of the COCO file (paths resolved relative to the JSON's folder) with
// its mask. Errors name the JSON file and the field, e.g.
// "annotations.json: annotations[12].image_id 99 names no image".
std::vector<Scene> load_coco(const std::string& json_path);

}  // namespace dalnas
