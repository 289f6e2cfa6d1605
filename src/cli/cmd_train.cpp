// dalnas train: train one network described by a genome, in FP32 or deployment-aligned FP16.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/commands.h"
#include "cli/output_folder.h"
#include "cli/train_options.h"
#include "core/atomic_file.h"
#include "core/config_file.h"
#include "core/csv.h"
#include "core/error.h"
#include "train/experiment.h"

namespace dalnas::cli {

namespace {

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
  add_train_options(cmd, a);
  cmd->add_option_function<std::string>(
      "--device", [a](const std::string& v) { a->set["align_device"] = v; },
      "The deployment target that --precision aligned follows (a profile in devices/)");
  cmd->add_option("--out", a->out, "Output folder (default runs/train-<timestamp>)");
  cmd->add_flag("--json", a->json, "Print the final metrics as one JSON object on stdout");
  cmd->add_flag("--quiet", a->quiet, "No progress lines");

  cmd->callback([a]() {
    const TrainConfig cfg = resolve_train_config(*a);
    if (cfg.precision == PrecisionMode::Aligned && cfg.align_device.empty()) {
      throw Error("--precision aligned: name the deployment target with --device PROFILE");
    }
    set_threads(cfg.threads);

    const std::string out = a->out.empty() ? "runs/train-" + timestamp() : a->out;
    Normalization init_norm;
    const Normalization* norm = nullptr;
    if (!cfg.init.empty()) {
      const Checkpoint init = load_checkpoint(cfg.init);
      init_norm = init.norm;
      norm = &init_norm;
      // Fine-tuning trains the checkpoint's network; an --arch that names another is a
      // mistake, not something to ignore.
      const bool arch_given =
          a->set.count("arch") ||
          std::any_of(a->overrides.begin(), a->overrides.end(),
                      [](const std::string& o) {
                        const size_t eq = o.find('=');
                        return eq != std::string::npos && trim(o.substr(0, eq)) == "arch";
                      }) ||
          (!a->config_file.empty() && load_config_file(a->config_file).contains("arch"));
      if (arch_given) {
        const std::string want = resolve_arch(cfg.arch, init.bands).str();
        if (want != init.genome.str()) {
          throw Error("--init " + cfg.init + ": the checkpoint holds " + init.genome.str() +
                      ", but --arch asks for " + want +
                      " (leave --arch out to fine-tune the checkpoint's network)");
        }
      }
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
        if (e.dropped_chips || e.skipped_steps)
          std::fprintf(stderr,
                       "epoch %3d/%d  %lld chips left out (input non-finite on the device), "
                       "%lld steps skipped (non-finite loss on the device)\n",
                       e.epoch, total, static_cast<long long>(e.dropped_chips),
                       static_cast<long long>(e.skipped_steps));
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

    nlohmann::json result;
    // Trained and evaluated: only now the folder (gone again if writing fails).
    write_into(out, "train", [&]() {
      save_checkpoint(out + "/model.ckpt", res.ck);
      result = res.test.to_json();
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
    });

    if (a->json) {
      std::printf("%s\n", result.dump().c_str());
    } else {
      std::printf("genome      %s (%lld parameters)\n", res.ck.genome.str().c_str(),
                  static_cast<long long>(res.test.params));
      std::printf("trained     %zu epochs (best %d%s) in %s, %s\n", res.history.epochs.size(),
                  res.history.best_epoch, cfg.monitor == "miou" ? " by val mIoU" : "",
                  format_seconds(res.history.seconds).c_str(), to_string(cfg.precision).c_str());
      const auto show = [](const char* name, const Metrics& m) {
        std::printf("%s (host) %s\n", name, m.summary().c_str());
        std::printf("            %s\n", m.objects_summary().c_str());
      };
      if (!data.split.val.empty()) show("val ", res.val);
      if (!data.split.test.empty()) show("test", res.test);
      std::printf("saved       %s/model.ckpt\n", out.c_str());
    }
  });
}

}  // namespace dalnas::cli
