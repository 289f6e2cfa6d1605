#include "search/search_config.h"

#include <cctype>
#include <cmath>

#include "core/error.h"
#include "core/genome.h"
#include "core/json_fields.h"
#include "search/prefilter.h"
#include "search/rungs.h"
#include "search/strategy.h"

namespace dalnas {

double parse_duration(const std::string& s, const std::string& what) {
  const auto bad = [&]() {
    return Error(what + ": '" + s + "' is not a duration (e.g. 90, 90s, 30m, 2h, 1h30m)");
  };
  if (s.empty()) throw bad();
  double total = 0;
  size_t i = 0;
  bool any = false;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
    if (j == i) throw bad();
    double v = 0;
    try {
      size_t pos = 0;
      v = std::stod(s.substr(i, j - i), &pos);
      if (pos != j - i) throw bad();
    } catch (const std::logic_error&) {
      throw bad();
    }
    double unit = 1;
    if (j < s.size()) {
      const char u = s[j];
      if (u == 's')
        unit = 1;
      else if (u == 'm')
        unit = 60;
      else if (u == 'h')
        unit = 3600;
      else
        throw bad();
      ++j;
    } else if (any) {
      throw bad();  // "1h30" is ambiguous
    }
    total += v * unit;
    any = true;
    i = j;
  }
  if (!std::isfinite(total) || total < 0) throw bad();
  return total;
}

nlohmann::json SearchConfig::default_strategy_params(const std::string& strategy) {
  if (strategy == "ga") return {{"population", 12}, {"generations", 4}, {"newcomers", 3}};
  if (strategy == "nsga2") return {{"population", 12}, {"generations", 4}};
  if (strategy == "regularized-evolution")
    return {{"population", 12}, {"sample", 4}, {"budget", 45}};
  if (strategy == "random") return {{"budget", 45}};
  return nlohmann::json::object();
}

SearchConfig SearchConfig::defaults() {
  SearchConfig c;
  c.strategy_params = default_strategy_params(c.strategy);
  // Small networks on the small synthetic scenes: a candidate trains in seconds.
  c.space.widths = {8, 16, 24, 32};
  c.space.decoder_widths = {8, 16};
  c.space.max_stages = 4;
  c.space.max_params = 150000;
  c.evaluation.epochs = 6;
  c.evaluation.low_epochs = 2;
  c.evaluation.inherit_epochs = 3;
  c.evaluation.final_epochs = 30;
  // 64-px chips and a higher learning rate: more steps per epoch, so that a candidate
  // learns vessels in a few epochs (measured: test mIoU 0.71 after 6 epochs, against
  // 0.65 with lr 3e-3 and vessel IoU near 0 with 128-px chips).
  c.train = {{"data", "synthetic"},
             {"precision", "aligned"},
             {"patience", 0},
             {"lr", 0.01},
             {"tiling", {{"size", 64}, {"stride", 32}}}};
  return c;
}

