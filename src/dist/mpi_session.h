#pragma once
// MpiSession: MPI for the lifetime of the object. MPI_Init in the constructor; in the
// destructor rank 0 tells every worker to stop (dist/mpi_worker.h), then every rank calls
// MPI_Finalize. One per process, created only for `--evaluator mpi`.
//
// Fewer than 2 ranks (no workers) throw dalnas::Error before anything is written.
// When dalnas was built without MPI (CMake found none), the constructor throws
// dalnas::Error "--evaluator mpi: this dalnas was built without MPI ...".
//
// Lost workers: a rank that dies (killed, node lost) ends the whole job — Open MPI's
// runtime (mpirun) aborts every rank, since MPI without fault-tolerance extensions cannot
// continue a communicator with a dead member. Nothing finished is lost: rank 0 commits
// every result to the journal as it arrives, and `dalnas search --resume DIR` (under
// mpirun again, or alone) evaluates the candidates that were in flight (docs/scale.md).
namespace dalnas::dist {

// True when this dalnas was built with MPI.
bool mpi_available();

class MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }
  int workers() const { return size_ - 1; }
  // Threads for a worker when --threads is not given: the node's cores shared by the
  // workers on this node (at least 1).
  int default_threads() const;

 private:
  int rank_ = 0, size_ = 1;
  int node_workers_ = 1;  // workers (ranks other than 0) on this rank's node
};

}  // namespace dalnas::dist
