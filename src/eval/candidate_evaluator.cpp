#include "eval/candidate_evaluator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "core/error.h"
#include "core/rng.h"
#include "core/transient_error.h"
#include "device/alignment.h"
#include "device/cost_model.h"
#include "device/external_measure.h"
#include "device/profile.h"
#include "eval/device_eval.h"
#include "eval/export_model.h"
#include "eval/external_device.h"
#include "eval/host_latency.h"
#include "export/onnx_export.h"
#include "nn/inherit.h"
#include "search/fitness.h"
#include "train/experiment.h"
#include "train/predict.h"

namespace dalnas {

namespace {

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string first_line(const std::string& s) {
  const auto p = s.find('\n');
  return p == std::string::npos ? s : s.substr(0, p);
}

}  // namespace

uint64_t candidate_seed(uint64_t search_seed, const Genome& g) {
  Rng r(search_seed ^ g.hash());
  return r.next_u64() >> 1;  // fits SQLite's signed integers as a positive number
}

struct CandidateEvaluator::Impl {
  SearchConfig cfg;
  std::string run_dir;
  std::function<void(const std::string&)> log;
  TrainConfig train;
  PreparedData data;
  DeviceProfile profile;
  CostModel cost_model;
  CostOptions cost_options;
  std::optional<MeasureConfig> measure;  // evaluation.measure_latency with a [measure] table
  TileOptions tiles;
  std::vector<int> eval_scenes;

  PolicyPtr policy() const {
    auto p = std::make_shared<PrecisionPolicy>();
    p->mode = train.precision;
    p->half = train.half;
    p->zero_grad_on_overflow = train.zero_grad_on_overflow;
    p->align = train.align;
    p->norm_mean = data.norm.mean;
    p->norm_std = data.norm.std;
    return p;
  }

  void say(const std::string& s) const {
    if (log) log(s);
  }

  DeviceMetrics device_metrics(Checkpoint& ck, const std::vector<int>& which) {
    return evaluate_on_device(ck, cfg.device, data.scenes, which, tiles, &profile);
  }
};

CandidateEvaluator::CandidateEvaluator(const SearchConfig& cfg, std::string run_dir,
                                       std::function<void(const std::string&)> log)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.cfg = cfg;
  m.run_dir = std::move(run_dir);
  m.log = std::move(log);
  if (is_host_device(cfg.device))
    throw Error("search.device: 'host' has no cost model; name a device profile (e.g. myriadx)");
  nlohmann::json tj = cfg.train;
  tj["seed"] = cfg.seed;
  tj["epochs"] = cfg.evaluation.epochs;
  m.train = TrainConfig::from_json(tj, "train");
  m.train.validate();
  // external:NAME (or a profile of kind external): accuracy from the real device through
  // its command (eval/external_device.h); costs from the profile's [cost] table.
  m.profile = load_profile(external_profile_name(cfg.device));
  if (m.train.precision == PrecisionMode::Aligned) {
    // Candidates train aligned to the search's target profile (its conversions, range,
    // pre-scaled accumulators and upsampling mode).
    m.train.align = alignment_for(m.profile);
    m.train.align_device = m.profile.name;
  }
  m.cost_model = load_cost_model(m.profile);
  if (!m.cost_model.cpu_warning.empty()) {
    std::fprintf(stderr, "warning: %s\n", m.cost_model.cpu_warning.c_str());
  }
  if (cfg.evaluation.measure_latency) {
    m.measure = measure_config(m.profile);
    if (!m.measure)
      throw Error("evaluation.measure_latency: profile " + m.profile.name +
                  " has no [measure] table (devices/README.md, \"Measurement\")");
  }
  m.cost_options.link = parse_host_link(cfg.interface);
  m.cost_options.shaves = cfg.shaves;
  m.cost_options.requests = cfg.requests;
  m.cost_options.layers = false;
  m.tiles.tile = m.train.eval_tile;
  m.tiles.overlap = m.train.eval_overlap;
  m.data = prepare_data(m.train);
  const std::string& split = cfg.evaluation.split;
  m.eval_scenes = split == "val"    ? m.data.split.val
                  : split == "test" ? m.data.split.test
                                    : m.data.split.train;
  if (m.eval_scenes.empty())
    throw Error("evaluation.split: the " + split + " split of " + m.train.data + " is empty (" +
                std::to_string(m.data.scenes.size()) +
                " scenes); add scenes or choose the split in [train.split]");
  // Nothing is written here (checkpoints/ appears with the first checkpoint): a search
  // builds its evaluator before it creates the run folder.
}

