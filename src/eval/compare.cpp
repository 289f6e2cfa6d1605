#include "eval/compare.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "core/mean_sd.h"
#include "device/alignment.h"
#include "eval/device_eval.h"
#include "train/experiment.h"

namespace dalnas {

namespace {
const char* kColumns[] = {"fp32_host", "ptq_device", "aligned_device", "control_device"};

const Metrics& pick(const CompareRun& r, const std::string& which) {
  if (which == "fp32_host") return r.fp32_host;
  if (which == "ptq_device") return r.ptq_device;
  if (which == "aligned_device") return r.aligned_device;
  return r.control_device;
}

std::string fmt(const char* f, double a, double b) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}
}  // namespace

std::pair<double, double> CompareResult::miou_stats(const std::vector<double>& v) {
  return mean_sd(v);
}

std::vector<double> CompareResult::column(const std::string& which) const {
  std::vector<double> v;
  for (const auto& r : runs) v.push_back(pick(r, which).cm.miou());
  return v;
}

double CompareResult::gap_recovered() const {
  const double a = miou_stats(column("fp32_host")).first;
  const double b = miou_stats(column("ptq_device")).first;
  const double c = miou_stats(column("aligned_device")).first;
  if (std::fabs(a - b) < 1e-12) return NAN;
  return (c - b) / (a - b);
}

nlohmann::json CompareResult::to_json() const {
  nlohmann::json j = {{"genome", genome},
                      {"params", params},
                      {"device", device},
                      {"device_numerics", device_numerics},
                      {"data", data},
                      {"test_scenes", test_scenes},
                      {"seeds", nlohmann::json::array()}};
  for (const auto& r : runs) j["seeds"].push_back(r.seed);
  for (const char* c : kColumns) {
    nlohmann::json col = {{"per_seed", nlohmann::json::array()}};
    for (const auto& r : runs) col["per_seed"].push_back(pick(r, c).to_json());
    const auto [m, s] = miou_stats(column(c));
    col["miou_mean"] = m;
    col["miou_std"] = s;
    j[c] = col;
  }
  nlohmann::json nan_px = nlohmann::json::array();
  for (const auto& r : runs)
    nan_px.push_back({{"ptq_device", r.ptq_nan_pixels},
                      {"aligned_device", r.aligned_nan_pixels},
                      {"control_device", r.control_nan_pixels}});
  j["nan_pixels"] = nan_px;
  nlohmann::json secs = nlohmann::json::array();
  for (const auto& r : runs) secs.push_back(r.seconds);
  j["seconds_per_seed"] = secs;
  const double g = gap_recovered();
  j["gap_recovered"] = std::isfinite(g) ? nlohmann::json(g) : nlohmann::json(nullptr);
  return j;
}

CompareResult CompareResult::from_json(const nlohmann::json& j, const std::string& where) {
  CompareResult r;
  try {
    r.genome = j.at("genome").get<std::string>();
    r.params = j.at("params").get<int64_t>();
    r.device = j.at("device").get<std::string>();
    r.device_numerics = j.at("device_numerics").get<std::string>();
    r.data = j.at("data").get<std::string>();
    r.test_scenes = j.at("test_scenes").get<std::vector<std::string>>();
    const auto seeds = j.at("seeds").get<std::vector<uint64_t>>();
    const nlohmann::json& nan_px = j.at("nan_pixels");
    for (size_t i = 0; i < seeds.size(); ++i) {
      CompareRun run;
      run.seed = seeds[i];
      const std::string w = where + ": seed " + std::to_string(seeds[i]);
      run.fp32_host = Metrics::from_json(j.at("fp32_host").at("per_seed").at(i), w + " fp32_host");
      run.ptq_device =
          Metrics::from_json(j.at("ptq_device").at("per_seed").at(i), w + " ptq_device");
      run.aligned_device =
          Metrics::from_json(j.at("aligned_device").at("per_seed").at(i), w + " aligned_device");
      run.control_device =
          Metrics::from_json(j.at("control_device").at("per_seed").at(i), w + " control_device");
      run.ptq_nan_pixels = nan_px.at(i).at("ptq_device").get<int64_t>();
      run.aligned_nan_pixels = nan_px.at(i).at("aligned_device").get<int64_t>();
      run.control_nan_pixels = nan_px.at(i).at("control_device").get<int64_t>();
      if (j.contains("seconds_per_seed"))
        run.seconds = j.at("seconds_per_seed").at(i).get<double>();
      r.runs.push_back(std::move(run));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": not a compare.json (" + e.what() + ")");
  }
  return r;
}

