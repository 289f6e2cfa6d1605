// dalnas compare: post-training FP16 conversion vs deployment-aligned fine-tuning, on the
// device, for one architecture (the headline experiment; see eval/compare.h).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "cli/output_folder.h"
#include "cli/run_record.h"
#include "cli/train_options.h"
#include "core/atomic_file.h"
#include "core/config_file.h"
#include "core/error.h"
#include "core/genome.h"
#include "core/rng.h"
#include "data/dataset.h"
#include "dist/mpi_census.h"
#include "dist/mpi_compare.h"
#include "dist/mpi_session.h"
#include "dist/mpi_worker.h"
#include "eval/census.h"
#include "eval/compare.h"
#include "search/search_config.h"
#include "train/experiment.h"

namespace dalnas::cli {

namespace {
struct CompareArgs {
  int seeds = 3;
  int finetune_epochs = 5;
  double finetune_lr = 3e-4;
  std::string device = "myriadx";
  bool sweep = false;
  // The census (eval/census.h).
  int genomes = 0;
  std::string space;
  std::string arch_list;
  std::string pipelines;
  double raw_scale = 1.0;
  bool no_reference = false, no_ablation = false, ablate_aligned = false;
  uint64_t genome_seed = 1;
  std::string merge;                // census folders to merge into --out
  std::string resume;               // census folder to continue
  std::string evaluator = "local";  // local | mpi (the census's units over MPI workers)
};

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Genomes of the census: --arch-list, `reference` (unless --no-reference), and N distinct
// samples from the search space of --space (a search config) with --genome-seed.
std::vector<std::string> census_genomes(const CompareArgs& c, int bands) {
  std::vector<std::string> out;
  auto add = [&](const std::string& g) {
    if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
  };
  for (const std::string& a : split_commas(c.arch_list)) add(resolve_arch(a, bands).str());
  if (!c.no_reference) add(resolve_arch("reference", bands).str());
  if (c.genomes > 0) {
    const SearchConfig sc = c.space.empty()
                                ? SearchConfig::defaults()
                                : SearchConfig::from_json(load_config_file(c.space), c.space);
    Rng rng(c.genome_seed);
    const size_t want = out.size() + static_cast<size_t>(c.genomes);
    for (int tries = 0; out.size() < want && tries < 100 * c.genomes; ++tries) {
      add(sc.space.sample(rng).str());
    }
    if (out.size() < want) {
      throw Error("--genomes: the search space of " +
                  (c.space.empty() ? std::string("the built-in default") : c.space) +
                  " gave only " + std::to_string(out.size()) + " distinct genomes");
    }
  }
  return out;
}

// The census in `path` (census.json), checked resumable with `opt`: written with its options
// (by this version or later) and the same settings, threads aside.
CensusResult read_resumable_census(const std::string& path, const CensusOptions& opt) {
  if (!std::filesystem::exists(path))
    throw Error(path + ": no census to resume (no such file); start one with --out");
  const nlohmann::json j = load_config_file(path);  // one-line error naming the file
  if (!j.is_object() || !j.contains("options"))
    throw Error(path +
                ": has no 'options' (written before a census could resume, or a merged "
                "census); run the genomes left into another folder and --merge-census");
  const CensusOptions before = CensusOptions::from_json(j.at("options"), path + ": options");
  const std::string why = census_options_mismatch(before, opt);
  if (!why.empty()) throw Error(path + ": cannot resume with other settings: " + why);
  return CensusResult::from_json(j, path);
}

void run_census_command(const TrainArgs& a, const CompareArgs& c, dist::MpiSession* mpi) {
  CensusOptions opt;
  opt.train = resolve_train_config(a);
  if (opt.train.precision != PrecisionMode::FP32)
    throw Error("--precision: the census trains (a) in fp32 itself; leave --precision out");
  opt.finetune_epochs = c.finetune_epochs;
  opt.finetune_lr = c.finetune_lr;
  opt.device = c.device;
  opt.ablate = !c.no_ablation;
  opt.ablate_aligned = c.ablate_aligned;
  opt.raw_scale = static_cast<float>(c.raw_scale);
  if (!c.pipelines.empty()) opt.pipelines = split_commas(c.pipelines);
  set_threads(opt.train.threads);
  // Band count for named genomes: from the data (a cheap look at the first scene).
  const int bands = load_dataset(opt.train.data, opt.train.synthetic).front().bands;
  opt.genomes = census_genomes(c, bands);
  const bool resume = !c.resume.empty();
  if (resume && !a.out.empty() && a.out != c.resume)
    throw Error("--resume " + c.resume + " and --out " + a.out +
                ": a resumed census stays in its folder; leave --out out");
  const std::string out = resume ? c.resume : a.out.empty() ? "runs/census-" + timestamp() : a.out;
  const bool existed = std::filesystem::exists(out);
  if (existed && !std::filesystem::is_directory(out))
    throw Error(out + ": is a file, not a folder for the outputs");
  const std::string census_json = out + "/census.json";
  std::optional<CensusResult> previous;
  if (resume) {
    previous = read_resumable_census(census_json, opt);
  } else if (std::filesystem::exists(census_json)) {
    throw Error(out + ": already holds a census (census.json); use --resume " + out +
                " to continue it, or another --out");
  }
  std::filesystem::create_directories(out);
  write_command_file(out, resume);
  size_t cells_written = previous ? previous->cells.size() : 0;
  auto write = [&](const CensusResult& r) {
    cells_written = r.cells.size();
    nlohmann::json j = r.to_json();
    j["options"] = opt.to_json();  // what --resume checks
    j["finetune_epochs"] = opt.finetune_epochs;
    j["finetune_lr"] = opt.finetune_lr;
    j["pipelines"] = opt.pipelines;
    j["raw_scale"] = opt.raw_scale;
    j["train_config"] = opt.train.to_json();
    write_file_atomic(out + "/census.json", j.dump(2) + "\n");
    write_file_atomic(out + "/census.csv", r.csv());
    write_file_atomic(out + "/census.txt", r.table());
  };
  if (!a.quiet) {
    std::fprintf(stderr, "census: %zu genomes x %zu pipelines on %s -> %s%s\n", opt.genomes.size(),
                 opt.pipelines.size(), opt.device.c_str(), out.c_str(),
                 mpi ? (" (" + std::to_string(mpi->workers()) + " MPI workers)").c_str() : "");
  }
  CensusResult r;
  try {
    const auto progress = [&a](const std::string& line) {
      if (!a.quiet) std::fprintf(stderr, "census: %s\n", line.c_str());
    };
    const CensusResult* before = previous ? &*previous : nullptr;
    r = mpi ? dist::run_census_mpi(*mpi, opt, progress, write, before)
            : run_census(opt, progress, write, before);
    write(r);
  } catch (const std::exception& e) {
    // The cells that finished are kept (census.json is rewritten after every cell); a folder
    // with none is removed if this run made it.
    if (cells_written > 0 || existed) {
      write_failure_note(out, "compare", e.what(),
                         std::to_string(cells_written) + " cells finished (census.json)");
    } else {
      std::error_code ec;
      std::filesystem::remove_all(out, ec);
    }
    throw;
  }
  std::error_code ec;
  std::filesystem::remove(std::filesystem::path(out) / kFailedNote, ec);
  if (a.json) {
    std::printf("%s\n", r.to_json().dump().c_str());
  } else {
    std::printf("%s\nwritten to %s/census.{csv,json,txt}\n", r.table().c_str(), out.c_str());
  }
  write_report_after_run(out, a.quiet);
}
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
  cmd->add_option("--genomes", c->genomes,
                  "Census: also sample N genomes from the search space of --space")
      ->check(CLI::Range(0, 10000));
  cmd->add_option("--space", c->space,
                  "Census: a search config whose search space --genomes samples (default: the "
                  "built-in search's)");
  cmd->add_option("--genome-seed", c->genome_seed, "Census: seed of the genome sample (default 1)");
  cmd->add_option("--arch-list", c->arch_list,
                  "Census: comma-separated genomes (strings, names or pynas:codes)");
  cmd->add_flag("--no-reference", c->no_reference, "Census: leave `reference` out");
  cmd->add_option("--pipelines", c->pipelines,
                  "Census: input pipelines, comma-separated: host, model, raw (default all); on an "
                  "integer device model is the normalisation in the graph, after the int8 input");
  cmd->add_option("--raw-scale", c->raw_scale,
                  "Census, raw pipeline: 1 (digital numbers, default) or 0.0001 (reflectance)");
  cmd->add_flag("--no-ablation", c->no_ablation,
                "Census: skip switching each device behaviour off");
  cmd->add_flag("--ablate-aligned", c->ablate_aligned,
                "Census: also evaluate the aligned networks under each ablation");
  cmd->add_option("--out", a->out, "Output folder (default runs/compare-<timestamp>)");
  cmd->add_flag("--json", a->json, "Print compare.json on stdout");
  cmd->add_flag("--quiet", a->quiet, "No progress lines");

