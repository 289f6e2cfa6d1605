// dalnas profile: latency, throughput, memory and energy of a model or genome on a device,
// from the profile's cost model (cost/cost_model.h: analytic Myriad-shaped or cpu, with an
// optional table of measured per-op times), and optionally measured by an external command
// (cost/external_measure.h). Subcommands:
//   calibrate       fit the analytic model to measured timings; in-sample, leave-one-out
//                   and leave-one-source-out figures
//                   (--learning-curve: how they move as rows are added)
//   calibrate-host  time random genomes on this CPU, fit the cpu model, cross-validate,
//                   optionally write the profile (devices/host-cpu.toml)
//   lut-plan        the op signatures a search space produces, one ONNX model each
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/output_folder.h"
#include "core/atomic_file.h"
#include "core/config_file.h"
#include "core/cpu_info.h"
#include "core/error.h"
#include "core/genome.h"
#include "core/search_space.h"
#include "core/strings.h"
#include "cost/calibrate.h"
#include "cost/cost_model.h"
#include "cost/external_measure.h"
#include "cost/latency_table.h"
#include "onnx/onnx_import.h"
#include "device/profile.h"
#include "eval/host_latency.h"
#include "eval/lut_plan.h"
#include "onnx/onnx_export.h"

namespace dalnas::cli {

namespace {
struct ProfileArgs {
  std::string model;
  std::string device = "myriadx";
  std::string size;
  int bands = 0;
  std::string interface = "usb3";
  int shaves = 0;
  int requests = 1;
  bool json = false;
  std::string lut;
  std::string table = std::string(DALNAS_SHARED_DIR) + "/devices/myriadx-published/measured.csv";
  bool measure = false;
  bool learning_curve = false;
  int max_subsets = 200;
  double prior_weight = CalibrationOptions{}.prior_weight;
};

struct HostArgs {
  int genomes = 50;
  uint64_t seed = 1;
  std::string size = "128";
  int bands = 4;
  int folds = 5;
  int threads = 1;
  int warmup = 2;
  int repeats = 5;
  int rounds = 3;
  std::string space;
  std::string timings_in, timings_out, write, check;
  bool wall = false;
  int align = 16;
  bool json = false;
};

struct PlanArgs {
  std::string space;
  std::string out;
  std::string size = "128";
  int bands = 4;
  int sample = 0;
  uint64_t seed = 1;
  bool fp16 = false;
  int opset = 11;
  bool no_models = false;
};

bool is_onnx(const std::string& s) {
  return ends_with(s, ".onnx") || ends_with(s, ".onnx.gz");
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// --measure: the profile's [measure] method on the model or genome whose graph is `g`.
MeasureResult measure_model(const ProfileArgs& a, const DeviceProfile& p, const DeviceGraph& g) {
  const std::optional<MeasureConfig> mc = measure_config(p);
  if (!mc) throw Error(p.path + ": no [measure] table (how to measure on the device)");
  const Shape in = g.input.numel() > 0 ? g.input : g.nodes.at(0).shape;
  if (mc->method == MeasureConfig::Method::Host) {
    if (is_onnx(a.model)) {
      throw Error(p.path + ": measure.method 'host' times genomes with libtorch, not ONNX files");
    }
    HostTimingOptions o;
    o.threads = mc->threads;
    o.repeats = mc->repeats;
    o.rounds = mc->rounds;
    o.warmup = mc->warmup;
    o.bands = in.c;
    o.height = in.h;
    o.width = in.w;
    const HostTiming t = measure_host_latency({resolve_arch(a.model, in.c)}, o).at(0);
    MeasureResult r;
    r.ok = true;
    r.latency_ms = t.ms;
    return r;
  }
  if (is_onnx(a.model)) {
    // The file's bytes decide its precision: keyed by their hash, "as-is".
    return measure_latency(*mc, a.model, measure_cache_key(fnv1a(read_file(a.model)), in, "as-is"));
  }
  const Genome genome = resolve_arch(a.model, in.c);
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("dalnas-measure-" + std::to_string(::getpid()));
  ExportOptions eo;
  eo.metadata = {{"genome", genome.str()}};
  const std::string key = measure_cache_key(genome.hash(), in, eo.fp16 ? "fp16" : "fp32");
  const std::string onnx = (dir / (key.substr(0, 16) + ".onnx")).string();
  MeasureResult r;
  try {
    write_onnx(g, onnx, eo);
    r = measure_latency(*mc, onnx, key);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    throw;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return r;
}

DeviceGraph graph_of(const ProfileArgs& a) {
  int h = 0, w = 0;
  if (!a.size.empty()) parse_size(a.size, "--size", h, w);
  if (is_onnx(a.model)) {
    if (a.size.empty() && a.bands == 0) return import_onnx(a.model);
    DeviceGraph probe = import_onnx(a.model);
    Shape in{a.bands > 0 ? a.bands : probe.input.c, h > 0 ? h : probe.input.h,
             w > 0 ? w : probe.input.w};
    return import_onnx(a.model, &in);
  }
  const int bands = a.bands > 0 ? a.bands : 4;
  if (h == 0) h = w = 256;
  return genome_graph(resolve_arch(a.model, bands), bands, h, w);
}

// A search space from a config file: its [search_space] table, or the whole file.
SearchSpace space_of(const std::string& path) {
  if (path.empty()) return SearchSpace{};
  const nlohmann::json doc = load_config_file(path);
  if (doc.contains("search_space")) {
    return SearchSpace::from_json(doc["search_space"], path + ": search_space");
  }
  return SearchSpace::from_json(doc, path);
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Host timings as CSV: genome, bands, height, width, threads, ms, spread, rounds_ms.
struct TimingRow {
  std::string genome;
  double ms = 0, spread = 0;
  std::string rounds;
};

std::vector<TimingRow> read_timings(const std::string& path, int& bands, int& h, int& w,
                                    int& threads) {
  std::istringstream in(read_file(path));
  std::string line;
  std::vector<TimingRow> rows;
  std::map<std::string, size_t> col;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    const std::vector<std::string> f = split_csv_line(line);
    if (col.empty()) {
      for (size_t i = 0; i < f.size(); ++i) col[f[i]] = i;
      for (const char* need : {"genome", "bands", "height", "width", "ms"}) {
        if (!col.count(need)) throw Error(path + ": the header has no column '" + need + "'");
      }
      continue;
    }
    const std::string where = path + ":" + std::to_string(line_no);
    auto get = [&](const char* c) { return col[c] < f.size() ? f[col[c]] : std::string(); };
    TimingRow r;
    r.genome = get("genome");
    try {
      Genome::parse(r.genome);
    } catch (const Error& e) {
      throw Error(where + ": genome: " + e.what());
    }
    try {
      const int b = std::stoi(get("bands")), hh = std::stoi(get("height")),
                ww = std::stoi(get("width"));
      if (rows.empty()) {
        bands = b;
        h = hh;
        w = ww;
      } else if (b != bands || hh != h || ww != w) {
        throw Error(where + ": bands / height / width differ from the first row");
      }
      r.ms = std::stod(get("ms"));
      if (col.count("threads")) threads = std::stoi(get("threads"));
    } catch (const Error&) {
      throw;
    } catch (const std::exception&) {
      throw Error(where + ": bands, height, width and ms must be numbers");
    }
    if (!(r.ms > 0.0)) throw Error(where + ": ms: must be > 0");
    if (col.count("spread") && !get("spread").empty()) r.spread = std::atof(get("spread").c_str());
    if (col.count("rounds_ms")) r.rounds = get("rounds_ms");
    rows.push_back(r);
  }
  if (rows.empty()) throw Error(path + ": no timings");
  return rows;
}

std::string host_profile_toml(const HostCalibration& c, const std::string& command, int h, int w,
                              int bands, int threads, bool wall, double noise_median,
                              double noise_max) {
  const CpuCostParams& p = c.fitted;
  std::ostringstream s;
  s << "# This machine's CPU as a deployment target: ground truth that exists here, so that\n"
       "# hardware-aware search can be checked end to end (devices/README.md, \"host-cpu\").\n"
       "# Generated by:\n#   "
    << command << "\n"
    << "# " << c.rows.size() << " random genomes of the default search space at " << bands << "x"
    << h << "x" << w << ", libtorch FP32 forward, batch 1, " << threads << " thread(s).\n"
    << "# Clock: "
    << (threads == 1 && !wall
            ? "the timing thread's CPU time (the forward runs on it; time other processes\n"
              "# took the core is not counted: latency on an otherwise idle core)"
            : "wall time")
    << "; per genome the smallest of the\n# round medians (eval/host_latency.h).\n"
    << "# " << c.folds << "-fold cross-validation: MAPE " << fmt("%.1f%%", 100 * c.cv.mape)
    << ", within +-10% " << fmt("%.0f%%", 100 * c.cv.within10) << ", Spearman "
    << fmt("%.3f", c.cv.spearman) << ".\n"
    << "# Timing noise seen (spread of the round medians per genome): median "
    << fmt("%.1f%%", 100 * noise_median) << ", largest " << fmt("%.1f%%", 100 * noise_max) << ".\n"
    << "name = \"host-cpu\"\n"
    << "description = \"This machine's CPU: libtorch FP32 forward, batch 1, " << threads
    << " thread(s)\"\n\n"
    << "[numerics]  # FP32 everywhere: what the host computes\n"
       "fold_normalization = false\n\n"
       "[numerics.neural_engine]\nstorage = \"fp32\"\naccumulation = \"fp32\"\n"
       "overflow = \"inf\"\nsubnormals = \"keep\"\nprescale = false\n\n"
       "[numerics.shave]\nstorage = \"fp32\"\naccumulation = \"fp32\"\n"
       "overflow = \"inf\"\nsubnormals = \"keep\"\nprescale = false\n\n"
       "# The cpu cost model (src/cost/cost_model.h, CpuCostParams); every value FITTED by\n"
       "# the command above (non-negative least squares on relative errors). A rate of 1e9\n"
       "# means the fit gave that term no weight.\n"
       "[cost]\nmodel = \"cpu\"\n";
  const std::pair<const char*, const char*> keys[] = {
      {"conv_gflops", "dense k x k convolutions, GFLOP/s"},
      {"input_conv_gflops", "dense convolutions on < 8 input channels (the first), GFLOP/s"},
      {"pointwise_gflops", "1 x 1 convolutions and fully connected, GFLOP/s"},
      {"depthwise_gflops", "grouped / depthwise convolutions, GFLOP/s"},
      {"deconv_gflops", "transposed convolutions, GFLOP/s (none in genomes)"},
      {"mem_gbps", "FP32 bytes read and written per node, GB/s"},
      {"maxpool_gvals", "max pooling input values, G/s"},
      {"avgpool_gvals", "average / global pooling input values, G/s"},
      {"resize_gvals", "resize (bilinear upsampling) output values, G/s"},
      {"post_gvals", "convolution outputs through batch norm / activation, G/s"},
      {"act_gvals", "values through GELU / HardSwish / Sigmoid, G/s"},
      {"layer_overhead_us", "per node that runs, us"},
      {"inference_overhead_ms", "per forward, ms"},
  };
  const nlohmann::json j = to_json(p);
  for (const auto& [key, what] : keys) {
    s << key << " = " << fmt("%.6g", j.at(key).get<double>()) << "  # " << what << "\n";
  }
  s << "channel_align = " << p.channel_align
    << "  # SIMD lanes (FP32) for the lane-use factor: AVX-512; not fitted\n";
  s << "power_w = 0  # UNKNOWN: energy is reported as 0\n\n"
       "# `dalnas profile GENOME --device host-cpu --measure` times the genome here.\n"
       "[measure]\nmethod = \"host\"\nthreads = "
    << threads << "\n\n";
  // The CPU it was fitted on: dalnas warns when the profile is used on another.
  const CpuIdentity cpu = this_cpu();
  std::string refit = command;
  for (char& ch : refit) {
    if (ch == '"') ch = '\'';
  }
  s << "# The CPU these values were fitted on (core/cpu_info.h); on another CPU dalnas says so.\n"
       "[fitted_on]\nmodel = \""
    << cpu.model << "\"\nisa = \"" << cpu.isa << "\"\ncores = " << cpu.cores << "\nrefit = \""
    << refit << "\"\n";
  return s.str();
}

void run_calibrate_host(const HostArgs& a, const std::string& command) {
  int h = 0, w = 0, bands = a.bands, threads = a.threads;
  parse_size(a.size, "--size", h, w);
  std::vector<Genome> genomes;
  std::vector<double> ms, spread;
  std::vector<std::string> names, rounds;
  if (!a.timings_in.empty()) {
    for (const TimingRow& r : read_timings(a.timings_in, bands, h, w, threads)) {
      genomes.push_back(Genome::parse(r.genome));
      ms.push_back(r.ms);
      spread.push_back(r.spread);
      rounds.push_back(r.rounds);
    }
  } else {
    genomes = sample_genomes(space_of(a.space), a.genomes, a.seed, bands);
    HostTimingOptions o;
    o.threads = a.threads;
    o.warmup = a.warmup;
    o.repeats = a.repeats;
    o.rounds = a.rounds;
    o.clock = a.wall ? HostClock::Wall : HostClock::Auto;
    o.bands = bands;
    o.height = h;
    o.width = w;
    std::fprintf(stderr, "timing %zu genomes at %dx%dx%d: %d rounds x %d forwards each...\n",
                 genomes.size(), bands, h, w, a.rounds, a.repeats);
    for (const HostTiming& t : measure_host_latency(genomes, o)) {
      ms.push_back(std::stod(fmt("%.6g", t.ms)));  // as --timings-out saves it
      spread.push_back(t.spread);
      std::string r;
      for (double x : t.round_ms) r += (r.empty() ? "" : ";") + fmt("%.4f", x);
      rounds.push_back(r);
    }
  }
  if (!a.timings_out.empty()) {
    std::string csv = "# " + command + "\ngenome,bands,height,width,threads,ms,spread,rounds_ms\n";
    for (size_t i = 0; i < genomes.size(); ++i) {
      csv += genomes[i].str() + "," + std::to_string(bands) + "," + std::to_string(h) + "," +
             std::to_string(w) + "," + std::to_string(threads) + "," + fmt("%.6g", ms[i]) + "," +
             fmt("%.4f", spread[i]) + "," + rounds[i] + "\n";
    }
    write_file_atomic(a.timings_out, csv);
  }
  std::vector<DeviceGraph> graphs;
  for (const Genome& g : genomes) {
    graphs.push_back(genome_graph(g, bands, h, w));
    names.push_back(g.str());
  }
  if (!a.check.empty()) {
    // Held out: the genomes timed here predicted by a profile fitted before (no fit).
    const CostModel model = load_cost_model(load_profile(a.check));
    if (!model.cpu_warning.empty())
      std::fprintf(stderr, "warning: %s\n", model.cpu_warning.c_str());
    CostOptions o;
    o.layers = false;
    std::vector<double> predicted;
    for (const DeviceGraph& g : graphs) predicted.push_back(model.estimate(g, o).latency_ms);
    const FitStats st = fit_stats(predicted, ms);
    if (a.json) {
      std::printf("%s\n", nlohmann::json{{"profile", a.check},
                                         {"genomes", genomes.size()},
                                         {"mape", st.mape},
                                         {"within10", st.within10},
                                         {"spearman", st.spearman}}
                              .dump()
                              .c_str());
    } else {
      std::printf(
          "%zu genomes predicted by %s (not fitted to them): MAPE %.1f%%, within +-10%% "
          "%.0f%%, Spearman %.3f\n",
          genomes.size(), a.check.c_str(), 100 * st.mape, 100 * st.within10, st.spearman);
    }
    return;
  }
  const HostCalibration c = calibrate_cpu(graphs, ms, names, a.folds, a.align);
  std::vector<double> sp = spread;
  std::sort(sp.begin(), sp.end());
  const double noise_median = median_of(sp), noise_max = sp.empty() ? 0.0 : sp.back();
  if (!a.write.empty()) {
    write_file_atomic(a.write, host_profile_toml(c, command, h, w, bands, threads, a.wall,
                                                 noise_median, noise_max));
  }
  if (a.json) {
    nlohmann::json rows = nlohmann::json::array();
    for (size_t i = 0; i < c.rows.size(); ++i) {
      rows.push_back({{"genome", c.rows[i].name},
                      {"measured_ms", c.rows[i].measured_ms},
                      {"fitted_ms", c.rows[i].fitted_ms},
                      {"cv_ms", c.rows[i].cv_ms},
                      {"spread", spread[i]}});
    }
    auto stats = [](const FitStats& s) {
      return nlohmann::json{{"mape", s.mape}, {"within10", s.within10}, {"spearman", s.spearman}};
    };
    std::printf("%s\n", nlohmann::json{{"rows", rows},
                                       {"in_sample", stats(c.in_sample)},
                                       {"cross_validation", stats(c.cv)},
                                       {"folds", c.folds},
                                       {"noise_median", noise_median},
                                       {"noise_max", noise_max},
                                       {"fitted", to_json(c.fitted)}}
                            .dump()
                            .c_str());
    return;
  }
  std::printf("%s", format_report(c).c_str());
  std::printf("timing noise (spread of round medians per genome): median %.1f%%, largest %.1f%%\n",
              100 * noise_median, 100 * noise_max);
}

std::string joined_command(const std::vector<std::string>& args) {
  std::string s = "dalnas profile calibrate-host";
  for (const auto& x : args) s += " " + x;
  return s;
}

}  // namespace

void add_profile(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "profile", "Latency, FPS, peak memory and energy of a model or genome on a device");
  auto a = std::make_shared<ProfileArgs>();
  cmd->add_option("model", a->model, "An ONNX model (.onnx or .onnx.gz) or a genome");
  cmd->add_option("--device", a->device, "Device profile (default myriadx)");
  cmd->add_option("--size", a->size, "Input size S or HxW (genomes: default 256)");
  cmd->add_option("--bands", a->bands, "Input bands (genomes: default 4)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--interface", a->interface, "Host link: usb2 or usb3 (default usb3)")
      ->check(CLI::IsMember({"usb2", "usb3"}));
  cmd->add_option("--shaves", a->shaves, "SHAVE cores the blob uses (default: all)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--requests", a->requests,
                  "Inferences in flight: 1 synchronous, 2+ pipelined (fps = throughput)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--lut", a->lut,
                  "Measured per-op latencies (CSV); replaces the profile's [cost] lut");
  cmd->add_flag("--measure", a->measure,
                "Also measure on the device by the profile's [measure] table (external command, "
                "or this host)");
  cmd->add_flag("--json", a->json,
                "One JSON object: latency_ms, fps, peak_memory_bytes, energy_mj, layers");

  auto* cal =
      cmd->add_subcommand("calibrate",
                          "Fit the cost model to measured timings; in-sample, leave-one-out "
                          "and leave-one-source-out figures");
  cal->add_option("--table", a->table, "Measured timings CSV (default: the shared Myriad X table)");
  cal->add_option("--device", a->device, "Device profile whose [cost] table is the start point");
  cal->add_flag("--learning-curve", a->learning_curve,
                "Leave-one-out figures within every subset of k rows, k = 3 .. all");
  cal->add_option("--max-subsets", a->max_subsets,
                  "Learning curve: at most this many subsets per k (default 200)")
      ->check(CLI::Range(1, 100000));
  cal->add_option("--prior-weight", a->prior_weight,
                  "Weight of the pull towards the start values (default 0.003)")
      ->check(CLI::Range(0.0, 1e6));
  cal->add_flag("--json", a->json, "Print the figures as JSON");
  cal->callback([a]() {
    const DeviceProfile p = load_profile(a->device);
    CalibrationOptions co;
    co.prior_weight = a->prior_weight;
    if (a->learning_curve) {
      const std::vector<Measurement> rows = read_measurements(a->table);
      std::vector<DeviceGraph> graphs;
      for (const Measurement& m : rows) graphs.push_back(import_onnx(m.model_path, &m.input));
      const auto curve = learning_curve(rows, graphs, cost_params(p), co, 3, a->max_subsets);
      if (!a->json) {
        std::printf("%s", format_learning_curve(curve).c_str());
        return;
      }
      nlohmann::json j = nlohmann::json::array();
      for (const auto& pt : curve)
        j.push_back({{"rows", pt.rows},
                     {"subsets", pt.subsets},
                     {"mape", {pt.mape_mean, pt.mape_min, pt.mape_max}},
                     {"within10", {pt.within10_mean, pt.within10_min, pt.within10_max}},
                     {"spearman", {pt.spearman_mean, pt.spearman_min, pt.spearman_max}}});
      std::printf("%s\n", nlohmann::json{{"learning_curve", j}}.dump().c_str());
      return;
    }
    const Calibration c = calibrate(a->table, cost_params(p), co);
    if (!a->json) {
      std::printf("%s", format_report(c).c_str());
      return;
    }
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : c.rows)
      rows.push_back({{"model", r.model_file},
                      {"measured_ms", r.measured_ms},
                      {"fitted_ms", r.fitted_ms},
                      {"loo_ms", r.loo_ms},
                      {"source", r.source},
                      {"loso_ms", r.loso_ms}});
    auto stats = [](const FitStats& s) {
      return nlohmann::json{{"mape", s.mape}, {"within10", s.within10}, {"spearman", s.spearman}};
    };
    std::printf("%s\n", nlohmann::json{{"rows", rows},
                                       {"in_sample", stats(c.in_sample)},
                                       {"leave_one_out", stats(c.loo)},
                                       {"leave_one_source_out",
                                        c.has_loso() ? stats(c.loso) : nlohmann::json()},
                                       {"sources", c.sources},
                                       {"free", c.free},
                                       {"fitted", to_json(c.fitted)}}
                            .dump()
                            .c_str());
  });

