#include "eval/candidate_evaluator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "core/error.h"
#include "core/rng.h"
#include "core/steady_clock.h"
#include "core/strings.h"
#include "cost/cost_model.h"
#include "cost/external_measure.h"
#include "device/alignment.h"
#include "device/profile.h"
#include "eval/device_eval.h"
#include "eval/export_model.h"
#include "eval/external_device.h"
#include "eval/host_latency.h"
#include "eval/zero_cost.h"
#include "nn/inherit.h"
#include "onnx/onnx_export.h"
#include "search/classified_evaluation.h"
#include "search/fitness.h"
#include "search/prefilter.h"
#include "search/rungs.h"
#include "train/experiment.h"
#include "train/predict.h"

namespace dalnas {

namespace {

std::string rung_state_file(const std::string& run_dir, const Genome& g) {
  char name[40];
  std::snprintf(name, sizeof name, "%016llx.rung.ck", static_cast<unsigned long long>(g.hash()));
  return (std::filesystem::path(run_dir) / "checkpoints" / name).string();
}

// Beside the rung state: the training state (optimiser, last weights, early stopping) that
// lets the next rung continue exactly where the last one stopped (train/train_state.h).
std::string rung_train_state_file(const std::string& rung_state) {
  return rung_state.substr(0, rung_state.size() - 3) + ".train";
}

}  // namespace

struct SearchData {
  std::string key;  // the data settings it was prepared for
  PreparedData data;
};

uint64_t candidate_seed(uint64_t search_seed, const Genome& g) {
  Rng r(search_seed ^ g.hash());
  return r.next_u64() >> 1;  // fits SQLite's signed integers as a positive number
}

struct CandidateEvaluator::Impl {
  SearchConfig cfg;
  std::string run_dir;
  std::function<void(const std::string&)> log;
  TrainConfig train;
  TrainConfig final_train;  // the winner's retraining: [train] with [final_train] over it
  // Its chips where [final_train] changes the tiling: prepared once, for the winner and its
  // FP32 twin alike.
  std::unique_ptr<PreparedData> final_data;
  const PreparedData& final_data_();
  std::shared_ptr<const SearchData> shared;  // the data, possibly shared with other evaluators
  const PreparedData& data_() const { return shared->data; }
  DeviceProfile profile;
  CostModel cost_model;
  CostOptions cost_options;
  std::optional<MeasureConfig> measure;  // evaluation.measure_latency with a [measure] table
  TileOptions tiles;
  std::vector<int> eval_scenes;

  PolicyPtr policy() const { return policy_for(train); }
  PolicyPtr policy_for(const TrainConfig& t) const { return training_policy(t, data_().norm); }

  void say(const std::string& s) const {
    if (log) log(s);
  }

  DeviceMetrics device_metrics(Checkpoint& ck, const std::vector<int>& which) {
    return evaluate_on_device(ck, cfg.device, data_().scenes, which, tiles, &profile,
                              &data_().split.train);
  }

