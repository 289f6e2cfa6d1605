// One process at a time in a run folder: flock on <dir>/.dalnas.lock.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "core/error.h"
#include "core/run_lock.h"
#include "temp_dir.h"

namespace dalnas {
namespace {

using test_util::TempDir;

// Forks a child that takes the lock, reports on a pipe, then waits to be killed.
pid_t hold_in_child(const std::string& dir) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    try {
      RunLock lock(dir, "search");
      const char ok = 'y';
      ssize_t w = write(fds[1], &ok, 1);
      (void)w;
      pause();
    } catch (...) {
      const char no = 'n';
      ssize_t w = write(fds[1], &no, 1);
      (void)w;
    }
    _exit(0);
  }
  close(fds[1]);
  char c = 0;
  const ssize_t n = read(fds[0], &c, 1);
  close(fds[0]);
  return n == 1 && c == 'y' ? pid : -1;
}

TEST(RunLock, ASecondProcessIsRefusedWithTheHoldersPid) {
  TempDir d("lock");
  const pid_t holder = hold_in_child(d.path.string());
  ASSERT_GT(holder, 0);
  try {
    RunLock second(d.path.string(), "search");
    FAIL() << "the folder is held by pid " << holder;
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind(d.path.string() + ": in use by another dalnas search", 0), 0u) << m;
    EXPECT_NE(m.find("pid " + std::to_string(holder)), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  // SIGKILL releases it: no stale lock.
  kill(holder, SIGKILL);
  int status = 0;
  waitpid(holder, &status, 0);
  EXPECT_NO_THROW(RunLock again(d.path.string(), "search"));
}

TEST(RunLock, ReleasedWhenTheObjectGoesAway) {
  TempDir d("lock");
  { RunLock first(d.path.string(), "search"); }
  const pid_t child = hold_in_child(d.path.string());
  EXPECT_GT(child, 0) << "the lock was released when `first` went out of scope";
  if (child > 0) {
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
  }
}

TEST(RunLock, AMissingFolderIsAnErrorNamingIt) {
  TempDir d("lock");
  try {
    RunLock l((d.path / "nope").string(), "search");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope/.dalnas.lock"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dalnas
