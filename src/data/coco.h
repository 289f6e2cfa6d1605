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
// Encodes run counts as pycocotools' compressed RLE string (rleToString).
std::string rle_to_string(const std::vector<uint32_t>& counts);
// Rasterises polygons (pixel coordinates, x right, y down, pixel (x, y) covering
// [x, x+1) × [y, y+1)) into `mask`, OR-ed, exactly as pycocotools' frPyObjects + merge +
// decode (rleFrPoly: boundary upsampled ×5, pixels whose centres lie inside are set,
// up to pycocotools' rounding).
// Addition to pycocotools: a polygon that covers no pixel centre (a vessel thinner than a
// pixel) is not dropped: the pixels containing its vertices are set instead.
void polygon_fill_into(const std::vector<std::vector<double>>& polygons, int height, int width,
                       std::vector<uint8_t>& mask);

struct CocoStats {
  int images = 0;       // images loaded (scenes)
  int annotations = 0;  // annotations decoded into masks
  int skipped = 0;      // annotations of other categories (not vessels), ignored
};

// Loads every image of the COCO file (paths resolved relative to the JSON's folder) with
// its mask (all zero for an image without annotations). If `categories` names a category
// "vessel", "ship" or "boat" (any case), only annotations of those categories are used,
// else all. Scene names are file_name stems (must be unique). Sizes are written height x
// width. Errors name the JSON file and the field, e.g.
// "annotations.json: annotations[12].image_id 99 names no image".
std::vector<Scene> load_coco(const std::string& json_path, CocoStats* stats = nullptr);

}  // namespace dalnas
