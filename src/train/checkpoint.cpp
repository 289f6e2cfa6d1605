#include "train/checkpoint.h"

#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace dalnas {

const ActRanges& trained_act_ranges(const Checkpoint& ck) {
  if (ck.net && ck.net->policy && !ck.net->policy->int8_ranges().empty())
    return ck.net->policy->int8_ranges();
  return ck.act_ranges;
}

WeightSteps trained_weight_steps(const Checkpoint& ck) {
  if (ck.net && ck.net->policy) {
    WeightSteps s = ck.net->policy->weight_steps();
    if (!s.empty()) return s;
  }
  return ck.weight_steps;
}

void save_checkpoint(const std::string& path, const Checkpoint& ck) {
  std::ostringstream weights;
  torch::serialize::OutputArchive archive;
  ck.net->save(archive);
  archive.save_to(weights);
  CheckpointMeta meta = ck;
  meta.act_ranges = trained_act_ranges(ck);
  meta.weight_steps = trained_weight_steps(ck);
  write_file_atomic(path, encode_checkpoint_container(checkpoint_meta_json(meta), weights.str()));
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
  // A quantization-aware network evaluates (and continues training) at the ranges it
  // learned.
  if (ck.net->policy && ck.net->policy->quantization_aware() && !ck.act_ranges.empty())
    ck.net->policy->set_int8_ranges(ck.act_ranges);
  if (ck.net->policy && ck.net->policy->quantization_aware() &&
      ck.net->policy->learned_weight_steps && !ck.weight_steps.empty())
    ck.net->policy->set_weight_steps(ck.weight_steps);
  return ck;
}

}  // namespace dalnas
