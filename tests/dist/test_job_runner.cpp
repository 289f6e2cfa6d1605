// JobRunner: a worker's handling of one job, without MPI.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "cli/tiny_search.h"
#include "core/config_file.h"
#include "dist/final_jobs.h"
#include "dist/job_runner.h"
#include "dist/messages.h"
#include "eval/candidate_evaluator.h"
#include "temp_dir.h"

namespace dalnas::dist {
namespace {

SearchConfig tiny_config(const std::string& dir) {
  const std::string path = dir + "/tiny.toml";
  std::ofstream(path) << test::kTinySearch;
  SearchConfig cfg = SearchConfig::from_json(load_config_file(path), path);
  cfg.evaluation.multi_fidelity = false;
  cfg.evaluation.inheritance = false;
  return cfg;
}

Job job_for(const SearchConfig& cfg, const std::string& run_dir, uint64_t id) {
  Job job;
  job.config = cfg.to_json();
  job.run_dir = run_dir;
  job.candidate.id = id;
  job.candidate.genome =
      Genome::parse("ConvBnAct-8-k3-relu_max_ConvAct-16-k3-relu_max_ConvBnAct-8-k3-relu_dec-8");
  job.candidate.origin = "random";
  return job;
}

TEST(JobRunner, AJobGivesTheLocalEvaluatorsResult) {
  test_util::TempDir d("jobs");
  const SearchConfig cfg = tiny_config(d.path.string());
  JobRunner runner(2);
  const Job job = job_for(cfg, d.path.string(), 5);
  const JobResult r = decode_result(runner.run(encode_job(job)));
  EXPECT_EQ(r.candidate_id, 5u);
  EXPECT_EQ(r.worker, 2);
  EXPECT_GT(r.seconds, 0.0);
  ASSERT_EQ(r.outcome.status, EvalStatus::Ok) << r.outcome.reason;
  CandidateEvaluator local(cfg, d.path.string());
  const EvalOutcome o = local.evaluate(job.candidate, {});
  EXPECT_EQ(r.outcome.seed, o.seed);
  EXPECT_EQ(r.outcome.metrics.at("miou"), o.metrics.at("miou"));
  EXPECT_EQ(r.outcome.metrics.at("latency_ms"), o.metrics.at("latency_ms"));
  // The next job of the same search reuses the loaded data (and gives the same result).
  const JobResult again = decode_result(runner.run(encode_job(job)));
  EXPECT_EQ(again.outcome.metrics.at("miou"), o.metrics.at("miou"));
  // A job with a seed salt trains as the local evaluator with that salt (another seed),
  // and the next job without one is the search's own again.
  Job salted = job;
  salted.training_seed_salt = 2;
  const JobResult s = decode_result(runner.run(encode_job(salted)));
  local.training_seed_salt = 2;
  const EvalOutcome ls = local.evaluate(job.candidate, {});
  EXPECT_EQ(s.outcome.seed, ls.seed);
  EXPECT_NE(s.outcome.seed, o.seed);
  EXPECT_EQ(s.outcome.metrics.at("miou"), ls.metrics.at("miou"));
  EXPECT_EQ(decode_result(runner.run(encode_job(job))).outcome.seed, o.seed);
}

TEST(JobRunner, FailuresComeBackAsResultsNamingTheWorker) {
  test_util::TempDir d("jobs");
  SearchConfig cfg = tiny_config(d.path.string());
  JobRunner runner(4);
  // An evaluation that throws (the test hook).
  ::setenv("DALNAS_TEST_FAIL_CANDIDATE", "9", 1);
  const JobResult thrown = decode_result(runner.run(encode_job(job_for(cfg, d.path.string(), 9))));
  ::unsetenv("DALNAS_TEST_FAIL_CANDIDATE");
  EXPECT_EQ(thrown.candidate_id, 9u);
  EXPECT_EQ(thrown.outcome.status, EvalStatus::Failed);
  EXPECT_NE(thrown.outcome.reason.find("worker 4: injected failure of candidate 9"),
            std::string::npos)
      << thrown.outcome.reason;
  // Data the worker cannot load.
  cfg.train["data"] = d.path.string() + "/no-such-data";
  const JobResult nodata = decode_result(runner.run(encode_job(job_for(cfg, d.path.string(), 10))));
  EXPECT_EQ(nodata.candidate_id, 10u);
  EXPECT_EQ(nodata.outcome.status, EvalStatus::Failed);
  EXPECT_NE(nodata.outcome.reason.find("worker 4: "), std::string::npos);
  EXPECT_NE(nodata.outcome.reason.find("no-such-data"), std::string::npos) << nodata.outcome.reason;
  // A malformed job.
  const JobResult bad =
      decode_result(runner.run("{\"kind\":\"candidate\",\"candidate\":{\"id\":11}}"));
  EXPECT_EQ(bad.candidate_id, 11u);
  EXPECT_EQ(bad.outcome.status, EvalStatus::Failed);
  EXPECT_NE(bad.outcome.reason.find("job message"), std::string::npos) << bad.outcome.reason;
}

// A finalist's retraining (dist/final_jobs.h): the local train_final's metrics and files.
TEST(JobRunner, AFinalJobRetrainsLikeTheLocalEvaluator) {
  test_util::TempDir d("jobs");
  SearchConfig cfg = tiny_config(d.path.string());
  cfg.evaluation.final_epochs = 1;
  JobRunner runner(3);
  FinalJob job;
  job.config = cfg.to_json();
  job.run_dir = d.path.string();
  job.genome = "ConvBnAct-8-k3-relu_max_ConvAct-16-k3-relu_max_ConvBnAct-8-k3-relu_dec-8";
  job.dir = d.path.string() + "/finalists/1/4";
  job.seed_offset = 1;
  const FinalJobResult r = decode_final_result(runner.run(encode_final_job(job)));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.worker, 3);
  EXPECT_TRUE(std::filesystem::exists(job.dir + "/model.ckpt"));
  CandidateEvaluator local(cfg, d.path.string());
  const auto m =
      local.train_final(Genome::parse(job.genome), d.path.string() + "/local", {}, false, 1);
  EXPECT_EQ(r.metrics["seed"], m["seed"]);
  EXPECT_EQ(r.metrics["device_val"], m["device_val"]);
  EXPECT_EQ(r.metrics["device_test"], m["device_test"]);
  // A genome that does not parse comes back as the retraining's error.
  job.genome = "NoSuchBlock-8";
  const FinalJobResult bad = decode_final_result(runner.run(encode_final_job(job)));
  EXPECT_TRUE(bad.metrics.is_null());
  EXPECT_NE(bad.error.find("genome"), std::string::npos) << bad.error;
}

}  // namespace
}  // namespace dalnas::dist
