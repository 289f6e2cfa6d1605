#include "data/dataset.h"

#include <cctype>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/coco.h"
#include "data/folder.h"

namespace dalnas {

namespace fs = std::filesystem;

namespace {

bool has_json_extension(const fs::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e == ".json";
}

// "synthetic:N" -> N (positive); throws naming `spec` otherwise.
int parse_synthetic_count(const std::string& spec) {
  const std::string n = spec.substr(std::string("synthetic:").size());
  bool digits = !n.empty() && n.size() <= 6;
  for (char c : n) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  const int count = digits ? std::stoi(n) : 0;
  if (count <= 0)
    throw Error(spec + ": expected synthetic:N with N a number of scenes from 1 to 999999");
  return count;
}

void validate(const std::string& spec, const std::vector<Scene>& scenes) {
  if (scenes.empty()) throw Error(spec + ": dataset is empty");
  std::set<std::string> names;
  for (const Scene& s : scenes) {
    if (!names.insert(s.name).second)
      throw Error(spec + ": scene name '" + s.name + "' appears twice");
    if (s.bands <= 0 || s.height <= 0 || s.width <= 0)
      throw Error(spec + ": scene '" + s.name + "' is empty (" + std::to_string(s.bands) +
                  " bands, " + std::to_string(s.height) + "x" + std::to_string(s.width) + ")");
    if (s.bands != scenes[0].bands)
      throw Error(spec + ": scene '" + s.name + "' has " + std::to_string(s.bands) +
                  " bands but '" + scenes[0].name + "' has " + std::to_string(scenes[0].bands));
    if (s.image.size() != s.pixels() * s.bands)
      throw Error(spec + ": scene '" + s.name + "' holds " + std::to_string(s.image.size()) +
                  " image values, expected " + std::to_string(s.pixels() * s.bands));
    if (s.mask.size() != s.pixels())
      throw Error(spec + ": scene '" + s.name + "' has a mask of " + std::to_string(s.mask.size()) +
                  " pixels but its image is " + std::to_string(s.height) + "x" +
                  std::to_string(s.width));
  }
}

}  // namespace

std::vector<Scene> load_dataset(const std::string& spec, const SyntheticOptions& synth,
                                DatasetInfo* info) {
  DatasetInfo local;
  std::vector<Scene> scenes;
  std::error_code ec;
  if (spec == "synthetic" || spec.rfind("synthetic:", 0) == 0) {
    SyntheticOptions opt = synth;
    if (spec != "synthetic") opt.scenes = parse_synthetic_count(spec);
    local.format = "synthetic";
    scenes = make_synthetic(opt);
  } else if (fs::is_regular_file(spec, ec) && has_json_extension(spec)) {
    CocoStats stats;
    scenes = load_coco(spec, &stats);
    local.format = "coco";
    local.path = spec;
    local.annotations = stats.annotations;
  } else if (fs::is_directory(spec, ec)) {
    std::vector<fs::path> jsons;
    for (fs::directory_iterator it(spec, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_regular_file(ec) && has_json_extension(it->path())) jsons.push_back(it->path());
    if (ec) throw Error(spec + ": cannot list (" + ec.message() + ")");
    if (jsons.size() == 1) {
      CocoStats stats;
      scenes = load_coco(jsons[0].string(), &stats);
      local.format = "coco";
      local.path = jsons[0].string();
      local.annotations = stats.annotations;
    } else {
      if (jsons.size() > 1 && !fs::is_directory(fs::path(spec) / "images", ec))
        throw Error(spec + ": holds " + std::to_string(jsons.size()) +
                    " .json files; name the COCO annotations file itself");
      scenes = load_folder(spec);
      local.format = "folder";
      local.path = spec;
    }
  } else {
    throw Error(spec +
                ": no such dataset (expected 'synthetic', a COCO .json file or a folder with "
                "images/ and masks/)");
  }
  validate(spec, scenes);
  if (info) *info = local;
  return scenes;
}

}  // namespace dalnas
