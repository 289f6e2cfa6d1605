#pragma once
// What a run folder records about how it was made, and its report: the exact command
// (command.txt) and report.html written at the end of search, compare and the census
// (report/report.h). A report that cannot be written is a warning, never a lost run.
#include <string>

namespace dalnas::cli {

// The process's command line (set once by main), each argument shell-quoted when needed.
void set_command_line(int argc, char** argv);
const std::string& command_line();
// Writes <dir>/command.txt (the command line and a newline); with `append`, adds the line
// to what is there (a resumed search). Throws dalnas::Error naming the file.
void write_command_file(const std::string& dir, bool append = false);
// Writes <dir>/report.html; prints "report: <path>" (unless quiet) or, on failure,
// "dalnas: warning: report not written: <why>". Returns whether it was written.
bool write_report_after_run(const std::string& dir, bool quiet);

}  // namespace dalnas::cli
