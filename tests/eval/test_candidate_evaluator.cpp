#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "device/cost_model.h"
#include "device/lower.h"
#include "device/profile.h"
#include "eval/candidate_evaluator.h"
#include "nn/network.h"
#include "train/checkpoint.h"

namespace dalnas {
namespace {

const char* kGenome = "ConvBnAct-8-k3-relu_max_ConvBnAct-16-k3-relu_max_ConvBnAct-16-k3-relu_dec-8";
const char* kChild = "ConvBnAct-8-k3-relu_max_ConvBnAct-16-k3-relu_max_ConvBnAct-24-k3-relu_dec-8";

// Five 64x64 synthetic scenes, 32-px chips: a candidate trains in well under a second.
SearchConfig tiny() {
  SearchConfig c = SearchConfig::defaults();
  c.input_h = c.input_w = 64;
  c.evaluation.epochs = 2;
  c.evaluation.low_epochs = 1;
  c.evaluation.inherit_epochs = 1;
  c.train = {{"data", "synthetic"},
             {"synthetic", {{"scenes", 5}, {"height", 64}, {"width", 64}, {"seed", 3}}},
             {"precision", "fp16-aligned"},
             {"tiling", {{"size", 32}, {"stride", 32}, {"background_keep", 1.0}}},
             {"batch", 8},
             {"eval_tile", 64},
             {"eval_overlap", 0},
             {"patience", 0},
             {"threads", 1}};
  return c;
}

class CandidateEvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(1);
    char tmpl[] = "/tmp/dalnas-candeval-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Candidate candidate(uint64_t id, const char* g, std::vector<uint64_t> parents = {}) {
    Candidate c;
    c.id = id;
    c.genome = Genome::parse(g);
    c.parents = std::move(parents);
    return c;
  }
  static EvaluationRecord as_record(const Candidate& c, const EvalOutcome& o) {
    EvaluationRecord r;
    r.candidate_id = c.id;
    r.genome = c.genome.str();
    r.status = o.status;
    r.metrics = o.metrics;
    return r;
  }
  std::string dir_;
};

TEST_F(CandidateEvaluatorTest, CostsAreTheCostModelsOnTheLoweredNetwork) {
  const SearchConfig cfg = tiny();
  CandidateEvaluator ev(cfg, dir_);
  const Genome g = Genome::parse(kGenome);
  const auto m = ev.cost(g);
  // Independently: lower the network and ask the cost model.
  Network net = build_network(g, 4);
  net->eval();
  DeviceGraph graph = lower(net, LowerOptions{});
  graph.infer_shapes(Shape{4, 64, 64});
  const DeviceProfile p = load_profile("myriadx");
  CostOptions o;
  o.layers = false;
  const CostEstimate e = estimate(graph, cost_params(p), o);
  EXPECT_DOUBLE_EQ(m.at("latency_ms").get<double>(), e.latency_ms);
  EXPECT_EQ(m.at("peak_memory_bytes").get<int64_t>(), e.peak_memory_bytes);
  EXPECT_EQ(m.at("params").get<int64_t>(), count_parameters(*net));
  EXPECT_LT(m.at("cost_model_us").get<double>(), 1000.0) << "an estimate takes under 1 ms";
}

TEST_F(CandidateEvaluatorTest, TrainsEvaluatesOnTheDeviceAndIsDeterministic) {
  SearchConfig cfg = tiny();
  cfg.evaluation.multi_fidelity = false;
  CandidateEvaluator ev(cfg, dir_);
  const Candidate c = candidate(1, kGenome);
  const EvalOutcome a = ev.evaluate(c, {});
  ASSERT_EQ(a.status, EvalStatus::Ok) << a.reason;
  const double miou = a.metrics.at("miou").get<double>();
  EXPECT_GE(miou, 0.0);
  EXPECT_LE(miou, 1.0);
  EXPECT_EQ(a.metrics.at("epochs"), 2);
  EXPECT_EQ(a.metrics.at("fidelity"), "full");
  for (const char* k : {"object_recall", "object_precision", "fragmentation", "boundary_f1"})
    EXPECT_TRUE(a.metrics.contains(k)) << k;  // a number, or null where undefined
  EXPECT_EQ(a.seed, candidate_seed(cfg.seed, c.genome));
  ASSERT_TRUE(std::filesystem::exists(ev.checkpoint_path(c.genome)));
  const Checkpoint ck = load_checkpoint(ev.checkpoint_path(c.genome));
  EXPECT_EQ(ck.genome.str(), c.genome.str());
  // The same candidate again: the same result (resume relies on it).
  const EvalOutcome b = ev.evaluate(candidate(2, kGenome), {});
  EXPECT_EQ(b.metrics.at("miou"), a.metrics.at("miou"));
}

