// dalnas compare: post-training FP16 conversion vs deployment-aligned fine-tuning, on the
// device, for one architecture (the headline experiment; see eval/compare.h).
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/commands.h"
#include "cli/train_options.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "eval/compare.h"

namespace dalnas::cli {

namespace {
struct CompareArgs {
  int seeds = 3;
  int finetune_epochs = 5;
  double finetune_lr = 3e-4;
  std::string device = "myriadx";
  bool sweep = false;
};
}  // namespace

void add_compare(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "compare",
      "FP32 + post-training conversion vs deployment-aligned fine-tuning, on the device");
  auto a = std::make_shared<TrainArgs>();
  auto c = std::make_shared<CompareArgs>();
  add_train_options(cmd, a);
  cmd->add_option("--seeds", c->seeds, "Independent repetitions (default 3)")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--finetune-epochs", c->finetune_epochs,
                  "Epochs of fine-tuning for the aligned run and its FP32 control (default 5)")
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--finetune-lr", c->finetune_lr, "Fine-tuning learning rate (default 3e-4)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--device", c->device, "Deployment target profile (default myriadx)");
  cmd->add_flag("--sweep-numerics", c->sweep,
                "Also evaluate the first seed's models across accumulation x normalisation "
                "placement x pre-scaling");
  cmd->add_option("--out", a->out, "Output folder (default runs/compare-<timestamp>)");
  cmd->add_flag("--json", a->json, "Print compare.json on stdout");
  cmd->add_flag("--quiet", a->quiet, "No progress lines");

  cmd->callback([a, c]() {
    CompareOptions opt;
    opt.train = resolve_train_config(*a);
    if (opt.train.precision != PrecisionMode::FP32)
      throw Error("--precision: compare trains (a) in fp32 itself; leave --precision out");
    opt.seeds = c->seeds;
    opt.finetune_epochs = c->finetune_epochs;
    opt.finetune_lr = c->finetune_lr;
    opt.device = c->device;
    set_threads(opt.train.threads);
    const std::string out = a->out.empty() ? "runs/compare-" + timestamp() : a->out;
    std::vector<SweepRow> sweep;
    const CompareResult r = run_compare(
        opt,
        [a](const std::string& line) {
          if (!a->quiet) std::fprintf(stderr, "compare: %s\n", line.c_str());
        },
        c->sweep ? &sweep : nullptr);

    nlohmann::json j = r.to_json();
    j["finetune_epochs"] = opt.finetune_epochs;
    j["finetune_lr"] = opt.finetune_lr;
    j["train_config"] = opt.train.to_json();
    std::string table = r.table();
    if (c->sweep) {
      nlohmann::json sj = nlohmann::json::array();
      std::ostringstream st;
      st << "\nnumerics sweep (seed " << r.runs.front().seed
         << "): mIoU after post-conversion / after aligned fine-tuning\n";
      char buf[200];
      for (const auto& row : sweep) {
        std::snprintf(buf, sizeof buf, "  %-44s  %.4f / %.4f   gap %+.4f  NaN pixels %lld\n",
                      row.variant.c_str(), row.ptq_miou, row.aligned_miou,
                      row.fp32_host_miou - row.ptq_miou,
                      static_cast<long long>(row.ptq_nan_pixels));
        st << buf;
        sj.push_back({{"variant", row.variant},
                      {"fp32_host_miou", row.fp32_host_miou},
                      {"ptq_miou", row.ptq_miou},
                      {"aligned_miou", row.aligned_miou},
                      {"ptq_nan_pixels", row.ptq_nan_pixels}});
      }
      table += st.str();
      j["sweep"] = sj;
    }
    std::filesystem::create_directories(out);
    write_file_atomic(out + "/compare.json", j.dump(2) + "\n");
    write_file_atomic(out + "/compare.csv", r.csv());
    write_file_atomic(out + "/compare.txt", table);
    if (a->json)
      std::printf("%s\n", j.dump().c_str());
    else
      std::printf("%s\nwritten to %s/compare.{csv,json,txt}\n", table.c_str(), out.c_str());
  });
}

}  // namespace dalnas::cli
