#pragma once
// The messages of the finalists' retrainings spread over MPI workers (`dalnas search
// --evaluator mpi` with [evaluation] final_candidates > 1), as JSON text like the search's
// (dist/messages.h): a job is one retraining, CandidateEvaluator::train_final of one genome
// with one seed offset into one folder of the run (the run folder is on a file system every
// node shares, docs/scale.md); its result is train_final's metrics, or why it failed.
//
// Malformed messages throw dalnas::Error "final job message: ..." / "final result
// message: ...".
#include <nlohmann/json.hpp>
#include <string>

namespace dalnas::dist {

struct FinalJob {
  nlohmann::json config;  // SearchConfig::to_json() of the search
  std::string run_dir;    // the search's run folder
  std::string genome;
  std::string dir;  // where the retraining is saved (model.ckpt; metrics are the result)
  int seed_offset = 0;
  bool fp32_twin = false;  // train_final's FP32 twin (the winner's, for post-training conversion)
};

struct FinalJobResult {
  nlohmann::json metrics;  // train_final's result (null on failure)
  std::string error;       // non-empty: the retraining failed on the worker
  int worker = 0;
  double seconds = 0;
};

std::string encode_final_job(const FinalJob& job);
FinalJob decode_final_job(const std::string& text);
std::string encode_final_result(const FinalJobResult& r);
FinalJobResult decode_final_result(const std::string& text);
// Whether a job message is a finalist's retraining (its "kind"), without decoding the rest.
bool is_final_job(const std::string& text);

}  // namespace dalnas::dist
