#include "search/classified_evaluation.h"

#include <cxxabi.h>

#include <cstdlib>
#include <new>
#include <typeinfo>

#include "core/error.h"
#include "core/strings.h"
#include "core/transient_error.h"

namespace dalnas {

namespace {

std::string type_name(const std::exception& e) {
  int status = 0;
  char* d = abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, &status);
  std::string n = status == 0 && d ? d : typeid(e).name();
  std::free(d);
  return n;
}

}  // namespace

bool classify_failure(std::exception_ptr e, EvalOutcome& o) {
  try {
    std::rethrow_exception(e);
  } catch (const TransientError& x) {
    o.status = EvalStatus::Failed;
    o.reason = first_line(x.what());
    o.transient = true;
  } catch (const Error& x) {
    o.status = EvalStatus::Failed;
    o.reason = first_line(x.what());
    o.transient = false;
  } catch (const std::bad_alloc&) {
    o.status = EvalStatus::Failed;
    o.reason = "out of memory (std::bad_alloc)";
    o.transient = true;
  } catch (...) {
    return false;
  }
  return true;
}

EvalOutcome evaluate_classified(Evaluator& evaluator, const Candidate& c,
                                const std::vector<EvaluationRecord>& history, int retries) {
  EvalOutcome o;
  for (int attempt = 0;; ++attempt) {
    o = EvalOutcome{};
    try {
      o = evaluator.evaluate(c, history);
    } catch (const std::exception& e) {
      if (!classify_failure(std::current_exception(), o))
        throw EvaluationBug(c.id, type_name(e) + ": " + first_line(e.what()));
    }
    if (o.status != EvalStatus::Failed || !o.transient || attempt >= retries) break;
  }
  if (o.status != EvalStatus::Failed) o.transient = false;
  return o;
}

std::string evaluation_bug_message(const Candidate& c, const std::string& bug,
                                   size_t journal_rows) {
  return "search: candidate " + std::to_string(c.id) + " (" + c.genome.str() +
         "): internal error " + bug +
         "; this is a bug in dalnas, please report it (the journal keeps the " +
         std::to_string(journal_rows) + " evaluations before it; --resume continues from there)";
}

}  // namespace dalnas
