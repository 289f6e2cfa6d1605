#include "dist/mpi_census.h"

#include <chrono>
#include <cstdio>
#include <map>

#include "core/error.h"
#include "device/profile.h"
#include "dist/census_jobs.h"
#include "dist/mpi_transport.h"

namespace dalnas::dist {

CensusResult run_census_mpi(MpiSession& session, const CensusOptions& opt,
                            const CensusProgress& progress,
                            const std::function<void(const CensusResult&)>& on_cell) {
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

  CensusResult res;
  res.device = base.name;
  res.data = opt.train.data;
  const std::vector<CensusUnit> units = census_units(opt);
  std::vector<int> idle;
  for (int r = session.size() - 1; r >= 1; --r) idle.push_back(r);
  std::map<int, size_t> busy;  // rank -> unit
  size_t next = 0;
  const auto unit_name = [&](size_t u) {
    std::string p;
    for (const std::string& x : units[u].pipelines) p += (p.empty() ? "" : ",") + x;
    return units[u].genome + " [" + p + "]";
  };
  while (next < units.size() || !busy.empty()) {
    while (next < units.size() && !idle.empty()) {
      const int rank = idle.back();
      idle.pop_back();
      send(rank, kTagJob, encode_census_job(CensusJob{opt, units[next]}));
      busy[rank] = next;
      say(unit_name(next) + ": to worker " + std::to_string(rank));
      ++next;
    }
    const Message m = receive(-1, kTagResult);
    auto it = busy.find(m.source);
    if (it == busy.end())
      throw Error("census over MPI: a result from rank " + std::to_string(m.source) +
                  ", which has no job");
    const size_t u = it->second;
    busy.erase(it);
    idle.push_back(m.source);
    CensusJobResult r = decode_census_result(m.body);
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
    res.seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
    if (on_cell) on_cell(res);
  }
  res.seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
  return res;
}

}  // namespace dalnas::dist
