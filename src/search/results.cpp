#include "search/results.h"

#include <cmath>
#include <sstream>

#include "search/nsga2.h"

namespace dalnas {

namespace {

bool usable(const EvaluationRecord& r) {
  return r.status == EvalStatus::Ok && r.feasible && std::isfinite(r.fitness);
}

std::string quoted(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string number(double v) {
  if (!std::isfinite(v)) return "";
  std::ostringstream ss;
  ss.precision(8);
  ss << v;
  return ss.str();
}

std::string cell(const nlohmann::json& m, const char* key) {
  if (!m.contains(key) || m.at(key).is_null()) return "";
  const auto& v = m.at(key);
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return number(v.get<double>());
  if (v.is_string()) return quoted(v.get<std::string>());
  return quoted(v.dump());
}

}  // namespace

std::vector<size_t> pareto_front(const std::vector<EvaluationRecord>& records,
                                 const std::vector<std::string>& objectives) {
  std::vector<size_t> idx;
  std::vector<Observation> obs;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!usable(records[i])) continue;
    Observation o;
    o.id = records[i].candidate_id;
    bool complete = true;
    for (const auto& name : objectives) {
      double v =
          name == "fitness" ? records[i].fitness : records[i].metrics.value(name, std::nan(""));
      if (!std::isfinite(v)) complete = false;
      o.objectives.push_back(name == "miou" || name == "fitness" ? -v : v);
    }
    if (!complete) continue;
    idx.push_back(i);
    obs.push_back(o);
  }
  std::vector<size_t> front;
  if (obs.empty()) return front;
  const auto fronts = non_dominated_sort(obs);
  for (size_t k : fronts.front()) front.push_back(idx[k]);
  return front;
}

std::optional<size_t> best_record(const std::vector<EvaluationRecord>& records) {
  std::optional<size_t> best;
  for (size_t i = 0; i < records.size(); ++i) {
    if (!usable(records[i])) continue;
    const auto& r = records[i];
    if (!best || r.fitness > records[*best].fitness ||
        (r.fitness == records[*best].fitness && r.candidate_id < records[*best].candidate_id))
      best = i;
  }
  return best;
}

std::string candidates_csv(const std::vector<EvaluationRecord>& records,
                           const std::vector<size_t>& which) {
  std::ostringstream ss;
  ss << "candidate_id,generation,origin,parents,genome,status,fitness,feasible,miou,vessel_iou,"
        "latency_ms,fps,params,peak_memory_bytes,energy_mj,epochs,fidelity,inherited_from,"
        "reused_from,seconds,reason,object_recall,object_precision,fragmentation,boundary_f1\n";
  for (size_t i : which) {
    const auto& r = records[i];
    std::string parents;
    for (size_t k = 0; k < r.parents.size(); ++k)
      parents += (k ? " " : "") + std::to_string(r.parents[k]);
    const auto& m = r.metrics;
    ss << r.candidate_id << ',' << r.generation << ',' << quoted(r.origin) << ',' << parents << ','
       << quoted(r.genome) << ',' << to_string(r.status) << ',' << number(r.fitness) << ','
       << (r.feasible ? 1 : 0) << ',' << cell(m, "miou") << ',' << cell(m, "vessel_iou") << ','
       << cell(m, "latency_ms") << ',' << cell(m, "fps") << ',' << cell(m, "params") << ','
       << cell(m, "peak_memory_bytes") << ',' << cell(m, "energy_mj") << ',' << cell(m, "epochs")
       << ',' << cell(m, "fidelity") << ',' << cell(m, "inherited_from") << ','
       << cell(m, "reused_from") << ',' << number(r.seconds) << ',' << quoted(r.reason) << ','
       << cell(m, "object_recall") << ',' << cell(m, "object_precision") << ','
       << cell(m, "fragmentation") << ',' << cell(m, "boundary_f1") << '\n';
  }
  return ss.str();
}

std::string candidates_csv(const std::vector<EvaluationRecord>& records) {
  std::vector<size_t> all(records.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  return candidates_csv(records, all);
}

}  // namespace dalnas