TEST_F(CandidateEvaluatorTest, AConstraintViolatedBeforeTrainingRejectsWithoutTraining) {
  SearchConfig cfg = tiny();
  cfg.fitness.max_params = 100;
  CandidateEvaluator ev(cfg, dir_);
  const Candidate c = candidate(1, kGenome);
  const EvalOutcome o = ev.evaluate(c, {});
  EXPECT_EQ(o.status, EvalStatus::Rejected);
  EXPECT_NE(o.reason.find("max_params 100"), std::string::npos) << o.reason;
  EXPECT_FALSE(o.metrics.contains("epochs")) << "nothing was trained";
  EXPECT_FALSE(std::filesystem::exists(ev.checkpoint_path(c.genome)));
}

TEST_F(CandidateEvaluatorTest, AChildInheritsItsParentsWeightsAndTrainsShorter) {
  SearchConfig cfg = tiny();
  cfg.evaluation.multi_fidelity = false;
  cfg.evaluation.epochs = 3;
  cfg.evaluation.inherit_epochs = 1;
  cfg.evaluation.inherit_min_share = 0.1;
  CandidateEvaluator ev(cfg, dir_);
  const Candidate p = candidate(1, kGenome);
  const EvalOutcome po = ev.evaluate(p, {});
  ASSERT_EQ(po.status, EvalStatus::Ok) << po.reason;
  const Candidate c = candidate(2, kChild, {1});
  const EvalOutcome co = ev.evaluate(c, {as_record(p, po)});
  ASSERT_EQ(co.status, EvalStatus::Ok) << co.reason;
  EXPECT_EQ(co.metrics.at("inherited_from"), 1);
  EXPECT_EQ(co.metrics.at("fidelity"), "inherited");
  EXPECT_EQ(co.metrics.at("epochs"), 1);
  const double share = co.metrics.at("inherited_share").get<double>();
  EXPECT_GT(share, 0.1);
  EXPECT_LT(share, 1.0);
  // Without a usable parent: from scratch.
  const EvalOutcome orphan = ev.evaluate(candidate(3, kChild, {7}), {as_record(p, po)});
  EXPECT_EQ(orphan.metrics.at("fidelity"), "full");
  EXPECT_EQ(orphan.metrics.at("epochs"), 3);
}

TEST_F(CandidateEvaluatorTest, ATruncatedParentCheckpointMakesTheChildTrainFromScratchAndSaySo) {
  SearchConfig cfg = tiny();
  cfg.evaluation.multi_fidelity = false;
  cfg.evaluation.epochs = 3;
  cfg.evaluation.inherit_epochs = 1;
  cfg.evaluation.inherit_min_share = 0.1;
  CandidateEvaluator ev(cfg, dir_);
  const Candidate p = candidate(1, kGenome);
  const EvalOutcome po = ev.evaluate(p, {});
  ASSERT_EQ(po.status, EvalStatus::Ok) << po.reason;
  // Cut the parent's checkpoint in half (a crash mid-copy, a full disk).
  const std::string ckpt = ev.checkpoint_path(p.genome);
  const auto size = std::filesystem::file_size(ckpt);
  std::filesystem::resize_file(ckpt, size / 2);
  const Candidate c = candidate(2, kChild, {1});
  const EvalOutcome co = ev.evaluate(c, {as_record(p, po)});
  ASSERT_EQ(co.status, EvalStatus::Ok) << co.reason;
  EXPECT_FALSE(co.metrics.contains("inherited_from"));
  EXPECT_EQ(co.metrics.at("fidelity"), "full");
  EXPECT_EQ(co.metrics.at("epochs"), 3) << "the from-scratch epochs, not inherit_epochs";
  ASSERT_TRUE(co.metrics.contains("inheritance_skipped"));
  const std::string why = co.metrics.at("inheritance_skipped").get<std::string>();
  EXPECT_NE(why.find(ckpt), std::string::npos) << why;
  EXPECT_NE(why.find("truncated"), std::string::npos) << why;
  // The same as a child without any parent: from scratch with its own seed.
  const EvalOutcome scratch = ev.evaluate(candidate(3, kChild), {});
  EXPECT_EQ(co.metrics.at("miou"), scratch.metrics.at("miou"));
}

