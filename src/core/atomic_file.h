#pragma once
// Writes a whole file atomically: to "<path>.tmp-<pid>" in the same folder, then rename.
// Readers never see a half-written file; a failure leaves any previous file untouched.
#include <string>

namespace dalnas {

// Throws dalnas::Error "<path>: cannot write (<reason>)" on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);
// Reads a whole file; throws dalnas::Error "<path>: no such file" / "cannot read".
std::string read_file(const std::string& path);

}  // namespace dalnas
