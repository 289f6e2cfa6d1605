#include "dist/mpi_evaluations.h"

#include "core/error.h"
#include "dist/mpi_farm.h"

namespace dalnas::dist {

void run_evaluations_mpi(MpiSession& session, const std::vector<Job>& jobs,
                         const std::function<void(size_t job, const EvalOutcome& outcome,
                                                  int worker, double seconds)>& on_result) {
  std::vector<std::string> messages;
  for (const auto& j : jobs) messages.push_back(encode_job(j));
  std::string bug;
  farm(
      session, messages, [](size_t, int) {},
      [&](size_t job, const std::string& message, int worker) {
        const JobResult r = decode_result(message);
        if (!r.bug.empty()) {
          if (bug.empty())
            bug = "candidate " + std::to_string(jobs[job].candidate.id) + " on worker " +
                  std::to_string(worker) + ": " + r.bug;
          return;
        }
        if (on_result) on_result(job, r.outcome, worker, r.seconds);
      });
  if (!bug.empty()) throw Error("evaluations over MPI: " + bug);
}

}  // namespace dalnas::dist
