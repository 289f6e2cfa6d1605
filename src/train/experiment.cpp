#include "train/experiment.h"

#include "core/error.h"
#include "data/dataset.h"
#include "train/predict.h"

namespace dalnas {

std::vector<std::string> scene_names(const std::vector<Scene>& scenes,
                                     const std::vector<int>& idx) {
  std::vector<std::string> out;
  for (int i : idx) out.push_back(scenes[i].name);
  return out;
}

PreparedData prepare_data(const TrainConfig& cfg, const Normalization* norm) {
  PreparedData d;
  d.scenes = load_dataset(cfg.data, cfg.synthetic);
  d.bands = d.scenes.front().bands;
  // The split by fractions shuffles with split.seed, not the training seed: another
  // training seed (a search's, `train --seed`, a retraining's) keeps the val and test scenes.
  d.split = split_scenes(d.scenes, cfg.split);
  if (norm) {
    d.norm = *norm;
  } else if (cfg.normalization == "none" || cfg.normalization == "reflectance") {
    // Raw values (or DN / 10000), as on-board pipelines without normalisation feed them.
    d.norm.mean.assign(static_cast<size_t>(d.bands), 0.0f);
    d.norm.std.assign(static_cast<size_t>(d.bands), cfg.normalization == "none" ? 1.0f : 10000.0f);
  } else {
    d.norm = Normalization::compute(d.scenes, d.split.train);
  }
  if (static_cast<int>(d.norm.mean.size()) != d.bands)
    throw Error(cfg.data + ": dataset has " + std::to_string(d.bands) +
                " bands but the model's normalisation has " + std::to_string(d.norm.mean.size()));
  TilingOptions t = cfg.tiling;
  t.seed = cfg.seed;
  d.train = make_chipset(d.scenes, d.split.train, t, d.norm);
  if (d.train.size() == 0)
    throw Error(cfg.data + ": no training chips left after filtering (train scenes: " +
                std::to_string(d.split.train.size()) +
                "; raise tiling.background_keep or add scenes)");
  TilingOptions tv = t;
  tv.background_keep = 1.0;  // validate on every chip of the val scenes
  tv.stride = t.size;
  d.val = make_chipset(d.scenes, d.split.val, tv, d.norm);
  return d;
}

Network clone_network(Network& net, PolicyPtr policy) {
  Network copy = build_network(net->genome, net->in_bands, std::move(policy));
  torch::NoGradGuard ng;
  auto src = net->named_parameters();
  for (auto& p : copy->named_parameters()) p.value().copy_(src[p.key()]);
  auto srcb = net->named_buffers();
  for (auto& b : copy->named_buffers()) b.value().copy_(srcb[b.key()]);
  return copy;
}

PolicyPtr training_policy(const TrainConfig& cfg, const Normalization& norm) {
  auto p = std::make_shared<PrecisionPolicy>();
  p->mode = cfg.precision;
  p->half = cfg.half;
  p->zero_grad_on_overflow = cfg.zero_grad_on_overflow;
  p->learned_ranges = cfg.qat_ranges == "learned";
  p->learned_weight_steps = cfg.qat_weights == "learned";
  p->align = cfg.align;
  p->norm_mean = norm.mean;
  p->norm_std = norm.std;
  return p;
}

TrainOutcome train_model(const TrainConfig& cfg, PreparedData& data, const EpochCallback& on_epoch,
                         const Checkpoint* init) {
  TrainOutcome out;
  const PolicyPtr policy = training_policy(cfg, data.norm);

  torch::manual_seed(cfg.seed);
  if (init) {
    out.ck.genome = init->genome;
    out.ck.bands = init->bands;
    out.ck.net = clone_network(const_cast<Network&>(init->net), policy);
  } else if (!cfg.init.empty()) {
    out.ck = load_checkpoint(cfg.init, policy);
    if (out.ck.bands != data.bands)
      throw Error(cfg.init + ": model takes " + std::to_string(out.ck.bands) +
                  " bands but dataset " + cfg.data + " has " + std::to_string(data.bands));
  } else {
    out.ck.genome = resolve_arch(cfg.arch, data.bands);
    out.ck.bands = data.bands;
    out.ck.net = build_network(out.ck.genome, data.bands, policy);
  }
  out.ck.norm = data.norm;
  out.ck.config = cfg.to_json();
  out.ck.config["split_scenes"] = {{"train", scene_names(data.scenes, data.split.train)},
                                   {"val", scene_names(data.scenes, data.split.val)},
                                   {"test", scene_names(data.scenes, data.split.test)}};
  out.history = fit(out.ck.net, data.train, data.val, cfg, on_epoch);
  // The ranges this training learned (none unless quantization-aware), not an init's.
  out.ck.act_ranges = policy->int8_ranges();
  out.ck.weight_steps = policy->weight_steps();

  TileOptions to;
  to.tile = cfg.eval_tile;
  to.overlap = cfg.eval_overlap;
  out.val = evaluate_scenes(out.ck.net, data.scenes, data.split.val, data.norm, to);
  out.test = evaluate_scenes(out.ck.net, data.scenes, data.split.test, data.norm, to);
  out.ck.metrics = {{"val", out.val.to_json()}, {"test", out.test.to_json()}};
  return out;
}

}  // namespace dalnas
