#include "cli/run_record.h"

#include <cstdio>
#include <filesystem>

#include "core/atomic_file.h"
#include "report/report.h"

namespace dalnas::cli {

namespace {
std::string g_command;

std::string shell_quote(const std::string& a) {
  if (!a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./=:,+@%") == std::string::npos)
    return a;
  std::string o = "'";
  for (char c : a) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}
}  // namespace

void set_command_line(int argc, char** argv) {
  g_command.clear();
  for (int i = 0; i < argc; ++i) g_command += (i ? " " : "") + shell_quote(argv[i]);
}

const std::string& command_line() {
  return g_command;
}

void write_command_file(const std::string& dir, bool append) {
  const std::string path = (std::filesystem::path(dir) / "command.txt").string();
  std::string text;
  if (append && std::filesystem::exists(path)) text = read_file(path);
  write_file_atomic(path, text + g_command + "\n");
}

bool write_report_after_run(const std::string& dir, bool quiet) {
  try {
    const std::string path = report::write_report(dir);
    if (!quiet) std::fprintf(stderr, "report: %s\n", path.c_str());
    return true;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dalnas: warning: report not written: %s\n", e.what());
    return false;
  }
}

}  // namespace dalnas::cli
