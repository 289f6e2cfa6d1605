#pragma once
// RunLock: one dalnas process at a time in a run folder.
//
//   RunLock lock(run_dir, "search");   // throws dalnas::Error when another process holds it
//
// An exclusive flock(2) on "<dir>/.dalnas.lock", held while the object lives; the kernel
// releases it when the process ends, however it ends (SIGKILL included), so a crashed run
// never leaves a folder locked. The file keeps the holder's pid and command for the message
// a second process gets: "<dir>: in use by another dalnas search (pid 1234); wait for it to
// end or stop it". The lock file itself stays (removing it would race with a new holder).
#include <string>

namespace dalnas {

class RunLock {
 public:
  // `what` names the holder's command in the file and in messages ("search").
  RunLock(const std::string& dir, const std::string& what);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  const std::string& path() const { return path_; }

  static constexpr const char* kFileName = ".dalnas.lock";

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace dalnas
