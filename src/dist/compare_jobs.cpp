#include "dist/compare_jobs.h"

#include "core/error.h"
#include "dist/messages.h"

namespace dalnas::dist {

std::string encode_compare_job(const CompareOptions& one_seed) {
  return nlohmann::json({{"kind", "compare"}, {"options", one_seed.to_json()}}).dump();
}

CompareOptions decode_compare_job(const std::string& text) {
  const std::string what = "compare job message";
  const nlohmann::json j = parse_message(text, what);
  try {
    if (j.at("kind").get<std::string>() != "compare")
      throw Error(what + ": kind is \"" + j.at("kind").get<std::string>() + "\", not \"compare\"");
    return CompareOptions::from_json(j.at("options"), what);
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": " + e.what());
  }
}

std::string encode_compare_result(const CompareJobResult& r) {
  return nlohmann::json({{"kind", "compare"},
                         {"result", r.result},
                         {"error", r.error},
                         {"worker", r.worker},
                         {"seconds", r.seconds}})
      .dump();
}

CompareJobResult decode_compare_result(const std::string& text) {
  const std::string what = "compare result message";
  const nlohmann::json j = parse_message(text, what);
  CompareJobResult r;
  try {
    r.result = j.at("result");
    r.error = j.at("error").get<std::string>();
    r.worker = j.at("worker").get<int>();
    r.seconds = j.at("seconds").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": " + e.what());
  }
  if (r.error.empty() && !r.result.is_object())
    throw Error(what + ": neither a result nor an error");
  return r;
}

bool is_compare_job(const std::string& text) {
  return is_message_kind(text, "compare");
}

}  // namespace dalnas::dist
