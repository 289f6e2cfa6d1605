#pragma once
// mpirun for the dist tests: the command prefix (3 ranks, as root in CI), whether MPI is
// usable here, and a shell command's exit code and output.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "cli/cli_util.h"

namespace dalnas::test {

inline const char* kMpirun = "mpirun --oversubscribe --allow-run-as-root -np 3 ";

inline bool mpi_usable() {
  return DALNAS_HAVE_MPI && std::system("mpirun --version >/dev/null 2>&1") == 0;
}

#define SKIP_WITHOUT_MPI() \
  if (!mpi_usable()) GTEST_SKIP() << "built without MPI, or no mpirun"

inline RunResult run_shell(const std::string& cmd) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const std::string tag = std::to_string(::getpid()) + "-" + std::to_string(counter++);
  const std::string out = (fs::temp_directory_path() / ("dalnas-mpi-out-" + tag)).string();
  const std::string err = (fs::temp_directory_path() / ("dalnas-mpi-err-" + tag)).string();
  const int status = std::system((cmd + " >" + out + " 2>" + err).c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

}  // namespace dalnas::test