CompareResult CompareResult::merge(const std::vector<CompareResult>& parts) {
  if (parts.empty()) throw Error("compare: nothing to merge");
  CompareResult r = parts.front();
  r.runs.clear();
  for (const CompareResult& p : parts) {
    if (p.genome != r.genome || p.device != r.device || p.data != r.data ||
        p.test_scenes != r.test_scenes)
      throw Error(
          "compare: parts of different comparisons (genome, device, data or test scenes "
          "differ)");
    r.runs.insert(r.runs.end(), p.runs.begin(), p.runs.end());
  }
  std::stable_sort(r.runs.begin(), r.runs.end(),
                   [](const CompareRun& a, const CompareRun& b) { return a.seed < b.seed; });
  return r;
}

nlohmann::json CompareOptions::to_json() const {
  return {{"train", train.to_json()},   {"seeds", seeds},
          {"first_seed", first_seed},   {"finetune_epochs", finetune_epochs},
          {"finetune_lr", finetune_lr}, {"device", device}};
}

CompareOptions CompareOptions::from_json(const nlohmann::json& j, const std::string& where) {
  CompareOptions o;
  try {
    o.train = TrainConfig::from_json(j.at("train"), where + ".train");
    o.seeds = j.at("seeds").get<int>();
    o.first_seed = j.at("first_seed").get<int>();
    o.finetune_epochs = j.at("finetune_epochs").get<int>();
    o.finetune_lr = j.at("finetune_lr").get<double>();
    o.device = j.at("device").get<std::string>();
    o.checkpoint_dir = j.value("checkpoint_dir", std::string());
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": compare options: " + e.what());
  }
  return o;
}

std::string CompareResult::csv() const {
  std::ostringstream o;
  o << "seed,params,fp32_host_miou,ptq_device_miou,aligned_device_miou,control_device_miou,"
       "fp32_host_iou_vessel,ptq_device_iou_vessel,aligned_device_iou_vessel,"
       "control_device_iou_vessel,ptq_nan_pixels\n";
  for (const auto& r : runs) {
    o << r.seed << ',' << params;
    for (const char* c : kColumns) o << ',' << pick(r, c).cm.miou();
    for (const char* c : kColumns) o << ',' << pick(r, c).cm.iou_vessel();
    o << ',' << r.ptq_nan_pixels << '\n';
  }
  return o.str();
}

std::string CompareResult::table() const {
  std::ostringstream o;
  o << "genome   " << genome << "\n";
  o << "device   " << device << " (" << device_numerics << ")\n";
  o << "data     " << data << ", test scenes:";
  for (const auto& s : test_scenes) o << ' ' << s;
  o << "\nseeds    " << runs.size() << "\n\n";
  o << "                     params   mIoU (mean ± std)   IoU vessel (mean)\n";
  const char* labels[] = {"(a) FP32, host        ", "(b) post-conversion   ",
                          "(c) aligned          ", "(d) FP32 fine-tune    "};
  for (int i = 0; i < 4; ++i) {
    const auto [m, s] = miou_stats(column(kColumns[i]));
    std::vector<double> iv;
    for (const auto& r : runs) iv.push_back(pick(r, kColumns[i]).cm.iou_vessel());
    const double ivm = miou_stats(iv).first;
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s %7lld   %s      %.4f\n", labels[i],
                  static_cast<long long>(params), fmt("%.4f ± %.4f", m, s).c_str(), ivm);
    o << buf;
  }
  const double g = gap_recovered();
  const double a = miou_stats(column("fp32_host")).first;
  const double b = miou_stats(column("ptq_device")).first;
  char buf[200];
  std::snprintf(buf, sizeof buf, "\ndeployment gap (a) - (b): %+.4f mIoU\n", a - b);
  o << buf;
  if (std::isfinite(g) && std::fabs(a - b) >= 0.01) {
    std::snprintf(buf, sizeof buf, "gap recovered (c - b) / (a - b): %.2f\n", g);
    o << buf;
  } else {
    o << "gap recovered: not meaningful (the gap is below 0.01 mIoU)\n";
  }
  if (std::fabs(a - b) < 0.01)
    o << "note: post-training conversion loses less than 0.01 mIoU under this device's "
         "numerics; run with --sweep-numerics to see which device behaviours make a gap.\n";
  return o.str();
}