namespace {

// rungs, eta, rung_chip_fraction and early_stop, and `epochs` from the last rung when the
// table does not give it.
void read_rungs(const nlohmann::json& j, const std::string& w, EvaluationConfig& e) {
  if (j.contains("rungs")) {
    const auto& v = j.at("rungs");
    if (!v.is_array() || v.empty())
      throw Error(w + ".rungs: expected a list of epoch counts, e.g. [1, 2, 4, 8], found " +
                  v.dump());
    std::vector<int> r;
    for (const auto& x : v) {
      if (!x.is_number_integer() || x.get<int64_t>() < 1 || x.get<int64_t>() > 100000)
        throw Error(w + ".rungs: " + x.dump() + " is not an epoch count (an integer 1..100000)");
      const int n = x.get<int>();
      if (!r.empty() && n <= r.back())
        throw Error(w + ".rungs: must be strictly increasing (" + std::to_string(n) + " follows " +
                    std::to_string(r.back()) + ")");
      r.push_back(n);
    }
    e.rungs = r;
    if (!j.contains("rung_chip_fraction")) e.rung_chip_fraction.assign(r.size(), 1.0);
  }
  if (j.contains("rung_chip_fraction")) {
    const auto& v = j.at("rung_chip_fraction");
    if (!v.is_array())
      throw Error(w + ".rung_chip_fraction: expected a list (one share per rung), found " +
                  v.dump());
    std::vector<double> f;
    for (const auto& x : v) {
      if (!x.is_number() || !(x.get<double>() > 0 && x.get<double>() <= 1))
        throw Error(w + ".rung_chip_fraction: " + x.dump() + " is not a share within (0, 1]");
      f.push_back(x.get<double>());
    }
    e.rung_chip_fraction = f;
  }
  read_number(j, "eta", w, e.eta, false);
  if (!(e.eta > 1) || e.eta > 1000)
    throw Error(w + ".eta: must be above 1 (keep the top 1/eta at each rung), found " +
                nlohmann::json(e.eta).dump());
  read_bool(j, "early_stop", w, e.early_stop);
  read_string(j, "promotion", w, e.promotion);
  parse_rung_promotion(e.promotion, w + ".promotion");
  read_string(j, "rung_score", w, e.rung_score);
  if (e.rung_score != "kept" && e.rung_score != "last")
    throw Error(w + ".rung_score: '" + e.rung_score +
                "' is not a rung score (allowed: kept, last)");
  if (e.uses_rungs()) {
    if (!j.contains("rungs") && j.contains("epochs")) {
      // Epochs without rungs: the default rungs below it, then `epochs` itself.
      std::vector<int> r;
      for (int x : e.rungs)
        if (x < e.epochs) r.push_back(x);
      r.push_back(e.epochs);
      e.rungs = r;
      if (!j.contains("rung_chip_fraction")) e.rung_chip_fraction.assign(r.size(), 1.0);
    }
    if (!j.contains("epochs")) e.epochs = e.rungs.back();
    if (e.rungs.back() != e.epochs)
      throw Error(w + ".rungs: the last rung (" + std::to_string(e.rungs.back()) +
                  " epochs) must equal epochs (" + std::to_string(e.epochs) + ")");
  }
  if (e.rung_chip_fraction.size() != e.rungs.size())
    throw Error(w + ".rung_chip_fraction: " + std::to_string(e.rung_chip_fraction.size()) +
                " shares for " + std::to_string(e.rungs.size()) + " rungs (one per rung)");
}

void read_evaluation(const nlohmann::json& j, const std::string& w, EvaluationConfig& e) {
  check_keys(j, w,
             {"epochs",
              "split",
              "inheritance",
              "inherit_min_share",
              "inherit_epochs",
              "schedule",
              "multi_fidelity",
              "low_epochs",
              "promote_fraction",
              "rungs",
              "eta",
              "rung_chip_fraction",
              "early_stop",
              "promotion",
              "rung_score",
              "prefilter",
              "prefilter_keep",
              "prefilter_warmup",
              "final_epochs",
              "final_fp32_twin",
              "final_seeds",
              "final_candidates",
              "rescore_candidates",
              "rescore_folds",
              "baseline",
              "keep_checkpoints",
              "measure_latency"});
  read_int(j, "epochs", w, e.epochs, 1, 100000);
  read_string(j, "schedule", w, e.schedule);
  if (e.schedule != "two-stage" && e.schedule != "rungs")
    throw Error(w + ".schedule: '" + e.schedule +
                "' is not a schedule (allowed: two-stage, rungs)");
  read_rungs(j, w, e);
  read_string(j, "split", w, e.split);
  if (e.split != "val" && e.split != "test" && e.split != "train")
    throw Error(w + ".split: '" + e.split + "' is not a split (allowed: val, test, train)");
  read_bool(j, "inheritance", w, e.inheritance);
  read_number(j, "inherit_min_share", w, e.inherit_min_share, true);
  if (e.inherit_min_share > 1) throw Error(w + ".inherit_min_share: must be within 0..1");
  read_int(j, "inherit_epochs", w, e.inherit_epochs, 1, 100000);
  read_bool(j, "multi_fidelity", w, e.multi_fidelity);
  read_int(j, "low_epochs", w, e.low_epochs, 1, 100000);
  read_number(j, "promote_fraction", w, e.promote_fraction, true);
  if (e.promote_fraction > 1) throw Error(w + ".promote_fraction: must be within 0..1");
  read_string(j, "prefilter", w, e.prefilter);
  if (!is_prefilter_name(e.prefilter))
    throw Error(w + ".prefilter: '" + e.prefilter +
                "' is not a pre-filter (allowed: none, naswot, synflow, grad_norm)");
  read_number(j, "prefilter_keep", w, e.prefilter_keep, false);
  if (!(e.prefilter_keep > 0 && e.prefilter_keep < 1))
    throw Error(w +
                ".prefilter_keep: must be within (0, 1) (the share of candidates trained), "
                "found " +
                nlohmann::json(e.prefilter_keep).dump());
  read_int(j, "prefilter_warmup", w, e.prefilter_warmup, 0, 1000000);
  read_int(j, "final_epochs", w, e.final_epochs, 0, 100000);
  read_bool(j, "final_fp32_twin", w, e.final_fp32_twin);
  read_int(j, "final_seeds", w, e.final_seeds, 1, 100);
  read_int(j, "final_candidates", w, e.final_candidates, 1, 100);
  if (e.final_candidates > 1 && e.final_epochs == 0)
    throw Error(w +
                ".final_candidates: the finalists are retrained for final_epochs, which is 0 "
                "(no retraining)");
  if (e.final_candidates > 1 && e.split == "train")
    throw Error(w +
                ".final_candidates: the finalists are compared on the val or test scenes "
                "(the retraining's metrics), not with split = \"train\"");
  read_int(j, "rescore_candidates", w, e.rescore_candidates, 0, 100);
  if (e.rescore_candidates == 1)
    throw Error(w + ".rescore_candidates: must be 0 (off) or >= 2 (one candidate has no rival)");
  read_int(j, "rescore_folds", w, e.rescore_folds, 2, 20);
  if (e.rescore_candidates > 0 && e.split != "val")
    throw Error(w +
                ".rescore_candidates: the candidates are re-scored on each fold's val scenes, "
                "so the search must rank on split = \"val\" too, not \"" +
                e.split + "\"");
  read_string(j, "baseline", w, e.baseline);
  if (!e.baseline.empty()) {
    if (e.final_epochs == 0)
      throw Error(w +
                  ".baseline: the baseline is retrained like the winner for final_epochs, "
                  "which is 0 (no retraining)");
    // A pynas code depends on the data's bands: resolved before the search starts.
    if (e.baseline.rfind("pynas:", 0) != 0) {
      try {
        resolve_arch(e.baseline, 4);
      } catch (const Error& x) {
        throw Error(w + ".baseline: " + x.what());
      }
    }
  }
  read_bool(j, "keep_checkpoints", w, e.keep_checkpoints);
  read_bool(j, "measure_latency", w, e.measure_latency);
  if (e.uses_rungs() && j.contains("multi_fidelity") && !e.multi_fidelity)
    throw Error(w + ".multi_fidelity: false contradicts schedule = \"rungs\" (use rungs = [" +
                std::to_string(e.epochs) + "] for one stage)");
  if (!e.uses_rungs() && e.multi_fidelity && e.low_epochs >= e.epochs)
    throw Error(w + ".low_epochs: must be below epochs (" + std::to_string(e.epochs) +
                ") with multi_fidelity on");
  if (e.inheritance && !e.keep_checkpoints)
    throw Error(w + ".inheritance: needs keep_checkpoints = true (parents' weights)");
}

void read_search(const nlohmann::json& j, const std::string& w, SearchConfig& c) {
  check_keys(j, w,
             {"strategy", "seed", "device", "input_size", "interface", "shaves", "requests",
              "max_evaluations", "time_budget_s", "time_budget", "transient_retries", "screen"});
  read_string(j, "strategy", w, c.strategy);
  bool known = false;
  for (const auto& n : strategy_names()) known = known || n == c.strategy;
  if (!known)
    throw Error(w + ".strategy: unknown strategy '" + c.strategy +
                "' (allowed: " + join(strategy_names(), ", ") + ")");
  if (j.contains("seed")) {
    const auto& v = j.at("seed");
    if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<int64_t>() < 0))
      throw Error(w + ".seed: expected a non-negative integer, found " + v.dump());
    c.seed = v.get<uint64_t>();
  }
  read_string(j, "device", w, c.device);
  if (c.device.empty()) throw Error(w + ".device: must name a profile or 'host'");
  if (j.contains("input_size")) {
    const auto& v = j.at("input_size");
    const bool pair = v.is_array() && v.size() == 2 && v[0].is_number_integer() &&
                      v[1].is_number_integer() && v[0].get<int64_t>() > 0 &&
                      v[1].get<int64_t>() > 0 && v[0].get<int64_t>() <= 16384 &&
                      v[1].get<int64_t>() <= 16384;
    const bool one = v.is_number_integer() && v.get<int64_t>() > 0 && v.get<int64_t>() <= 16384;
    if (!pair && !one)
      throw Error(w + ".input_size: expected [H, W] or a side in pixels, found " + v.dump());
    c.input_h = pair ? v[0].get<int>() : v.get<int>();
    c.input_w = pair ? v[1].get<int>() : v.get<int>();
  }
  read_string(j, "interface", w, c.interface);
  if (c.interface != "usb2" && c.interface != "usb3")
    throw Error(w + ".interface: '" + c.interface + "' (allowed: usb2, usb3)");
  read_int(j, "shaves", w, c.shaves, 0, 64);
  read_int(j, "requests", w, c.requests, 1, 64);
  read_int(j, "max_evaluations", w, c.max_evaluations, 0, int64_t(1) << 40);
  read_int(j, "transient_retries", w, c.transient_retries, 0, 100);
  read_bool(j, "screen", w, c.screen);
  read_number(j, "time_budget_s", w, c.time_budget_s, true);
  if (j.contains("time_budget")) {
    const auto& v = j.at("time_budget");
    if (v.is_string())
      c.time_budget_s = parse_duration(v.get<std::string>(), w + ".time_budget");
    else
      read_number(j, "time_budget", w, c.time_budget_s, true);
  }
}

