#pragma once
// Strings over MPI between the ranks of MPI_COMM_WORLD (private to dist/mpi_*.cpp).
//
// Waiting never spins a core: MPI's blocking calls busy-poll, which on a node whose cores
// all train would take one away from the workers. receive() probes, then sleeps with a
// growing pause (50 us to 2 ms) between probes.
#include <string>

namespace dalnas::dist {

enum Tag : int { kTagJob = 1, kTagResult = 2, kTagStop = 3 };

struct Message {
  int source = -1;
  int tag = -1;
  std::string body;
};

// source / tag: a rank / Tag, or -1 for any.
Message receive(int source, int tag);
void send(int dest, int tag, const std::string& body);

}  // namespace dalnas::dist
