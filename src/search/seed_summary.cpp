#include "search/seed_summary.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/mean_sd.h"

namespace dalnas {

namespace {

const char* const kSplits[] = {"host_val", "device_val", "host_test", "device_test"};

nlohmann::json stats(const std::vector<double>& v) {
  const auto [mean, sd] = mean_sd(v);
  return {{"miou", v}, {"mean", mean}, {"sd", sd}};
}

// The mIoU of every retraining under `split` of `m(r)`; false when one lacks the split.
template <class Pick>
bool column(const std::vector<nlohmann::json>& per_seed, const std::string& split, Pick m,
            std::vector<double>& out) {
  std::vector<const nlohmann::json*> rs;
  for (const auto& r : per_seed) rs.push_back(m(r));
  return split_mious(rs, split, "", out);
}

std::string pm(const nlohmann::json& s) {
  char b[64];
  std::snprintf(b, sizeof b, "%.4f +- %.4f", s.at("mean").get<double>(), s.at("sd").get<double>());
  return b;
}

}  // namespace

bool split_mious(const std::vector<const nlohmann::json*>& rs, const std::string& split,
                 const std::string& side, std::vector<double>& out) {
  out.clear();
  for (size_t i = 0; i < rs.size(); ++i) {
    if (!rs[i] || !rs[i]->contains(split)) {
      out.clear();
      return false;
    }
    const auto& s = rs[i]->at(split);
    if (!s.is_object() || !s.contains("miou") || !s["miou"].is_number())
      throw Error((side.empty() ? "" : side + " ") + "retraining " + std::to_string(i + 1) + ": " +
                  split + ".miou: expected a number");
    out.push_back(s["miou"].get<double>());
  }
  return true;
}

nlohmann::json summarize_seeds(const std::vector<nlohmann::json>& per_seed) {
  if (per_seed.empty()) throw Error("summarize_seeds: no retraining");
  nlohmann::json out;
  out["seeds"] = nlohmann::json::array();
  for (size_t i = 0; i < per_seed.size(); ++i) {
    const auto& r = per_seed[i];
    if (!r.is_object() || !r.contains("seed") || !r["seed"].is_number_unsigned())
      throw Error("retraining " + std::to_string(i + 1) + ": seed: expected a number");
    out["seeds"].push_back(r["seed"]);
  }
  const auto self = [](const nlohmann::json& r) { return &r; };
  const auto twin = [](const nlohmann::json& r) -> const nlohmann::json* {
    return r.contains("fp32_twin") && r["fp32_twin"].is_object() ? &r["fp32_twin"] : nullptr;
  };
  std::vector<double> v;
  for (const char* k : kSplits)
    if (column(per_seed, k, self, v)) out[k] = stats(v);
  bool has_twin = true;
  for (const auto& r : per_seed) has_twin = has_twin && twin(r);
  if (has_twin) {
    nlohmann::json t = nlohmann::json::object();
    for (const char* k : kSplits)
      if (column(per_seed, k, twin, v)) t[k] = stats(v);
    out["fp32_twin"] = t;
    std::vector<double> host, dev, aligned;
    if (column(per_seed, "host_test", twin, host) && column(per_seed, "device_test", twin, dev)) {
      std::vector<double> loss;
      for (size_t i = 0; i < host.size(); ++i) loss.push_back(host[i] - dev[i]);
      out["conversion_loss_test"] = stats(loss);
      if (column(per_seed, "device_test", self, aligned)) {
        std::vector<double> gain;
        for (size_t i = 0; i < dev.size(); ++i) gain.push_back(aligned[i] - dev[i]);
        out["aligned_gain_test"] = stats(gain);
      }
    }
  }
  return out;
}

std::string seed_summary_line(const nlohmann::json& s, const std::string& device) {
  if (!s.contains("device_test") || !s.contains("seeds") || s["seeds"].empty()) return "";
  const auto& seeds = s["seeds"];
  std::string line = "over seeds " + seeds.front().dump() + "-" + seeds.back().dump() + " (" +
                     std::to_string(seeds.size()) + "): test mIoU on " + device + " " +
                     pm(s["device_test"]);
  if (s.contains("host_test")) line += " (host FP32 " + pm(s["host_test"]) + ")";
  if (s.contains("fp32_twin") && s["fp32_twin"].contains("device_test")) {
    const auto& t = s["fp32_twin"];
    line += "; FP32 twin";
    if (t.contains("host_test")) line += " " + pm(t["host_test"]) + " host,";
    line += " " + pm(t["device_test"]) + " after conversion";
  }
  return line;
}

}  // namespace dalnas
