#pragma once
// Output folders of the commands: everything that can be checked is checked before a folder
// is created, and a command that fails after creating one leaves either no new folder or one
// that says it failed (FAILED.txt). docs/reliability.md lists what each command does.
#include <functional>
#include <string>

namespace dalnas::cli {

constexpr const char* kFailedNote = "FAILED.txt";

// Writes <dir>/FAILED.txt: "dalnas <command> failed at <local time>: <why>" (first line of
// `why`), then `hint` on a line of its own when given. Never throws (a note that cannot be
// written must not hide the error it reports).
void write_failure_note(const std::string& dir, const std::string& command, const std::string& why,
                        const std::string& hint = "");

// Creates `dir` when missing and runs `write`, which fills it. When `write` throws, a folder
// this call created is removed with what was written (no new folder is left behind), and a
// folder that existed gets FAILED.txt; the exception then goes on. Success removes a
// FAILED.txt left by an earlier failure. Throws dalnas::Error naming `dir` when it is a file
// or cannot be created.
void write_into(const std::string& dir, const std::string& command,
                const std::function<void()>& write);

}  // namespace dalnas::cli
