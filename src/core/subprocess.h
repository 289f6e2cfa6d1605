#pragma once
// Running external commands (device benchmark tools, user hooks) with a timeout, and
// filling {placeholders} of a command template with shell-quoted values.
#include <map>
#include <string>

namespace dalnas {

struct ProcessResult {
  int exit_code = -1;      // the exit status; 128 + signal when killed by a signal
  bool timed_out = false;  // killed because it ran past the timeout
  // stdout and stderr together, in the order written. Capped at 4 MiB: beyond that the first
  // and the last 2 MiB are kept with a "[... N bytes left out ...]" line between them.
  std::string output;
  double seconds = 0;  // wall time from start to exit
};

// Runs `command` with /bin/sh -c, in `cwd` when not empty, stdin from /dev/null, in a
// process group of its own. When it runs past `timeout_s` (<= 0: no limit) the whole
// group gets SIGTERM, then SIGKILL 0.5 s later if anything is left. Returns when the shell
// has exited (background processes it started are not waited for). Never throws for a
// failing command; throws dalnas::Error only when the process cannot be started (e.g. `cwd`
// is not a folder, no pipe or process can be created).
ProcessResult run_command(const std::string& command, double timeout_s,
                          const std::string& cwd = "");

// Replaces every {key} (key: letters, digits, '_', not starting with a digit) by the value,
// quoted for /bin/sh with single quotes (so spaces and quotes in paths are safe). "{{" gives
// a literal "{" (so "{{onnx}" is the text {onnx}); every other brace (JSON, awk '{print $1}',
// shell ${VAR}) is left as it is. An unknown key throws dalnas::Error naming it and the
// known keys.
std::string expand_placeholders(const std::string& tmpl,
                                const std::map<std::string, std::string>& values);

// `s` single-quoted for /bin/sh: 'it'\''s'.
std::string shell_quote(const std::string& s);

}  // namespace dalnas
