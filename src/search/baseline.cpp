#include "search/baseline.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/mean_sd.h"
#include "core/permutation_test.h"
#include "search/seed_summary.h"

namespace dalnas {

namespace {

const char* const kSplits[] = {"host_val", "device_val", "host_test", "device_test"};

// The number under `key` of retraining `i` of `side`, or an error naming them.
double number(const nlohmann::json& r, const char* side, size_t i, const std::string& key) {
  if (!r.is_object() || !r.contains(key) || !r[key].is_number())
    throw Error(std::string(side) + " retraining " + std::to_string(i + 1) + ": " + key +
                ": expected a number");
  return r[key].get<double>();
}

// The split's mIoU of every retraining of a side; false when one lacks the split.
bool column(const std::vector<nlohmann::json>& rs, const char* side, const std::string& split,
            std::vector<double>& out) {
  std::vector<const nlohmann::json*> ps;
  for (const auto& r : rs) ps.push_back(&r);
  return split_mious(ps, split, side, out);
}

nlohmann::json pair_of(double w, double b) {
  return {{"winner", w}, {"baseline", b}, {"ratio", b != 0 ? w / b : std::nan("")}};
}

}  // namespace

nlohmann::json compare_to_baseline(const std::string& name, const std::string& genome,
                                   const std::vector<nlohmann::json>& winner,
                                   const std::vector<nlohmann::json>& baseline) {
  if (winner.empty() || baseline.empty())
    throw Error("compare_to_baseline: no retraining of the " +
                std::string(winner.empty() ? "winner" : "baseline"));
  if (winner.size() != baseline.size())
    throw Error("compare_to_baseline: " + std::to_string(winner.size()) +
                " retrainings of the winner but " + std::to_string(baseline.size()) +
                " of the baseline");
  nlohmann::json out = {{"baseline", name}, {"genome", genome}};
  out["seeds"] = nlohmann::json::array();
  for (size_t i = 0; i < winner.size(); ++i) {
    const double ws = number(winner[i], "winner", i, "seed");
    const double bs = number(baseline[i], "baseline", i, "seed");
    if (ws != bs)
      throw Error("compare_to_baseline: retraining " + std::to_string(i + 1) + " has seed " +
                  nlohmann::json(winner[i]["seed"]).dump() + " for the winner but " +
                  nlohmann::json(baseline[i]["seed"]).dump() + " for the baseline");
    out["seeds"].push_back(winner[i]["seed"]);
  }
  // Cost metrics do not depend on the seed: the first retraining's.
  out["params"] = pair_of(number(winner[0], "winner", 0, "params"),
                          number(baseline[0], "baseline", 0, "params"));
  out["latency_ms"] = pair_of(number(winner[0], "winner", 0, "latency_ms"),
                              number(baseline[0], "baseline", 0, "latency_ms"));
  std::vector<double> w, b;
  for (const char* split : kSplits) {
    if (!column(winner, "winner", split, w) || !column(baseline, "baseline", split, b)) continue;
    std::vector<double> d;
    int above = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      d.push_back(w[i] - b[i]);
      above += d.back() > 0;
    }
    const auto [wm, wsd] = mean_sd(w);
    const auto [bm, bsd] = mean_sd(b);
    const auto [dm, dsd] = mean_sd(d);
    out[split] = {{"winner", w},
                  {"baseline", b},
                  {"difference", d},
                  {"winner_mean", wm},
                  {"winner_sd", wsd},
                  {"baseline_mean", bm},
                  {"baseline_sd", bsd},
                  {"difference_mean", dm},
                  {"difference_sd", dsd},
                  {"seeds_above", above},
                  {"p_above", paired_permutation_p(d)}};
  }
  return out;
}

std::string baseline_line(const nlohmann::json& c, const std::string& device) {
  const auto num = [](const nlohmann::json& j, const char* k) {
    return j.contains(k) && j[k].is_number() ? j[k].get<double>() : std::nan("");
  };
  std::string split, where;
  for (const auto& [k, w] : {std::pair{"device_test", "test mIoU on " + device},
                             std::pair{"device_val", "val mIoU on " + device},
                             std::pair{"host_test", std::string("test mIoU on the host")},
                             std::pair{"host_val", std::string("val mIoU on the host")}})
    if (c.contains(k)) {
      split = k;
      where = w;
      break;
    }
  const auto& seeds = c.value("seeds", nlohmann::json::array());
  std::string seed_text;
  if (seeds.size() == 1)
    seed_text = "seed " + seeds[0].dump();
  else if (!seeds.empty())
    seed_text = "seeds " + seeds.front().dump() + "-" + seeds.back().dump();
  char b[512];
  std::string line = "against " + c.value("baseline", std::string("the baseline")) +
                     " (retrained alike, " + seed_text + ")";
  if (!split.empty()) {
    const auto& s = c[split];
    std::snprintf(b, sizeof b,
                  ": %s %.4f +- %.4f vs %.4f +- %.4f, difference %+.4f +- %.4f (%d of %zu "
                  "seeds above, paired p %.3f)",
                  where.c_str(), num(s, "winner_mean"), num(s, "winner_sd"),
                  num(s, "baseline_mean"), num(s, "baseline_sd"), num(s, "difference_mean"),
                  num(s, "difference_sd"), s.value("seeds_above", 0), seeds.size(),
                  num(s, "p_above"));
    line += b;
  }
  const auto& l = c.value("latency_ms", nlohmann::json::object());
  const auto& p = c.value("params", nlohmann::json::object());
  std::snprintf(b, sizeof b, "; latency %.2f vs %.2f ms (%.2fx), params %.0f vs %.0f (%.2fx)",
                num(l, "winner"), num(l, "baseline"), num(l, "ratio"), num(p, "winner"),
                num(p, "baseline"), num(p, "ratio"));
  return line + b;
}

}  // namespace dalnas
