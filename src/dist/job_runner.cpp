#include "dist/job_runner.h"

#include <cstdlib>
#include <stdexcept>

#include "core/error.h"
#include "core/genome.h"
#include "core/steady_clock.h"
#include "core/strings.h"
#include "core/transient_error.h"
#include "dist/census_jobs.h"
#include "dist/compare_jobs.h"
#include "dist/final_jobs.h"
#include "dist/messages.h"
#include "eval/candidate_evaluator.h"
#include "search/classified_evaluation.h"
#include "search/search_config.h"

namespace dalnas::dist {

namespace {

// The candidate id of a job message that does not decode, if it can be found (0: none).
uint64_t candidate_id_of(const std::string& text) {
  try {
    return nlohmann::json::parse(text).at("candidate").at("id").get<uint64_t>();
  } catch (const std::exception&) {
    return 0;
  }
}

// Test hook: DALNAS_TEST_FAIL_CANDIDATE=<id>[:transient|:bug] makes that candidate's
// evaluation throw dalnas::Error (a failed candidate), dalnas::TransientError (a transient
// failure) or std::logic_error (a programming error, which stops the search).
void maybe_inject_failure(uint64_t id) {
  const char* v = std::getenv("DALNAS_TEST_FAIL_CANDIDATE");
  if (!v || !*v) return;
  char* end = nullptr;
  if (std::strtoull(v, &end, 10) != id) return;
  const std::string kind = end ? end : "";
  const std::string what =
      "injected failure of candidate " + std::to_string(id) + " (DALNAS_TEST_FAIL_CANDIDATE)";
  if (kind == ":transient") throw TransientError(what);
  if (kind == ":bug") throw std::logic_error(what);
  throw Error(what);
}

// The worker's evaluator with the test hook in front of it, so that what the hook throws
// is classified like what the evaluator throws.
struct HookedEvaluator : Evaluator {
  explicit HookedEvaluator(Evaluator& inner) : inner(inner) {}
  EvalOutcome evaluate(const Candidate& c, const std::vector<EvaluationRecord>& h) override {
    maybe_inject_failure(c.id);
    return inner.evaluate(c, h);
  }
  Evaluator& inner;
};

void maybe_inject_census_failure(const CensusJob& job) {
  const char* v = std::getenv("DALNAS_TEST_FAIL_GENOME");
  if (v && *v && job.unit.genome == v)
    throw std::runtime_error("injected failure of genome " + job.unit.genome +
                             " (DALNAS_TEST_FAIL_GENOME)");
}

}  // namespace

struct JobRunner::Impl {
  int worker = 0;
  std::string key;  // the cached evaluator's configuration and run folder
  std::unique_ptr<CandidateEvaluator> evaluator;
  int transient_retries = 0;

  CandidateEvaluator& evaluator_for(const nlohmann::json& config, const std::string& run_dir) {
    const std::string k = config.dump() + "\n" + run_dir;
    if (!evaluator || k != key) {
      evaluator.reset();
      key.clear();
      const SearchConfig cfg = SearchConfig::from_json(config, "job config");
      evaluator = std::make_unique<CandidateEvaluator>(cfg, run_dir);
      transient_retries = cfg.transient_retries;
      key = k;
    }
    return *evaluator;
  }
};

JobRunner::JobRunner(int worker) : impl_(std::make_unique<Impl>()) {
  impl_->worker = worker;
}

JobRunner::~JobRunner() = default;

std::string JobRunner::run(const std::string& job_message) {
  const double t0 = steady_now_s();
  if (is_compare_job(job_message)) {
    CompareJobResult c;
    c.worker = impl_->worker;
    try {
      c.result = run_compare(decode_compare_job(job_message)).to_json();
    } catch (const std::exception& e) {
      c.result = nullptr;
      c.error = first_line(e.what());
    }
    c.seconds = steady_now_s() - t0;
    return encode_compare_result(c);
  }
  if (is_final_job(job_message)) {  // a finalist's retraining (dist/final_jobs.h)
    FinalJobResult f;
    f.worker = impl_->worker;
    try {
      const FinalJob job = decode_final_job(job_message);
      f.metrics =
          impl_->evaluator_for(job.config, job.run_dir)
              .train_final(Genome::parse(job.genome), job.dir, {}, job.fp32_twin, job.seed_offset);
    } catch (const std::exception& e) {
      f.metrics = nullptr;
      f.error = first_line(e.what());
    }
    f.seconds = steady_now_s() - t0;
    return encode_final_result(f);
  }
  if (is_census_job(job_message)) {
    CensusJobResult c;
    c.worker = impl_->worker;
    try {
      const CensusJob job = decode_census_job(job_message);
      maybe_inject_census_failure(job);
      const CensusResult r = run_census_unit(job);
      c.cells = r.cells;
      c.test_scenes = r.test_scenes;
    } catch (const std::exception& e) {
      c.cells.clear();
      c.error = first_line(e.what());
    }
    c.seconds = steady_now_s() - t0;
    return encode_census_result(c);
  }
  JobResult r;
  r.worker = impl_->worker;
  try {
    r.candidate_id = candidate_id_of(job_message);
    const Job job = decode_job(job_message);
    r.candidate_id = job.candidate.id;
    CandidateEvaluator& base = impl_->evaluator_for(job.config, job.run_dir);
    base.training_seed_salt = job.training_seed_salt;
    HookedEvaluator ev(base);
    // Classified as run_search does it: failures (transient ones marked) are results, a
    // programming error is sent as such and stops the search on rank 0.
    r.outcome = evaluate_classified(ev, job.candidate, job.history, impl_->transient_retries);
    if (r.outcome.status == EvalStatus::Failed)
      r.outcome.reason = "worker " + std::to_string(impl_->worker) + ": " + r.outcome.reason;
  } catch (const EvaluationBug& e) {
    r.outcome = EvalOutcome();
    r.bug = e.what();
  } catch (const std::exception& e) {  // the job itself: a bad message, a worker set-up error
    r.outcome = EvalOutcome();
    r.outcome.status = EvalStatus::Failed;
    r.outcome.reason = "worker " + std::to_string(impl_->worker) + ": " + first_line(e.what());
  }
  r.seconds = steady_now_s() - t0;
  return encode_result(r);
}

}  // namespace dalnas::dist
