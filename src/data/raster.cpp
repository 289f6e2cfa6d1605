#include "data/raster.h"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal_priv.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "core/error.h"

namespace dalnas {

namespace fs = std::filesystem;

namespace {

void register_gdal() {
  static std::once_flag once;
  std::call_once(once, [] { GDALAllRegister(); });
}

// Silences GDAL's stderr messages for the current thread while alive; the last error
// message stays available through CPLGetLastErrorMsg().
class QuietGdal {
 public:
  QuietGdal() {
    register_gdal();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
  }
  ~QuietGdal() { CPLPopErrorHandler(); }
  QuietGdal(const QuietGdal&) = delete;
  QuietGdal& operator=(const QuietGdal&) = delete;
};

// GDAL's last error message on one line ("unknown error" if none).
std::string gdal_message() {
  std::string msg = CPLGetLastErrorMsg();
  for (char& c : msg)
    if (c == '\n' || c == '\r') c = ' ';
  while (!msg.empty() && msg.back() == ' ') msg.pop_back();
  return msg.empty() ? "unknown GDAL error" : msg;
}

struct DatasetCloser {
  void operator()(GDALDataset* d) const {
    if (d) GDALClose(GDALDataset::ToHandle(d));
  }
};
using DatasetPtr = std::unique_ptr<GDALDataset, DatasetCloser>;

double physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page)
                               : 64.0 * (1ull << 30);
}

// The most a raster may declare, in bytes as float32: half the machine's memory, or
// DALNAS_MAX_RASTER_MB MiB when set (shared machines; the fuzz target sets 256).
double raster_limit_bytes(bool& from_env) {
  from_env = false;
  const char* env = std::getenv("DALNAS_MAX_RASTER_MB");
  if (env == nullptr || *env == '\0') return 0.5 * physical_memory_bytes();
  char* end = nullptr;
  const double mb = std::strtod(env, &end);
  if (end == env || *end != '\0' || !(mb > 0.0) || !std::isfinite(mb)) {
    throw Error(std::string("DALNAS_MAX_RASTER_MB: '") + env + "' is not a positive number of MiB");
  }
  from_env = true;
  return mb * (1 << 20);
}

DatasetPtr open_raster(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such file");
  if (fs::is_directory(path, ec)) throw Error(path + ": is a folder, not a raster file");
  GDALDataset* d = GDALDataset::FromHandle(
      GDALOpenEx(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr));
  if (!d) throw Error(path + ": not a readable raster (" + gdal_message() + ")");
  DatasetPtr ds(d);
  if (ds->GetRasterCount() <= 0) throw Error(path + ": raster has no bands");
  if (ds->GetRasterXSize() <= 0 || ds->GetRasterYSize() <= 0)
    throw Error(path + ": raster is empty (0 pixels)");
  // A header can declare any size (a corrupt or hostile file declares terabytes): refuse
  // what cannot be held as float32 in memory before allocating it.
  const double bytes = 4.0 * ds->GetRasterXSize() * ds->GetRasterYSize() * ds->GetRasterCount();
  bool from_env = false;
  const double limit = raster_limit_bytes(from_env);
  if (bytes > limit) {
    char buf[200];
    if (from_env) {
      std::snprintf(buf, sizeof buf,
                    ": declares %d x %d pixels x %d bands (%.1f GiB as float32), more than "
                    "DALNAS_MAX_RASTER_MB (%.0f MiB); crop or tile it first",
                    ds->GetRasterXSize(), ds->GetRasterYSize(), ds->GetRasterCount(),
                    bytes / (1 << 30), limit / (1 << 20));
    } else {
      std::snprintf(buf, sizeof buf,
                    ": declares %d x %d pixels x %d bands (%.1f GiB as float32), more than half "
                    "this machine's memory (%.1f GiB); crop or tile it first",
                    ds->GetRasterXSize(), ds->GetRasterYSize(), ds->GetRasterCount(),
                    bytes / (1 << 30), 2 * limit / (1 << 30));
    }
    throw Error(path + buf);
  }
  return ds;
}

