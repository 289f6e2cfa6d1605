// The finalists' retraining messages between rank 0 and the workers (dist/final_jobs.h).
#include <gtest/gtest.h>

#include "core/error.h"
#include "dist/final_jobs.h"

namespace dalnas::dist {
namespace {

FinalJob job() {
  FinalJob j;
  j.config = {{"search", {{"seed", 3}}}};
  j.run_dir = "/runs/r";
  j.genome = "ConvBnAct-8-k3-relu_max_ConvAct-16-k3-relu_max_ConvBnAct-8-k3-relu_dec-8";
  j.dir = "/runs/r/finalists/7/4";
  j.seed_offset = 1;
  return j;
}

TEST(FinalJobs, JobAndResultRoundTrip) {
  const std::string text = encode_final_job(job());
  EXPECT_TRUE(is_final_job(text));
  const FinalJob back = decode_final_job(text);
  EXPECT_EQ(back.config, job().config);
  EXPECT_EQ(back.run_dir, "/runs/r");
  EXPECT_EQ(back.genome, job().genome);
  EXPECT_EQ(back.dir, "/runs/r/finalists/7/4");
  EXPECT_EQ(back.seed_offset, 1);
  EXPECT_FALSE(back.fp32_twin);
  FinalJob twin = job();
  twin.fp32_twin = true;  // the winner's FP32 twin
  EXPECT_TRUE(decode_final_job(encode_final_job(twin)).fp32_twin);
  // A message without the key (an older rank 0's) is a retraining, not a twin.
  auto older = nlohmann::json::parse(encode_final_job(twin));
  older.erase("fp32_twin");
  EXPECT_FALSE(decode_final_job(older.dump()).fp32_twin);

  FinalJobResult r;
  r.metrics = {{"seed", 4}, {"device_val", {{"miou", 0.5}}}};
  r.worker = 2;
  r.seconds = 3.5;
  const FinalJobResult rb = decode_final_result(encode_final_result(r));
  EXPECT_EQ(rb.metrics, r.metrics);
  EXPECT_EQ(rb.worker, 2);
  EXPECT_EQ(rb.seconds, 3.5);
  EXPECT_EQ(rb.error, "");
  FinalJobResult failed;
  failed.metrics = nullptr;
  failed.error = "worker 2: no such genome";
  EXPECT_EQ(decode_final_result(encode_final_result(failed)).error, failed.error);
}

TEST(FinalJobs, MalformedMessagesAreErrorsNamingTheMessage) {
  EXPECT_FALSE(is_final_job("{\"kind\":\"compare\"}"));
  EXPECT_FALSE(is_final_job("not json"));
  const auto fails = [](const std::string& text, const std::string& what) {
    try {
      decode_final_job(text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("final job message"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  fails("[1", "");
  fails("{\"kind\":\"census\"}", "not \"final\"");
  nlohmann::json j = nlohmann::json::parse(encode_final_job(job()));
  j.erase("dir");
  fails(j.dump(), "dir");
  j = nlohmann::json::parse(encode_final_job(job()));
  j["seed_offset"] = -1;
  fails(j.dump(), "seed_offset");
  j["seed_offset"] = "one";
  fails(j.dump(), "");
  j = nlohmann::json::parse(encode_final_job(job()));
  j["config"] = 5;
  fails(j.dump(), "config");
  // A result with neither metrics nor an error.
  FinalJobResult empty;
  empty.metrics = nullptr;
  EXPECT_THROW(decode_final_result(encode_final_result(empty)), Error);
}

}  // namespace
}  // namespace dalnas::dist
