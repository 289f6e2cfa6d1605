// dalnas train: train one network described by a genome, in FP32 or deployment-aligned FP16.
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/config_file.h"
#include "core/error.h"
#include "train/experiment.h"

namespace dalnas::cli {

namespace {

struct TrainArgs {
  std::string config_file;
  std::string out;
  bool json = false;
  bool quiet = false;
  // Options given on the command line override the config file; kept as strings/optionals.
  std::map<std::string, std::string> set;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

void write_history_csv(const std::string& path, const TrainHistory& h) {
  std::ostringstream o;
  o << "epoch,lr,train_loss,val_loss,val_miou,val_iou_vessel,images_per_s,seconds\n";
  for (const auto& e : h.epochs) {
    o << e.epoch << ',' << e.lr << ',' << e.train_loss << ',';
    if (e.has_val)
      o << e.val.loss << ',' << e.val.cm.miou() << ',' << e.val.cm.iou_vessel();
    else
      o << ",,";
    o << ',' << e.images_per_s << ',' << e.seconds << '\n';
  }
  write_file_atomic(path, o.str());
}

}  // namespace

void add_train(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a network described by a genome");
  auto a = std::make_shared<TrainArgs>();
  auto opt = [&](const char* flag, const char* key, const char* help) {
    cmd->add_option_function<std::string>(
        flag, [a, key](const std::string& v) { a->set[key] = v; }, help);
  };
  cmd->add_option("--config", a->config_file, "Config file (TOML or JSON); flags override it");
  opt("--data", "data", "Dataset: synthetic, synthetic:N, a COCO .json, or a folder (default synthetic)");
  opt("--arch", "arch", "Genome string, a named genome (reference, tiny, ...) or pynas:<code>");
  opt("--precision", "precision", "fp32 or fp16-aligned (FP16 projections in the forward pass)");
  opt("--epochs", "epochs", "Training epochs (default 40)");
  opt("--batch", "batch", "Batch size (default 16)");
  opt("--lr", "lr", "Adam learning rate (default 1e-3)");
  opt("--loss", "loss", "focal, bce, dice, focal+dice (default) or bce+dice");
  opt("--focal-alpha", "alpha", "Focal loss alpha (weight of vessel pixels, default 0.75)");
  opt("--focal-gamma", "gamma", "Focal loss gamma (default 2)");
  opt("--patience", "patience", "Early-stopping patience in epochs on validation loss (0 = off)");
  opt("--min-delta", "min_delta", "Smallest validation-loss improvement that counts");
  opt("--seed", "seed", "Seed for weights, split, chip sampling and augmentation");
  opt("--threads", "threads", "CPU threads for training (default: all cores)");
  opt("--chip-size", "chip_size", "Training chip side in pixels (default 128)");
  opt("--chip-stride", "chip_stride", "Step between training chips (default 96)");
  opt("--background-keep", "background_keep", "Fraction of vessel-free chips kept (default 0.25)");
  opt("--train-scenes", "train_scenes", "Comma-separated scene names for training");
  opt("--val-scenes", "val_scenes", "Comma-separated scene names for validation");
  opt("--test-scenes", "test_scenes", "Comma-separated scene names for testing");
  opt("--init", "init", "Start from this checkpoint (fine-tuning)");
  cmd->add_flag_function("--no-augment", [a](int64_t) { a->set["augment"] = "false"; },
                         "Disable flips and 90-degree rotations");
  cmd->add_flag_function("--no-cosine", [a](int64_t) { a->set["cosine"] = "false"; },
                         "Constant learning rate");
  cmd->add_option("--out", a->out, "Output folder (default runs/train-<timestamp>)");
  cmd->add_flag("--json", a->json, "Print the final metrics as one JSON object on stdout");
  cmd->add_flag("--quiet", a->quiet, "No progress lines");

  cmd->callback([a]() {
    nlohmann::json j = a->config_file.empty() ? nlohmann::json::object()
                                              : load_config_file(a->config_file);
    if (!j.is_object()) throw Error(a->config_file + ": top level must be a table/object");
    auto num = [&](const std::string& key, const std::string& v) -> double {
      try {
        size_t pos = 0;
        double d = std::stod(v, &pos);
        if (pos != v.size()) throw std::invalid_argument(v);
        return d;
      } catch (const std::exception&) {
        throw Error("--" + key + ": '" + v + "' is not a number");
      }
    };
    for (const auto& [k, v] : a->set) {
      if (k == "data" || k == "arch" || k == "precision" || k == "init") j[k] = v;
      else if (k == "epochs" || k == "batch" || k == "patience" || k == "threads") j[k] = static_cast<int>(num(k, v));
      else if (k == "seed") j[k] = static_cast<uint64_t>(num(k, v));
      else if (k == "lr" || k == "min_delta") j[k] = num(k, v);
      else if (k == "loss") j["loss"]["kind"] = v;
      else if (k == "alpha" || k == "gamma") j["loss"][k] = num(k, v);
      else if (k == "chip_size") j["tiling"]["size"] = static_cast<int>(num(k, v));
      else if (k == "chip_stride") j["tiling"]["stride"] = static_cast<int>(num(k, v));
      else if (k == "background_keep") j["tiling"]["background_keep"] = num(k, v);
      else if (k == "train_scenes") j["split"]["train"] = split_list(v);
      else if (k == "val_scenes") j["split"]["val"] = split_list(v);
      else if (k == "test_scenes") j["split"]["test"] = split_list(v);
      else if (k == "augment" || k == "cosine") j[k] = false;
    }
    // A chip size given without a stride keeps the default overlap ratio.
    if (a->set.count("chip_size") && !a->set.count("chip_stride") &&
        !(j.contains("tiling") && j["tiling"].contains("stride")))
      j["tiling"]["stride"] = std::max(1, j["tiling"]["size"].get<int>() * 3 / 4);
    TrainConfig cfg = TrainConfig::from_json(j, a->config_file.empty() ? "options" : a->config_file);
    set_threads(cfg.threads);

    const std::string out = a->out.empty() ? "runs/train-" + timestamp() : a->out;
    Normalization init_norm;
    const Normalization* norm = nullptr;
    if (!cfg.init.empty()) {
      init_norm = load_checkpoint(cfg.init).norm;
      norm = &init_norm;
    }
    PreparedData data = prepare_data(cfg, norm);
    if (!a->quiet)
      std::fprintf(stderr,
                   "dalnas train: %zu scenes (train %zu, val %zu, test %zu), %lld train chips of "
                   "%dx%d, %d bands, precision %s, %d threads\n",
                   data.scenes.size(), data.split.train.size(), data.split.val.size(),
                   data.split.test.size(), static_cast<long long>(data.train.size()),
                   cfg.tiling.size, cfg.tiling.size, data.bands, to_string(cfg.precision).c_str(),
                   resolve_threads(cfg.threads));
    EpochCallback cb;
    if (!a->quiet)
      cb = [](const EpochStats& e, int total, double eta) {
        if (e.has_val)
          std::fprintf(stderr,
                       "epoch %3d/%d  loss %.4f  val loss %.4f  val mIoU %.4f  IoU vessel %.4f  "
                       "%.1f img/s  ETA %s\n",
                       e.epoch, total, e.train_loss, e.val.loss, e.val.cm.miou(),
                       e.val.cm.iou_vessel(), e.images_per_s, format_seconds(eta).c_str());
        else
          std::fprintf(stderr, "epoch %3d/%d  loss %.4f  %.1f img/s  ETA %s\n", e.epoch, total,
                       e.train_loss, e.images_per_s, format_seconds(eta).c_str());
      };
    TrainOutcome res = train_model(cfg, data, cb);

    std::filesystem::create_directories(out);
    save_checkpoint(out + "/model.ckpt", res.ck);
    nlohmann::json result = res.test.to_json();
    result["genome"] = res.ck.genome.str();
    result["precision"] = to_string(cfg.precision);
    result["split"] = "test";
    result["test_scenes"] = scene_names(data.scenes, data.split.test);
    result["val"] = res.val.to_json();
    result["epochs_run"] = res.history.epochs.size();
    result["best_epoch"] = res.history.best_epoch;
    result["train_seconds"] = res.history.seconds;
    result["checkpoint"] = out + "/model.ckpt";
    write_file_atomic(out + "/metrics.json", result.dump(2) + "\n");
    write_file_atomic(out + "/config.json", res.ck.config.dump(2) + "\n");
    write_history_csv(out + "/history.csv", res.history);

    if (a->json) {
      std::printf("%s\n", result.dump().c_str());
    } else {
      std::printf("genome      %s (%lld parameters)\n", res.ck.genome.str().c_str(),
                  static_cast<long long>(res.test.params));
      std::printf("trained     %zu epochs (best %d) in %s, %s\n", res.history.epochs.size(),
                  res.history.best_epoch, format_seconds(res.history.seconds).c_str(),
                  to_string(cfg.precision).c_str());
      if (!data.split.val.empty())
        std::printf("val  (host) %s\n", res.val.summary().c_str());
      if (!data.split.test.empty())
        std::printf("test (host) %s\n", res.test.summary().c_str());
      std::printf("saved       %s/model.ckpt\n", out.c_str());
    }
  });
}

}  // namespace dalnas::cli
