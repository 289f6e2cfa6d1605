#include "data/coco.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/raster.h"

namespace dalnas {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string size_str(int height, int width) {
  return std::to_string(height) + "x" + std::to_string(width);
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

// pycocotools' rleFrPoly for one polygon of k points (xy interleaved): run counts of the
// column-major mask.
std::vector<uint32_t> rle_from_polygon(const double* xy, size_t k, int h, int w) {
  const double scale = 5;
  std::vector<int> x(k + 1), y(k + 1);
  for (size_t j = 0; j < k; ++j) x[j] = static_cast<int>(scale * xy[j * 2 + 0] + .5);
  x[k] = x[0];
  for (size_t j = 0; j < k; ++j) y[j] = static_cast<int>(scale * xy[j * 2 + 1] + .5);
  y[k] = y[0];
  size_t m = 0;
  for (size_t j = 0; j < k; ++j)
    m += static_cast<size_t>(std::max(std::abs(x[j] - x[j + 1]), std::abs(y[j] - y[j + 1]))) + 1;
  // Dense boundary points in the upsampled grid.
  std::vector<int> u, v;
  u.reserve(m);
  v.reserve(m);
  for (size_t j = 0; j < k; ++j) {
    int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
    const int dx = std::abs(xe - xs), dy = std::abs(ys - ye);
    const bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      std::swap(xs, xe);
      std::swap(ys, ye);
    }
    // A repeated vertex (dx = dy = 0) has slope 0, not 0/0 (whose conversion to int below
    // is undefined; found by fuzz_coco under UndefinedBehaviorSanitizer).
    const double s = dx >= dy ? (dx == 0 ? 0.0 : static_cast<double>(ye - ys) / dx)
                              : static_cast<double>(xe - xs) / dy;
    if (dx >= dy) {
      for (int d = 0; d <= dx; ++d) {
        const int t = flip ? dx - d : d;
        u.push_back(t + xs);
        v.push_back(static_cast<int>(ys + s * t + .5));
      }
    } else {
      for (int d = 0; d <= dy; ++d) {
        const int t = flip ? dy - d : d;
        v.push_back(t + ys);
        u.push_back(static_cast<int>(xs + s * t + .5));
      }
    }
  }
  // Points where the boundary crosses a pixel-centre column, downsampled.
  std::vector<uint32_t> a;
  for (size_t j = 1; j < u.size(); ++j) {
    if (u[j] == u[j - 1]) continue;
    double xd = static_cast<double>(u[j] < u[j - 1] ? u[j] : u[j] - 1);
    xd = (xd + .5) / scale - .5;
    if (std::floor(xd) != xd || xd < 0 || xd > w - 1) continue;
    double yd = static_cast<double>(v[j] < v[j - 1] ? v[j] : v[j - 1]);
    yd = (yd + .5) / scale - .5;
    if (yd < 0)
      yd = 0;
    else if (yd > h)
      yd = h;
    yd = std::ceil(yd);
    a.push_back(static_cast<uint32_t>(static_cast<int>(xd) * h + static_cast<int>(yd)));
  }
  a.push_back(static_cast<uint32_t>(h) * static_cast<uint32_t>(w));
  std::sort(a.begin(), a.end());
  uint32_t p = 0;
  for (uint32_t& t : a) {
    const uint32_t cur = t;
    t -= p;
    p = cur;
  }
  std::vector<uint32_t> b;
  size_t j = 0;
  b.push_back(a[j++]);
  while (j < a.size()) {
    if (a[j] > 0) {
      b.push_back(a[j++]);
    } else {
      ++j;
      if (j < a.size()) b.back() += a[j++];
    }
  }
  return b;
}

// ---- JSON field access with error messages naming file and field path ----

struct Ctx {
  std::string file;  // the JSON path as given
  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw Error(file + ": " + field + (what.empty() || what[0] == ' ' ? "" : " ") + what);
  }
};

const json& member(const Ctx& c, const json& obj, const std::string& key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end()) c.fail(path + "." + key, "is missing");
  return *it;
}

int64_t as_int(const Ctx& c, const json& v, const std::string& path) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::abs(d) < 9e15)
      return static_cast<int64_t>(d);
  }
  c.fail(path, "is " + one_line(v.dump()) + ", expected an integer");
}

