#pragma once
// The messages between rank 0 and the workers of a distributed search, as JSON text (the
// transport, dist/mpi_transport.h, only moves strings; no tensors travel: every worker
// loads the data itself from the path in the configuration).
//
// A job carries everything a worker needs to evaluate one candidate: the search's whole
// configuration (SearchConfig::to_json(), so a worker needs no config file and can serve
// successive searches), the run folder (candidates' checkpoints, for inheritance: a shared
// file system), the candidate and the slice of the run's history the evaluator reads.
// A result carries the candidate id and its EvalOutcome, failures included.
//
// Malformed messages throw dalnas::Error "job message: ..." / "result message: ...".
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "search/evaluator.h"

namespace dalnas::dist {

struct Job {
  nlohmann::json config;  // SearchConfig::to_json()
  std::string run_dir;
  Candidate candidate;
  std::vector<EvaluationRecord> history;  // compact_history()
  // CandidateEvaluator::training_seed_salt for this evaluation (a re-scoring fold's
  // independent training, cli/search_rescore.h); 0 (not sent): the search's own seeds.
  uint64_t training_seed_salt = 0;
};

struct JobResult {
  uint64_t candidate_id = 0;
  EvalOutcome outcome;
  int worker = 0;      // the rank that evaluated it
  double seconds = 0;  // the worker's wall time for the job
  // Non-empty: the evaluation met a programming error (search/classified_evaluation.h,
  // EvaluationBug::what()); the search stops, `outcome` is empty.
  std::string bug;
};

// A message's JSON object; throws dalnas::Error "<what>: not JSON (...)" / "not a JSON
// object" (shared by every kind of message: dist/census_jobs.h, dist/compare_jobs.h).
nlohmann::json parse_message(const std::string& text, const std::string& what);
// Whether `text` is a JSON object whose "kind" is `kind`, without decoding the rest (false
// for anything else, malformed text included): how a worker tells the kinds apart.
bool is_message_kind(const std::string& text, const std::string& kind);

std::string encode_job(const Job& job);
Job decode_job(const std::string& text);
std::string encode_result(const JobResult& result);
JobResult decode_result(const std::string& text);

// The part of `history` that CandidateEvaluator::evaluate reads: the records of `c`'s
// parents (weight inheritance: id, genome, status) and, of every record, the
// low-fidelity fitness, the rung scores (rung_fitness), the zero-cost scores (zero_cost:
// the pre-filter) and the reuse mark (promotion in either schedule). Records with none of these are
// left out; metrics are trimmed to them.
std::vector<EvaluationRecord> compact_history(const Candidate& c,
                                              const std::vector<EvaluationRecord>& history);

}  // namespace dalnas::dist
