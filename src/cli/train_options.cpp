#include "cli/train_options.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include "core/config_file.h"
#include "core/error.h"
#include "device/alignment.h"

namespace dalnas::cli {

namespace {
std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}
}  // namespace

void add_train_options(CLI::App* cmd, const std::shared_ptr<TrainArgs>& a) {
  auto opt = [&](const char* flag, const char* key, const char* help) {
    cmd->add_option_function<std::string>(
        flag, [a, key](const std::string& v) { a->set[key] = v; }, help);
  };
  cmd->add_option("--config", a->config_file, "Config file (TOML or JSON); flags override it");
  cmd->add_option("--set", a->overrides,
                  "Any training config key as key=value or table.key=value with a TOML value, "
                  "over the config file (repeatable; the named flags override it), e.g. "
                  "--set loss.kind=dice --set 'split.val=[\"a\", \"b\"]'")
      ->take_all()
      ->allow_extra_args(false);
  opt("--data", "data",
      "Dataset: synthetic, synthetic:N, a COCO .json, or a folder (default synthetic)");
  opt("--arch", "arch", "Genome string, a named genome (reference, tiny, ...) or pynas:<code>");
  opt("--precision", "precision",
      "fp32, fp16-aligned (FP16 projections in the forward pass) or aligned (the device "
      "profile's pipeline: conversions, range, pre-scaled accumulators, upsampling mode)");
  opt("--normalization", "normalization",
      "standard (per-band mean/std, default), none (raw values) or reflectance (DN / 10000)");
  opt("--epochs", "epochs", "Training epochs (default 30)");
  opt("--batch", "batch", "Batch size (default 16)");
  opt("--lr", "lr", "Adam learning rate (default 3e-3, cosine decay to lr/20)");
  opt("--loss", "loss", "focal, bce, dice, focal+dice (default) or bce+dice");
  opt("--focal-alpha", "alpha", "Focal loss alpha (weight of vessel pixels, default 0.75)");
  opt("--focal-gamma", "gamma", "Focal loss gamma (default 2)");
  opt("--monitor", "monitor",
      "Validation figure that picks the kept weights and drives early stopping: loss "
      "(default) or miou (chip-level mIoU as the forward computes it)");
  opt("--patience", "patience",
      "Early-stopping patience in epochs without improvement of --monitor (0 = off)");
  opt("--freeze-bn-epochs", "freeze_bn_epochs",
      "BatchNorm statistics frozen for the last N epochs (integer targets fold them; 0 = "
      "off; auto, the default: 1 for quantization-aware training on an integer profile "
      "with 2 or more epochs or --init); in compare and the census, for the fine-tuning "
      "arms (c) and (d)");
  opt("--qat-ranges", "qat_ranges",
      "Integer targets, --precision aligned: activation ranges as moving averages of batch "
      "min / max (ema, default) or learned by gradient (learned: LSQ); both deploy");
  opt("--qat-weights", "qat_weights",
      "Integer targets, --precision aligned: each weight channel quantized at max |w| (max, "
      "default; what the targets compute) or at a step learned by gradient (learned: LSQ), "
      "which deploys with the weights");
  opt("--min-delta", "min_delta", "Smallest improvement of --monitor that counts");
  opt("--seed", "seed",
      "Seed for weights, chip sampling and augmentation (the split by fractions has its own: --set "
      "split.seed=N)");
  opt("--threads", "threads", "CPU threads for training (default: all cores)");
  opt("--chip-size", "chip_size", "Training chip side in pixels (default 128)");
  opt("--chip-stride", "chip_stride",
      "Step between training chips (default 64; 3/4 of --chip-size when only that is given)");
  opt("--background-keep", "background_keep", "Fraction of vessel-free chips kept (default 0.25)");
  opt("--train-scenes", "train_scenes", "Comma-separated scene names for training");
  opt("--val-scenes", "val_scenes", "Comma-separated scene names for validation");
  opt("--test-scenes", "test_scenes", "Comma-separated scene names for testing");
  opt("--init", "init", "Start from this checkpoint (fine-tuning)");
  cmd->add_flag_function(
      "--no-augment", [a](int64_t) { a->set["augment"] = "false"; },
      "Disable flips and 90-degree rotations");
  cmd->add_flag_function(
      "--no-cosine", [a](int64_t) { a->set["cosine"] = "false"; }, "Constant learning rate");
}