std::string as_string(const Ctx& c, const json& v, const std::string& path) {
  if (!v.is_string()) c.fail(path, "is " + one_line(v.dump()) + ", expected a string");
  return v.get<std::string>();
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

struct ImageEntry {
  int64_t id = 0;
  std::string file_name;
  fs::path path;
  int64_t width = -1, height = -1;  // from the JSON; -1 when absent
};

void decode_segmentation(const Ctx& c, const json& seg, const std::string& path, int h, int w,
                         const std::string& image_desc, std::vector<uint8_t>& mask) {
  const std::string where = c.file + ": " + path;
  if (seg.is_object()) {
    const json& size = member(c, seg, "size", path);
    if (!size.is_array() || size.size() != 2)
      c.fail(path + ".size", "is " + one_line(size.dump()) + ", expected [height, width]");
    const int64_t sh = as_int(c, size[0], path + ".size[0]");
    const int64_t sw = as_int(c, size[1], path + ".size[1]");
    if (sh != h || sw != w)
      c.fail(path + ".size", "[" + std::to_string(sh) + ", " + std::to_string(sw) + "] but image " +
                                 image_desc + " is " + size_str(h, w));
    const json& counts = member(c, seg, "counts", path);
    std::vector<uint32_t> runs;
    if (counts.is_string()) {
      runs = rle_from_string(counts.get<std::string>(), where + ".counts");
    } else if (counts.is_array()) {
      runs.reserve(counts.size());
      for (size_t i = 0; i < counts.size(); ++i) {
        const std::string p = path + ".counts[" + std::to_string(i) + "]";
        const int64_t n = as_int(c, counts[i], p);
        if (n < 0 || n > std::numeric_limits<uint32_t>::max())
          c.fail(p, std::to_string(n) + " is not a valid run length");
        runs.push_back(static_cast<uint32_t>(n));
      }
    } else {
      c.fail(path + ".counts", "is " + one_line(counts.dump()).substr(0, 40) +
                                   ", expected a list of run lengths or an RLE string");
    }
    rle_decode_into(runs, h, w, mask, where);
  } else if (seg.is_array()) {
    std::vector<std::vector<double>> polygons;
    for (size_t i = 0; i < seg.size(); ++i) {
      const std::string p = path + "[" + std::to_string(i) + "]";
      const json& poly = seg[i];
      if (!poly.is_array())
        c.fail(p, "is " + one_line(poly.dump()).substr(0, 40) +
                      ", expected a polygon [x0, y0, x1, y1, ...]");
      if (poly.size() % 2 != 0 || poly.empty())
        c.fail(p,
               "polygon has " + std::to_string(poly.size()) + " coordinates, expected x, y pairs");
      std::vector<double> xy;
      xy.reserve(poly.size());
      for (size_t k = 0; k < poly.size(); ++k) {
        const json& v = poly[k];
        if (!v.is_number() || !std::isfinite(v.get<double>()) || std::abs(v.get<double>()) > 1e6)
          c.fail(p + "[" + std::to_string(k) + "]",
                 "is " + one_line(v.dump()) + ", expected a pixel coordinate");
        xy.push_back(v.get<double>());
      }
      polygons.push_back(std::move(xy));
    }
    polygon_fill_into(polygons, h, w, mask);
  } else {
    c.fail(path, "is " + one_line(seg.dump()).substr(0, 40) +
                     ", expected an RLE object or a list of polygons");
  }
}

}  // namespace

void rle_decode_into(const std::vector<uint32_t>& counts, int height, int width,
                     std::vector<uint8_t>& mask, const std::string& context) {
  const uint64_t n = static_cast<uint64_t>(height) * static_cast<uint64_t>(width);
  if (mask.empty()) mask.assign(n, 0);
  if (mask.size() != n)
    throw std::logic_error("rle_decode_into: mask buffer size does not match height x width");
  uint64_t sum = 0;
  for (uint32_t c : counts) sum += c;
  if (sum != n)
    throw Error(context + ": RLE counts sum to " + std::to_string(sum) + " but size is " +
                size_str(height, width));
  uint64_t pos = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const uint64_t end = pos + counts[i];
    if (i % 2 == 1) {
      // Foreground run over column-major positions [pos, end).
      uint64_t col = pos / height, row = pos % height;
      for (uint64_t p = pos; p < end; ++p) {
        mask[row * width + col] = 1;
        if (++row == static_cast<uint64_t>(height)) {
          row = 0;
          ++col;
        }
      }
    }
    pos = end;
  }
}