CandidateEvaluator::~CandidateEvaluator() = default;

nlohmann::json CandidateEvaluator::train_config() const {
  return impl_->train.to_json();
}

int CandidateEvaluator::bands() const {
  return impl_->data.bands;
}

std::string CandidateEvaluator::checkpoint_path(const Genome& g) const {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.ck", static_cast<unsigned long long>(g.hash()));
  return (std::filesystem::path(impl_->run_dir) / "checkpoints" / name).string();
}

nlohmann::json CandidateEvaluator::cost(const Genome& g) const {
  const Impl& m = *impl_;
  torch::manual_seed(0);  // costs do not depend on the weights
  Network net = build_network(g, m.data.bands);
  net->eval();
  DeviceGraph graph = lower_for(net, m.data.norm, m.profile);
  graph.infer_shapes(Shape{m.data.bands, m.cfg.input_h, m.cfg.input_w});
  const double t0 = now_s();
  const CostEstimate e = m.cost_model.estimate(graph, m.cost_options);
  const double us = (now_s() - t0) * 1e6;
  return {{"params", count_parameters(*net)},
          {"macs", graph.macs()},
          {"latency_ms", e.latency_ms},
          {"fps", e.fps},
          {"peak_memory_bytes", e.peak_memory_bytes},
          {"energy_mj", e.energy_mj},
          {"cost_model_us", us}};
}

bool CandidateEvaluator::measure(const Genome& g, double& ms, std::string& why) const {
  const Impl& m = *impl_;
  if (!m.measure) {
    why = "no [measure] table";
    return false;
  }
  const Shape in{m.data.bands, m.cfg.input_h, m.cfg.input_w};
  if (m.measure->method == MeasureConfig::Method::Host) {
    HostTimingOptions ho;
    ho.threads = m.measure->threads;
    ho.repeats = m.measure->repeats;
    ho.rounds = m.measure->rounds;
    ho.warmup = m.measure->warmup;
    ho.bands = in.c;
    ho.height = in.h;
    ho.width = in.w;
    ms = measure_host_latency({g}, ho).front().ms;
    return true;
  }
  // An external command times the exported model (FP16 when the device stores FP16).
  torch::manual_seed(0);
  Network net = build_network(g, m.data.bands);
  net->eval();
  DeviceGraph graph = lower_for(net, m.data.norm, m.profile);
  graph.infer_shapes(in);
  ExportOptions eo;
  eo.fp16 = m.profile.neural_engine.storage == Storage::FP16;
  const auto dir = std::filesystem::path(m.run_dir) / "measure";
  std::filesystem::create_directories(dir);
  char name[40];
  std::snprintf(name, sizeof name, "%016llx.onnx", static_cast<unsigned long long>(g.hash()));
  const std::string path = (dir / name).string();
  write_onnx(graph, path, eo);
  const MeasureResult r =
      measure_latency(*m.measure, path, measure_cache_key(g.hash(), in, eo.fp16 ? "fp16" : "fp32"));
  std::filesystem::remove(path);
  ms = r.latency_ms;
  why = r.reason;
  return r.ok;
}

