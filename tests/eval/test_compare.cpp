// The comparison end to end on tiny synthetic data, and its summary arithmetic.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/genome.h"
#include "eval/compare.h"

using namespace dalnas;

TEST(Compare, StatsAndGapArithmetic) {
  const auto [m, s] = CompareResult::miou_stats({0.5, 0.7});
  EXPECT_DOUBLE_EQ(m, 0.6);
  EXPECT_NEAR(s, std::sqrt(0.02), 1e-12);
  CompareResult r;
  CompareRun run;
  // a: 0.85 mIoU; b: 0.78; c: 0.826 -> (0.826 - 0.78) / (0.85 - 0.78) = 0.657
  auto set = [](Metrics& m, uint64_t tp, uint64_t fp, uint64_t fn, uint64_t tn) {
    m.cm.tp = tp, m.cm.fp = fp, m.cm.fn = fn, m.cm.tn = tn;
  };
  set(run.fp32_host, 70, 15, 15, 900);
  set(run.ptq_device, 50, 25, 25, 900);
  set(run.aligned_device, 60, 20, 20, 900);
  set(run.control_device, 52, 24, 24, 900);
  r.runs = {run};
  const double a = run.fp32_host.cm.miou(), b = run.ptq_device.cm.miou(),
               c = run.aligned_device.cm.miou();
  EXPECT_NEAR(r.gap_recovered(), (c - b) / (a - b), 1e-12);
  const auto j = r.to_json();
  for (const char* k : {"params", "device", "seeds", "fp32_host", "ptq_device", "aligned_device",
                        "control_device", "gap_recovered"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_DOUBLE_EQ(j["aligned_device"]["miou_mean"].get<double>(), c);
  EXPECT_EQ(j["aligned_device"]["per_seed"].size(), 1u);
}

TEST(Compare, SweepCoversEveryCombinationOnce) {
  DeviceProfile base = load_profile("myriadx");
  auto v = sweep_variants(base);
  EXPECT_EQ(v.size(), 12u);
  int folded = 0, fp16 = 0, prescale = 0;
  for (const auto& [name, p] : v) {
    folded += p.fold_normalization;
    fp16 += p.neural_engine.acc.kind == Accumulation::FP16;
    prescale += p.neural_engine.prescale;
  }
  EXPECT_EQ(folded, 6);
  EXPECT_EQ(fp16, 4);
  EXPECT_EQ(prescale, 6);
}

TEST(Compare, RunsAllFourPipelinesPerSeed) {
  torch::set_num_threads(2);
  CompareOptions o;
  o.train.synthetic.scenes = 4;
  o.train.synthetic.height = 64;
  o.train.synthetic.width = 64;
  o.train.arch = "tiny";
  o.train.epochs = 2;
  o.train.tiling.size = 32;
  o.train.tiling.stride = 32;
  o.train.eval_tile = 64;
  o.train.eval_overlap = 8;
  o.seeds = 2;
  o.finetune_epochs = 1;
  o.device = "myriadx";
  std::vector<std::string> lines;
  CompareResult r = run_compare(o, [&](const std::string& l) { lines.push_back(l); });
  ASSERT_EQ(r.runs.size(), 2u);
  EXPECT_EQ(r.runs[0].seed, 1u);
  EXPECT_EQ(r.runs[1].seed, 2u);
  EXPECT_GT(r.params, 1000);
  for (const auto& run : r.runs) {
    EXPECT_GT(run.fp32_host.cm.total(), 0u);
    EXPECT_EQ(run.fp32_host.cm.total(), run.ptq_device.cm.total());
    EXPECT_EQ(run.fp32_host.cm.total(), run.aligned_device.cm.total());
    EXPECT_EQ(run.fp32_host.cm.total(), run.control_device.cm.total());
  }
  EXPECT_EQ(r.genome, resolve_arch("tiny", 4).str());
  EXPECT_EQ(r.device, "myriadx");
  EXPECT_FALSE(lines.empty());

  // compare.json read back; two parts of one seed each merge into the whole (in seed order).
  const CompareResult back = CompareResult::from_json(r.to_json(), "compare.json");
  EXPECT_EQ(back.to_json().dump(), r.to_json().dump());
  EXPECT_EQ(back.csv(), r.csv());
  CompareResult first = back, second = back;
  first.runs.resize(1);
  second.runs.erase(second.runs.begin());
  EXPECT_EQ(CompareResult::merge({second, first}).to_json().dump(), r.to_json().dump());
  second.device = "fp16-ideal";
  EXPECT_THROW(CompareResult::merge({first, second}), Error);
  // The options travel as JSON (one seed per MPI worker).
  EXPECT_EQ(CompareOptions::from_json(o.to_json(), "job").to_json().dump(), o.to_json().dump());

  // One seed alone (first_seed = 1) computes what the whole comparison computed for it.
  CompareOptions one = o;
  one.first_seed = 1;
  one.seeds = 1;
  const CompareResult alone = run_compare(one);
  ASSERT_EQ(alone.runs.size(), 1u);
  EXPECT_EQ(alone.runs[0].seed, 2u);
  EXPECT_EQ(alone.runs[0].aligned_device.to_json().dump(),
            r.runs[1].aligned_device.to_json().dump());
  EXPECT_EQ(alone.runs[0].control_device.to_json().dump(),
            r.runs[1].control_device.to_json().dump());
}

TEST(Compare, MalformedCompareJsonNamesTheFileAndField) {
  nlohmann::json j = {{"genome", "g"},       {"params", 1},
                      {"device", "myriadx"}, {"device_numerics", ""},
                      {"data", "synthetic"}, {"test_scenes", {"s"}},
                      {"seeds", {1}},        {"nan_pixels", {{{"ptq_device", 0}}}}};
  try {
    CompareResult::from_json(j, "x/compare.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x/compare.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fp32_host"), std::string::npos) << e.what();
  }
}
