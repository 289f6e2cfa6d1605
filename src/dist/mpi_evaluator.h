#pragma once
// MpiEvaluator: the AsyncEvaluator of `dalnas search --evaluator mpi`, on rank 0. Ranks
// 1..N-1 are the workers (dist/mpi_worker.h); each gets one candidate at a time as a job
// message (dist/messages.h: the search's configuration, the run folder, the candidate
// and its slice of the history) and answers with a result message.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dist/mpi_session.h"
#include "search/async_evaluator.h"
#include "search/search_config.h"

namespace dalnas::dist {

class MpiEvaluator : public AsyncEvaluator {
 public:
  // On rank 0 of a session with at least 2 ranks (else dalnas::Error). `run_dir` is made
  // absolute: workers write candidates' checkpoints there (a shared file system).
  MpiEvaluator(MpiSession& session, const SearchConfig& cfg, const std::string& run_dir);
  // Waits for the candidates still in flight and discards their results, so that every
  // worker is idle again (and can be stopped or given another search's jobs).
  ~MpiEvaluator() override;

  int workers() const override;
  int idle() const override;
  void submit(const Candidate& c, const std::vector<EvaluationRecord>& history) override;
  std::pair<uint64_t, EvalOutcome> wait() override;

  // Bytes of the last job message sent (for docs/scale.md's figures).
  size_t last_job_bytes() const { return last_job_bytes_; }

 private:
  MpiSession& session_;
  nlohmann::json config_;
  std::string run_dir_;
  std::vector<int> idle_;         // ranks, the lowest last (taken from the back)
  std::map<int, uint64_t> busy_;  // rank -> candidate id
  size_t last_job_bytes_ = 0;
};

}  // namespace dalnas::dist