  void climb_rungs(const Candidate& c, const std::vector<EvaluationRecord>& history,
                   const TrainConfig& t, const PolicyPtr& policy, Checkpoint& ck, EvalOutcome& o,
                   DeviceMetrics& dm, int& trained, double& train_s, double& eval_s,
                   const std::function<void(int)>& on_rung, bool also_score_last);
};

namespace {

// The candidates' training configuration of a search (before device alignment).
TrainConfig search_train_config(const SearchConfig& cfg) {
  nlohmann::json tj = cfg.train;
  tj["seed"] = cfg.seed;
  tj["epochs"] = cfg.evaluation.epochs;
  TrainConfig t = TrainConfig::from_json(tj, "train");
  t.validate();
  return t;
}

// The winner's retraining: the candidates' [train] with [final_train] merged over it (key
// by key), aligned to the same profile, final_epochs long.
TrainConfig final_train_config(const SearchConfig& cfg, const TrainConfig& candidates) {
  nlohmann::json tj = cfg.train;
  tj.merge_patch(cfg.final_train);
  tj["seed"] = cfg.seed;
  tj["epochs"] = std::max(1, cfg.evaluation.final_epochs);
  TrainConfig t;
  try {
    t = TrainConfig::from_json(tj, "final_train");
    t.validate();
  } catch (const Error& e) {
    // validate() names the field after "config: "; say which table set it.
    const std::string w = e.what();
    if (w.rfind("config: ", 0) == 0) throw Error("final_train: " + w.substr(8));
    throw;
  }
  t.align = candidates.align;
  t.align_device = candidates.align_device;
  return t;
}

// What the prepared data depends on: the data, split, tiling and normalisation settings
// and the seed (not epochs, precision or the learning rate).
std::string data_key(const TrainConfig& t) {
  nlohmann::json j = t.to_json();
  nlohmann::json k;
  for (const char* key : {"data", "synthetic", "split", "tiling", "normalization", "seed"})
    if (j.contains(key)) k[key] = j.at(key);
  return k.dump();
}

}  // namespace

const PreparedData& CandidateEvaluator::Impl::final_data_() {
  if (data_key(final_train) == data_key(train)) return data_();
  if (!final_data)
    final_data = std::make_unique<PreparedData>(prepare_data(final_train, &data_().norm));
  return *final_data;
}

const PreparedData& prepared_data(const SearchData& d) {
  return d.data;
}

std::shared_ptr<const SearchData> prepare_search_data(const SearchConfig& cfg) {
  const TrainConfig t = search_train_config(cfg);
  auto d = std::make_shared<SearchData>();
  d->key = data_key(t);
  d->data = prepare_data(t);
  return d;
}

CandidateEvaluator::CandidateEvaluator(const SearchConfig& cfg, std::string run_dir,
                                       std::function<void(const std::string&)> log,
                                       std::shared_ptr<const SearchData> data)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.cfg = cfg;
  m.run_dir = std::move(run_dir);
  m.log = std::move(log);
  if (is_host_device(cfg.device))
    throw Error("search.device: 'host' has no cost model; name a device profile (e.g. myriadx)");
  m.train = search_train_config(cfg);
  // external:NAME (or a profile of kind external): accuracy from the real device through
  // its command (eval/external_device.h); costs from the profile's [cost] table.
  m.profile = load_profile(external_profile_name(cfg.device));
  if (m.train.precision == PrecisionMode::Aligned) {
    // Candidates train aligned to the search's target profile (its conversions, range,
    // pre-scaled accumulators and upsampling mode).
    m.train.align = alignment_for(m.profile);
    m.train.align_device = m.profile.name;
  }
  m.final_train = final_train_config(cfg, m.train);
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
  if (data) {
    if (data->key != data_key(m.train))
      throw Error(
          "search data: prepared for other data settings than this search's [train] "
          "table (data, split, tiling, normalisation or seed differ)");
    m.shared = std::move(data);
  } else {
    auto d = std::make_shared<SearchData>();
    d->key = data_key(m.train);
    d->data = prepare_data(m.train);
    m.shared = std::move(d);
  }
  const PreparedData& pd = m.data_();
  const std::string& split = cfg.evaluation.split;
  m.eval_scenes = split == "val" ? pd.split.val : split == "test" ? pd.split.test : pd.split.train;
  if (m.eval_scenes.empty())
    throw Error("evaluation.split: the " + split + " split of " + m.train.data + " is empty (" +
                std::to_string(pd.scenes.size()) +
                " scenes); add scenes or choose the split in [train.split]");
  // Nothing is written here (checkpoints/ appears with the first checkpoint): a search
  // builds its evaluator before it creates the run folder.
}

CandidateEvaluator::~CandidateEvaluator() = default;

nlohmann::json CandidateEvaluator::train_config() const {
  return impl_->train.to_json();
}

int CandidateEvaluator::bands() const {
  return impl_->data_().bands;
}

std::shared_ptr<const SearchData> CandidateEvaluator::data() const {
  return impl_->shared;
}

std::string CandidateEvaluator::rung_state_path(const Genome& g) const {
  return rung_state_file(impl_->run_dir, g);
}

std::string CandidateEvaluator::checkpoint_path(const Genome& g) const {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.ck", static_cast<unsigned long long>(g.hash()));
  return (std::filesystem::path(impl_->run_dir) / "checkpoints" / name).string();
}

