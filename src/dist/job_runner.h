#pragma once
// JobRunner: what a worker does with a job message (dist/messages.h), without the
// transport. It keeps one CandidateEvaluator per search configuration and run folder, so
// a worker loads and prepares the data once per search (from the path in the
// configuration), and answers every job with a result message: an evaluation that throws,
// a configuration or data set the worker cannot load, or a malformed job all come back as
// a result with status failed and the reason ("worker N: ..."), never as an exception.
// A census job (dist/census_jobs.h) is answered with its unit's cells, a compare job
// (dist/compare_jobs.h) with its seed's result, or the reason either failed.
//
// Testing hook: when the environment variable DALNAS_TEST_FAIL_CANDIDATE holds a candidate
// id, the job of that candidate throws on the worker (as a crashing evaluation would), so
// that tests can check that such a failure is recorded and survived. Likewise
// DALNAS_TEST_FAIL_GENOME (a genome string) for the census jobs of that genome.
#include <memory>
#include <string>

namespace dalnas::dist {

class JobRunner {
 public:
  // `worker`: this worker's number (its MPI rank), named in failure reasons.
  explicit JobRunner(int worker);
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  // A job message in, a result message out. Never throws.
  std::string run(const std::string& job_message);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dalnas::dist
