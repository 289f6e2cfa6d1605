#include "train/checkpoint.h"

#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace dalnas {

void save_checkpoint(const std::string& path, const Checkpoint& ck) {
  std::ostringstream weights;
  torch::serialize::OutputArchive archive;
  ck.net->save(archive);
  archive.save_to(weights);
  write_file_atomic(path, encode_checkpoint_container(checkpoint_meta_json(ck), weights.str()));
}

Checkpoint load_checkpoint(const std::string& path, PolicyPtr policy) {
  const CheckpointContainer file = decode_checkpoint_container(read_file(path), path);
  Checkpoint ck;
  static_cast<CheckpointMeta&>(ck) = parse_checkpoint_meta(file.meta, path);
  ck.net = build_network(ck.genome, ck.bands, policy);
  try {
    std::istringstream ws(file.weights);
    torch::serialize::InputArchive archive;
    archive.load_from(ws);
    ck.net->load(archive);
  } catch (const c10::Error& e) {
    throw Error(path + ": weights do not match genome " + ck.genome.str());
  }
  return ck;
}

}  // namespace dalnas