nlohmann::json CandidateEvaluator::cost(const Genome& g) const {
  const Impl& m = *impl_;
  torch::manual_seed(0);  // costs do not depend on the weights
  Network net = build_network(g, m.data_().bands);
  net->eval();
  DeviceGraph graph = lower_for(net, m.data_().norm, m.profile);
  graph.infer_shapes(Shape{m.data_().bands, m.cfg.input_h, m.cfg.input_w});
  const double t0 = steady_now_s();
  const CostEstimate e = m.cost_model.estimate(graph, m.cost_options);
  const double us = (steady_now_s() - t0) * 1e6;
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
  const Shape in{m.data_().bands, m.cfg.input_h, m.cfg.input_w};
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
  Network net = build_network(g, m.data_().bands);
  net->eval();
  DeviceGraph graph = lower_for(net, m.data_().norm, m.profile);
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

// Schedule "rungs": trains `ck` up the rungs (search/rungs.h), resuming from a rung state
// file, and leaves the last rung's device metrics in `dm` and the rung metrics in `o`.
void CandidateEvaluator::Impl::climb_rungs(const Candidate& c,
                                           const std::vector<EvaluationRecord>& history,
                                           const TrainConfig& t_in, const PolicyPtr& policy,
                                           Checkpoint& ck, EvalOutcome& o, DeviceMetrics& dm,
                                           int& trained, double& train_s, double& eval_s,
                                           const std::function<void(int)>& on_rung,
                                           bool also_score_last) {
  Impl& m = *this;
  const EvaluationConfig& ev = m.cfg.evaluation;
  const int rungs = static_cast<int>(ev.rungs.size());
  TrainConfig t = t_in;
  t.epochs = ev.rungs.back();  // one learning-rate schedule over every rung
  const std::string state_path = rung_state_file(m.run_dir, c.genome);
  const std::string identity = config_hash(m.cfg.evaluation_identity());
  nlohmann::json fit_at = nlohmann::json::array(), miou_at = nlohmann::json::array();
  nlohmann::json miou_last_at = nlohmann::json::array();  // also_score_last: the last weights'
  nlohmann::json seconds_at = nlohmann::json::array();    // training + device time to each rung
  int next = 0;                                           // the rung to train next
  TrainState state;  // carried from rung to rung: the rungs are one uninterrupted run
  if (std::filesystem::exists(state_path)) {
    // A killed evaluation of this genome left its state after rung `rung`: continue there.
    try {
      Checkpoint saved = load_checkpoint(state_path, policy);
      const nlohmann::json& s = saved.metrics;
      if (saved.genome.str() == c.genome.str() && s.value("identity", std::string()) == identity &&
          s.value("seed", uint64_t{0}) == o.seed) {
        TrainState loaded = TrainState::load(rung_train_state_file(state_path));
        if (loaded.epochs_done != s.at("epochs").get<int>())
          throw Error(rung_train_state_file(state_path) + ": trained to epoch " +
                      std::to_string(loaded.epochs_done) + ", the rung state to epoch " +
                      std::to_string(s.at("epochs").get<int>()));
        state = std::move(loaded);
        next = s.at("rung").get<int>() + 1;
        fit_at = s.at("rung_fitness");
        miou_at = s.at("rung_miou");
        if (s.contains("rung_miou_last")) miou_last_at = s.at("rung_miou_last");
        seconds_at = s.at("rung_s");
        trained = s.at("epochs").get<int>();
        train_s = s.at("train_s").get<double>();
        eval_s = s.at("eval_s").get<double>();
        ck.net = saved.net;
        o.metrics["resumed_at_rung"] = next;
        m.say(c.genome.str() + ": continues at rung " + std::to_string(next + 1) + " of " +
              std::to_string(rungs));
      }
    } catch (const Error& e) {
      o.metrics["rung_state_skipped"] = first_line(e.what());
      m.say(c.genome.str() + ": rung state unusable: " + first_line(e.what()));
    } catch (const nlohmann::json::exception& e) {
      o.metrics["rung_state_skipped"] = std::string("malformed rung state: ") + e.what();
    }
  }
  const auto fitness_with = [&](double miou) {
    nlohmann::json j = o.metrics;
    j["miou"] = miou;
    return compute_fitness(m.cfg.fitness, EvalMetrics::from_json(j)).value;
  };
  const RungPromotion rule = parse_rung_promotion(ev.promotion, "evaluation.promotion");
  bool measured = false;
  int reached = next - 1;
  for (int k = next; k < rungs; ++k) {
    if (ev.early_stop && k > 0) {
      // Fitness grows with mIoU: at mIoU 1 it is the most this candidate can score.
      // (A cutoff of +infinity means a rung too small to promote anyone yet (asha): the
      // candidate trains it all the same, so that the rung fills.)
      const double cutoff = rung_cutoff(rung_scores(history, static_cast<size_t>(k)), ev.eta, rule);
      const double most = fitness_with(1.0);
      if (most < cutoff && std::isfinite(cutoff)) {
        o.metrics["early_stopped"] = true;
        o.metrics["early_stop_reason"] = "fitness " + std::to_string(most) +
                                         " at mIoU 1 is below rung " + std::to_string(k + 1) +
                                         "'s cutoff " + std::to_string(cutoff);
        break;
      }
    }
    const double t1 = steady_now_s();
    const EpochRange range{k == 0 ? 1 : ev.rungs[static_cast<size_t>(k - 1)] + 1,
                           ev.rungs[static_cast<size_t>(k)],
                           ev.rung_chip_fraction[static_cast<size_t>(k)]};
    const TrainHistory h = fit(ck.net, m.data_().train, m.data_().val, t, {}, range, &state);
    trained += static_cast<int>(h.epochs.size());
    train_s += steady_now_s() - t1;
    // fit() leaves the kept weights (the lowest validation loss so far); they differ from
    // the last epoch's when that epoch did not improve it.
    const bool last_differs = !state.best.empty() && state.best_epoch != state.epochs_done;
    // (QAT: each set of weights with the activation ranges and weight steps it was trained
    // at.)
    const auto put = [&](const std::vector<torch::Tensor>& w, const ActRanges& r,
                         const WeightSteps& steps) {
      load_weights(*ck.net, w);
      if (!r.empty()) ck.net->policy->set_int8_ranges(r);
      if (!steps.empty()) ck.net->policy->set_weight_steps(steps, /*log=*/true);
    };
    if (ev.rung_score == "last" && last_differs)
      put(state.last, state.last_ranges, state.last_steps);
    const double t2 = steady_now_s();
    dm = m.device_metrics(ck, m.eval_scenes);
    if (also_score_last) {
      double last_miou = dm.metrics.cm.miou();
      if (ev.rung_score == "kept" && last_differs) {  // score the last weights, then put back
        put(state.last, state.last_ranges, state.last_steps);
        last_miou = m.device_metrics(ck, m.eval_scenes).metrics.cm.miou();
        put(state.best, state.best_ranges, state.best_steps);
      }
      miou_last_at.push_back(last_miou);
    }
    eval_s += steady_now_s() - t2;
    measured = true;
    reached = k;
    const double f = fitness_with(dm.metrics.cm.miou());
    fit_at.push_back(f);
    miou_at.push_back(dm.metrics.cm.miou());
    seconds_at.push_back(train_s + eval_s);
    if (k + 1 == rungs) break;
    if (!rung_promotes(f, rung_scores(history, static_cast<size_t>(k)), ev.eta, rule)) break;
    // Promoted: keep where it stands, so that a killed search continues from here.
    Checkpoint st;
    st.genome = ck.genome;
    st.bands = ck.bands;
    st.norm = ck.norm;
    st.net = ck.net;
    st.config = t.to_json();
    st.metrics = {{"rung", k},
                  {"rung_fitness", fit_at},
                  {"rung_miou", miou_at},
                  {"rung_miou_last", miou_last_at},
                  {"rung_s", seconds_at},
                  {"epochs", trained},
                  {"train_s", train_s},
                  {"eval_s", eval_s},
                  {"seed", o.seed},
                  {"identity", identity}};
    state.save(rung_train_state_file(state_path));  // first: the checkpoint names its epoch
    save_checkpoint(state_path, st);
    if (on_rung) on_rung(k);
  }
  if (!measured) {  // stopped right after a resume: the weights of the rung it reached
    const double t2 = steady_now_s();
    dm = m.device_metrics(ck, m.eval_scenes);
    eval_s += steady_now_s() - t2;
  }
  o.metrics["rung_fitness"] = fit_at;
  o.metrics["rung_miou"] = miou_at;
  if (also_score_last) o.metrics["rung_miou_last"] = miou_last_at;
  o.metrics["rung_s"] = seconds_at;
  o.metrics["rung"] = reached;
  o.metrics["promoted"] = reached + 1 == rungs;
  o.metrics["fidelity"] = reached + 1 == rungs
                              ? std::string("full")
                              : "rung " + std::to_string(reached + 1) + "/" + std::to_string(rungs);
}

std::string CandidateEvaluator::cost_rejection(const Genome& g) const {
  const FitnessConfig& f = impl_->cfg.fitness;
  if (!f.has_constraints()) return "";  // nothing to build the network for
  try {
    const FitnessResult r = check_constraints(f, EvalMetrics::from_json(cost(g)));
    return r.feasible ? "" : r.reason();
  } catch (const Error&) {
    return "";
  }
}

EvalOutcome CandidateEvaluator::evaluate(const Candidate& c,
                                         const std::vector<EvaluationRecord>& history) {
  Impl& m = *impl_;
  const EvaluationConfig& ev = m.cfg.evaluation;
  EvalOutcome o;
  o.seed = candidate_seed(m.cfg.seed ^ training_seed_salt, c.genome);
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

    // 1b. The pre-filter: the zero-cost score at initialisation against the run's so far.
    if (ev.prefilter != "none") {
      const double z =
          zero_cost_score(ev.prefilter, c.genome, m.data_().bands, m.data_().train, o.seed);
      o.metrics["zero_cost"] = {
          {ev.prefilter, std::isfinite(z) ? nlohmann::json(z) : nlohmann::json(nullptr)}};
      const std::vector<double> seen = prefilter_scores(history, ev.prefilter);
      if (!prefilter_passes(z, seen, ev.prefilter_keep, ev.prefilter_warmup)) {
        char why[200];
        std::snprintf(why, sizeof why,
                      "rejected by the pre-filter: %s score %.6g is below %.6g, the top %.0f%% "
                      "of the %zu scores so far",
                      ev.prefilter.c_str(), z, prefilter_cutoff(seen, ev.prefilter_keep),
                      100 * ev.prefilter_keep, seen.size());
        o.status = EvalStatus::Rejected;
        o.reason = why;
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
    ck.bands = m.data_().bands;
    ck.norm = m.data_().norm;
    ck.net = build_network(c.genome, m.data_().bands, policy);
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
        ck.net = build_network(c.genome, m.data_().bands, policy);
      }
    }
    t.epochs = epochs;
    const bool climbs = ev.uses_rungs() && fidelity != "inherited";
    const bool staged =
        !climbs && ev.multi_fidelity && fidelity != "inherited" && ev.low_epochs < epochs;
    TrainHistory h;
    double train_s = 0, eval_s = 0, t_eval = 0;
    int trained = 0;
    DeviceMetrics dm;
    if (climbs) {
      m.climb_rungs(c, history, t, policy, ck, o, dm, trained, train_s, eval_s, on_rung,
                    also_score_last);
      fidelity = o.metrics.at("fidelity").get<std::string>();
    } else {
      const int first_stage = staged ? ev.low_epochs : epochs;
      const double t_train = steady_now_s();
      TrainState state;  // the second stage continues the first as one run
      h = fit(ck.net, m.data_().train, m.data_().val, t, {}, EpochRange{1, first_stage}, &state);
      train_s = steady_now_s() - t_train;
      trained = static_cast<int>(h.epochs.size());

      // 3. The device's metrics on the evaluation split.
      t_eval = steady_now_s();
      dm = m.device_metrics(ck, m.eval_scenes);
      eval_s = steady_now_s() - t_eval;
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
          const double t2 = steady_now_s();
          h = fit(ck.net, m.data_().train, m.data_().val, t, {},
                  EpochRange{first_stage + 1, epochs}, &state);
          trained += static_cast<int>(h.epochs.size());
          train_s += steady_now_s() - t2;
          t_eval = steady_now_s();
          dm = m.device_metrics(ck, m.eval_scenes);
          eval_s += steady_now_s() - t_eval;
          fidelity = "full";
        }
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
  } catch (const std::exception&) {
    // dalnas::Error, TransientError, std::bad_alloc: search/classified_evaluation's rule.
    if (!classify_failure(std::current_exception(), o)) throw;
  }
  // Anything else is a programming error: it reaches the driver, which stops the search
  // naming this candidate (search/evaluator.h).
  if (ev.uses_rungs() && !(o.status == EvalStatus::Failed && o.transient)) {
    // The evaluation ended: its rung state is of no further use (a transient failure keeps
    // it, so that the evaluation again continues from the last rung).
    std::error_code ec;
    std::filesystem::remove(rung_state_path(c.genome), ec);
    std::filesystem::remove(rung_train_state_file(rung_state_path(c.genome)), ec);
  }
  return o;
}