EvalOutcome CandidateEvaluator::evaluate(const Candidate& c,
                                         const std::vector<EvaluationRecord>& history) {
  Impl& m = *impl_;
  const EvaluationConfig& ev = m.cfg.evaluation;
  EvalOutcome o;
  o.seed = candidate_seed(m.cfg.seed, c.genome);
  try {
    // 1. Cost model and cheap rejection.
    o.metrics = cost(c.genome);
    const FitnessResult pre = check_constraints(m.cfg.fitness, EvalMetrics::from_json(o.metrics));
    if (!pre.feasible) {
      o.status = EvalStatus::Rejected;
      o.reason = "rejected before training: " + pre.reason();
      return o;
    }
    if (m.measure) {
      // The measured latency replaces the estimate (which stays as latency_est_ms).
      double ms = 0;
      std::string why;
      if (!measure(c.genome, ms, why)) {
        o.status = EvalStatus::Failed;
        o.reason = "unmeasured: " + why;
        o.transient = true;  // the device may answer next time
        return o;
      }
      o.metrics["latency_est_ms"] = o.metrics["latency_ms"];
      o.metrics["latency_ms"] = ms;
      o.metrics["fps"] = ms > 0 ? 1000.0 / ms : 0.0;
      const FitnessResult again =
          check_constraints(m.cfg.fitness, EvalMetrics::from_json(o.metrics));
      if (!again.feasible) {
        o.status = EvalStatus::Rejected;
        o.reason = "rejected before training (measured): " + again.reason();
        return o;
      }
    }

    // 2. Training: inherited weights or from scratch, possibly in two fidelities.
    TrainConfig t = m.train;
    t.seed = o.seed;
    const PolicyPtr policy = m.policy();
    torch::manual_seed(o.seed);
    Checkpoint ck;
    ck.genome = c.genome;
    ck.bands = m.data.bands;
    ck.norm = m.data.norm;
    ck.net = build_network(c.genome, m.data.bands, policy);
    int epochs = ev.epochs;
    std::string fidelity = "full";
    if (ev.inheritance) {
      for (uint64_t pid : c.parents) {
        auto it = std::find_if(history.begin(), history.end(), [&](const EvaluationRecord& r) {
          return r.candidate_id == pid && r.status == EvalStatus::Ok;
        });
        if (it == history.end()) continue;
        const std::string path = checkpoint_path(Genome::parse(it->genome));
        if (!std::filesystem::exists(path)) continue;
        Checkpoint parent;
        try {
          parent = load_checkpoint(path);
        } catch (const Error& e) {
          // A damaged parent (truncated, corrupted): no inheritance from it, recorded.
          o.metrics["inheritance_skipped"] = first_line(e.what());
          m.say(c.genome.str() + ": parent " + std::to_string(pid) +
                " unusable: " + first_line(e.what()));
          continue;
        }
        const InheritStats s = inherit_weights(ck.net, parent.net);
        if (s.share() >= ev.inherit_min_share && s.copied > 0) {
          epochs = ev.inherit_epochs;
          fidelity = "inherited";
          o.metrics["inherited_from"] = pid;
          o.metrics["inherited_share"] = s.share();
          break;
        }
        torch::manual_seed(o.seed);  // too little matched: start afresh
        ck.net = build_network(c.genome, m.data.bands, policy);
      }
    }
    t.epochs = epochs;
    const bool staged = ev.multi_fidelity && fidelity != "inherited" && ev.low_epochs < epochs;
    const int first_stage = staged ? ev.low_epochs : epochs;
    const double t_train = now_s();
    TrainHistory h = fit(ck.net, m.data.train, m.data.val, t, {}, EpochRange{1, first_stage});
    double train_s = now_s() - t_train;
    int trained = static_cast<int>(h.epochs.size());

    // 3. The device's metrics on the evaluation split.
    double t_eval = now_s();
    DeviceMetrics dm = m.device_metrics(ck, m.eval_scenes);
    double eval_s = now_s() - t_eval;
    if (staged) {
      nlohmann::json low = o.metrics;
      low["miou"] = dm.metrics.cm.miou();
      const double f_low = compute_fitness(m.cfg.fitness, EvalMetrics::from_json(low)).value;
      int64_t previous = 0, better = 0;
      for (const auto& r : history) {
        if (r.metrics.contains("reused_from") || !r.metrics.contains("fitness_low")) continue;
        ++previous;
        if (r.metrics.at("fitness_low").get<double>() > f_low) ++better;
      }
      const bool promoted =
          static_cast<double>(better) < ev.promote_fraction * static_cast<double>(previous + 1);
      o.metrics["fitness_low"] = f_low;
      o.metrics["miou_low"] = dm.metrics.cm.miou();
      o.metrics["promoted"] = promoted;
      fidelity = "low";
      if (promoted) {
        const double t2 = now_s();
        h = fit(ck.net, m.data.train, m.data.val, t, {}, EpochRange{first_stage + 1, epochs});
        trained += static_cast<int>(h.epochs.size());
        train_s += now_s() - t2;
        t_eval = now_s();
        dm = m.device_metrics(ck, m.eval_scenes);
        eval_s += now_s() - t_eval;
        fidelity = "full";
      }
    }
    m.say(c.genome.str() + ": " + std::to_string(trained) + " epochs (" + fidelity + ")");
    o.metrics["miou"] = dm.metrics.cm.miou();
    o.metrics["vessel_iou"] = dm.metrics.cm.iou_vessel();
    // Vessel-level metrics on the same whole scenes (train/object_metrics.h); null = undefined.
    const nlohmann::json objects = dm.metrics.objects.to_json();
    o.metrics["object_recall"] = objects["recall"];
    o.metrics["object_precision"] = objects["precision"];
    o.metrics["fragmentation"] = objects["fragmentation"];
    o.metrics["boundary_f1"] = objects["boundary_f1"];
    o.metrics["nan_pixels"] = dm.nan_pixels;
    o.metrics["epochs"] = trained;
    o.metrics["fidelity"] = fidelity;
    o.metrics["train_s"] = train_s;
    o.metrics["eval_s"] = eval_s;
    if (ev.keep_checkpoints) {
      ck.config = t.to_json();
      ck.metrics = {{"device_" + ev.split, dm.metrics.to_json()}};
      save_checkpoint(checkpoint_path(c.genome), ck);
    }
  } catch (const c10::OutOfMemoryError& e) {
    o.status = EvalStatus::Failed;
    o.reason = "out of memory (libtorch: " + first_line(e.what_without_backtrace()) + ")";
    o.transient = true;
  } catch (const c10::Error& e) {
    // libtorch's refusal of this network (shapes, sizes): a failed candidate. Its CPU
    // allocator reports exhaustion as a plain c10::Error: transient like std::bad_alloc.
    const std::string what = first_line(e.what_without_backtrace());
    o.status = EvalStatus::Failed;
    o.reason = "libtorch: " + what;
    o.transient = what.find("not enough memory") != std::string::npos ||
                  what.find("can't allocate memory") != std::string::npos ||
                  what.find("out of memory") != std::string::npos;
  } catch (const TransientError& e) {
    o.status = EvalStatus::Failed;
    o.reason = first_line(e.what());
    o.transient = true;
  } catch (const Error& e) {
    o.status = EvalStatus::Failed;
    o.reason = first_line(e.what());
  } catch (const std::bad_alloc&) {
    o.status = EvalStatus::Failed;
    o.reason = "out of memory (std::bad_alloc)";
    o.transient = true;
  }
  // Anything else is a programming error: it reaches the driver, which stops the search
  // naming this candidate (search/evaluator.h).
  return o;
}

