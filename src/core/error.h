#pragma once
// dalnas::Error: a user-facing failure (bad input, bad option, unreadable file).
// Its message is one line that names the file or field and what is wrong; the CLI
// prints it as `dalnas: error: <message>` and exits non-zero. Programming errors
// use assertions or std::logic_error instead.
//
// dalnas::TransientError: a failure that may not happen again when the same thing is
// tried later (an external device that timed out, a measurement that did not come back).
// A search records such a candidate as a transient failure and evaluates it again on
// resume (docs/reliability.md); everywhere else it is an Error like any other.
#include <stdexcept>
#include <string>

namespace dalnas {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

class TransientError : public Error {
 public:
  explicit TransientError(const std::string& message) : Error(message) {}
};

}  // namespace dalnas