// The [train] keys a [final_train] table may not set: the winner is retrained and evaluated
// on the search's data, split, numerics, seed and tiles (its epochs: final_epochs).
const char* const final_train_fixed_keys[] = {
    "data",   "synthetic", "split", "normalization", "precision", "align_device", "seed",
    "epochs", "arch",      "init",  "threads",       "eval_tile", "eval_overlap"};
}  // namespace

SearchConfig SearchConfig::from_json(const nlohmann::json& j, const std::string& where) {
  SearchConfig c = defaults();
  if (!j.is_object()) throw Error(where + ": top level must be a table");
  check_keys(
      j, where,
      {"search", "strategy", "search_space", "fitness", "evaluation", "train", "final_train"});
  if (j.contains("search")) read_search(j.at("search"), where + ": search", c);
  c.strategy_params = default_strategy_params(c.strategy);
  if (j.contains("strategy")) {
    if (!j.at("strategy").is_object())
      throw Error(where + ": strategy: expected a table of the strategy's parameters");
    c.strategy_params.merge_patch(j.at("strategy"));
  }
  if (j.contains("search_space"))
    c.space = SearchSpace::from_json(j.at("search_space"), where + ": search_space");
  if (j.contains("fitness"))
    c.fitness = FitnessConfig::from_json(j.at("fitness"), where + ": fitness");
  if (j.contains("evaluation"))
    read_evaluation(j.at("evaluation"), where + ": evaluation", c.evaluation);
  if (j.contains("train")) {
    if (!j.at("train").is_object()) throw Error(where + ": train: expected a table");
    c.train.merge_patch(j.at("train"));  // nested tables merge key by key
  }
  if (j.contains("final_train")) {
    const auto& f = j.at("final_train");
    if (!f.is_object())
      throw Error(where + ": final_train: expected a table of [train] keys for the retraining");
    for (auto it = f.begin(); it != f.end(); ++it) {
      for (const char* fixed : final_train_fixed_keys)
        if (it.key() == fixed)
          throw Error(where + ": final_train." + it.key() +
                      ": cannot differ from the search's (the winner is retrained and "
                      "evaluated on the search's data, split, normalisation, precision, seed "
                      "and tiles; its epochs are evaluation.final_epochs)");
    }
    c.final_train = f;
  }
  // Strategy parameters are checked by building the strategy once.
  try {
    make_strategy(c.strategy, c.strategy_params, c.space, c.seed);
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  return c;
}

nlohmann::json SearchConfig::to_json() const {
  nlohmann::json j;
  j["search"] = {{"strategy", strategy},
                 {"seed", seed},
                 {"device", device},
                 {"input_size", {input_h, input_w}},
                 {"interface", interface},
                 {"shaves", shaves},
                 {"requests", requests},
                 {"max_evaluations", max_evaluations},
                 {"time_budget_s", time_budget_s},
                 {"transient_retries", transient_retries},
                 {"screen", screen}};
  j["strategy"] = make_strategy(strategy, strategy_params, space, seed)->params();
  j["search_space"] = space.to_json();
  j["fitness"] = fitness.to_json();
  const auto& e = evaluation;
  j["evaluation"] = {{"epochs", e.epochs},
                     {"split", e.split},
                     {"inheritance", e.inheritance},
                     {"inherit_min_share", e.inherit_min_share},
                     {"inherit_epochs", e.inherit_epochs},
                     {"schedule", e.schedule},
                     {"multi_fidelity", e.multi_fidelity},
                     {"low_epochs", e.low_epochs},
                     {"promote_fraction", e.promote_fraction},
                     {"rungs", e.rungs},
                     {"eta", e.eta},
                     {"rung_chip_fraction", e.rung_chip_fraction},
                     {"early_stop", e.early_stop},
                     {"promotion", e.promotion},
                     {"rung_score", e.rung_score},
                     {"prefilter", e.prefilter},
                     {"prefilter_keep", e.prefilter_keep},
                     {"prefilter_warmup", e.prefilter_warmup},
                     {"final_epochs", e.final_epochs},
                     {"final_fp32_twin", e.final_fp32_twin},
                     {"final_seeds", e.final_seeds},
                     {"final_candidates", e.final_candidates},
                     {"rescore_candidates", e.rescore_candidates},
                     {"rescore_folds", e.rescore_folds},
                     {"baseline", e.baseline},
                     {"keep_checkpoints", e.keep_checkpoints},
                     {"measure_latency", e.measure_latency}};
  j["train"] = train;
  j["final_train"] = final_train;
  return j;
}

nlohmann::json SearchConfig::evaluation_identity() const {
  nlohmann::json j = to_json();
  j.erase("strategy");
  j["search"].erase("strategy");
  j["search"].erase("max_evaluations");
  j["search"].erase("time_budget_s");
  j["search"].erase("transient_retries");
  j["search"].erase("screen");  // which genomes are proposed, not what one scores
  j["evaluation"].erase("final_epochs");
  j["evaluation"].erase("final_fp32_twin");
  j["evaluation"].erase("final_seeds");
  j["evaluation"].erase("final_candidates");
  j["evaluation"].erase("rescore_candidates");  // the choice after the search, not a score
  j["evaluation"].erase("rescore_folds");
  j["evaluation"].erase("baseline");  // a comparison after the search
  j["evaluation"].erase("keep_checkpoints");
  j.erase("final_train");  // the winner's retraining: no candidate's result depends on it
  // Each schedule's settings enter only when it is the one in use, so that adding the rung
  // settings left the identity of two-stage runs (and their journals) unchanged.
  auto& e = j["evaluation"];
  if (evaluation.uses_rungs()) {
    for (const char* k : {"multi_fidelity", "low_epochs", "promote_fraction"}) e.erase(k);
  } else {
    for (const char* k : {"schedule", "rungs", "eta", "rung_chip_fraction", "early_stop"})
      e.erase(k);
  }
  // The default rung score and promotion enter neither, so that rung journals made before the
  // setting keep their identity.
  if (!evaluation.uses_rungs() || evaluation.rung_score == "kept") e.erase("rung_score");
  if (!evaluation.uses_rungs() || evaluation.promotion == "eager") e.erase("promotion");
  if (evaluation.prefilter == "none")
    for (const char* k : {"prefilter", "prefilter_keep", "prefilter_warmup"}) e.erase(k);
  j.erase("search_space");
  // Until 6 Dec 2026 a split by fractions was drawn with the search seed; since, with
  // [train] split.seed (1 by default). Where the two differ, the split is not the one a
  // journal of the same configuration made before recorded, so the identity names it (and
  // stays as it was where they agree: every seed-1 journal, and named scenes).
  if (train.contains("split") && train.at("split").is_object()) {
    const auto& sp = train.at("split");
    bool named = false;
    for (const char* k : {"train", "val", "test"})
      named = named || (sp.contains(k) && sp.at(k).is_array() && !sp.at(k).empty());
    uint64_t split_seed = 1;
    if (sp.contains("seed") && sp.at("seed").is_number_integer())
      split_seed = sp.at("seed").get<uint64_t>();
    if (!named && split_seed != seed) j["split_seed"] = split_seed;
    // The key itself stays out: a journal made before it (seed 2, say) holds no
    // train.split.seed, and the same split stated as split.seed = 2 must resume it.
    j["train"]["split"].erase("seed");
  } else if (seed != 1) {
    j["split_seed"] = 1;
  }
  return j;
}

}  // namespace dalnas