void read_band(GDALDataset& ds, int band, float* dst, const std::string& path) {
  const int w = ds.GetRasterXSize(), h = ds.GetRasterYSize();
  GDALRasterBand* b = ds.GetRasterBand(band);
  if (!b || b->RasterIO(GF_Read, 0, 0, w, h, dst, w, h, GDT_Float32, 0, 0, nullptr) != CE_None)
    throw Error(path + ": cannot read band " + std::to_string(band) + " (" + gdal_message() + ")");
}

// A unique temporary path beside `path` (same folder, so std::rename is atomic).
std::string temp_path_for(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp-" + std::to_string(static_cast<long>(getpid())) + "-" +
         std::to_string(counter++);
}

void remove_quietly(const std::string& p) {
  std::error_code ec;
  fs::remove(p, ec);
  fs::remove(p + ".aux.xml", ec);
}

// Renames `tmp` onto `path`, removing `tmp` (and GDAL side files) on failure.
void commit_temp(const std::string& tmp, const std::string& path) {
  std::error_code ec;
  fs::remove(tmp + ".aux.xml", ec);  // drivers may leave a PAM side file; it has no value here
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    remove_quietly(tmp);
    throw Error(path + ": cannot write (rename of temporary file failed)");
  }
}

GDALDriver* driver(const char* name, const std::string& path) {
  GDALDriver* d = GetGDALDriverManager()->GetDriverByName(name);
  if (!d) throw Error(path + ": GDAL driver " + name + " is not available");
  return d;
}

bool has_extension(const std::string& path, const char* ext) {
  std::string e = fs::path(path).extension().string();
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e == ext;
}

// Writes an in-memory dataset `src` to `path` with `driver_name` through a temporary file.
void write_via(const char* driver_name, GDALDataset& src, const std::string& path, char** options) {
  const std::string tmp = temp_path_for(path);
  GDALDataset* out =
      driver(driver_name, path)->CreateCopy(tmp.c_str(), &src, FALSE, options, nullptr, nullptr);
  if (!out) {
    const std::string msg = gdal_message();
    remove_quietly(tmp);
    throw Error(path + ": cannot write (" + msg + ")");
  }
  CPLErrorReset();
  GDALClose(GDALDataset::ToHandle(out));  // flushes; failures are reported through CPLError
  if (CPLGetLastErrorType() == CE_Failure || CPLGetLastErrorType() == CE_Fatal) {
    const std::string msg = gdal_message();
    remove_quietly(tmp);
    throw Error(path + ": cannot write (" + msg + ")");
  }
  commit_temp(tmp, path);
}

DatasetPtr mem_dataset(int width, int height, int bands, GDALDataType type,
                       const std::string& path) {
  GDALDataset* d = driver("MEM", path)->Create("", width, height, bands, type, nullptr);
  if (!d) throw Error(path + ": cannot create in-memory raster (" + gdal_message() + ")");
  return DatasetPtr(d);
}

}  // namespace

Raster read_raster(const std::string& path) {
  QuietGdal quiet;
  DatasetPtr ds = open_raster(path);
  Raster r;
  r.bands = ds->GetRasterCount();
  r.width = ds->GetRasterXSize();
  r.height = ds->GetRasterYSize();
  if (r.bands > kRasterMaxBands)
    throw Error(path + ": raster has " + std::to_string(r.bands) + " bands, more than " +
                std::to_string(kRasterMaxBands) + " (the most a model's input takes)");
  const size_t plane = static_cast<size_t>(r.width) * r.height;
  r.data.resize(plane * r.bands);
  // One dataset-level read into a band-major buffer: a pixel-interleaved file is then read
  // block by block once, not once per band (per band, GDAL caches every band's copy of each
  // block, which for many bands costs far more memory than the image itself).
  const GSpacing px = sizeof(float), line = px * r.width, band = line * r.height;
  if (ds->RasterIO(GF_Read, 0, 0, r.width, r.height, r.data.data(), r.width, r.height, GDT_Float32,
                   r.bands, nullptr, px, line, band, nullptr) != CE_None)
    throw Error(path + ": cannot read its pixels (" + gdal_message() + ")");
  // NaN or infinity in an image (float no-data, a broken product) would only surface later
  // as a training that diverges: name the file and the first place here instead.
  size_t bad = 0, first = 0;
  for (size_t i = 0; i < r.data.size(); ++i) {
    if (!std::isfinite(r.data[i]) && bad++ == 0) first = i;
  }
  if (bad) {
    const size_t b = first / plane, px = first % plane;
    throw Error(path + ": " + std::to_string(bad) +
                " non-finite values (NaN or infinity), the first in band " + std::to_string(b + 1) +
                " at row " + std::to_string(px / r.width) + ", column " +
                std::to_string(px % r.width) + " (fill no-data with a finite value first)");
  }
  return r;
}

