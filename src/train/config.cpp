#include "train/config.h"

#include <type_traits>

#include "core/error.h"

namespace dalnas {

namespace {
std::string overflow_name(Overflow o) {
  return o == Overflow::Inf ? "inf" : "saturate";
}
std::string subnormal_name(Subnormals s) {
  return s == Subnormals::Keep ? "keep" : "flush";
}
}  // namespace

nlohmann::json TrainConfig::to_json() const {
  nlohmann::json j = {
      {"data", data},
      {"synthetic",
       {{"scenes", synthetic.scenes},
        {"height", synthetic.height},
        {"width", synthetic.width},
        {"seed", synthetic.seed},
        {"min_vessels", synthetic.min_vessels},
        {"max_vessels", synthetic.max_vessels}}},
      {"arch", arch},
      {"precision", to_string(precision)},
      {"align_device", align_device},
      {"normalization", normalization},
      {"overflow", overflow_name(half.overflow)},
      {"subnormals", subnormal_name(half.subnormals)},
      {"zero_grad_on_overflow", zero_grad_on_overflow},
      {"epochs", epochs},
      {"batch", batch},
      {"lr", lr},
      {"weight_decay", weight_decay},
      {"cosine", cosine},
      {"loss",
       {{"kind", to_string(loss.kind)},
        {"alpha", loss.alpha},
        {"gamma", loss.gamma},
        {"pos_weight", loss.pos_weight}}},
      {"patience", patience},
      {"min_delta", min_delta},
      {"seed", seed},
      {"threads", threads},
      {"tiling",
       {{"size", tiling.size},
        {"stride", tiling.stride},
        {"background_keep", tiling.background_keep}}},
      {"split",
       {{"train", split.train},
        {"val", split.val},
        {"test", split.test},
        {"val_fraction", split.val_fraction},
        {"test_fraction", split.test_fraction}}},
      {"augment", augment},
      {"eval_tile", eval_tile},
      {"eval_overlap", eval_overlap},
      {"init", init},
  };
  // Written only when set: configurations recorded before the setting read as before.
  if (freeze_bn_epochs != -1) j["freeze_bn_epochs"] = freeze_bn_epochs;
  if (qat_ranges != "ema") j["qat_ranges"] = qat_ranges;
  if (qat_weights != "max") j["qat_weights"] = qat_weights;
  // Written only when not the default, so that configurations recorded before the key
  // keep their JSON (and whatever identity is taken from it).
  if (monitor != "loss") j["monitor"] = monitor;
  if (split.seed != 1) j["split"]["seed"] = split.seed;
  if (split.folds != 0 || split.fold != 0) {
    j["split"]["folds"] = split.folds;
    j["split"]["fold"] = split.fold;
  }
  return j;
}

int TrainConfig::resolved_freeze_bn_epochs(bool quantization_aware,
                                           bool from_trained_weights) const {
  if (freeze_bn_epochs >= 0) return freeze_bn_epochs;
  return quantization_aware && (epochs >= 2 || from_trained_weights || !init.empty()) ? 1 : 0;
}

namespace {
template <typename T>
void read(const nlohmann::json& j, const char* key, T& out, const std::string& ctx,
          const std::string& prefix = "") {
  if (!j.contains(key)) return;
  if constexpr (std::is_unsigned_v<T>) {  // a seed: -1 would wrap to 2^64 - 1 unseen
    if (j.at(key).is_number_integer() && j.at(key).get<int64_t>() < 0)
      throw Error(ctx + ": field '" + prefix + key + "' must be a non-negative integer");
  }
  try {
    out = j.at(key).get<T>();
  } catch (const std::exception&) {
    throw Error(ctx + ": field '" + prefix + key + "' has the wrong type");
  }
}

void check_keys(const nlohmann::json& j, std::initializer_list<const char*> keys,
                const std::string& ctx, const std::string& prefix) {
  if (!j.is_object()) throw Error(ctx + ": '" + prefix + "' must be an object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* k : keys) ok = ok || it.key() == k;
    if (!ok) throw Error(ctx + ": unknown field '" + prefix + it.key() + "'");
  }
}
}  // namespace

TrainConfig TrainConfig::from_json(const nlohmann::json& j, const std::string& ctx) {
  TrainConfig c;
  check_keys(j, {"data",         "synthetic",    "arch",
                 "precision",    "align_device", "normalization",
                 "overflow",     "subnormals",   "zero_grad_on_overflow",
                 "epochs",       "batch",        "lr",
                 "weight_decay", "cosine",       "loss",
                 "monitor",      "patience",     "min_delta",
                 "seed",         "threads",      "tiling",
                 "split",        "augment",      "eval_tile",
                 "eval_overlap", "init",         "freeze_bn_epochs",
                 "qat_ranges",   "qat_weights"},
             ctx, "");
  read(j, "data", c.data, ctx);
  if (j.contains("synthetic")) {
    const auto& s = j["synthetic"];
    check_keys(s, {"scenes", "height", "width", "seed", "min_vessels", "max_vessels"}, ctx,
               "synthetic.");
    read(s, "scenes", c.synthetic.scenes, ctx, "synthetic.");
    read(s, "height", c.synthetic.height, ctx, "synthetic.");
    read(s, "width", c.synthetic.width, ctx, "synthetic.");
    read(s, "seed", c.synthetic.seed, ctx, "synthetic.");
    read(s, "min_vessels", c.synthetic.min_vessels, ctx, "synthetic.");
    read(s, "max_vessels", c.synthetic.max_vessels, ctx, "synthetic.");
  }
  read(j, "arch", c.arch, ctx);
  std::string s;
  if (j.contains("precision")) {
    read(j, "precision", s, ctx);
    c.precision = parse_precision(s);
  }
  read(j, "align_device", c.align_device, ctx);
  read(j, "normalization", c.normalization, ctx);
  if (c.normalization != "standard" && c.normalization != "none" &&
      c.normalization != "reflectance") {
    throw Error(ctx + ": field 'normalization' must be standard, none or reflectance, not '" +
                c.normalization + "'");
  }
  if (j.contains("overflow")) {
    read(j, "overflow", s, ctx);
    if (s != "inf" && s != "saturate")
      throw Error(ctx + ": field 'overflow' must be inf or saturate, not '" + s + "'");
    c.half.overflow = s == "inf" ? Overflow::Inf : Overflow::Saturate;
  }
  if (j.contains("subnormals")) {
    read(j, "subnormals", s, ctx);
    if (s != "keep" && s != "flush")
      throw Error(ctx + ": field 'subnormals' must be keep or flush, not '" + s + "'");
    c.half.subnormals = s == "keep" ? Subnormals::Keep : Subnormals::Flush;
  }
  read(j, "zero_grad_on_overflow", c.zero_grad_on_overflow, ctx);
  read(j, "epochs", c.epochs, ctx);
  read(j, "batch", c.batch, ctx);
  read(j, "lr", c.lr, ctx);
  read(j, "weight_decay", c.weight_decay, ctx);
  read(j, "cosine", c.cosine, ctx);
  if (j.contains("loss")) {
    const auto& l = j["loss"];
    check_keys(l, {"kind", "alpha", "gamma", "pos_weight"}, ctx, "loss.");
    if (l.contains("kind")) {
      read(l, "kind", s, ctx, "loss.");
      c.loss.kind = parse_loss(s);
    }
    read(l, "alpha", c.loss.alpha, ctx, "loss.");
    read(l, "gamma", c.loss.gamma, ctx, "loss.");
    read(l, "pos_weight", c.loss.pos_weight, ctx, "loss.");
  }
  read(j, "monitor", c.monitor, ctx);
  read(j, "patience", c.patience, ctx);
  read(j, "freeze_bn_epochs", c.freeze_bn_epochs, ctx);
  read(j, "qat_ranges", c.qat_ranges, ctx);
  read(j, "qat_weights", c.qat_weights, ctx);
  read(j, "min_delta", c.min_delta, ctx);
  read(j, "seed", c.seed, ctx);
  read(j, "threads", c.threads, ctx);
  if (j.contains("tiling")) {
    const auto& t = j["tiling"];
    check_keys(t, {"size", "stride", "background_keep"}, ctx, "tiling.");
    read(t, "size", c.tiling.size, ctx, "tiling.");
    read(t, "stride", c.tiling.stride, ctx, "tiling.");
    read(t, "background_keep", c.tiling.background_keep, ctx, "tiling.");
  }
  if (j.contains("split")) {
    const auto& t = j["split"];
    check_keys(t,
               {"train", "val", "test", "val_fraction", "test_fraction", "seed", "folds", "fold"},
               ctx, "split.");
    read(t, "train", c.split.train, ctx, "split.");
    read(t, "val", c.split.val, ctx, "split.");
    read(t, "test", c.split.test, ctx, "split.");
    read(t, "val_fraction", c.split.val_fraction, ctx, "split.");
    read(t, "test_fraction", c.split.test_fraction, ctx, "split.");
    read(t, "seed", c.split.seed, ctx, "split.");
    read(t, "folds", c.split.folds, ctx, "split.");
    read(t, "fold", c.split.fold, ctx, "split.");
  }
  read(j, "augment", c.augment, ctx);
  read(j, "eval_tile", c.eval_tile, ctx);
  read(j, "eval_overlap", c.eval_overlap, ctx);
  read(j, "init", c.init, ctx);
  c.validate();
  return c;
}

void TrainConfig::validate() const {
  auto need = [](bool ok, const std::string& field, const std::string& what) {
    if (!ok) throw Error("config: " + field + " " + what);
  };
  need(epochs >= 0, "epochs", "must be >= 0");
  need(batch >= 1, "batch", "must be >= 1");
  need(lr > 0, "lr", "must be > 0");
  need(weight_decay >= 0, "weight_decay", "must be >= 0");
  need(loss.alpha >= 0 && loss.alpha <= 1, "loss.alpha", "must be in [0, 1]");
  need(loss.gamma >= 0, "loss.gamma", "must be >= 0");
  need(loss.pos_weight > 0, "loss.pos_weight", "must be > 0");
  need(monitor == "loss" || monitor == "miou", "monitor",
       "must be loss or miou, got '" + monitor + "'");
  need(patience >= 0, "patience", "must be >= 0");
  need(freeze_bn_epochs >= -1, "freeze_bn_epochs", "must be >= 0, or -1 (auto)");
  need(qat_ranges == "ema" || qat_ranges == "learned", "qat_ranges",
       "must be ema or learned, got '" + qat_ranges + "'");
  need(qat_weights == "max" || qat_weights == "learned", "qat_weights",
       "must be max or learned, got '" + qat_weights + "'");
  need(threads >= 0, "threads", "must be >= 0");
  need(tiling.size >= 8, "tiling.size", "must be >= 8");
  need(tiling.stride >= 1 && tiling.stride <= tiling.size, "tiling.stride",
       "must be in [1, tiling.size]");
  need(tiling.background_keep >= 0 && tiling.background_keep <= 1, "tiling.background_keep",
       "must be in [0, 1]");
  need(split.val_fraction >= 0 && split.test_fraction >= 0 &&
           split.val_fraction + split.test_fraction < 1,
       "split fractions", "must be >= 0 and sum to less than 1");
  need(split.folds == 0 || split.folds >= 2, "split.folds", "must be >= 2, or 0 (no folds)");
  need(split.folds == 0 ? split.fold == 0 : split.fold >= 1 && split.fold <= split.folds,
       "split.fold",
       split.folds == 0 ? "needs split.folds (the count of folds)" : "must be in [1, split.folds]");
  need(eval_tile >= 16, "eval_tile", "must be >= 16");
  need(eval_overlap >= 0 && eval_overlap * 2 < eval_tile, "eval_overlap",
       "must be in [0, eval_tile/2)");
  need(synthetic.scenes >= 1, "synthetic.scenes", "must be >= 1");
  need(synthetic.height >= 16 && synthetic.width >= 16, "synthetic.height/width", "must be >= 16");
}

}  // namespace dalnas
