#include "search/finalists.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.h"
#include "core/mean_sd.h"

namespace dalnas {

FinalistsChoice choose_finalist(const FitnessConfig& config, const std::string& split,
                                const std::vector<Finalist>& finalists) {
  if (finalists.empty()) throw Error("choose_finalist: no finalist");
  const std::string key = "device_" + split;
  FinalistsChoice out;
  out.table = nlohmann::json::array();
  double best = -std::numeric_limits<double>::infinity();
  bool any_feasible = false;
  for (size_t i = 0; i < finalists.size(); ++i) {
    const Finalist& f = finalists[i];
    const std::string who = "finalist " + std::to_string(f.candidate_id);
    if (f.retrained.empty()) throw Error(who + ": no retraining");
    std::vector<double> miou;
    nlohmann::json seeds = nlohmann::json::array();
    for (const auto& r : f.retrained) {
      if (!r.is_object() || !r.contains(key) || !r[key].is_object() || !r[key].contains("miou") ||
          !r[key]["miou"].is_number())
        throw Error(who + ": " + key + ".miou: expected a number");
      miou.push_back(r[key]["miou"].get<double>());
      seeds.push_back(r.value("seed", nlohmann::json()));
    }
    const auto [mean, sd] = mean_sd(miou);
    nlohmann::json metrics = f.search_metrics.is_object() ? f.search_metrics : nlohmann::json{};
    const double search_miou = metrics.value("miou", std::nan(""));
    metrics["miou"] = mean;
    const FitnessResult r = compute_fitness(config, EvalMetrics::from_json(metrics));
    out.table.push_back({{"candidate_id", f.candidate_id},
                         {"genome", f.genome},
                         {"search_fitness", f.search_fitness},
                         {"search_miou", search_miou},
                         {"seeds", seeds},
                         {"miou", miou},
                         {"mean", mean},
                         {"sd", sd},
                         {"fitness", r.value},
                         {"feasible", r.feasible},
                         {"chosen", false}});
    if (r.feasible && (!any_feasible || r.value > best)) {
      best = r.value;
      out.chosen = i;
      any_feasible = true;
    }
  }
  out.table[out.chosen]["chosen"] = true;
  return out;
}

std::string finalists_table(const nlohmann::json& table, const std::string& device) {
  std::string s;
  char line[1024];
  std::snprintf(line, sizeof line, "  %-5s %8s %8s  %-17s %8s  %s\n", "id", "search", "its mIoU",
                ("mIoU on " + device).c_str(), "fitness", "genome");
  s += line;
  for (const auto& r : table) {
    char pm[64];
    std::snprintf(pm, sizeof pm, "%.4f +- %.4f", r.value("mean", std::nan("")),
                  r.value("sd", std::nan("")));
    std::snprintf(line, sizeof line, "%s %-5llu %8.4f %8.4f  %-17s %8.4f  %s\n",
                  r.value("chosen", false) ? "*" : " ",
                  static_cast<unsigned long long>(r.value("candidate_id", 0ULL)),
                  r.value("search_fitness", std::nan("")), r.value("search_miou", std::nan("")), pm,
                  r.value("fitness", std::nan("")), r.value("genome", std::string()).c_str());
    s += line;
  }
  return s;
}

}  // namespace dalnas
