#include "train/checkpoint.h"

#include <cstring>
#include <sstream>

#include "core/atomic_file.h"
#include "core/checksum.h"
#include "core/error.h"

namespace dalnas {

namespace {
constexpr char kMagic[8] = {'D', 'A', 'L', 'N', 'A', 'S', 'C', 'K'};

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

template <typename T>
T get(const std::string& in, size_t& pos, const std::string& path) {
  if (pos + sizeof(T) > in.size()) throw Error(path + ": checkpoint is truncated");
  T v;
  std::memcpy(&v, in.data() + pos, sizeof v);
  pos += sizeof v;
  return v;
}
}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& ck) {
  nlohmann::json meta = {{"format", "dalnas-checkpoint"},
                         {"version", kCheckpointVersion},
                         {"genome", ck.genome.str()},
                         {"bands", ck.bands},
                         {"normalization", ck.norm.to_json()},
                         {"config", ck.config},
                         {"metrics", ck.metrics}};
  std::ostringstream weights;
  torch::serialize::OutputArchive archive;
  ck.net->save(archive);
  archive.save_to(weights);
  const std::string meta_s = meta.dump();
  const std::string w = weights.str();

  std::string out;
  out.append(kMagic, sizeof kMagic);
  put<uint32_t>(out, kCheckpointVersion);
  put<uint64_t>(out, meta_s.size());
  out += meta_s;
  put<uint64_t>(out, w.size());
  out += w;
  put<uint64_t>(out, fnv1a64(out.data(), out.size()));
  write_file_atomic(path, out);
}

Checkpoint load_checkpoint(const std::string& path, PolicyPtr policy) {
  const std::string in = read_file(path);
  if (in.size() < sizeof kMagic || std::memcmp(in.data(), kMagic, sizeof kMagic) != 0)
    throw Error(path + ": not a dalnas checkpoint (bad magic)");
  if (in.size() < sizeof kMagic + 8 + 8) throw Error(path + ": checkpoint is truncated");
  uint64_t stored;
  std::memcpy(&stored, in.data() + in.size() - 8, 8);
  if (fnv1a64(in.data(), in.size() - 8) != stored)
    throw Error(path + ": checksum mismatch (file is corrupted or truncated)");
  size_t pos = sizeof kMagic;
  const auto version = get<uint32_t>(in, pos, path);
  if (version != kCheckpointVersion)
    throw Error(path + ": checkpoint format version " + std::to_string(version) +
                " unsupported (this dalnas reads version " + std::to_string(kCheckpointVersion) +
                ")");
  const auto meta_size = get<uint64_t>(in, pos, path);
  if (pos + meta_size > in.size()) throw Error(path + ": checkpoint is truncated");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(in.substr(pos, meta_size));
  } catch (const std::exception& e) {
    throw Error(path + ": checkpoint metadata is not valid JSON");
  }
  pos += meta_size;
  const auto w_size = get<uint64_t>(in, pos, path);
  if (pos + w_size + 8 != in.size()) throw Error(path + ": checkpoint is truncated");

  Checkpoint ck;
  try {
    ck.genome = Genome::parse(meta.at("genome").get<std::string>());
    ck.bands = meta.at("bands").get<int>();
    ck.config = meta.value("config", nlohmann::json::object());
    ck.metrics = meta.value("metrics", nlohmann::json::object());
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  } catch (const std::exception& e) {
    throw Error(path + ": checkpoint metadata lacks genome or bands");
  }
  ck.norm = Normalization::from_json(meta.at("normalization"), path + ": normalization");
  ck.net = build_network(ck.genome, ck.bands, policy);
  try {
    std::istringstream ws(in.substr(pos, w_size));
    torch::serialize::InputArchive archive;
    archive.load_from(ws);
    ck.net->load(archive);
  } catch (const c10::Error& e) {
    throw Error(path + ": weights do not match genome " + ck.genome.str());
  }
  return ck;
}

}  // namespace dalnas
