#include "search/rescore.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/mean_sd.h"

namespace dalnas {

RescoreRanking rank_rescored(const FitnessConfig& config, const std::vector<Rescored>& candidates) {
  if (candidates.empty()) throw Error("rank_rescored: no candidate");
  const size_t k = candidates.front().folds.size();
  RescoreRanking out;
  out.table = nlohmann::json::array();
  std::vector<size_t> ranked, others;
  std::vector<double> score(candidates.size(), 0.0);
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Rescored& c = candidates[i];
    const std::string who = "candidate " + std::to_string(c.candidate_id);
    if (c.folds.empty()) throw Error(who + ": no fold result");
    if (c.folds.size() != k)
      throw Error(who + ": " + std::to_string(c.folds.size()) + " fold results, candidate " +
                  std::to_string(candidates.front().candidate_id) + " has " + std::to_string(k));
    std::vector<double> miou;
    nlohmann::json per_fold = nlohmann::json::array();
    nlohmann::json failed;  // the first failed fold's reason
    for (size_t f = 0; f < c.folds.size(); ++f) {
      const auto& r = c.folds[f];
      const std::string where = who + ", fold " + std::to_string(f + 1);
      if (!r.is_object() || !r.contains("status") || !r["status"].is_string())
        throw Error(where + ": status: expected \"ok\" or \"failed\"");
      const std::string status = r["status"].get<std::string>();
      if (status == "ok") {
        if (!r.contains("miou") || !r["miou"].is_number() ||
            !std::isfinite(r["miou"].get<double>()))
          throw Error(where + ": miou: expected a number");
        miou.push_back(r["miou"].get<double>());
        per_fold.push_back(miou.back());
      } else if (status == "failed") {
        if (failed.is_null())
          failed =
              "fold " + std::to_string(f + 1) + ": " + r.value("reason", std::string("failed"));
        per_fold.push_back(nullptr);
      } else {
        throw Error(where + ": status: expected \"ok\" or \"failed\", got '" + status + "'");
      }
    }
    nlohmann::json metrics = c.search_metrics.is_object() ? c.search_metrics : nlohmann::json{};
    const double search_miou = metrics.value("miou", std::nan(""));
    nlohmann::json row = {{"candidate_id", c.candidate_id},
                          {"genome", c.genome},
                          {"search_fitness", c.search_fitness},
                          {"search_miou", std::isfinite(search_miou) ? nlohmann::json(search_miou)
                                                                     : nlohmann::json()},
                          {"fold_miou", per_fold},
                          {"failed", failed}};
    if (failed.is_null()) {
      const auto [mean, sd] = mean_sd(miou);
      metrics["miou"] = mean;
      const FitnessResult fr = compute_fitness(config, EvalMetrics::from_json(metrics));
      row["mean"] = mean;
      row["sd"] = sd;
      row["fitness"] = fr.value;
      row["feasible"] = fr.feasible;
      if (fr.feasible) {
        score[i] = fr.value;
        ranked.push_back(i);
      } else {
        others.push_back(i);
      }
    } else {
      row["mean"] = row["sd"] = row["fitness"] = nullptr;
      row["feasible"] = false;
      others.push_back(i);
    }
    out.table.push_back(row);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [&](size_t a, size_t b) { return score[a] > score[b]; });
  out.order = ranked;
  out.order.insert(out.order.end(), others.begin(), others.end());
  for (size_t r = 0; r < out.order.size(); ++r) out.table[out.order[r]]["rank"] = r + 1;
  return out;
}

std::string rescored_table(const nlohmann::json& table, const std::string& device) {
  std::vector<const nlohmann::json*> rows;
  for (const auto& r : table) rows.push_back(&r);
  std::stable_sort(rows.begin(), rows.end(), [](const nlohmann::json* a, const nlohmann::json* b) {
    return a->value("rank", 0) < b->value("rank", 0);
  });
  const auto num = [](const nlohmann::json& j, const char* key) {
    return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
  };
  std::string s;
  char line[1024];
  std::snprintf(line, sizeof line, "  %-5s %8s %8s  %-24s %-17s %8s  %s\n", "id", "search",
                "its mIoU", "per fold", ("mean on " + device).c_str(), "fitness", "genome");
  s += line;
  for (const nlohmann::json* r : rows) {
    std::string folds;
    for (const auto& m : r->value("fold_miou", nlohmann::json::array())) {
      char v[16];
      if (m.is_number())
        std::snprintf(v, sizeof v, "%.3f", m.get<double>());
      else
        std::snprintf(v, sizeof v, "fail");
      folds += (folds.empty() ? "" : " ") + std::string(v);
    }
    char pm[64];
    std::snprintf(pm, sizeof pm, "%.4f +- %.4f", num(*r, "mean"), num(*r, "sd"));
    std::snprintf(line, sizeof line, "%s %-5llu %8.4f %8.4f  %-24s %-17s %8.4f  %s\n",
                  r->value("rank", 0) == 1 ? "*" : " ",
                  static_cast<unsigned long long>(r->value("candidate_id", 0ULL)),
                  num(*r, "search_fitness"), num(*r, "search_miou"), folds.c_str(), pm,
                  num(*r, "fitness"), r->value("genome", std::string()).c_str());
    s += line;
    if (r->contains("failed") && (*r)["failed"].is_string())
      s += "        (not ranked: " + (*r)["failed"].get<std::string>() + ")\n";
  }
  return s;
}

}  // namespace dalnas