TEST_F(CandidateEvaluatorTest, MultiFidelityPromotesOnlyPromisingCandidates) {
  SearchConfig cfg = tiny();
  cfg.evaluation.epochs = 3;
  cfg.evaluation.low_epochs = 1;
  cfg.evaluation.promote_fraction = 0.5;
  CandidateEvaluator ev(cfg, dir_);
  // The first candidate has nobody to lose to: promoted, full epochs.
  const EvalOutcome first = ev.evaluate(candidate(1, kGenome), {});
  ASSERT_EQ(first.status, EvalStatus::Ok) << first.reason;
  EXPECT_EQ(first.metrics.at("promoted"), true);
  EXPECT_EQ(first.metrics.at("epochs"), 3);
  EXPECT_EQ(first.metrics.at("fidelity"), "full");
  // Against a history of much better low-fidelity results: stops after low_epochs.
  std::vector<EvaluationRecord> strong;
  for (uint64_t i = 0; i < 4; ++i) {
    EvaluationRecord r;
    r.candidate_id = 10 + i;
    r.genome = kGenome;
    r.metrics = {{"fitness_low", 100.0}};
    strong.push_back(r);
  }
  const EvalOutcome second = ev.evaluate(candidate(2, kChild), strong);
  ASSERT_EQ(second.status, EvalStatus::Ok) << second.reason;
  EXPECT_EQ(second.metrics.at("promoted"), false);
  EXPECT_EQ(second.metrics.at("epochs"), 1);
  EXPECT_EQ(second.metrics.at("fidelity"), "low");
  EXPECT_EQ(second.metrics.at("miou"), second.metrics.at("miou_low"));
}

TEST_F(CandidateEvaluatorTest, DivergenceIsAFailureWithItsReason) {
  SearchConfig cfg = tiny();
  cfg.train["lr"] = 1e30;
  cfg.evaluation.multi_fidelity = false;
  CandidateEvaluator ev(cfg, dir_);
  const EvalOutcome o = ev.evaluate(candidate(1, kGenome), {});
  EXPECT_EQ(o.status, EvalStatus::Failed);
  EXPECT_NE(o.reason.find("diverged"), std::string::npos) << o.reason;
}

