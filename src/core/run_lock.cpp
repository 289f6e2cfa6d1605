#include "core/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/error.h"

namespace dalnas {

namespace {

std::string read_fd(int fd) {
  std::string s;
  char buf[256];
  if (::lseek(fd, 0, SEEK_SET) < 0) return s;
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && s.size() < 4096)
    s.append(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

RunLock::RunLock(const std::string& dir, const std::string& what)
    : path_((dir.empty() ? std::string(".") : dir) + "/" + kFileName) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(path_ + ": cannot open the lock file (" + std::strerror(errno) + ")");
  int rc;
  do {
    rc = ::flock(fd_, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    const std::string holder = read_fd(fd_);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw Error(dir + ": in use by another dalnas " +
                  (holder.empty() ? std::string("process") : holder) +
                  "; wait for it to end or stop it");
    throw Error(path_ + ": cannot lock (" + std::strerror(err) + ")");
  }
  // Ours: note who holds it (for the message another process gets).
  const std::string me = what + " (pid " + std::to_string(::getpid()) + ")\n";
  if (::ftruncate(fd_, 0) == 0) {
    ssize_t ignored = ::pwrite(fd_, me.data(), me.size(), 0);
    (void)ignored;
  }
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace dalnas