std::vector<uint32_t> rle_from_string(const std::string& s, const std::string& context) {
  std::vector<uint32_t> counts;
  size_t p = 0;
  while (p < s.size()) {
    int64_t x = 0;
    int k = 0;
    bool more = true;
    const size_t start = p;
    while (more) {
      if (p >= s.size())
        throw Error(context + ": compressed RLE string ends inside a number (at character " +
                    std::to_string(start) + ")");
      const int ch = static_cast<unsigned char>(s[p]);
      if (ch < 48 || ch > 111)
        throw Error(context + ": invalid character '" + std::string(1, s[p]) +
                    "' in compressed RLE string at character " + std::to_string(p));
      if (k >= 7)
        throw Error(context + ": compressed RLE number too long at character " +
                    std::to_string(start));
      const int c = ch - 48;
      x |= static_cast<int64_t>(c & 0x1f) << (5 * k);
      more = (c & 0x20) != 0;
      ++p;
      ++k;
      if (!more && (c & 0x10)) x |= static_cast<int64_t>(-1) * (int64_t{1} << (5 * k));
    }
    if (counts.size() > 2) x += counts[counts.size() - 2];
    if (x < 0 || x > std::numeric_limits<uint32_t>::max())
      throw Error(context + ": compressed RLE gives run length " + std::to_string(x) + " (run " +
                  std::to_string(counts.size()) + ")");
    counts.push_back(static_cast<uint32_t>(x));
  }
  return counts;
}

std::string rle_to_string(const std::vector<uint32_t>& counts) {
  std::string s;
  for (size_t i = 0; i < counts.size(); ++i) {
    int64_t x = counts[i];
    if (i > 2) x -= counts[i - 2];
    bool more = true;
    while (more) {
      int c = static_cast<int>(x & 0x1f);
      x >>= 5;  // arithmetic shift (sign-preserving) as in pycocotools
      more = (c & 0x10) ? x != -1 : x != 0;
      if (more) c |= 0x20;
      s.push_back(static_cast<char>(c + 48));
    }
  }
  return s;
}

void polygon_fill_into(const std::vector<std::vector<double>>& polygons, int height, int width,
                       std::vector<uint8_t>& mask) {
  const size_t n = static_cast<size_t>(height) * width;
  if (mask.empty()) mask.assign(n, 0);
  if (mask.size() != n)
    throw std::logic_error("polygon_fill_into: mask buffer size does not match height x width");
  for (const auto& poly : polygons) {
    const size_t k = poly.size() / 2;
    if (k == 0) continue;
    bool sane = true;
    for (double v : poly) sane = sane && std::isfinite(v) && std::abs(v) <= 1e6;
    if (!sane) continue;  // load_coco reports such coordinates; never overflow here
    const std::vector<uint32_t> runs = rle_from_polygon(poly.data(), k, height, width);
    bool any = false;
    for (size_t i = 1; i < runs.size() && !any; i += 2) any = runs[i] > 0;
    if (any) {
      rle_decode_into(runs, height, width, mask, "polygon");
      continue;
    }
    // Thinner than a pixel: keep the pixels that contain its vertices.
    for (size_t j = 0; j < k; ++j) {
      const double x = std::floor(poly[2 * j]), y = std::floor(poly[2 * j + 1]);
      if (x < 0 || y < 0 || x >= width || y >= height) continue;
      mask[static_cast<size_t>(y) * width + static_cast<size_t>(x)] = 1;
    }
  }
}

