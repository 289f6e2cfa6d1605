// The census's messages between rank 0 and the workers (dist/census_jobs.h).
#include <gtest/gtest.h>

#include <limits>

#include "core/error.h"
#include "dist/census_jobs.h"

namespace dalnas::dist {
namespace {

CensusCell cell(const std::string& pipeline) {
  CensusCell c;
  c.genome = "ConvBnAct-8-k3-relu_max_ConvBnAct-16-k3-relu_max_ConvBnAct-16-k3-relu_dec-8";
  c.pipeline = pipeline;
  c.params = 1234;
  c.fp32_host.cm.tp = 10, c.fp32_host.cm.tn = 80, c.fp32_host.cm.fp = 4, c.fp32_host.cm.fn = 6;
  c.ptq_device.cm.tp = 9, c.ptq_device.cm.tn = 79, c.ptq_device.cm.fp = 5, c.ptq_device.cm.fn = 7;
  c.aligned_device = c.fp32_host;
  c.control_device = c.ptq_device;
  c.aligned_skipped_steps = 2;
  Ablation a;
  a.behaviour = "prescale";
  a.applies = false;
  a.ptq_miou = 0.5;
  a.aligned_miou = std::numeric_limits<double>::quiet_NaN();
  c.ablations.push_back(a);
  return c;
}

TEST(CensusJobs, JobAndResultRoundTrip) {
  CensusJob job;
  job.options.genomes = {"a", "b"};
  job.options.pipelines = {"host", "model", "raw"};
  job.options.device = "myriadx";
  job.unit = {"b", {"host", "model"}};
  const std::string text = encode_census_job(job);
  EXPECT_TRUE(is_census_job(text));
  const CensusJob back = decode_census_job(text);
  EXPECT_EQ(back.unit.genome, "b");
  EXPECT_EQ(back.unit.pipelines, job.unit.pipelines);
  EXPECT_EQ(back.options.to_json().dump(), job.options.to_json().dump());

  CensusJobResult r;
  r.cells = {cell("host"), cell("model")};
  r.test_scenes = {"s7", "s9"};
  r.worker = 2;
  r.seconds = 12.5;
  const CensusJobResult rb = decode_census_result(encode_census_result(r));
  ASSERT_EQ(rb.cells.size(), 2u);
  EXPECT_EQ(rb.cells[1].to_json().dump(), r.cells[1].to_json().dump());
  EXPECT_FALSE(rb.cells[0].ablations[0].applies);
  EXPECT_EQ(rb.test_scenes, r.test_scenes);
  EXPECT_EQ(rb.worker, 2);
  EXPECT_EQ(rb.error, "");
}

TEST(CensusJobs, MalformedMessagesAreErrorsNamingTheMessage) {
  EXPECT_FALSE(is_census_job("{\"kind\":\"candidate\"}"));
  EXPECT_FALSE(is_census_job("not json"));
  for (const std::string& bad :
       {std::string("not json"), std::string("[1]"), std::string("{\"kind\":\"census\"}"),
        std::string("{\"kind\":\"candidate\",\"options\":{}}")}) {
    try {
      decode_census_job(bad);
      FAIL() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("census job message", 0), 0u) << e.what();
    }
  }
  try {
    decode_census_result(
        "{\"cells\":[{\"genome\":\"g\"}],\"test_scenes\":[],\"error\":\"\","
        "\"worker\":1,\"seconds\":0}");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cells[0]"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dalnas::dist
