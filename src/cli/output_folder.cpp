#include "cli/output_folder.h"

#include <filesystem>
#include <system_error>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/error.h"

namespace dalnas::cli {

namespace fs = std::filesystem;

void write_failure_note(const std::string& dir, const std::string& command, const std::string& why,
                        const std::string& hint) {
  std::string line = why;
  const auto nl = line.find('\n');
  if (nl != std::string::npos) line.resize(nl);
  std::string text = "dalnas " + command + " failed at " + timestamp() + ": " + line + "\n";
  if (!hint.empty()) text += hint + "\n";
  try {
    write_file_atomic((fs::path(dir) / kFailedNote).string(), text);
  } catch (const std::exception&) {
    // The error being reported matters more than this note.
  }
}

void write_into(const std::string& dir, const std::string& command,
                const std::function<void()>& write) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw Error(dir + ": is a file, not a folder for the outputs");
  const bool existed = fs::exists(dir, ec);
  if (!existed) {
    fs::create_directories(dir, ec);
    if (ec) throw Error(dir + ": cannot create the folder (" + ec.message() + ")");
  } else {
    remove_stale_temp_files(dir, false);  // of an earlier run killed while writing here
  }
  try {
    write();
  } catch (const std::exception& e) {
    if (existed) {
      write_failure_note(dir, command, e.what());
    } else {
      fs::remove_all(dir, ec);
    }
    throw;
  }
  fs::remove(fs::path(dir) / kFailedNote, ec);
}

}  // namespace dalnas::cli
