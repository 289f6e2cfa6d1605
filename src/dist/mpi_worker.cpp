#include "dist/mpi_worker.h"

#include "dist/job_runner.h"
#include "dist/mpi_transport.h"

namespace dalnas::dist {

void run_worker(MpiSession& session) {
  JobRunner runner(session.rank());
  while (true) {
    const Message m = receive(0, -1);
    if (m.tag == kTagStop) return;
    if (m.tag == kTagJob) send(0, kTagResult, runner.run(m.body));
  }
}

}  // namespace dalnas::dist
