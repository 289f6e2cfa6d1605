#include "dist/mpi_final.h"

#include <cstdio>

#include "core/error.h"
#include "dist/mpi_farm.h"

namespace dalnas::dist {

std::vector<nlohmann::json> run_final_mpi(
    MpiSession& session, const std::vector<FinalJob>& jobs,
    const std::function<void(const std::string&)>& progress,
    const std::function<void(size_t, const nlohmann::json&)>& done) {
  const auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };
  std::vector<std::string> messages;
  for (const auto& j : jobs) messages.push_back(encode_final_job(j));
  std::vector<nlohmann::json> out(jobs.size());
  std::string failure;
  farm(
      session, messages,
      [&](size_t job, int worker) {
        say("retraining " + jobs[job].dir + " on worker " + std::to_string(worker));
      },
      [&](size_t job, const std::string& message, int) {
        const FinalJobResult r = decode_final_result(message);
        if (!r.error.empty()) {
          const std::string why = jobs[job].dir + ": the retraining failed on worker " +
                                  std::to_string(r.worker) + ": " + r.error;
          if (failure.empty()) failure = why;
          say(why);
          return;
        }
        out[job] = r.metrics;
        if (done) done(job, out[job]);
        char buf[64];
        std::snprintf(buf, sizeof buf, " [%.0f s, worker %d]", r.seconds, r.worker);
        say("retrained " + jobs[job].dir + buf);
      });
  if (!failure.empty()) throw Error("retraining over MPI: " + failure);
  return out;
}

}  // namespace dalnas::dist
