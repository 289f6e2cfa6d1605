#include "dist/census_jobs.h"

#include "core/error.h"
#include "dist/messages.h"

namespace dalnas::dist {

std::string encode_census_job(const CensusJob& job) {
  return nlohmann::json({{"kind", "census"},
                         {"options", job.options.to_json()},
                         {"genome", job.unit.genome},
                         {"pipelines", job.unit.pipelines}})
      .dump();
}

CensusJob decode_census_job(const std::string& text) {
  const char* what = "census job message";
  const nlohmann::json j = parse_message(text, what);
  CensusJob job;
  try {
    if (j.at("kind").get<std::string>() != "census")
      throw Error(std::string(what) + ": kind is \"" + j.at("kind").get<std::string>() +
                  "\", not \"census\"");
    job.options = CensusOptions::from_json(j.at("options"), what);
    job.unit.genome = j.at("genome").get<std::string>();
    job.unit.pipelines = j.at("pipelines").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string(what) + ": " + e.what());
  }
  if (job.unit.pipelines.empty()) throw Error(std::string(what) + ": no pipelines");
  return job;
}

std::string encode_census_result(const CensusJobResult& r) {
  nlohmann::json cells = nlohmann::json::array();
  for (const CensusCell& c : r.cells) cells.push_back(c.to_json());
  return nlohmann::json({{"kind", "census"},
                         {"cells", cells},
                         {"test_scenes", r.test_scenes},
                         {"error", r.error},
                         {"worker", r.worker},
                         {"seconds", r.seconds}})
      .dump();
}

CensusJobResult decode_census_result(const std::string& text) {
  const char* what = "census result message";
  const nlohmann::json j = parse_message(text, what);
  CensusJobResult r;
  try {
    r.error = j.at("error").get<std::string>();
    r.test_scenes = j.at("test_scenes").get<std::vector<std::string>>();
    r.worker = j.at("worker").get<int>();
    r.seconds = j.at("seconds").get<double>();
    const nlohmann::json& cells = j.at("cells");
    for (size_t i = 0; i < cells.size(); ++i)
      r.cells.push_back(CensusCell::from_json(
          cells.at(i), std::string(what) + ": cells[" + std::to_string(i) + "]"));
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string(what) + ": " + e.what());
  }
  return r;
}

bool is_census_job(const std::string& text) {
  return is_message_kind(text, "census");
}

CensusResult run_census_unit(const CensusJob& job) {
  CensusOptions opt = job.options;
  opt.genomes = {job.unit.genome};
  opt.pipelines = job.unit.pipelines;
  return run_census(opt);
}

}  // namespace dalnas::dist
