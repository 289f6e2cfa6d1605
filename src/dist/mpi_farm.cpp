#include "dist/mpi_farm.h"

#include <map>

#include "core/error.h"
#include "dist/mpi_transport.h"

namespace dalnas::dist {

void farm(MpiSession& session, const std::vector<std::string>& jobs,
          const std::function<void(size_t job, int worker)>& on_sent,
          const std::function<void(size_t, const std::string&, int)>& on_result) {
  if (!session.root()) throw Error("MPI: jobs are handed out by rank 0 only");
  std::vector<int> idle;
  for (int r = session.size() - 1; r >= 1; --r) idle.push_back(r);
  std::map<int, size_t> busy;  // rank -> job
  size_t next = 0;
  while (next < jobs.size() || !busy.empty()) {
    while (next < jobs.size() && !idle.empty()) {
      const int rank = idle.back();
      idle.pop_back();
      send(rank, kTagJob, jobs[next]);
      busy[rank] = next;
      if (on_sent) on_sent(next, rank);
      ++next;
    }
    const Message m = receive(-1, kTagResult);
    const auto it = busy.find(m.source);
    if (it == busy.end())
      throw Error("MPI: a result from rank " + std::to_string(m.source) + ", which has no job");
    const size_t job = it->second;
    busy.erase(it);
    idle.push_back(m.source);
    on_result(job, m.body, m.source);
  }
}

}  // namespace dalnas::dist