TrainConfig resolve_train_config(const TrainArgs& a) {
  nlohmann::json j =
      a.config_file.empty() ? nlohmann::json::object() : load_config_file(a.config_file);
  if (!j.is_object()) throw Error(a.config_file + ": top level must be a table/object");
  for (const auto& o : a.overrides) apply_override(j, o);  // --set over the file
  auto num = [&](const std::string& key, const std::string& v) -> double {
    try {
      size_t pos = 0;
      double d = std::stod(v, &pos);
      if (pos != v.size()) throw std::invalid_argument(v);
      return d;
    } catch (const std::exception&) {
      std::string flag = key;  // the flag as typed: --chip-size, not chip_size
      std::replace(flag.begin(), flag.end(), '_', '-');
      throw Error("--" + flag + ": '" + v + "' is not a number" +
                  (key == "freeze_bn_epochs" ? " of epochs or auto" : ""));
    }
  };
  // The flags with a fixed set of values, named as typed.
  const auto one_of = [](const std::string& flag, const std::string& v, const char* x,
                         const char* y) {
    if (v != x && v != y) throw Error(flag + ": '" + v + "' is not " + x + " or " + y);
  };
  for (const auto& [k, v] : a.set) {
    if (k == "qat_ranges") one_of("--qat-ranges", v, "ema", "learned");
    if (k == "qat_weights") one_of("--qat-weights", v, "max", "learned");
    if (k == "monitor") one_of("--monitor", v, "loss", "miou");
    if (k == "data" || k == "arch" || k == "precision" || k == "init" || k == "normalization" ||
        k == "align_device" || k == "qat_ranges" || k == "qat_weights" || k == "monitor")
      j[k] = v;
    else if (k == "freeze_bn_epochs" && v == "auto")
      j[k] = -1;
    else if (k == "epochs" || k == "batch" || k == "patience" || k == "threads" ||
             k == "freeze_bn_epochs")
      j[k] = static_cast<int>(num(k, v));
    else if (k == "seed")
      j[k] = static_cast<uint64_t>(num(k, v));
    else if (k == "lr" || k == "min_delta")
      j[k] = num(k, v);
    else if (k == "loss")
      j["loss"]["kind"] = v;
    else if (k == "alpha" || k == "gamma")
      j["loss"][k] = num(k, v);
    else if (k == "chip_size")
      j["tiling"]["size"] = static_cast<int>(num(k, v));
    else if (k == "chip_stride")
      j["tiling"]["stride"] = static_cast<int>(num(k, v));
    else if (k == "background_keep")
      j["tiling"]["background_keep"] = num(k, v);
    else if (k == "train_scenes")
      j["split"]["train"] = split_list(v);
    else if (k == "val_scenes")
      j["split"]["val"] = split_list(v);
    else if (k == "test_scenes")
      j["split"]["test"] = split_list(v);
    else if (k == "augment" || k == "cosine")
      j[k] = false;
  }
  // A chip size given without a stride: chips every 3/4 of their side (as the help says).
  if (a.set.count("chip_size") && !a.set.count("chip_stride") &&
      !(j.contains("tiling") && j["tiling"].contains("stride")))
    j["tiling"]["stride"] = std::max(1, j["tiling"]["size"].get<int>() * 3 / 4);
  // Errors name where a key came from: the file, and --set when it was given.
  std::string source = a.config_file.empty() ? "options" : a.config_file;
  if (!a.overrides.empty()) source += a.config_file.empty() ? " (--set)" : " with --set";
  TrainConfig cfg = TrainConfig::from_json(j, source);
  if (cfg.precision == PrecisionMode::Aligned && !cfg.align_device.empty()) {
    cfg.align = alignment_for(load_profile(cfg.align_device));
  }
  return cfg;
}

}  // namespace dalnas::cli
