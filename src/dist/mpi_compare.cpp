#include "dist/mpi_compare.h"

#include "core/error.h"
#include "dist/compare_jobs.h"
#include "dist/mpi_farm.h"

namespace dalnas::dist {

CompareResult run_compare_mpi(MpiSession& session, const CompareOptions& opt,
                              const CompareProgress& progress) {
  const auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };
  std::vector<std::string> jobs;
  for (int i = 0; i < opt.seeds; ++i) {
    CompareOptions one = opt;
    one.first_seed = opt.first_seed + i;
    one.seeds = 1;
    jobs.push_back(encode_compare_job(one));
  }
  const auto seed_of = [&](size_t job) {
    return std::to_string(opt.train.seed + static_cast<uint64_t>(opt.first_seed) + job);
  };
  std::vector<CompareResult> parts;
  std::string failure;
  farm(
      session, jobs,
      [&](size_t job, int worker) {
        say("seed " + seed_of(job) + ": to worker " + std::to_string(worker));
      },
      [&](size_t job, const std::string& message, int) {
        const CompareJobResult r = decode_compare_result(message);
        if (!r.error.empty()) {
          if (failure.empty())
            failure = "seed " + seed_of(job) + " failed on worker " + std::to_string(r.worker) +
                      ": " + r.error;
          say(failure);
          return;
        }
        parts.push_back(CompareResult::from_json(r.result, "worker " + std::to_string(r.worker)));
        const CompareRun& run = parts.back().runs.at(0);
        char buf[200];
        std::snprintf(buf, sizeof buf,
                      "seed %llu: mIoU (a) %.4f  (b) %.4f  (c) %.4f  (d) %.4f  [%.0f s, worker %d]",
                      static_cast<unsigned long long>(run.seed), run.fp32_host.cm.miou(),
                      run.ptq_device.cm.miou(), run.aligned_device.cm.miou(),
                      run.control_device.cm.miou(), run.seconds, r.worker);
        say(buf);
      });
  if (!failure.empty()) throw Error("compare over MPI: " + failure);
  return CompareResult::merge(parts);
}

}  // namespace dalnas::dist
