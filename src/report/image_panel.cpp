#include "report/image_panel.h"

#include <cpl_vsi.h>
#include <gdal_priv.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>

#include "core/error.h"

namespace dalnas::report {

std::pair<float, float> percentile_range(const float* v, size_t n, double lo, double hi) {
  std::vector<float> f;
  f.reserve(n);
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(v[i])) f.push_back(v[i]);
  if (f.empty()) return {0.0f, 0.0f};
  std::sort(f.begin(), f.end());
  auto q = [&](double p) {
    const double pos = std::clamp(p, 0.0, 1.0) * static_cast<double>(f.size() - 1);
    const size_t a = static_cast<size_t>(std::floor(pos));
    const size_t b = std::min(a + 1, f.size() - 1);
    const double t = pos - static_cast<double>(a);
    return static_cast<float>(f[a] + t * (static_cast<double>(f[b]) - f[a]));
  };
  return {q(lo), q(hi)};
}

uint8_t stretch(float v, float lo, float hi) {
  if (!std::isfinite(v) || !(hi > lo)) return 0;
  const double t = (static_cast<double>(v) - lo) / (static_cast<double>(hi) - lo);
  return static_cast<uint8_t>(std::lround(std::clamp(t, 0.0, 1.0) * 255.0));
}

std::array<int, 3> rgb_bands(int bands) {
  if (bands >= 3) return {2, 1, 0};
  return {0, 0, 0};
}

Rgb8 rgb_composite(const Scene& s, int y0, int x0, int h, int w) {
  Rgb8 img;
  img.height = h;
  img.width = w;
  img.rgb.assign(static_cast<size_t>(h) * w * 3, 0);
  const auto bands = rgb_bands(s.bands);
  std::vector<float> win(static_cast<size_t>(h) * w);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        win[static_cast<size_t>(y) * w + x] = s.at(bands[c], y0 + y, x0 + x);
    const auto [lo, hi] = percentile_range(win.data(), win.size());
    for (size_t i = 0; i < win.size(); ++i) img.rgb[i * 3 + c] = stretch(win[i], lo, hi);
  }
  return img;
}

Rgb8 mask_image(const uint8_t* mask, int h, int w) {
  Rgb8 img;
  img.height = h;
  img.width = w;
  img.rgb.resize(static_cast<size_t>(h) * w * 3);
  for (size_t i = 0; i < static_cast<size_t>(h) * w; ++i) {
    const uint8_t v = mask[i] ? 255 : 0;
    img.rgb[i * 3] = img.rgb[i * 3 + 1] = img.rgb[i * 3 + 2] = v;
  }
  return img;
}

Rgb8 error_image(const float* prob, const uint8_t* gt, int h, int w, float threshold) {
  Rgb8 img;
  img.height = h;
  img.width = w;
  img.rgb.resize(static_cast<size_t>(h) * w * 3);
  for (size_t i = 0; i < static_cast<size_t>(h) * w; ++i) {
    const bool p = prob[i] >= threshold;  // false for NaN
    const bool g = gt[i] != 0;
    const auto& c = p && g ? kTruePositive
                    : p    ? kFalsePositive
                    : g    ? kFalseNegative
                           : kTrueNegative;
    std::copy(c.begin(), c.end(), img.rgb.begin() + static_cast<std::ptrdiff_t>(i * 3));
  }
  return img;
}

std::string encode_png(const Rgb8& img) {
  static std::once_flag once;
  std::call_once(once, [] { GDALAllRegister(); });
  if (img.height <= 0 || img.width <= 0) throw Error("png: empty image");
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDriver* png = GetGDALDriverManager()->GetDriverByName("PNG");
  if (!mem || !png) throw Error("png: GDAL has no MEM or PNG driver");
  GDALDataset* src = mem->Create("", img.width, img.height, 3, GDT_Byte, nullptr);
  if (!src) throw Error("png: GDAL cannot create an in-memory image");
  Rgb8 copy = img;  // RasterIO wants a non-const buffer
  const CPLErr e =
      src->RasterIO(GF_Write, 0, 0, img.width, img.height, copy.rgb.data(), img.width, img.height,
                    GDT_Byte, 3, nullptr, 3, static_cast<GSpacing>(img.width) * 3, 1, nullptr);
  if (e != CE_None) {
    GDALClose(src);
    throw Error("png: GDAL cannot fill the in-memory image");
  }
  static std::atomic<int> counter{0};
  const std::string name = "/vsimem/dalnas-report-" + std::to_string(counter++) + ".png";
  GDALDataset* out = png->CreateCopy(name.c_str(), src, FALSE, nullptr, nullptr, nullptr);
  GDALClose(src);
  if (!out) throw Error("png: GDAL's PNG driver failed: " + std::string(CPLGetLastErrorMsg()));
  GDALClose(out);
  vsi_l_offset len = 0;
  GByte* bytes = VSIGetMemFileBuffer(name.c_str(), &len, TRUE);  // takes ownership
  if (!bytes) throw Error("png: no bytes in " + name);
  std::string result(reinterpret_cast<const char*>(bytes), static_cast<size_t>(len));
  CPLFree(bytes);
  VSIUnlink(name.c_str());  // .aux.xml, if any
  return result;
}

}  // namespace dalnas::report
