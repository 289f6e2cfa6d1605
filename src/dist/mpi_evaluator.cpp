#include "dist/mpi_evaluator.h"

#include <filesystem>

#include "core/error.h"
#include "dist/messages.h"
#include "dist/mpi_transport.h"
#include "search/classified_evaluation.h"

namespace dalnas::dist {

MpiEvaluator::MpiEvaluator(MpiSession& session, const SearchConfig& cfg, const std::string& run_dir)
    : session_(session),
      config_(cfg.to_json()),
      run_dir_(std::filesystem::absolute(run_dir).string()) {
  if (!session.root()) throw Error("--evaluator mpi: the evaluator runs on rank 0 only");
  if (session.size() < 2)
    throw Error(
        "--evaluator mpi: needs at least 2 ranks (rank 0 searches, the others "
        "evaluate); start it with mpirun -np N, N >= 2");
  for (int r = session.size() - 1; r >= 1; --r) idle_.push_back(r);
}

MpiEvaluator::~MpiEvaluator() {
  try {
    while (!busy_.empty()) {
      const Message m = receive(-1, kTagResult);
      busy_.erase(m.source);
    }
  } catch (...) {
  }
}

int MpiEvaluator::workers() const {
  return session_.workers();
}

int MpiEvaluator::idle() const {
  return static_cast<int>(idle_.size());
}

void MpiEvaluator::submit(const Candidate& c, const std::vector<EvaluationRecord>& history) {
  if (idle_.empty()) throw std::logic_error("MpiEvaluator::submit: no idle worker");
  Job job;
  job.config = config_;
  job.run_dir = run_dir_;
  job.candidate = c;
  job.history = compact_history(c, history);
  const std::string text = encode_job(job);
  const int rank = idle_.back();
  send(rank, kTagJob, text);
  idle_.pop_back();
  busy_[rank] = c.id;
  last_job_bytes_ = text.size();
}

std::pair<uint64_t, EvalOutcome> MpiEvaluator::wait() {
  if (busy_.empty()) throw std::logic_error("MpiEvaluator::wait: nothing in flight");
  const Message m = receive(-1, kTagResult);
  auto it = busy_.find(m.source);
  if (it == busy_.end())
    throw Error("--evaluator mpi: a result from rank " + std::to_string(m.source) +
                ", which has no job");
  const uint64_t expected = it->second;
  busy_.erase(it);
  idle_.push_back(m.source);
  JobResult r = decode_result(m.body);
  if (r.candidate_id != expected)
    throw Error("--evaluator mpi: rank " + std::to_string(m.source) + " answered candidate " +
                std::to_string(r.candidate_id) + " instead of " + std::to_string(expected));
  if (!r.bug.empty())
    throw EvaluationBug(r.candidate_id, r.bug + " (on rank " + std::to_string(m.source) + ")");
  r.outcome.metrics["worker"] = r.worker;
  return {r.candidate_id, std::move(r.outcome)};
}

}  // namespace dalnas::dist
