// Fuzz target: COCO annotation files (data/coco.h: RLE, compressed RLE, polygons). The
// input is the JSON file; the scratch folder holds two small GeoTIFFs it may name:
// a.tif (1 band, 8 x 8) and b.tif (4 bands, 5 high, 6 wide).
#include "data/coco.h"

#include <cstdint>
#include <string>
#include <vector>

#include "data/raster.h"
#include "fuzz_util.h"

namespace {

void write_images() {
  const std::string dir = dalnas_fuzz::scratch_dir();
  dalnas::Raster a;
  a.bands = 1;
  a.height = 8;
  a.width = 8;
  a.data.assign(64, 1.0f);
  dalnas::write_geotiff(dir + "/a.tif", a);
  dalnas::Raster b;
  b.bands = 4;
  b.height = 5;
  b.width = 6;
  for (int i = 0; i < 4 * 5 * 6; ++i) b.data.push_back(static_cast<float>(i));
  dalnas::write_geotiff(dir + "/b.tif", b);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  write_images();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = dalnas_fuzz::write_scratch("coco.json", data, size);
  try {
    dalnas::CocoStats stats;
    dalnas::load_coco(path, &stats);
  } catch (const dalnas::Error&) {
  }
  return 0;
}
