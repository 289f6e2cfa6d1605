// Fuzz target: rasters read through GDAL (data/raster.h: read_raster for images,
// read_mask for masks), from a file whose bytes are the input (GeoTIFF seeds; GDAL
// picks the driver from the content).
#include "data/raster.h"

#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_util.h"

// A header may declare a raster of any size: read_raster refuses more than
// DALNAS_MAX_RASTER_MB before allocating. The fuzzer's memory limit is 2 GiB (scripts/fuzz.sh),
// so the cap here is 64 MiB (by default it is half the machine's memory), and GDAL's block
// cache, 5 % of the machine's memory by default (1.2 GiB on 24 GiB), is held to 64 MiB: an
// input's float copy, GDAL's blocks and AddressSanitizer's shadow must fit in the 2 GiB.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("DALNAS_MAX_RASTER_MB", "64", 1);
  setenv("GDAL_CACHEMAX", "64", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = dalnas_fuzz::write_scratch("raster.tif", data, size);
  try {
    dalnas::read_raster(path);
  } catch (const dalnas::Error&) {
  }
  try {
    int h = 0, w = 0;
    dalnas::read_mask(path, h, w);
  } catch (const dalnas::Error&) {
  }
  return 0;
}
