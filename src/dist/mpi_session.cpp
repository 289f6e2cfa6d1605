#include "dist/mpi_session.h"

#include <mpi.h>

#include <algorithm>
#include <thread>

#include "core/error.h"
#include "dist/mpi_transport.h"

namespace dalnas::dist {

bool mpi_available() {
  return true;
}

MpiSession::MpiSession() {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) MPI_Init(nullptr, nullptr);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  if (size_ < 2) {
    MPI_Finalize();
    throw Error(
        "--evaluator mpi: needs at least 2 ranks (rank 0 searches, the others "
        "evaluate); start it with mpirun -np N, N >= 2");
  }
  // Ranks on this node; rank 0 does not train, so it does not count.
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int on_node = 1, root_here = rank_ == 0 ? 1 : 0, roots = 0;
  MPI_Comm_size(node, &on_node);
  MPI_Allreduce(&root_here, &roots, 1, MPI_INT, MPI_SUM, node);
  MPI_Comm_free(&node);
  node_workers_ = std::max(1, on_node - roots);
}

MpiSession::~MpiSession() {
  if (root()) {
    for (int r = 1; r < size_; ++r) {
      try {
        send(r, kTagStop, "");
      } catch (...) {
      }
    }
  }
  MPI_Finalize();
}

int MpiSession::default_threads() const {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / node_workers_);
}

}  // namespace dalnas::dist