std::vector<std::pair<std::string, DeviceProfile>> sweep_variants(const DeviceProfile& base) {
  std::vector<std::pair<std::string, DeviceProfile>> out;
  const char* accs[] = {"fp32", "fp16-blocked:32", "fp16"};
  for (const char* acc : accs)
    for (bool fold : {false, true})
      for (bool pre : {true, false}) {
        DeviceProfile p = base;
        p.neural_engine.acc = parse_accumulation(acc);
        p.shave.acc = parse_accumulation(acc);
        p.fold_normalization = fold;
        p.neural_engine.prescale = pre;
        const std::string name = std::string("acc=") + acc + " norm=" + (fold ? "device" : "host") +
                                 " prescale=" + (pre ? "on" : "off");
        out.emplace_back(name, p);
      }
  return out;
}

CompareResult run_compare(const CompareOptions& opt, const CompareProgress& progress,
                          std::vector<SweepRow>* sweep) {
  using Clock = std::chrono::steady_clock;
  auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };
  const DeviceProfile profile = load_profile(opt.device);
  TrainConfig base = opt.train;
  base.precision = PrecisionMode::FP32;
  PreparedData data = prepare_data(base);

  CompareResult res;
  res.device = profile.name;
  if (profile.integer) {
    const Int8Config& ic = *profile.integer;
    const std::string arithmetic =
        ic.format == Int8Format::Tflite
            ? std::string("requantization ") + to_string(ic.rounding) + " rounding"
        : ic.format == Int8Format::OnnxRuntime
            ? "float requantization, ties to even, weights in [-" + std::to_string(ic.weight_max) +
                  ", " + std::to_string(ic.weight_max) + "]"
            : std::string("power-of-two fix positions, round half up");
    // Mixed precision: the rule (device/precision_rule.h), when it is not int8 everywhere.
    std::string layers;
    if (ic.precision != LayerPrecision::Int8 || ic.first_last != LayerPrecision::Default) {
      layers = "; layers " + to_string(ic.precision);
      if (ic.first_last != LayerPrecision::Default) {
        layers += ", first block and head " + to_string(ic.first_last);
      }
    }
    res.device_numerics =
        to_string(ic.format) + " (" + arithmetic + layers + "; calibration " +
        to_string(ic.calibration) + (ic.keep_bounded ? " (bounded activations at min / max)" : "") +
        (ic.entropy_grid && ic.calibration == CalibrationMethod::Entropy ? " (on the target's grid)"
                                                                         : "") +
        " on " + std::to_string(ic.calibration_tiles) +
        " training tiles; aligned = int8 quantization-aware training, " +
        (ic.trained_ranges ? "deployed at its trained ranges" : "re-calibrated") +
        "); "
        "normalisation " +
        to_string(profile.emulator_config().input);
  } else
    res.device_numerics = "neural engine: " + to_string(profile.neural_engine) +
                          "; shave: " + to_string(profile.shave) + "; normalisation " +
                          to_string(profile.emulator_config().input);
  res.data = base.data;
  res.test_scenes = scene_names(data.scenes, data.split.test);
  TileOptions to;
  to.tile = base.eval_tile;
  to.overlap = base.eval_overlap;
  const auto& test = data.split.test;
  const auto& evalset = test.empty() ? data.split.val : test;

  for (int i = opt.first_seed; i < opt.first_seed + opt.seeds; ++i) {
    const auto t0 = Clock::now();
    CompareRun run;
    TrainConfig cfg = base;
    cfg.seed = base.seed + static_cast<uint64_t>(i);
    // freeze_bn_epochs belongs to the fine-tuning arms (c) and (d), not to (a).
    cfg.freeze_bn_epochs = 0;
    run.seed = cfg.seed;
    say("seed " + std::to_string(cfg.seed) + ": (a) training in FP32 for " +
        std::to_string(cfg.epochs) + " epochs");
    TrainOutcome a = train_model(cfg, data);
    res.genome = a.ck.genome.str();
    res.params = count_parameters(*a.ck.net);
    run.fp32_host = a.test.cm.total() ? a.test : a.val;

    say("seed " + std::to_string(cfg.seed) + ": (b) post-training conversion on " + profile.name);
    auto b =
        evaluate_on_device(a.ck, opt.device, data.scenes, evalset, to, &profile, &data.split.train);
    run.ptq_device = b.metrics;
    run.ptq_nan_pixels = b.nan_pixels;

    TrainConfig ft = cfg;
    ft.epochs = opt.finetune_epochs;
    ft.lr = opt.finetune_lr;
    ft.patience = 0;
    ft.init.clear();
    // Both fine-tuning arms alike; auto: 1 for an integer target (the fine-tuning starts
    // from trained weights, TrainConfig::freeze_bn_epochs).
    ft.freeze_bn_epochs = base.resolved_freeze_bn_epochs(profile.integer.has_value(), true);
    TrainConfig ftc = ft;
    // Aligned to the target profile's pipeline (conversions, range, pre-scaled
    // accumulators, upsampling mode), not just "round to FP16".
    ft.precision = PrecisionMode::Aligned;
    ft.align = alignment_for(profile);
    ft.align_device = profile.name;
    say("seed " + std::to_string(cfg.seed) + ": (c) deployment-aligned fine-tuning, " +
        std::to_string(ft.epochs) + " epochs");
    TrainOutcome c = train_model(ft, data, {}, &a.ck);
    c.ck.net->policy->mode = PrecisionMode::FP32;  // the device graph is built from the weights
    auto cm =
        evaluate_on_device(c.ck, opt.device, data.scenes, evalset, to, &profile, &data.split.train);
    run.aligned_device = cm.metrics;
    run.aligned_nan_pixels = cm.nan_pixels;
    if (i == 0 && !opt.checkpoint_dir.empty()) {
      std::filesystem::create_directories(opt.checkpoint_dir);
      save_checkpoint(opt.checkpoint_dir + "/fp32.ckpt", a.ck);
      save_checkpoint(opt.checkpoint_dir + "/aligned.ckpt", c.ck);
    }

    say("seed " + std::to_string(cfg.seed) + ": (d) control: FP32 fine-tuning, " +
        std::to_string(ftc.epochs) + " epochs");
    TrainOutcome d = train_model(ftc, data, {}, &a.ck);
    auto dm =
        evaluate_on_device(d.ck, opt.device, data.scenes, evalset, to, &profile, &data.split.train);
    run.control_device = dm.metrics;
    run.control_nan_pixels = dm.nan_pixels;
    for (Metrics* m : {&run.ptq_device, &run.aligned_device, &run.control_device})
      m->params = res.params;
    run.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "seed %llu: mIoU (a) %.4f  (b) %.4f  (c) %.4f  (d) %.4f  [%.0f s]",
                  static_cast<unsigned long long>(run.seed), run.fp32_host.cm.miou(),
                  run.ptq_device.cm.miou(), run.aligned_device.cm.miou(),
                  run.control_device.cm.miou(), run.seconds);
    say(buf);
    res.runs.push_back(run);

    if (sweep && i == 0) {
      for (auto& [name, p] : sweep_variants(profile)) {
        SweepRow row;
        row.variant = name;
        row.fp32_host_miou = run.fp32_host.cm.miou();
        auto pb = evaluate_on_device(a.ck, p.name, data.scenes, evalset, to, &p, &data.split.train);
        auto pc = evaluate_on_device(c.ck, p.name, data.scenes, evalset, to, &p, &data.split.train);
        row.ptq_miou = pb.metrics.cm.miou();
        row.aligned_miou = pc.metrics.cm.miou();
        row.ptq_nan_pixels = pb.nan_pixels;
        say("sweep " + name + ": post-conversion " +
            fmt("%.4f, aligned %.4f", row.ptq_miou, row.aligned_miou));
        sweep->push_back(row);
      }
    }
  }
  return res;
}

}  // namespace dalnas
