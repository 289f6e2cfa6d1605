#pragma once
// The messages of a comparison spread over MPI workers (`dalnas compare --seeds N
// --evaluator mpi`), as JSON text like the search's (dist/messages.h): a job is one seed of
// the comparison (the whole options with seeds = 1 and first_seed = that seed's offset); its
// result is that seed's CompareResult (compare.json of one seed), or why it failed.
//
// Malformed messages throw dalnas::Error "compare job message: ..." / "compare result
// message: ...".
#include <string>

#include "eval/compare.h"

namespace dalnas::dist {

struct CompareJobResult {
  nlohmann::json result;  // CompareResult::to_json() of the seed (null on failure)
  std::string error;      // non-empty: the seed failed on the worker
  int worker = 0;
  double seconds = 0;
};

std::string encode_compare_job(const CompareOptions& one_seed);
CompareOptions decode_compare_job(const std::string& text);
std::string encode_compare_result(const CompareJobResult& r);
CompareJobResult decode_compare_result(const std::string& text);
// Whether a job message is a compare job (its "kind"), without decoding the rest.
bool is_compare_job(const std::string& text);

}  // namespace dalnas::dist
