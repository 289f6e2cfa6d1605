#include "dist/final_jobs.h"

#include "core/error.h"
#include "dist/messages.h"

namespace dalnas::dist {

std::string encode_final_job(const FinalJob& job) {
  return nlohmann::json({{"kind", "final"},
                         {"config", job.config},
                         {"run_dir", job.run_dir},
                         {"genome", job.genome},
                         {"dir", job.dir},
                         {"seed_offset", job.seed_offset},
                         {"fp32_twin", job.fp32_twin}})
      .dump();
}

FinalJob decode_final_job(const std::string& text) {
  const std::string what = "final job message";
  const nlohmann::json j = parse_message(text, what);
  FinalJob job;
  try {
    if (j.at("kind").get<std::string>() != "final")
      throw Error(what + ": kind is \"" + j.at("kind").get<std::string>() + "\", not \"final\"");
    job.config = j.at("config");
    job.run_dir = j.at("run_dir").get<std::string>();
    job.genome = j.at("genome").get<std::string>();
    job.dir = j.at("dir").get<std::string>();
    job.seed_offset = j.at("seed_offset").get<int>();
    job.fp32_twin = j.value("fp32_twin", false);
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": " + e.what());
  }
  if (!job.config.is_object()) throw Error(what + ": config: expected an object");
  if (job.genome.empty() || job.dir.empty()) throw Error(what + ": genome and dir must be given");
  if (job.seed_offset < 0) throw Error(what + ": seed_offset must be >= 0");
  return job;
}

std::string encode_final_result(const FinalJobResult& r) {
  return nlohmann::json({{"kind", "final"},
                         {"metrics", r.metrics},
                         {"error", r.error},
                         {"worker", r.worker},
                         {"seconds", r.seconds}})
      .dump();
}

FinalJobResult decode_final_result(const std::string& text) {
  const std::string what = "final result message";
  const nlohmann::json j = parse_message(text, what);
  FinalJobResult r;
  try {
    r.metrics = j.at("metrics");
    r.error = j.at("error").get<std::string>();
    r.worker = j.at("worker").get<int>();
    r.seconds = j.at("seconds").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": " + e.what());
  }
  if (r.error.empty() && !r.metrics.is_object())
    throw Error(what + ": neither metrics nor an error");
  return r;
}

bool is_final_job(const std::string& text) {
  return is_message_kind(text, "final");
}

}  // namespace dalnas::dist
