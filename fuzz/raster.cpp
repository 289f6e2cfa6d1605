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
// so the cap here is 256 MiB (by default it is half the machine's memory).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("DALNAS_MAX_RASTER_MB", "256", 1);
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
