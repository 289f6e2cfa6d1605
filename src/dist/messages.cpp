#include "dist/messages.h"

#include <algorithm>

#include "core/error.h"

namespace dalnas::dist {

namespace {

nlohmann::json record_to_json(const EvaluationRecord& r) {
  nlohmann::json j = {
      {"candidate_id", r.candidate_id}, {"status", to_string(r.status)}, {"metrics", r.metrics}};
  if (!r.genome.empty()) j["genome"] = r.genome;
  return j;
}

EvaluationRecord record_from_json(const nlohmann::json& j) {
  EvaluationRecord r;
  r.candidate_id = j.at("candidate_id").get<uint64_t>();
  r.status = parse_eval_status(j.at("status").get<std::string>());
  r.metrics = j.at("metrics");
  r.genome = j.value("genome", std::string());
  return r;
}

nlohmann::json outcome_to_json(const EvalOutcome& o) {
  return {{"status", to_string(o.status)},
          {"reason", o.reason},
          {"metrics", o.metrics},
          {"costs", o.costs},
          {"seed", o.seed},
          {"transient", o.transient}};
}

EvalOutcome outcome_from_json(const nlohmann::json& j) {
  EvalOutcome o;
  o.status = parse_eval_status(j.at("status").get<std::string>());
  o.reason = j.at("reason").get<std::string>();
  o.metrics = j.at("metrics");
  o.costs = j.at("costs");
  o.seed = j.at("seed").get<uint64_t>();
  o.transient = j.value("transient", false);
  return o;
}

}  // namespace

nlohmann::json parse_message(const std::string& text, const std::string& what) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    if (!j.is_object()) throw Error(what + ": not a JSON object");
    return j;
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": not JSON (" + e.what() + ")");
  }
}

bool is_message_kind(const std::string& text, const std::string& kind) {
  try {
    const nlohmann::json j = nlohmann::json::parse(text);
    return j.is_object() && j.value("kind", std::string()) == kind;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

std::string encode_job(const Job& job) {
  nlohmann::json history = nlohmann::json::array();
  for (const auto& r : job.history) history.push_back(record_to_json(r));
  nlohmann::json j = {{"kind", "candidate"},
                      {"config", job.config},
                      {"run_dir", job.run_dir},
                      {"candidate", to_json(job.candidate)},
                      {"history", history}};
  if (job.training_seed_salt != 0) j["training_seed_salt"] = job.training_seed_salt;
  return j.dump();
}

Job decode_job(const std::string& text) {
  const nlohmann::json j = parse_message(text, "job message");
  if (!j.contains("kind") || j.at("kind") != "candidate")
    throw Error("job message: kind " + j.value("kind", nlohmann::json()).dump() +
                " (expected \"candidate\")");
  try {
    Job job;
    job.config = j.at("config");
    job.run_dir = j.at("run_dir").get<std::string>();
    job.candidate = candidate_from_json(j.at("candidate"));
    for (const auto& r : j.at("history")) job.history.push_back(record_from_json(r));
    if (j.contains("training_seed_salt"))
      job.training_seed_salt = j.at("training_seed_salt").get<uint64_t>();
    return job;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("job message: ") + e.what());
  } catch (const Error& e) {
    throw Error(std::string("job message: ") + e.what());
  }
}

std::string encode_result(const JobResult& r) {
  nlohmann::json j = {{"candidate_id", r.candidate_id},
                      {"outcome", outcome_to_json(r.outcome)},
                      {"worker", r.worker},
                      {"seconds", r.seconds}};
  if (!r.bug.empty()) j["bug"] = r.bug;
  return j.dump();
}

JobResult decode_result(const std::string& text) {
  const nlohmann::json j = parse_message(text, "result message");
  try {
    JobResult r;
    r.candidate_id = j.at("candidate_id").get<uint64_t>();
    r.outcome = outcome_from_json(j.at("outcome"));
    r.worker = j.at("worker").get<int>();
    r.seconds = j.at("seconds").get<double>();
    r.bug = j.value("bug", std::string());
    return r;
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("result message: ") + e.what());
  } catch (const Error& e) {
    throw Error(std::string("result message: ") + e.what());
  }
}

std::vector<EvaluationRecord> compact_history(const Candidate& c,
                                              const std::vector<EvaluationRecord>& history) {
  std::vector<EvaluationRecord> out;
  for (const auto& r : history) {
    const bool parent =
        std::find(c.parents.begin(), c.parents.end(), r.candidate_id) != c.parents.end();
    // Promotion and pre-filter decisions need the low-fidelity, rung and zero-cost scores
    // of everyone.
    const bool low = r.metrics.contains("fitness_low") || r.metrics.contains("rung_fitness") ||
                     r.metrics.contains("zero_cost");
    if (!parent && !low) continue;
    EvaluationRecord k;
    k.candidate_id = r.candidate_id;
    k.status = r.status;
    if (parent) k.genome = r.genome;
    k.metrics = nlohmann::json::object();
    for (const char* key : {"fitness_low", "rung_fitness", "zero_cost", "reused_from"})
      if (r.metrics.contains(key)) k.metrics[key] = r.metrics.at(key);
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace dalnas::dist