  auto h = std::make_shared<HostArgs>();
  auto* host = cmd->add_subcommand(
      "calibrate-host",
      "Time random genomes on this CPU (libtorch FP32), fit the cpu cost model, cross-validate");
  host->add_option("--genomes", h->genomes, "Random genomes to time (default 50)")
      ->check(CLI::Range(2, 100000));
  host->add_option("--seed", h->seed, "Seed of the genome sampling (default 1)");
  host->add_option("--size", h->size, "Input size S or HxW (default 128)");
  host->add_option("--bands", h->bands, "Input bands (default 4)")->check(CLI::Range(1, 1024));
  host->add_option("--space", h->space,
                   "Search space config ([search_space] table or whole file; default: built-in)");
  host->add_option("--folds", h->folds, "Cross-validation folds (default 5)")
      ->check(CLI::Range(2, 1000));
  host->add_option("--threads", h->threads, "libtorch threads while timing (default 1)")
      ->check(CLI::Range(1, 256));
  host->add_option("--warmup", h->warmup, "Warm-up forwards per genome (default 2)")
      ->check(CLI::Range(0, 1000));
  host->add_option("--repeats", h->repeats, "Forwards per genome per round (default 5)")
      ->check(CLI::Range(1, 1000));
  host->add_option("--rounds", h->rounds, "Interleaved rounds over all genomes (default 3)")
      ->check(CLI::Range(1, 1000));
  host->add_option("--timings-out", h->timings_out, "Write the measured timings (CSV) here");
  host->add_option("--timings", h->timings_in,
                   "Fit timings measured before (CSV of --timings-out) instead of timing");
  host->add_option("--write", h->write,
                   "Write the fitted profile here (e.g. devices/host-cpu.toml)");
  host->add_option("--check", h->check,
                   "Instead of fitting: predict the timed genomes with this fitted profile and "
                   "report its held-out figures (genomes it never saw: use another --seed)");
  host->add_flag("--wall", h->wall,
                 "Time wall clock (default at 1 thread: the thread's CPU time, robust to load)");
  host->add_option("--align", h->align, "SIMD width in FP32 values (default 16: AVX-512)")
      ->check(CLI::Range(1, 1024));
  host->add_flag("--json", h->json, "Print the figures as JSON");
  host->callback([h, host]() {
    std::vector<std::string> args;
    for (const CLI::Option* o : host->get_options()) {
      if (o->count() == 0 || o->get_name() == "--help") continue;
      if (o->get_expected_min() == 0) {
        args.push_back(o->get_name());
      } else {
        for (const std::string& v : o->results()) args.push_back(o->get_name() + " " + v);
      }
    }
    run_calibrate_host(*h, joined_command(args));
  });

