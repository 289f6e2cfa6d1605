#include "dist/mpi_census.h"

#include <chrono>
#include <cstdio>

#include "core/error.h"
#include "device/profile.h"
#include "dist/census_jobs.h"
#include "dist/mpi_farm.h"

namespace dalnas::dist {

CensusResult run_census_mpi(MpiSession& session, const CensusOptions& opt,
                            const CensusProgress& progress,
                            const std::function<void(const CensusResult&)>& on_cell,
                            const CensusResult* previous) {
  using Clock = std::chrono::steady_clock;
  const auto t_start = Clock::now();
  const auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };
  if (!session.root()) throw Error("census over MPI: runs on rank 0 only");
  if (opt.genomes.empty()) throw Error("census: no genomes");
  if (opt.pipelines.empty()) throw Error("census: no pipelines");
  const DeviceProfile base = load_profile(opt.device);
  for (const std::string& p : opt.pipelines) profile_for_pipeline(base, p);  // validate names

  CensusStart start = census_start(opt, base.name, previous, progress);
  CensusResult& res = start.result;
  const double seconds_before = res.seconds;  // a resumed census's time so far
  std::vector<CensusUnit> units;              // those to run
  for (size_t u = 0; u < start.units.size(); ++u)
    if (!start.done[u]) units.push_back(start.units[u]);
  const auto unit_name = [&](size_t u) {
    std::string p;
    for (const std::string& x : units[u].pipelines) p += (p.empty() ? "" : ",") + x;
    return units[u].genome + " [" + p + "]";
  };
  std::vector<std::string> jobs;
  for (const CensusUnit& u : units) jobs.push_back(encode_census_job(CensusJob{opt, u}));
  farm(
      session, jobs,
      [&](size_t u, int worker) { say(unit_name(u) + ": to worker " + std::to_string(worker)); },
      [&](size_t u, const std::string& message, int) {
        CensusJobResult r = decode_census_result(message);
        if (res.test_scenes.empty()) res.test_scenes = r.test_scenes;
        if (!r.error.empty()) {
          for (const std::string& p : units[u].pipelines) {
            CensusCell failed;
            failed.genome = units[u].genome;
            failed.pipeline = p;
            failed.failure = "worker " + std::to_string(r.worker) + ": " + r.error;
            failed.seconds = r.seconds;
            res.cells.push_back(std::move(failed));
          }
          say(unit_name(u) + ": failed on worker " + std::to_string(r.worker) + ": " + r.error);
        } else {
          for (CensusCell& c : r.cells) {
            char buf[300];
            std::snprintf(buf, sizeof buf,
                          "%s [%s]: mIoU (a) %.4f (b) %.4f (c) %.4f (d) %.4f [%.0f s, worker %d]",
                          c.genome.c_str(), c.pipeline.c_str(), c.fp32_host.cm.miou(),
                          c.ptq_device.cm.miou(), c.aligned_device.cm.miou(),
                          c.control_device.cm.miou(), c.seconds, r.worker);
            say(c.failure.empty() ? std::string(buf)
                                  : c.genome + " [" + c.pipeline + "]: failed: " + c.failure);
            res.cells.push_back(std::move(c));
          }
        }
        order_cells(res.cells, opt);
        res.seconds =
            seconds_before + std::chrono::duration<double>(Clock::now() - t_start).count();
        if (on_cell) on_cell(res);
      });
  res.seconds = seconds_before + std::chrono::duration<double>(Clock::now() - t_start).count();
  return res;
}

}  // namespace dalnas::dist
