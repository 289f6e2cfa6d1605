#include "core/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/error.h"

namespace dalnas {

namespace {

constexpr size_t kHeadBytes = size_t(2) << 20;  // kept from the start of the output
constexpr size_t kTailBytes = size_t(2) << 20;  // kept from the end
constexpr double kGraceSeconds = 0.5;           // between SIGTERM and SIGKILL

// Output kept within the cap: the head, and a rolling tail once the head is full.
struct Capture {
  std::string head, tail;
  size_t dropped = 0;
  void add(const char* p, size_t n) {
    const size_t h = std::min(n, kHeadBytes - head.size());
    head.append(p, h);
    p += h;
    n -= h;
    if (n == 0) return;
    tail.append(p, n);
    if (tail.size() > 2 * kTailBytes) {  // trim in large steps (amortised)
      const size_t cut = tail.size() - kTailBytes;
      dropped += cut;
      tail.erase(0, cut);
    }
  }
  std::string str() {
    if (tail.size() > kTailBytes) {
      dropped += tail.size() - kTailBytes;
      tail.erase(0, tail.size() - kTailBytes);
    }
    if (dropped == 0) return head + tail;
    return head + "\n[... " + std::to_string(dropped) + " bytes left out ...]\n" + tail;
  }
};

// Has the child exited? (Not reaped, so its pid and process group id stay reserved.)
bool exited(pid_t pid) {
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno == ECHILD;
  }
  return info.si_pid == pid;
}

// Reads what is available now; false at end of file or on error.
bool drain(int fd, Capture& cap) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      cap.add(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
}

bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

}  // namespace

ProcessResult run_command(const std::string& command, double timeout_s, const std::string& cwd) {
  using clock = std::chrono::steady_clock;
  if (!cwd.empty()) {
    struct stat st;
    if (::stat(cwd.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      throw Error(cwd + ": cannot run '" + command + "' there: not a folder");
    }
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw Error("cannot run '" + command + "': no pipe (" + std::strerror(errno) + ")");
  }
  const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error("cannot run '" + command + "': /dev/null (" + std::strerror(errno) + ")");
  }
  // Everything the child touches is prepared before fork (only async-signal-safe calls
  // between fork and exec: the parent may have other threads).
  const char* sh = "/bin/sh";
  const char* cmd = command.c_str();
  const char* dir = cwd.empty() ? nullptr : cwd.c_str();
  const auto start = clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const std::string why = std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    ::close(devnull);
    throw Error("cannot run '" + command + "': fork failed (" + why + ")");
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(devnull, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    if (dir != nullptr && ::chdir(dir) != 0) {
      const char msg[] = "dalnas: cannot change to the working folder\n";
      (void)!::write(2, msg, sizeof msg - 1);
      ::_exit(127);
    }
    ::execl(sh, sh, "-c", cmd, static_cast<char*>(nullptr));
    const char msg[] = "dalnas: cannot execute /bin/sh\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also in the parent: no race with the kill below
  ::close(fds[1]);
  ::close(devnull);
  const int fd = fds[0];
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);

  ProcessResult r;
  Capture cap;
  bool open = true;
  const bool limited = timeout_s > 0.0;
  const auto deadline = start + std::chrono::duration_cast<clock::duration>(
                                    std::chrono::duration<double>(limited ? timeout_s : 0.0));
  clock::time_point kill_at{};
  bool termed = false;
  for (;;) {
    if (exited(pid)) break;
    const auto now = clock::now();
    if (limited && !termed && now >= deadline) {
      ::kill(-pid, SIGTERM);
      termed = true;
      r.timed_out = true;
      kill_at = now + std::chrono::duration_cast<clock::duration>(
                          std::chrono::duration<double>(kGraceSeconds));
    }
    if (termed && now >= kill_at) {
      ::kill(-pid, SIGKILL);
      kill_at = now + std::chrono::hours(24);
    }
    // Wake at least every 20 ms to notice the exit (the pipe may stay open in grandchildren).
    int wait_ms = 20;
    if (limited && !termed) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
      wait_ms = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(20, left.count() + 1)));
    }
    if (open) {
      pollfd p{fd, POLLIN, 0};
      const int n = ::poll(&p, 1, wait_ms);
      if (n > 0) open = drain(fd, cap);
    } else {
      ::usleep(static_cast<useconds_t>(wait_ms) * 1000);
    }
  }
  // The shell has exited: collect what it left in the pipe, then clean up its group if it
  // timed out (the group id is still reserved: the shell is not reaped yet).
  if (open) drain(fd, cap);
  if (r.timed_out) ::kill(-pid, SIGKILL);
  ::close(fd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.seconds = std::chrono::duration<double>(clock::now() - start).count();
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.exit_code = 128 + WTERMSIG(status);
  }
  r.output = cap.str();
  return r;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string expand_placeholders(const std::string& tmpl,
                                const std::map<std::string, std::string>& values) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if (c == '{' && i + 1 < tmpl.size() && tmpl[i + 1] == '{') {
      out += c;
      ++i;
      continue;
    }
    if (c == '{' && (i == 0 || tmpl[i - 1] != '$') && i + 1 < tmpl.size() &&
        ident_start(tmpl[i + 1])) {
      size_t j = i + 1;
      while (j < tmpl.size() && ident_char(tmpl[j])) ++j;
      if (j < tmpl.size() && tmpl[j] == '}') {
        const std::string key = tmpl.substr(i + 1, j - i - 1);
        auto it = values.find(key);
        if (it == values.end()) {
          std::string known;
          for (const auto& v : values) known += (known.empty() ? "{" : ", {") + v.first + "}";
          throw Error("command '" + tmpl + "': unknown placeholder {" + key +
                      "} (known: " + (known.empty() ? "none" : known) + ")");
        }
        out += shell_quote(it->second);
        i = j;
        continue;
      }
    }
    out += c;
  }
  return out;
}

}  // namespace dalnas