nlohmann::json CandidateEvaluator::train_final(
    const Genome& g, const std::string& dir,
    const std::function<void(int epoch, int total, double eta_s)>& on_epoch, bool fp32_twin,
    int seed_offset) {
  Impl& m = *impl_;
  TrainConfig t = m.final_train;
  if (seed_offset < 0) throw Error("train_final: seed_offset must be >= 0");
  t.seed += static_cast<uint64_t>(seed_offset);
  PolicyPtr policy = m.policy_for(t);
  if (fp32_twin) {
    t.precision = PrecisionMode::FP32;
    policy->mode = PrecisionMode::FP32;
  }
  torch::manual_seed(t.seed);
  Checkpoint ck;
  ck.genome = g;
  ck.bands = m.data_().bands;
  ck.norm = m.data_().norm;
  ck.net = build_network(g, m.data_().bands, policy);
  // Chips of the retraining's own tiling where [final_train] changes it (the same scenes,
  // split and normalisation; the scenes are evaluated whole either way).
  const double t0 = steady_now_s();
  const PreparedData& d = m.final_data_();
  const TrainHistory h =
      fit(ck.net, d.train, d.val, t, [&](const EpochStats& s, int total, double eta) {
        if (on_epoch) on_epoch(s.epoch, total, eta);
      });
  const double train_s = steady_now_s() - t0;
  nlohmann::json out = cost(g);
  out["genome"] = g.str();
  out["precision"] = to_string(t.precision);
  out["device"] = m.cfg.device;
  out["epochs"] = static_cast<int>(h.epochs.size());
  out["seed"] = t.seed;
  out["train_s"] = train_s;
  // The recipe where it is not the candidates' (a resumed run retrains when it changes).
  if (!m.cfg.final_train.empty()) out["final_train"] = m.cfg.final_train;
  const auto host = [&](const std::vector<int>& which) {
    return evaluate_scenes(ck.net, m.data_().scenes, which, m.data_().norm, m.tiles).to_json();
  };
  out["host_val"] = host(m.data_().split.val);
  out["device_val"] = m.device_metrics(ck, m.data_().split.val).metrics.to_json();
  if (!m.data_().split.test.empty()) {
    out["host_test"] = host(m.data_().split.test);
    const DeviceMetrics dt = m.device_metrics(ck, m.data_().split.test);
    out["device_test"] = dt.metrics.to_json();
    out["device_test_nan_pixels"] = dt.nan_pixels;
  }
  std::filesystem::create_directories(dir);
  ck.config = t.to_json();
  ck.config["split_scenes"] = {{"train", scene_names(m.data_().scenes, m.data_().split.train)},
                               {"val", scene_names(m.data_().scenes, m.data_().split.val)},
                               {"test", scene_names(m.data_().scenes, m.data_().split.test)}};
  ck.metrics = out;
  save_checkpoint((std::filesystem::path(dir) / "model.ckpt").string(), ck);
  if (fp32_twin || seed_offset > 0) return out;
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