  cmd->add_option("--evaluator", c->evaluator,
                  "local (default) or mpi: under mpirun rank 0 hands the seeds (or the census's "
                  "genomes) to ranks 1..N-1, each with --threads threads (docs/scale.md)")
      ->check(CLI::IsMember({"local", "mpi"}));
  cmd->add_option("--resume", c->resume,
                  "Census: continue the census in this folder (the same command otherwise); "
                  "finished genomes are kept, one cut short or failed runs again");
  cmd->add_option("--merge-census", c->merge,
                  "Merge the census.json of these comma-separated census folders (parts of one "
                  "census run apart) into --out");
  cmd->callback([a, c]() {
    const bool census = c->genomes > 0 || !c->arch_list.empty() || !c->pipelines.empty();
    if (!c->resume.empty() && !census)
      throw Error("--resume: only a census (--genomes, --arch-list or --pipelines) resumes");
    std::unique_ptr<dist::MpiSession> mpi;
    if (c->evaluator == "mpi") {
      if (!c->merge.empty()) throw Error("--evaluator mpi: --merge-census runs locally");
      if (!census && c->sweep)
        throw Error(
            "--evaluator mpi: --sweep-numerics runs locally (it reuses the first seed's "
            "networks in one process)");
      mpi = std::make_unique<dist::MpiSession>();
      if (!mpi->root()) {
        const auto t = a->set.find("threads");
        set_threads(t != a->set.end() ? std::atoi(t->second.c_str()) : mpi->default_threads());
        dist::run_worker(*mpi);
        return;
      }
    }
    if (!c->merge.empty()) {
      if (a->out.empty()) throw Error("--merge-census: name the merged census's folder with --out");
      std::vector<CensusResult> parts;
      for (const std::string& dir : split_commas(c->merge)) {
        const std::string path = dir + "/census.json";
        parts.push_back(CensusResult::from_json(load_config_file(path), path));
      }
      const CensusResult r = CensusResult::merge(parts);
      write_into(a->out, "compare", [&] {
        nlohmann::json j = r.to_json();
        j["merged_from"] = split_commas(c->merge);
        write_file_atomic(a->out + "/census.json", j.dump(2) + "\n");
        write_file_atomic(a->out + "/census.csv", r.csv());
        write_file_atomic(a->out + "/census.txt", r.table());
      });
      std::printf("%s\nwritten to %s/census.{csv,json,txt}\n", r.table().c_str(), a->out.c_str());
      return;
    }
    if (census) {
      run_census_command(*a, *c, mpi.get());
      return;
    }
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
    // The first seed's networks (a) and (c), for the report's image panels.
    // (absolute: under MPI, the worker of the first seed writes them on the shared folder)
    opt.checkpoint_dir = std::filesystem::absolute(out).string();
    std::vector<SweepRow> sweep;
    // The checkpoints are written while the comparison runs: a comparison that fails later
    // removes a folder it created, or marks one that existed (cli/output_folder.h).
    const bool existed = std::filesystem::exists(out);
    if (existed && !std::filesystem::is_directory(out))
      throw Error(out + ": is a file, not a folder for the outputs");
    const auto progress = [a](const std::string& line) {
      if (!a->quiet) std::fprintf(stderr, "compare: %s\n", line.c_str());
    };
    CompareResult r;
    try {
      r = mpi ? dist::run_compare_mpi(*mpi, opt, progress)
              : run_compare(opt, progress, c->sweep ? &sweep : nullptr);
    } catch (const std::exception& e) {
      std::error_code ec;
      if (!existed)
        std::filesystem::remove_all(out, ec);
      else if (std::filesystem::exists(out + "/fp32.ckpt"))
        write_failure_note(out, "compare", e.what());
      throw;
    }

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
    write_into(out, "compare", [&] {
      write_file_atomic(out + "/compare.json", j.dump(2) + "\n");
      write_file_atomic(out + "/compare.csv", r.csv());
      write_file_atomic(out + "/compare.txt", table);
      write_command_file(out);
    });
    if (a->json)
      std::printf("%s\n", j.dump().c_str());
    else
      std::printf("%s\nwritten to %s/compare.{csv,json,txt}\n", table.c_str(), out.c_str());
    write_report_after_run(out, a->quiet || a->json);
  });
}

}  // namespace dalnas::cli