std::vector<Scene> load_coco(const std::string& json_path, CocoStats* stats) {
  const Ctx c{json_path};
  std::error_code ec;
  if (!fs::exists(json_path, ec)) throw Error(json_path + ": no such file");
  std::ifstream in(json_path, std::ios::binary);
  if (!in) throw Error(json_path + ": cannot open for reading");
  json root;
  try {
    root = json::parse(in);
  } catch (const json::exception& e) {
    throw Error(json_path + ": invalid JSON: " + one_line(e.what()));
  }
  if (!root.is_object())
    throw Error(json_path + ": expected a JSON object with images and annotations");
  const fs::path base = fs::path(json_path).parent_path();

  // images[]
  auto images_it = root.find("images");
  if (images_it == root.end()) c.fail("images", "is missing");
  if (!images_it->is_array()) c.fail("images", "is not a list");
  const json& images = *images_it;
  std::vector<ImageEntry> entries;
  std::map<int64_t, size_t> by_id;
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string p = "images[" + std::to_string(i) + "]";
    const json& im = images[i];
    if (!im.is_object()) c.fail(p, "is not an object");
    ImageEntry e;
    e.id = as_int(c, member(c, im, "id", p), p + ".id");
    e.file_name = as_string(c, member(c, im, "file_name", p), p + ".file_name");
    if (e.file_name.empty()) c.fail(p + ".file_name", "is empty");
    if (im.contains("width")) e.width = as_int(c, im["width"], p + ".width");
    if (im.contains("height")) e.height = as_int(c, im["height"], p + ".height");
    e.path = base / e.file_name;
    auto [it, fresh] = by_id.emplace(e.id, i);
    if (!fresh)
      c.fail(p + ".id",
             std::to_string(e.id) + " repeats images[" + std::to_string(it->second) + "].id");
    const std::string name = fs::path(e.file_name).stem().string();
    auto [nit, nfresh] = by_name.emplace(name, i);
    if (!nfresh)
      c.fail(p + ".file_name", "'" + e.file_name + "': scene name '" + name + "' repeats images[" +
                                   std::to_string(nit->second) + "].file_name '" +
                                   entries[nit->second].file_name + "'");
    if (!fs::is_regular_file(e.path, ec))
      c.fail(p + ".file_name", "'" + e.file_name + "': no such file");
    entries.push_back(std::move(e));
  }

  // categories[]: restrict to vessel-like categories when any is named.
  std::set<int64_t> vessel_ids;
  bool filter = false;
  auto cats_it = root.find("categories");
  if (cats_it != root.end()) {
    if (!cats_it->is_array()) c.fail("categories", "is not a list");
    for (size_t i = 0; i < cats_it->size(); ++i) {
      const std::string p = "categories[" + std::to_string(i) + "]";
      const json& cat = (*cats_it)[i];
      if (!cat.is_object()) c.fail(p, "is not an object");
      auto name_it = cat.find("name");
      if (name_it == cat.end() || !name_it->is_string()) continue;
      const std::string name = lower(name_it->get<std::string>());
      if (name == "vessel" || name == "ship" || name == "boat") {
        vessel_ids.insert(as_int(c, member(c, cat, "id", p), p + ".id"));
        filter = true;
      }
    }
  }

  // Rasters.
  std::vector<Scene> scenes(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const ImageEntry& e = entries[i];
    const std::string p = "images[" + std::to_string(i) + "]";
    Raster r;
    try {
      r = read_raster(e.path.string());
    } catch (const Error& err) {
      std::string msg = err.what();
      const std::string prefix = e.path.string() + ": ";
      if (msg.compare(0, prefix.size(), prefix) == 0) msg = msg.substr(prefix.size());
      c.fail(p + ".file_name", "'" + e.file_name + "': " + msg);
    }
    if (e.width >= 0 && e.width != r.width)
      c.fail(p + ".width", std::to_string(e.width) + " but '" + e.file_name + "' is " +
                               std::to_string(r.width) + " pixels wide");
    if (e.height >= 0 && e.height != r.height)
      c.fail(p + ".height", std::to_string(e.height) + " but '" + e.file_name + "' is " +
                                std::to_string(r.height) + " pixels high");
    Scene& s = scenes[i];
    s.name = fs::path(e.file_name).stem().string();
    s.bands = r.bands;
    s.height = r.height;
    s.width = r.width;
    s.image = std::move(r.data);
    s.mask.assign(s.pixels(), 0);
  }

  // annotations[]
  int used = 0, skipped = 0;
  auto anns_it = root.find("annotations");
  if (anns_it != root.end()) {
    if (!anns_it->is_array()) c.fail("annotations", "is not a list");
    const json& anns = *anns_it;
    for (size_t i = 0; i < anns.size(); ++i) {
      const std::string p = "annotations[" + std::to_string(i) + "]";
      const json& ann = anns[i];
      if (!ann.is_object()) c.fail(p, "is not an object");
      const int64_t image_id = as_int(c, member(c, ann, "image_id", p), p + ".image_id");
      auto it = by_id.find(image_id);
      if (it == by_id.end()) c.fail(p + ".image_id", std::to_string(image_id) + " names no image");
      if (filter) {
        const int64_t cat = as_int(c, member(c, ann, "category_id", p), p + ".category_id");
        if (!vessel_ids.count(cat)) {
          ++skipped;
          continue;
        }
      }
      Scene& s = scenes[it->second];
      decode_segmentation(c, member(c, ann, "segmentation", p), p + ".segmentation", s.height,
                          s.width, "'" + entries[it->second].file_name + "'", s.mask);
      ++used;
    }
  }
  if (stats) {
    stats->images = static_cast<int>(scenes.size());
    stats->annotations = used;
    stats->skipped = skipped;
  }
  return scenes;
}

}  // namespace dalnas
