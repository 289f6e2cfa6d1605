#include "data/folder.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/raster.h"

namespace dalnas {

namespace fs = std::filesystem;

namespace {

bool is_raster_name(const fs::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e == ".tif" || e == ".tiff" || e == ".png";
}

// stem -> file name, for the raster files of `dir` (sub-folder `sub` of the dataset).
std::map<std::string, std::string> list_rasters(const fs::path& dir, const std::string& sub) {
  const fs::path folder = dir / sub;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw Error(folder.string() + ": no such folder");
  std::map<std::string, std::string> files;
  fs::directory_iterator it(folder, ec), end;
  if (ec) throw Error(folder.string() + ": cannot list (" + ec.message() + ")");
  for (; it != end; it.increment(ec)) {
    if (ec) throw Error(folder.string() + ": cannot list (" + ec.message() + ")");
    const fs::path& p = it->path();
    if (!it->is_regular_file(ec) || !is_raster_name(p)) continue;
    const std::string name = p.filename().string();
    auto [pos, fresh] = files.emplace(p.stem().string(), name);
    if (!fresh) {
      const std::string a = std::min(pos->second, name), b = std::max(pos->second, name);
      throw Error((folder / b).string() + ": same name as " + sub + "/" + a +
                  " (one file per scene)");
    }
  }
  return files;
}

std::string size_str(int height, int width) {
  return std::to_string(height) + "x" + std::to_string(width);
}

}  // namespace

std::vector<Scene> load_folder(const std::string& dir) {
  const fs::path root(dir);
  const auto images = list_rasters(root, "images");
  const auto masks = list_rasters(root, "masks");
  for (const auto& [stem, name] : masks)
    if (!images.count(stem))
      throw Error((root / "masks" / name).string() + ": no image images/" + stem +
                  ".<tif|tiff|png> for this mask");
  std::vector<Scene> scenes;
  scenes.reserve(images.size());
  for (const auto& [stem, name] : images) {  // std::map: sorted by name
    auto m = masks.find(stem);
    if (m == masks.end())
      throw Error((root / "images" / name).string() + ": no mask masks/" + stem +
                  ".<tif|tiff|png> for this image");
    Raster r = read_raster((root / "images" / name).string());
    int mh = 0, mw = 0;
    std::vector<uint8_t> mask = read_mask((root / "masks" / m->second).string(), mh, mw);
    if (mh != r.height || mw != r.width)
      throw Error((root / "masks" / m->second).string() + ": mask is " + size_str(mh, mw) +
                  " but image images/" + name + " is " + size_str(r.height, r.width));
    Scene s;
    s.name = stem;
    s.bands = r.bands;
    s.height = r.height;
    s.width = r.width;
    s.image = std::move(r.data);
    s.mask = std::move(mask);
    scenes.push_back(std::move(s));
  }
  return scenes;
}

}  // namespace dalnas
