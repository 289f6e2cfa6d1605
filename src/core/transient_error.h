#pragma once
// dalnas::TransientError: a failure that may not happen again when the same thing is tried
// later (an external device that timed out, a measurement that did not come back). A
// search records such a candidate as a transient failure and evaluates it again on resume
// (docs/reliability.md); everywhere else it is a dalnas::Error like any other.
#include <string>

#include "core/error.h"

namespace dalnas {

class TransientError : public Error {
 public:
  explicit TransientError(const std::string& message) : Error(message) {}
};

}  // namespace dalnas