TEST_F(CandidateEvaluatorTest, BadSettingsAreErrorsNamingThem) {
  SearchConfig cfg = tiny();
  cfg.device = "host";
  EXPECT_THROW(CandidateEvaluator(cfg, dir_), Error);
  cfg = tiny();
  cfg.device = "no-such-device";
  try {
    CandidateEvaluator ev(cfg, dir_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-device"), std::string::npos) << e.what();
  }
  cfg = tiny();
  cfg.train["batchsize"] = 3;
  try {
    CandidateEvaluator ev(cfg, dir_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batchsize"), std::string::npos) << e.what();
  }
}

// A profile like myriadx whose [measure] command is a stand-in script.
std::string measured_profile(const std::string& dir, const std::string& script) {
  const std::string sh = dir + "/device.sh";
  std::ofstream(sh) << script;
  std::filesystem::permissions(sh, std::filesystem::perms::owner_all);
  const std::string toml = dir + "/stub.toml";
  std::ofstream(toml) << "name = \"stub\"\n[numerics.neural_engine]\nstorage = \"fp16\"\n"
                      << "[measure]\ncommand = \"" << sh << " {onnx}\"\n"
                      << "regex = 'latency: ([0-9.]+) ms'\ntimeout_s = 5\n";
  return toml;
}

TEST_F(CandidateEvaluatorTest, AMeasuredLatencyReplacesTheEstimate) {
  SearchConfig cfg = tiny();
  cfg.evaluation.measure_latency = true;
  cfg.evaluation.multi_fidelity = false;
  // The stand-in checks that it got an ONNX file, then answers 3.5 ms.
  cfg.device =
      measured_profile(dir_, "#!/bin/sh\ntest -s \"$1\" || exit 3\necho 'latency: 3.5 ms'\n");
  CandidateEvaluator ev(cfg, dir_);
  const EvalOutcome o = ev.evaluate(candidate(1, kGenome), {});
  ASSERT_EQ(o.status, EvalStatus::Ok) << o.reason;
  EXPECT_DOUBLE_EQ(o.metrics.at("latency_ms").get<double>(), 3.5);
  EXPECT_GT(o.metrics.at("latency_est_ms").get<double>(), 0.0);
  EXPECT_NE(o.metrics.at("latency_est_ms"), o.metrics.at("latency_ms"));
}

TEST_F(CandidateEvaluatorTest, AFailedMeasurementLeavesTheCandidateUnmeasured) {
  SearchConfig cfg = tiny();
  cfg.evaluation.measure_latency = true;
  cfg.device = measured_profile(dir_, "#!/bin/sh\necho 'no device found'\nexit 1\n");
  CandidateEvaluator ev(cfg, dir_);
  const EvalOutcome o = ev.evaluate(candidate(1, kGenome), {});
  EXPECT_EQ(o.status, EvalStatus::Failed);
  EXPECT_EQ(o.reason.rfind("unmeasured: ", 0), 0u) << o.reason;
  EXPECT_TRUE(o.transient) << "the device may answer next time: evaluated again on resume";
  // A profile without a [measure] table cannot measure.
  cfg.device = "myriadx";
  EXPECT_THROW(CandidateEvaluator(cfg, dir_), Error);
}

TEST_F(CandidateEvaluatorTest, TrainFinalWritesTheCheckpointAndHostAndDeviceTestMetrics) {
  SearchConfig cfg = tiny();
  cfg.evaluation.final_epochs = 1;
  CandidateEvaluator ev(cfg, dir_);
  const auto m = ev.train_final(Genome::parse(kGenome), dir_ + "/best");
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/best/model.ckpt"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/best/model-fp32.onnx"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/best/model-fp16.onnx"));
  EXPECT_EQ(m.at("onnx"), nlohmann::json({"model-fp32.onnx", "model-fp16.onnx"}));
  for (const char* k : {"host_val", "device_val", "host_test", "device_test"}) {
    ASSERT_TRUE(m.contains(k)) << k;
    // Vessel-level metrics beside the pixel metrics, counted on every scene of the split.
    ASSERT_TRUE(m.at(k).contains("objects")) << k;
    EXPECT_GE(m.at(k).at("objects").at("scenes").get<int>(), 1) << k;
    EXPECT_TRUE(m.at(k).at("objects").contains("boundary_f1")) << k;
  }
  // Host and device see the same ground truth.
  EXPECT_EQ(m.at("host_test").at("objects").at("vessels"),
            m.at("device_test").at("objects").at("vessels"));
  EXPECT_EQ(m.at("epochs"), 1);
  EXPECT_GT(m.at("latency_ms").get<double>(), 0.0);
  const Checkpoint ck = load_checkpoint(dir_ + "/best/model.ckpt");
  EXPECT_EQ(ck.genome.str(), Genome::parse(kGenome).str());
}

}  // namespace
}  // namespace dalnas
