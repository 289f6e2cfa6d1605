#include "core/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/strings.h"

namespace dalnas {

namespace {

namespace fs = std::filesystem;

// Writes all of `bytes` to `fd`; false with errno set on failure.
bool write_all(int fd, const std::string& bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

// The pid in "<name>.tmp-<pid>", or 0 when the name does not end that way.
long temp_pid(const std::string& name) {
  const auto at = name.rfind(".tmp-");
  if (at == std::string::npos || at == 0) return 0;
  const std::string digits = name.substr(at + 5);
  if (digits.empty() || digits.size() > 10 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return 0;
  return std::stol(digits);
}

bool process_running(long pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// Fault injection for the crash-safety tests (tests/cli/test_kill_writes.cpp): with
// DALNAS_KILL_DURING_WRITE="<path suffix>:<stage>" the process kills itself with SIGKILL
// while writing a file whose path ends with the suffix, at `stage`: "partial" (half the
// bytes in the temporary file), "written" (the temporary file complete and synced, not
// renamed) or "renamed" (renamed, the folder not yet synced). Unset: nothing happens.
void maybe_die(const std::string& path, const char* stage) {
  const char* spec = std::getenv("DALNAS_KILL_DURING_WRITE");
  if (spec == nullptr) return;
  const std::string s(spec);
  const auto colon = s.rfind(':');
  if (colon == std::string::npos || s.substr(colon + 1) != stage) return;
  if (ends_with(path, s.substr(0, colon))) ::kill(::getpid(), SIGKILL);
}

}  // namespace

void fsync_folder(const std::string& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throw Error(dir + ": cannot open the folder to sync it (" + std::strerror(errno) + ")");
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems do not sync folders (EINVAL): the rename is then as durable as it gets.
  if (rc != 0 && err != EINVAL && err != EROFS)
    throw Error(dir + ": cannot sync the folder (" + std::strerror(err) + ")");
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const fs::path target(path);
  if (target.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) throw Error(path + ": cannot create folder (" + ec.message() + ")");
  }
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot write (" + std::strerror(errno) + ")");
  if (std::getenv("DALNAS_KILL_DURING_WRITE")) {
    write_all(fd, bytes.substr(0, bytes.size() / 2));
    maybe_die(path, "partial");
    if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) {
      throw Error(path + ": cannot write (" + std::strerror(errno) + ")");
    }
  }
  if (!write_all(fd, bytes) || ::fsync(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    std::remove(tmp.c_str());
    throw Error(path + ": cannot write (" + why + ")");
  }
  if (::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error(path + ": cannot write (" + why + ")");
  }
  maybe_die(path, "written");
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw Error(path + ": cannot write (" + why + ")");
  }
  maybe_die(path, "renamed");
  try {
    fsync_folder(target.has_parent_path() ? target.parent_path().string() : ".");
  } catch (const Error& e) {
    throw Error(path + ": written, but " + e.what());
  }
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such file");
  if (fs::is_directory(path, ec)) throw Error(path + ": is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read (" + std::strerror(errno) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_atomic_temp_name(const std::string& filename) {
  return temp_pid(filename) > 0;
}

int remove_stale_temp_files(const std::string& dir, bool recursive) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  int removed = 0;
  const auto consider = [&](const fs::directory_entry& e) {
    std::error_code ec2;
    if (!e.is_regular_file(ec2)) return;
    const long pid = temp_pid(e.path().filename().string());
    if (pid <= 0) return;
    if (pid != static_cast<long>(::getpid()) && process_running(pid)) return;
    if (fs::remove(e.path(), ec2)) ++removed;
  };
  if (recursive) {
    for (fs::recursive_directory_iterator
             it(dir, fs::directory_options::skip_permission_denied, ec),
         end;
         !ec && it != end; it.increment(ec))
      consider(*it);
  } else {
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) consider(*it);
  }
  return removed;
}

}  // namespace dalnas
