#pragma once
// dalnas::Error: a user-facing failure (bad input, bad option, unreadable file).
// Its message is one line that names the file or field and what is wrong; the CLI
// prints it as `dalnas: error: <message>` and exits non-zero. Programming errors
// use assertions or std::logic_error instead.
#include <stdexcept>
#include <string>

namespace dalnas {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace dalnas