  auto pl = std::make_shared<PlanArgs>();
  auto* plan = cmd->add_subcommand(
      "lut-plan", "The op signatures a search space produces, one ONNX model each, to time");
  plan->add_option("--space", pl->space,
                   "Search space config ([search_space] table or whole file; default: built-in)");
  plan->add_option("--out", pl->out, "Folder for signatures.csv and models/")->required();
  plan->add_option("--size", pl->size, "Input size S or HxW (default 128)");
  plan->add_option("--bands", pl->bands, "Input bands (default 4)")->check(CLI::Range(1, 1024));
  plan->add_option("--sample", pl->sample,
                   "Signatures of N sampled genomes instead of all (huge spaces)")
      ->check(CLI::Range(0, 1000000));
  plan->add_option("--seed", pl->seed, "Seed of --sample (default 1)");
  plan->add_flag("--fp16", pl->fp16, "Write FP16 models (default FP32)");
  plan->add_option("--opset", pl->opset, "ONNX opset (default 11)")->check(CLI::Range(11, 17));
  plan->add_flag("--no-models", pl->no_models, "Write signatures.csv only");
  plan->callback([pl]() {
    LutPlanOptions o;
    parse_size(pl->size, "--size", o.height, o.width);
    o.bands = pl->bands;
    o.sample = pl->sample;
    o.seed = pl->seed;
    const LutPlan p = plan_lut(space_of(pl->space), o);
    int models = 0;
    write_into(pl->out, "profile lut-plan", [&]() {
      if (pl->no_models) {
        std::string csv =
            "signature,op,input,output,kernel,stride,pad,groups,act,variant,model,"
            "mean_us,std_us,runs\n";
        for (const OpSignature& s : p.signatures) csv += signature_csv_fields(s) + ",,,,\n";
        write_file_atomic(pl->out + "/signatures.csv", csv);
      } else {
        LutPlanWriteOptions w;
        w.fp16 = pl->fp16;
        w.opset = pl->opset;
        models = write_lut_plan(p, pl->out, w);
      }
    });
    std::map<std::string, int> per_op;
    for (const OpSignature& s : p.signatures) ++per_op[to_string(s.op)];
    std::string ops;
    for (const auto& kv : per_op) {
      ops += (ops.empty() ? "" : ", ") + kv.first + " " + std::to_string(kv.second);
    }
    std::printf("%zu signatures (%s) from %d lowered networks at %dx%dx%d\n", p.signatures.size(),
                ops.c_str(), p.lowered, o.bands, o.height, o.width);
    std::printf("wrote %s/signatures.csv and %d models under %s/models/\n", pl->out.c_str(), models,
                pl->out.c_str());
  });

