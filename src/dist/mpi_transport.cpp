#include "dist/mpi_transport.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/error.h"

namespace dalnas::dist {

namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(std::string("MPI: ") + what + " failed (" + std::string(text, len) + ")");
}

}  // namespace

Message receive(int source, int tag) {
  const int src = source < 0 ? MPI_ANY_SOURCE : source;
  const int tg = tag < 0 ? MPI_ANY_TAG : tag;
  MPI_Status st;
  int flag = 0;
  auto pause = std::chrono::microseconds(50);
  while (true) {
    check(MPI_Iprobe(src, tg, MPI_COMM_WORLD, &flag, &st), "MPI_Iprobe");
    if (flag) break;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(2000));
  }
  int count = 0;
  check(MPI_Get_count(&st, MPI_CHAR, &count), "MPI_Get_count");
  Message m;
  m.source = st.MPI_SOURCE;
  m.tag = st.MPI_TAG;
  m.body.resize(static_cast<size_t>(count));
  check(MPI_Recv(m.body.data(), count, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE),
        "MPI_Recv");
  return m;
}

void send(int dest, int tag, const std::string& body) {
  check(MPI_Send(body.data(), static_cast<int>(body.size()), MPI_CHAR, dest, tag, MPI_COMM_WORLD),
        "MPI_Send");
}

}  // namespace dalnas::dist
