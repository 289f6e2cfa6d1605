#pragma once
// Writes a whole file atomically and durably: to "<path>.tmp-<pid>" in the same folder,
// fsync of the file, rename over <path>, fsync of the folder. Readers never see a
// half-written file; a failure leaves any previous file untouched; after return the new
// contents survive a power loss (as the journal's synchronous = FULL commits do).
//
// A process killed between writing and renaming leaves its "<name>.tmp-<pid>" behind;
// remove_stale_temp_files() clears those (a search calls it on start and on resume, with
// the run folder locked).
#include <string>

namespace dalnas {

// Throws dalnas::Error "<path>: cannot write (<reason>)" on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);
// Reads a whole file; throws dalnas::Error "<path>: no such file" / "cannot read".
std::string read_file(const std::string& path);

// fsync of a folder (after a rename or a new file in it); throws dalnas::Error naming it.
void fsync_folder(const std::string& dir);

// True for a name of write_file_atomic's temporary pattern: "<something>.tmp-<digits>".
bool is_atomic_temp_name(const std::string& filename);
// Removes the temporary files of write_file_atomic under `dir` (and its sub-folders when
// `recursive`) whose writing process is gone; returns how many were removed. A file whose
// pid is a running process other than this one is kept (it may be writing); one with this
// process's pid is removed (call it before this process writes there). Missing `dir`: 0.
int remove_stale_temp_files(const std::string& dir, bool recursive = true);

}  // namespace dalnas
