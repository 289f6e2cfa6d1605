// Job and result messages: round trips, the history slice a worker receives, bad input.
#include <gtest/gtest.h>

#include "core/error.h"
#include "dist/messages.h"

namespace dalnas::dist {
namespace {

Candidate candidate(uint64_t id, std::vector<uint64_t> parents) {
  Candidate c;
  c.id = id;
  c.genome =
      Genome::parse("ConvBnAct-8-k3-relu_max_ConvAct-16-k5-relu6_max_MBConv-8-k3-e4-relu_dec-8");
  c.generation = 2;
  c.parents = std::move(parents);
  c.origin = "crossover";
  return c;
}

EvaluationRecord record(uint64_t id, nlohmann::json metrics, EvalStatus st = EvalStatus::Ok) {
  EvaluationRecord r;
  r.candidate_id = id;
  r.genome = "ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_dec-8";
  r.status = st;
  r.metrics = std::move(metrics);
  return r;
}

TEST(Messages, AJobRoundTripsWithEverythingAWorkerNeeds) {
  Job job;
  job.config = {{"search", {{"seed", 3}}}, {"train", {{"data", "synthetic"}}}};
  job.run_dir = "/runs/a";
  job.candidate = candidate(7, {3, 5});
  job.history = {record(3, {{"fitness_low", 0.25}})};
  const Job back = decode_job(encode_job(job));
  EXPECT_EQ(back.config, job.config);
  EXPECT_EQ(back.run_dir, "/runs/a");
  EXPECT_EQ(back.candidate.id, 7u);
  EXPECT_EQ(back.candidate.genome.str(), job.candidate.genome.str());
  EXPECT_EQ(back.candidate.parents, (std::vector<uint64_t>{3, 5}));
  EXPECT_EQ(back.candidate.generation, 2);
  EXPECT_EQ(back.candidate.origin, "crossover");
  ASSERT_EQ(back.history.size(), 1u);
  EXPECT_EQ(back.history[0].candidate_id, 3u);
  EXPECT_EQ(back.history[0].genome, job.history[0].genome);
  EXPECT_EQ(back.history[0].metrics.at("fitness_low"), 0.25);
  EXPECT_EQ(back.training_seed_salt, 0u);
  // A re-scoring fold's salt travels; without one the message is as before (no key).
  EXPECT_EQ(encode_job(job).find("training_seed_salt"), std::string::npos);
  job.training_seed_salt = 3;
  EXPECT_EQ(decode_job(encode_job(job)).training_seed_salt, 3u);
}

TEST(Messages, AResultRoundTripsFailuresIncluded) {
  JobResult r;
  r.candidate_id = 12;
  r.worker = 3;
  r.seconds = 1.5;
  r.outcome.status = EvalStatus::Failed;
  r.outcome.reason = "worker 3: diverged";
  r.outcome.metrics = {{"params", 1234}};
  r.outcome.seed = 0x7fffffffffffffffULL;
  const JobResult b = decode_result(encode_result(r));
  EXPECT_EQ(b.candidate_id, 12u);
  EXPECT_EQ(b.worker, 3);
  EXPECT_EQ(b.seconds, 1.5);
  EXPECT_EQ(b.outcome.status, EvalStatus::Failed);
  EXPECT_EQ(b.outcome.reason, "worker 3: diverged");
  EXPECT_EQ(b.outcome.metrics, r.outcome.metrics);
  EXPECT_EQ(b.outcome.seed, r.outcome.seed);
  EXPECT_FALSE(b.outcome.transient);
  EXPECT_TRUE(b.bug.empty());
  // A transient failure stays transient; a programming error travels as such.
  r.outcome.transient = true;
  EXPECT_TRUE(decode_result(encode_result(r)).outcome.transient);
  r.bug = "std::out_of_range: map::at";
  EXPECT_EQ(decode_result(encode_result(r)).bug, "std::out_of_range: map::at");
}

TEST(Messages, TheHistorySliceHoldsParentsAndLowFidelityResultsOnly) {
  const std::vector<EvaluationRecord> history = {
      record(1, {{"miou", 0.5}, {"fitness_low", 0.3}, {"train_s", 2.0}}),
      record(2, {{"miou", 0.6}}),                      // neither: left out
      record(3, {{"miou", 0.7}}, EvalStatus::Failed),  // a parent
      record(4, {{"fitness_low", 0.4}, {"reused_from", 1}}),
  };
  const auto h = compact_history(candidate(9, {3}), history);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].candidate_id, 1u);
  EXPECT_EQ(h[0].metrics, (nlohmann::json{{"fitness_low", 0.3}}));
  EXPECT_TRUE(h[0].genome.empty()) << "only parents carry their genome";
  EXPECT_EQ(h[1].candidate_id, 3u);
  EXPECT_EQ(h[1].status, EvalStatus::Failed);
  EXPECT_EQ(h[1].genome, history[2].genome);
  EXPECT_EQ(h[2].metrics, (nlohmann::json{{"fitness_low", 0.4}, {"reused_from", 1}}));
}

TEST(Messages, TheHistorySliceCarriesRungScores) {
  const std::vector<EvaluationRecord> history = {
      record(1, {{"miou", 0.5}, {"rung_fitness", {0.2, 0.3}}, {"rung_miou", {0.1, 0.2}}}),
      record(2, {{"miou", 0.6}}),
  };
  const auto h = compact_history(candidate(9, {}), history);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].metrics, (nlohmann::json{{"rung_fitness", {0.2, 0.3}}}))
      << "what rung promotion reads (search/rungs.h), nothing else";
}

TEST(Messages, TheHistorySliceCarriesZeroCostScores) {
  const std::vector<EvaluationRecord> history = {
      record(1, {{"miou", 0.5}, {"zero_cost", {{"naswot", 12.5}}}}),
      record(2, {{"latency_ms", 3.0}}),
  };
  const auto h = compact_history(candidate(9, {}), history);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].metrics, (nlohmann::json{{"zero_cost", {{"naswot", 12.5}}}}))
      << "what the pre-filter reads (search/prefilter.h)";
}

TEST(Messages, MalformedMessagesThrowNamingTheMessage) {
  for (const std::string bad : {"", "[1,2]", "{\"kind\":\"cell\"}", "{\"kind\":\"candidate\"}"}) {
    try {
      decode_job(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("job message: ", 0), 0u) << e.what();
    }
  }
  try {
    decode_result("{\"candidate_id\":1,\"outcome\":{\"status\":\"fine\"}}");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("result message: ", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace dalnas::dist