  cmd->callback([a, cmd, cal, host, plan]() {
    if (cal->parsed() || host->parsed() || plan->parsed()) return;
    if (a->model.empty())
      throw Error(
          "profile: give an ONNX model or a genome (or calibrate, calibrate-host, lut-plan)");
    const DeviceProfile p = load_profile(a->device);
    const CostModel model = load_cost_model(p);
    if (!model.cpu_warning.empty())
      std::fprintf(stderr, "warning: %s\n", model.cpu_warning.c_str());
    std::shared_ptr<const LatencyTable> lut = model.lut;
    if (!a->lut.empty()) lut = std::make_shared<const LatencyTable>(LatencyTable::read_csv(a->lut));
    const DeviceGraph g = graph_of(*a);
    CostOptions o;
    o.link = parse_host_link(a->interface);
    o.shaves = a->shaves;
    o.requests = a->requests;
    o.lut = lut.get();
    const CostEstimate e = model.estimate(g, o);
    std::optional<MeasureResult> measured;
    if (a->measure) measured = measure_model(*a, p, g);
    auto fail_if_unmeasured = [&]() {
      if (measured && !measured->ok) throw Error("--measure: " + measured->reason);
    };
    if (a->json) {
      nlohmann::json layers = nlohmann::json::array();
      for (const auto& l : e.layers)
        layers.push_back({{"name", l.name},
                          {"op", to_string(l.op)},
                          {"placement", to_string(l.placement)},
                          {"macs", l.macs},
                          {"bytes", l.bytes},
                          {"dram", l.dram},
                          {"us", l.us},
                          {"source", l.measured ? "lut" : "estimate"},
                          {"share", l.share}});
      nlohmann::json j = {
          {"model", a->model},
          {"device", p.name},
          {"cost_model", to_string(model.kind)},
          {"latency_ms", e.latency_ms},
          {"fps", e.fps},
          {"device_ms", e.device_ms},
          {"transfer_ms", e.transfer_ms},
          {"peak_memory_bytes", e.peak_memory_bytes},
          {"weight_bytes", e.weight_bytes},
          {"energy_mj", e.energy_mj},
          {"measured_layers", e.measured_layers},
          {"macs", g.macs()},
          {"params", g.params()},
          {"params_counted", "device graph: BatchNorm folded into the convolutions"},
          {"layers", layers}};
      if (measured) {
        j["measured"] = {{"ok", measured->ok},
                         {"latency_ms", measured->ok ? nlohmann::json(measured->latency_ms)
                                                     : nlohmann::json(nullptr)},
                         {"reason", measured->reason},
                         {"cached", measured->cached},
                         {"seconds", measured->seconds}};
      }
      std::printf("%s\n", j.dump().c_str());
      fail_if_unmeasured();
      return;
    }
    std::printf("%-28s %-14s %-6s %14s %12s %10s %-4s %7s\n", "layer", "op", "engine", "MACs",
                "bytes", "us", "src", "share");
    for (const auto& l : e.layers)
      std::printf("%-28s %-14s %-6s %14lld %12lld %10.1f %-4s %6.1f%%\n", l.name.c_str(),
                  to_string(l.op).c_str(), to_string(l.placement).c_str(),
                  static_cast<long long>(l.macs), static_cast<long long>(l.bytes), l.us,
                  l.measured ? "lut" : "est", 100.0 * l.share);
    if (model.kind != CostModel::Kind::Analytic) {  // no host link, shaves or requests
      std::printf("\n%s on %s (%s model)\n", a->model.c_str(), p.name.c_str(),
                  to_string(model.kind).c_str());
    } else {
      std::printf("\n%s on %s (%s, %s, %d request%s in flight)\n", a->model.c_str(), p.name.c_str(),
                  a->interface.c_str(),
                  a->shaves ? (std::to_string(a->shaves) + " shaves").c_str() : "all shaves",
                  a->requests, a->requests > 1 ? "s" : "");
    }
    if (lut) {
      std::printf("measured times (lut, %zu signatures) for %d of %zu layers\n", lut->size(),
                  e.measured_layers, e.layers.size());
    }
    std::printf("latency %.2f ms (device %.2f ms + transfer %.2f ms), %.1f FPS\n", e.latency_ms,
                e.device_ms, e.transfer_ms, e.fps);
    std::printf("peak memory %.2f MiB (weights %.2f MiB), energy %.2f mJ per inference\n",
                e.peak_memory_bytes / 1048576.0, e.weight_bytes / 1048576.0, e.energy_mj);
    std::printf(
        "%.1f MMAC, %lld parameters (device graph: BatchNorm folded into the convolutions; "
        "`dalnas arch describe` counts the training network's, BatchNorm unfolded)\n",
        g.macs() / 1e6, static_cast<long long>(g.params()));
    if (measured && measured->ok) {
      std::printf("measured %.2f ms%s, estimated %.2f ms (%+.1f%%)\n", measured->latency_ms,
                  measured->cached ? " (cached)" : "", e.latency_ms,
                  100.0 * (e.latency_ms / measured->latency_ms - 1.0));
    }
    fail_if_unmeasured();
    (void)cmd;
  });
}

}  // namespace dalnas::cli
