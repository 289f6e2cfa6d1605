#pragma once
// Raster I/O through GDAL: multi-band GeoTIFF / TIFF / PNG into plain arrays.
#include <cstdint>
#include <string>
#include <vector>

namespace dalnas {

struct Raster {
  int bands = 0, height = 0, width = 0;
  std::vector<float>
      data;  // bands × height × width, band-major, values as stored (uint16 DN exact)
};

// The most bands read_raster accepts (hyperspectral cubes have a few hundred; a model's input
// takes at most kCheckpointMaxBands, the same figure).
constexpr int kRasterMaxBands = 1024;

// Reads every band of `path`. Throws dalnas::Error "<path>: <problem>" if the file is
// missing, unreadable, not a raster, has more than kRasterMaxBands bands, or declares more
// pixels than the memory limit allows (half the machine's memory, or DALNAS_MAX_RASTER_MB).
Raster read_raster(const std::string& path);
// Reads a single-band mask; any non-zero value (1 or 255) is vessel. Throws dalnas::Error
// naming the file if it has more than one band or values other than 0/1/255.
std::vector<uint8_t> read_mask(const std::string& path, int& height, int& width);
// Writes a raster as GeoTIFF (uint16 if every value is an integer in [0, 65535], else float32),
// via a temporary file renamed into place.
void write_geotiff(const std::string& path, const Raster& r);
// Writes a single-band uint8 mask (0/255 when `scale255`) as GeoTIFF or PNG (by extension).
void write_mask(const std::string& path, const std::vector<uint8_t>& mask, int height, int width,
                bool scale255 = false);

}  // namespace dalnas