std::vector<uint8_t> read_mask(const std::string& path, int& height, int& width) {
  QuietGdal quiet;
  DatasetPtr ds = open_raster(path);
  if (ds->GetRasterCount() != 1)
    throw Error(path + ": mask has " + std::to_string(ds->GetRasterCount()) +
                " bands (expected 1)");
  width = ds->GetRasterXSize();
  height = ds->GetRasterYSize();
  const size_t n = static_cast<size_t>(width) * height;
  std::vector<float> values(n);
  read_band(*ds, 1, values.data(), path);
  std::vector<uint8_t> mask(n);
  for (size_t i = 0; i < n; ++i) {
    const float v = values[i];
    if (v == 0.0f) {
      mask[i] = 0;
    } else if (v == 1.0f || v == 255.0f) {
      mask[i] = 1;
    } else {
      char value[32];
      std::snprintf(value, sizeof value, "%g", static_cast<double>(v));
      throw Error(path + ": mask value " + value + " at row " + std::to_string(i / width) +
                  ", column " + std::to_string(i % width) + " (expected 0/1 or 0/255)");
    }
  }
  return mask;
}

void write_geotiff(const std::string& path, const Raster& r) {
  if (r.bands <= 0 || r.height <= 0 || r.width <= 0 ||
      r.data.size() != static_cast<size_t>(r.bands) * r.height * r.width)
    throw Error(path + ": cannot write a raster of " + std::to_string(r.bands) + "x" +
                std::to_string(r.height) + "x" + std::to_string(r.width) + " from " +
                std::to_string(r.data.size()) + " values");
  QuietGdal quiet;
  bool integral = true;
  for (float v : r.data) {
    if (!(v >= 0.0f && v <= 65535.0f) || std::floor(v) != v) {
      integral = false;
      break;
    }
  }
  const GDALDataType type = integral ? GDT_UInt16 : GDT_Float32;
  DatasetPtr mem = mem_dataset(r.width, r.height, r.bands, type, path);
  const size_t plane = static_cast<size_t>(r.width) * r.height;
  for (int b = 0; b < r.bands; ++b) {
    float* src = const_cast<float*>(r.data.data() + plane * b);
    if (mem->GetRasterBand(b + 1)->RasterIO(GF_Write, 0, 0, r.width, r.height, src, r.width,
                                            r.height, GDT_Float32, 0, 0, nullptr) != CE_None)
      throw Error(path + ": cannot write (" + gdal_message() + ")");
  }
  CPLStringList options;
  options.SetNameValue("COMPRESS", "DEFLATE");
  if (r.bands > 1) options.SetNameValue("INTERLEAVE", "BAND");
  write_via("GTiff", *mem, path, options.List());
}

void write_mask(const std::string& path, const std::vector<uint8_t>& mask, int height, int width,
                bool scale255) {
  if (height <= 0 || width <= 0 || mask.size() != static_cast<size_t>(height) * width)
    throw Error(path + ": cannot write a " + std::to_string(height) + "x" + std::to_string(width) +
                " mask from " + std::to_string(mask.size()) + " values");
  QuietGdal quiet;
  std::vector<uint8_t> values(mask.size());
  const uint8_t on = scale255 ? 255 : 1;
  for (size_t i = 0; i < mask.size(); ++i) values[i] = mask[i] ? on : 0;
  DatasetPtr mem = mem_dataset(width, height, 1, GDT_Byte, path);
  if (mem->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, width, height, values.data(), width, height,
                                      GDT_Byte, 0, 0, nullptr) != CE_None)
    throw Error(path + ": cannot write (" + gdal_message() + ")");
  if (has_extension(path, ".png")) {
    write_via("PNG", *mem, path, nullptr);
  } else {
    CPLStringList options;
    options.SetNameValue("COMPRESS", "DEFLATE");
    write_via("GTiff", *mem, path, options.List());
  }
}

}  // namespace dalnas
