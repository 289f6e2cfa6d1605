#pragma once
// The messages of a census spread over MPI workers (`dalnas compare --genomes N --evaluator
// mpi`), as JSON text like the search's (dist/messages.h). A census job is one unit of the
// census (eval/census.h: a genome and the pipelines that share its trained networks) with
// the census's whole options, so a worker needs no files but the data at the path the
// options name; its result is that unit's cells, or why the unit failed on the worker.
//
// Malformed messages throw dalnas::Error "census job message: ..." / "census result
// message: ...".
#include <string>
#include <vector>

#include "eval/census.h"

namespace dalnas::dist {

struct CensusJob {
  CensusOptions options;  // the census's (all genomes; the unit says which to run)
  CensusUnit unit;
};

struct CensusJobResult {
  std::vector<CensusCell> cells;
  std::vector<std::string> test_scenes;  // the scenes the cells were scored on
  std::string error;   // non-empty: the unit failed as a whole on the worker (no cells)
  int worker = 0;      // the rank that ran it
  double seconds = 0;  // the worker's wall time for the unit
};

std::string encode_census_job(const CensusJob& job);
CensusJob decode_census_job(const std::string& text);
std::string encode_census_result(const CensusJobResult& result);
CensusJobResult decode_census_result(const std::string& text);

// Whether a job message is a census job (its "kind"), without decoding the rest.
bool is_census_job(const std::string& text);

// What a worker does with a census job: run_census() of that unit alone, which computes
// what the whole census computes for it. Throws what run_census throws.
CensusResult run_census_unit(const CensusJob& job);

}  // namespace dalnas::dist
