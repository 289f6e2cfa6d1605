#include "search/results.h"

#include <cctype>
#include <cmath>
#include <map>
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

// A reason with its numbers replaced by '#', for counting alike reasons together.
std::string reason_kind(const std::string& reason) {
  std::string k;
  for (size_t i = 0; i < reason.size(); ++i) {
    const char c = reason[i];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      if (k.empty() || k.back() != '#') k += '#';
      continue;
    }
    if (c == '.' && !k.empty() && k.back() == '#' && i + 1 < reason.size() &&
        std::isdigit(static_cast<unsigned char>(reason[i + 1])))
      continue;
    k += c;
  }
  return k;
}

}  // namespace

std::string no_winner_message(const std::vector<EvaluationRecord>& records) {
  for (const auto& r : records)
    if (usable(r)) return "";
  if (records.empty()) return "no candidate was evaluated; raise --evaluations or --time-budget";
  int64_t failed = 0, transient = 0, rejected = 0, infeasible = 0;
  struct Kind {
    int64_t count = 0;
    std::string example;
    const EvaluationRecord* first = nullptr;
  };
  std::map<std::string, Kind> kinds;
  std::vector<std::string> order;  // first occurrence, for ties
  for (const auto& r : records) {
    if (r.status == EvalStatus::Failed) {
      ++failed;
      transient += r.transient;
    } else if (r.status == EvalStatus::Rejected) {
      ++rejected;
    } else {
      ++infeasible;
    }
    const std::string reason = r.reason.empty() ? "(no reason recorded)" : r.reason;
    const std::string k = to_string(r.status) + "|" + reason_kind(reason);
    Kind& kind = kinds[k];
    if (kind.count++ == 0) {
      kind.example = reason;
      kind.first = &r;
      order.push_back(k);
    }
  }
  const Kind* top = nullptr;
  for (const auto& k : order)
    if (!top || kinds[k].count > top->count) top = &kinds[k];
  const EvaluationRecord& r = *top->first;
  std::string advice;
  if (r.status == EvalStatus::Rejected || r.status == EvalStatus::Ok) {
    advice =
        "loosen the hard limits of [fitness.constraints] (max_params, max_latency_ms, "
        "max_peak_memory_bytes, max_energy_mj) or restrict [search_space] to smaller "
        "networks";
  } else if (r.reason.rfind("unmeasured", 0) == 0) {
    advice =
        "check the profile's [measure] command (dalnas profile GENOME --device PROFILE "
        "--measure), then --resume the run: transient failures are evaluated again";
  } else if (r.transient) {
    advice =
        "fix the device or free memory, then --resume the run: transient failures are "
        "evaluated again";
  } else {
    advice =
        "see the reasons in candidates.csv (a diverging training: lower [train] lr; a "
        "device or data error: check --device and --data)";
  }
  const auto n = [](int64_t v) { return std::to_string(v); };
  std::string msg = "no usable candidate: all " + n(static_cast<int64_t>(records.size())) +
                    " evaluations failed or were rejected (" + n(failed) + " failed";
  if (transient > 0) msg += ", " + n(transient) + " of them transient";
  msg += ", " + n(rejected) + " rejected before training, " + n(infeasible) +
         " trained but infeasible); most common reason (" + n(top->count) + " of " +
         n(static_cast<int64_t>(records.size())) + "): " + to_string(r.status) + ": " +
         top->example + "; " + advice;
  for (char& c : msg)
    if (c == '\n' || c == '\r') c = ' ';
  return msg;
}

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
