#include "train/checkpoint_file.h"

#include <cstring>
#include <utility>

#include "core/checksum.h"
#include "core/error.h"

namespace dalnas {

namespace {
constexpr char kMagic[8] = {'D', 'A', 'L', 'N', 'A', 'S', 'C', 'K'};
// Magic, version, json size, weights size, checksum.
constexpr size_t kFraming = sizeof kMagic + 4 + 8 + 8 + 8;

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename T>
T get(const std::string& in, size_t pos) {
  T v;
  std::memcpy(&v, in.data() + pos, sizeof v);
  return v;
}
}  // namespace

std::string encode_checkpoint_container(const std::string& meta, const std::string& weights) {
  std::string out;
  out.reserve(kFraming + meta.size() + weights.size());
  out.append(kMagic, sizeof kMagic);
  put<uint32_t>(out, kCheckpointVersion);
  put<uint64_t>(out, meta.size());
  out += meta;
  put<uint64_t>(out, weights.size());
  out += weights;
  put<uint64_t>(out, fnv1a64(out.data(), out.size()));
  return out;
}

CheckpointContainer decode_checkpoint_container(const std::string& in, const std::string& path) {
  if (in.size() < sizeof kMagic || std::memcmp(in.data(), kMagic, sizeof kMagic) != 0)
    throw Error(path + ": not a dalnas checkpoint (bad magic)");
  if (in.size() < kFraming) throw Error(path + ": checkpoint is truncated");
  // The checksum first: a damaged file says so, whatever byte was hit.
  if (fnv1a64(in.data(), in.size() - 8) != get<uint64_t>(in, in.size() - 8))
    throw Error(path + ": checksum mismatch (file is corrupted or truncated)");
  CheckpointContainer c;
  size_t pos = sizeof kMagic;
  c.version = get<uint32_t>(in, pos);
  pos += 4;
  if (c.version != kCheckpointVersion)
    throw Error(path + ": checkpoint format version " + std::to_string(c.version) +
                " unsupported (this dalnas reads version " + std::to_string(kCheckpointVersion) +
                ")");
  // Sizes are compared with what is left, never added to a position (no wrap-around).
  const size_t body = in.size() - kFraming;  // bytes for json and weights together
  const uint64_t meta_size = get<uint64_t>(in, pos);
  pos += 8;
  if (meta_size > body)
    throw Error(path + ": checkpoint metadata size " + std::to_string(meta_size) +
                " exceeds the file");
  c.meta = in.substr(pos, meta_size);
  pos += meta_size;
  const uint64_t weights_size = get<uint64_t>(in, pos);
  pos += 8;
  if (weights_size != body - meta_size)
    throw Error(path + ": checkpoint weights size " + std::to_string(weights_size) +
                " disagrees with the file (" + std::to_string(body - meta_size) + " bytes left)");
  c.weights = in.substr(pos, weights_size);
  return c;
}

std::string checkpoint_meta_json(const CheckpointMeta& m) {
  nlohmann::json meta = {{"format", "dalnas-checkpoint"},
                         {"version", kCheckpointVersion},
                         {"genome", m.genome.str()},
                         {"bands", m.bands},
                         {"normalization", m.norm.to_json()},
                         {"config", m.config},
                         {"metrics", m.metrics}};
  if (!m.act_ranges.empty()) meta["act_ranges"] = act_ranges_json(m.act_ranges);
  if (!m.weight_steps.empty()) meta["weight_steps"] = weight_steps_json(m.weight_steps);
  return meta.dump();
}

CheckpointMeta parse_checkpoint_meta(const std::string& text, const std::string& path) {
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    throw Error(path + ": checkpoint metadata is not valid JSON");
  }
  const std::string where = path + ": checkpoint metadata";
  if (!meta.is_object()) throw Error(where + " is not a JSON object");
  for (const char* key : {"genome", "bands", "normalization"})
    if (!meta.contains(key)) throw Error(where + " lacks '" + std::string(key) + "'");
  CheckpointMeta m;
  const auto& genome = meta.at("genome");
  if (!genome.is_string()) throw Error(where + ": 'genome' must be a string");
  try {
    m.genome = Genome::parse(genome.get<std::string>());
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  const auto& bands = meta.at("bands");
  if (!bands.is_number_integer() || bands.get<int64_t>() < 1 ||
      bands.get<int64_t>() > kCheckpointMaxBands)
    throw Error(where + ": 'bands' must be an integer in [1, " +
                std::to_string(kCheckpointMaxBands) + "], got " + bands.dump());
  m.bands = static_cast<int>(bands.get<int64_t>());
  m.norm = Normalization::from_json(meta.at("normalization"), where + ": normalization");
  if (static_cast<int64_t>(m.norm.mean.size()) != m.bands)
    throw Error(where + ": normalization has " + std::to_string(m.norm.mean.size()) +
                " bands but 'bands' is " + std::to_string(m.bands));
  // Absent or null (as files before this check wrote an empty field) reads as empty.
  const std::pair<const char*, nlohmann::json*> objects[] = {{"config", &m.config},
                                                             {"metrics", &m.metrics}};
  for (const auto& [key, field] : objects) {
    if (!meta.contains(key) || meta.at(key).is_null()) continue;
    if (!meta.at(key).is_object())
      throw Error(where + ": '" + std::string(key) + "' must be an object");
    *field = meta.at(key);
  }
  if (meta.contains("act_ranges") && !meta.at("act_ranges").is_null())
    m.act_ranges = parse_act_ranges(meta.at("act_ranges"), where + ": act_ranges");
  if (meta.contains("weight_steps") && !meta.at("weight_steps").is_null())
    m.weight_steps = parse_weight_steps(meta.at("weight_steps"), where + ": weight_steps");
  // The scene lists `eval` and `report` read back: split name -> scene names.
  if (m.config.contains("split_scenes")) {
    const auto& splits = m.config.at("split_scenes");
    bool ok = splits.is_object();
    for (auto it = splits.begin(); ok && it != splits.end(); ++it) {
      ok = it->is_array();
      for (const auto& name : *it) ok = ok && name.is_string();
    }
    if (!ok)
      throw Error(where + ": config.split_scenes must map each split to a list of scene names");
  }
  return m;
}

}  // namespace dalnas