nlohmann::json CandidateEvaluator::train_final(
    const Genome& g, const std::string& dir,
    const std::function<void(int epoch, int total, double eta_s)>& on_epoch) {
  Impl& m = *impl_;
  TrainConfig t = m.train;
  t.epochs = std::max(1, m.cfg.evaluation.final_epochs);
  t.seed = m.cfg.seed;
  torch::manual_seed(t.seed);
  Checkpoint ck;
  ck.genome = g;
  ck.bands = m.data.bands;
  ck.norm = m.data.norm;
  ck.net = build_network(g, m.data.bands, m.policy());
  const double t0 = now_s();
  const TrainHistory h =
      fit(ck.net, m.data.train, m.data.val, t, [&](const EpochStats& s, int total, double eta) {
        if (on_epoch) on_epoch(s.epoch, total, eta);
      });
  const double train_s = now_s() - t0;
  nlohmann::json out = cost(g);
  out["genome"] = g.str();
  out["precision"] = to_string(t.precision);
  out["device"] = m.cfg.device;
  out["epochs"] = static_cast<int>(h.epochs.size());
  out["train_s"] = train_s;
  const auto host = [&](const std::vector<int>& which) {
    return evaluate_scenes(ck.net, m.data.scenes, which, m.data.norm, m.tiles).to_json();
  };
  out["host_val"] = host(m.data.split.val);
  out["device_val"] = m.device_metrics(ck, m.data.split.val).metrics.to_json();
  if (!m.data.split.test.empty()) {
    out["host_test"] = host(m.data.split.test);
    const DeviceMetrics dt = m.device_metrics(ck, m.data.split.test);
    out["device_test"] = dt.metrics.to_json();
    out["device_test_nan_pixels"] = dt.nan_pixels;
  }
  std::filesystem::create_directories(dir);
  ck.config = t.to_json();
  ck.config["split_scenes"] = {{"train", scene_names(m.data.scenes, m.data.split.train)},
                               {"val", scene_names(m.data.scenes, m.data.split.val)},
                               {"test", scene_names(m.data.scenes, m.data.split.test)}};
  ck.metrics = out;
  save_checkpoint((std::filesystem::path(dir) / "model.ckpt").string(), ck);
  // The deployable files: FP32 and FP16 ONNX at the search's inference size.
  ModelExportOptions eo;
  eo.height = m.cfg.input_h;
  eo.width = m.cfg.input_w;
  eo.fold_normalization = m.profile.fold_normalization;
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : export_checkpoint(ck, dir, eo))
    files.push_back(std::filesystem::path(f).filename().string());
  out["onnx"] = files;
  return out;
}

}  // namespace dalnas
