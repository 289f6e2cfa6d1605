#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "cost/cost_model.h"
#include "device/lower.h"
#include "device/profile.h"
#include "eval/candidate_evaluator.h"
#include "eval/zero_cost.h"
#include "nn/network.h"
#include "search/driver.h"
#include "search/journal.h"
#include "train/checkpoint.h"
#include "train/experiment.h"

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

// cost_rejection (the search's screen) says what step 1 of evaluate() would say: the same
// violated constraints, nothing where evaluate() would train.
TEST_F(CandidateEvaluatorTest, CostRejectionAgreesWithTheRejectionBeforeTraining) {
  SearchConfig cfg = tiny();
  const Genome g = Genome::parse(kGenome);
  {
    CandidateEvaluator none(cfg, dir_);
    EXPECT_EQ(none.cost_rejection(g), "") << "no constraint: nothing to reject";
  }
  CandidateEvaluator probe(cfg, dir_);
  const double ms = probe.cost(g).at("latency_ms").get<double>();
  cfg.fitness.max_latency_ms = ms * 0.9;
  CandidateEvaluator tight(cfg, dir_);
  const std::string why = tight.cost_rejection(g);
  EXPECT_NE(why.find("max_latency_ms"), std::string::npos) << why;
  const EvalOutcome o = tight.evaluate(candidate(1, kGenome), {});
  EXPECT_EQ(o.status, EvalStatus::Rejected);
  EXPECT_EQ(o.reason, "rejected before training: " + why);
  cfg.fitness.max_latency_ms = ms * 1.1;
  CandidateEvaluator loose(cfg, dir_);
  EXPECT_EQ(loose.cost_rejection(g), "");
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

TEST_F(CandidateEvaluatorTest, TrainFinalFollowsTheFinalTrainRecipeOnItsOwnChips) {
  SearchConfig cfg = tiny();
  cfg.evaluation.final_epochs = 1;
  CandidateEvaluator plain(cfg, dir_);
  const auto a = plain.train_final(Genome::parse(kGenome), dir_ + "/plain");
  EXPECT_FALSE(a.contains("final_train")) << "no overrides, nothing recorded";
  // Another learning rate and 64-px chips (one a scene) for the retraining only.
  cfg.final_train = {{"lr", 0.05}, {"tiling", {{"size", 64}, {"stride", 64}}}};
  CandidateEvaluator ev(cfg, dir_);
  EXPECT_EQ(ev.train_config().at("lr"), plain.train_config().at("lr"))
      << "the candidates' recipe is the [train] table's";
  const auto b = ev.train_final(Genome::parse(kGenome), dir_ + "/final");
  EXPECT_EQ(b.at("final_train"), cfg.final_train);
  const Checkpoint ca = load_checkpoint(dir_ + "/plain/model.ckpt");
  const Checkpoint cb = load_checkpoint(dir_ + "/final/model.ckpt");
  EXPECT_DOUBLE_EQ(cb.config.at("lr").get<double>(), 0.05);
  EXPECT_EQ(cb.config.at("tiling").at("size"), 64);
  EXPECT_EQ(cb.config.at("tiling").at("background_keep"), 1.0) << "merged key by key";
  EXPECT_EQ(cb.config.at("batch"), ca.config.at("batch"));
  // Same genome, seed and initial weights, another recipe: other trained weights.
  const auto pa = ca.net->parameters(), pb = cb.net->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  double diff = 0;
  for (size_t i = 0; i < pa.size(); ++i) diff += (pa[i] - pb[i]).abs().sum().item<double>();
  EXPECT_GT(diff, 0.0);
  // Scenes, split and evaluation tiles are the search's: the same ground truth is counted.
  EXPECT_EQ(a.at("device_test").at("objects").at("vessels"),
            b.at("device_test").at("objects").at("vessels"));
  // A bad override is an error naming the table at construction, before any search.
  cfg.final_train = {{"lr", -1.0}};
  try {
    CandidateEvaluator bad(cfg, dir_);
    ADD_FAILURE() << "lr -1 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("final_train: lr"), std::string::npos) << e.what();
  }
  cfg.final_train = {{"batch", "large"}};
  try {
    CandidateEvaluator bad(cfg, dir_);
    ADD_FAILURE() << "batch 'large' accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("final_train"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("batch"), std::string::npos) << e.what();
  }
}

// Schedule "rungs" over three rungs of 1, 2 and 3 epochs.
SearchConfig rung_config() {
  SearchConfig cfg = tiny();
  cfg.evaluation.schedule = "rungs";
  cfg.evaluation.epochs = 3;
  cfg.evaluation.rungs = {1, 2, 3};
  cfg.evaluation.rung_chip_fraction = {1, 1, 1};
  cfg.evaluation.eta = 2;
  return cfg;
}

EvaluationRecord rung_record(uint64_t id, nlohmann::json rung_fitness) {
  EvaluationRecord r;
  r.candidate_id = id;
  r.genome = kGenome;
  r.metrics = {{"rung_fitness", std::move(rung_fitness)}};
  return r;
}

// The metrics that make up a result (not its timings).
nlohmann::json result_of(const EvalOutcome& o) {
  nlohmann::json j;
  for (const char* k : {"miou", "vessel_iou", "epochs", "fidelity", "rung", "rung_fitness",
                        "rung_miou", "promoted", "latency_ms", "params"})
    if (o.metrics.contains(k)) j[k] = o.metrics.at(k);
  return j;
}

TEST_F(CandidateEvaluatorTest, RungsClimbWhileTheCandidateRanksInTheTopOfEachRung) {
  const SearchConfig cfg = rung_config();
  CandidateEvaluator ev(cfg, dir_);
  // Nobody to lose to: every rung, 3 epochs, one score per rung.
  const EvalOutcome first = ev.evaluate(candidate(1, kGenome), {});
  ASSERT_EQ(first.status, EvalStatus::Ok) << first.reason;
  EXPECT_EQ(first.metrics.at("epochs"), 3);
  EXPECT_EQ(first.metrics.at("rung"), 2);
  EXPECT_EQ(first.metrics.at("fidelity"), "full");
  EXPECT_EQ(first.metrics.at("promoted"), true);
  ASSERT_EQ(first.metrics.at("rung_fitness").size(), 3u);
  EXPECT_EQ(first.metrics.at("rung_miou").back(), first.metrics.at("miou"));
  EXPECT_FALSE(std::filesystem::exists(ev.rung_state_path(Genome::parse(kGenome))))
      << "the rung state goes when the evaluation ends";
  // Better than everyone at rung 0, behind everyone at rung 1: stops after rung 1 (2 epochs).
  const std::vector<EvaluationRecord> history = {rung_record(10, {-1.0, 100.0}),
                                                 rung_record(11, {-1.0, 100.0})};
  const EvalOutcome second = ev.evaluate(candidate(2, kChild), history);
  ASSERT_EQ(second.status, EvalStatus::Ok) << second.reason;
  EXPECT_EQ(second.metrics.at("epochs"), 2);
  EXPECT_EQ(second.metrics.at("rung"), 1);
  EXPECT_EQ(second.metrics.at("fidelity"), "rung 2/3");
  EXPECT_EQ(second.metrics.at("promoted"), false);
  EXPECT_EQ(second.metrics.at("rung_fitness").size(), 2u);
  EXPECT_EQ(second.metrics.at("miou"), second.metrics.at("rung_miou").back());
  // A rung's score is the fitness at that point of one schedule: rung 0 of both candidates
  // trained the same first epoch, so the first candidate's rung-0 score comes back for a
  // third candidate of the first genome that stops there.
  const EvalOutcome third =
      ev.evaluate(candidate(3, kGenome), {rung_record(12, {100.0}), rung_record(13, {100.0})});
  EXPECT_EQ(third.metrics.at("epochs"), 1);
  EXPECT_EQ(third.metrics.at("rung_fitness").at(0), first.metrics.at("rung_fitness").at(0));
}

// A candidate that climbs every rung trained one uninterrupted run: the optimiser's state,
// the last weights and the epochs' shuffles carry over from rung to rung, so its score is
// what a single-stage evaluation of the same epochs scores.
TEST_F(CandidateEvaluatorTest, ClimbingEveryRungEqualsOneUninterruptedRun) {
  torch::set_num_threads(1);
  const SearchConfig rungs = rung_config();
  SearchConfig single = tiny();
  single.evaluation.schedule = "two-stage";
  single.evaluation.multi_fidelity = false;
  single.evaluation.epochs = 3;
  CandidateEvaluator a(rungs, dir_ + "/rungs"), b(single, dir_ + "/single");
  const EvalOutcome climbed = a.evaluate(candidate(1, kGenome), {});
  const EvalOutcome whole = b.evaluate(candidate(1, kGenome), {});
  ASSERT_EQ(climbed.status, EvalStatus::Ok) << climbed.reason;
  ASSERT_EQ(whole.status, EvalStatus::Ok) << whole.reason;
  EXPECT_EQ(climbed.metrics.at("epochs"), 3);
  EXPECT_EQ(climbed.metrics.at("miou"), whole.metrics.at("miou"));
  EXPECT_EQ(climbed.metrics.at("vessel_iou"), whole.metrics.at("vessel_iou"));
  // The same holds for the two-stage schedule's promoted candidates.
  SearchConfig staged = single;
  staged.evaluation.multi_fidelity = true;
  staged.evaluation.low_epochs = 1;
  CandidateEvaluator c(staged, dir_ + "/staged");
  const EvalOutcome promoted = c.evaluate(candidate(1, kGenome), {});
  ASSERT_EQ(promoted.metrics.at("fidelity"), "full");
  EXPECT_EQ(promoted.metrics.at("miou"), whole.metrics.at("miou"));
  torch::set_num_threads(2);
}

// rung_score "last" scores (and keeps) each rung's last weights; training continues from the
// last weights either way, so the "kept" run scored with its last weights
// (also_score_last) gives the "last" run's scores exactly, rung by rung. The learning rate
// is high so that some epoch does not improve the validation loss (the case that differs).
TEST_F(CandidateEvaluatorTest, RungScoreLastScoresTheLastWeightsOfTheSameRun) {
  SearchConfig kept = rung_config();
  kept.evaluation.eta = 100;  // nobody before: every rung
  kept.evaluation.epochs = 6;
  kept.evaluation.rungs = {1, 2, 4, 6};
  kept.evaluation.rung_chip_fraction = {1, 1, 1, 1};
  kept.train["lr"] = 0.05;
  SearchConfig last = kept;
  last.evaluation.rung_score = "last";
  CandidateEvaluator a(kept, dir_ + "/kept"), b(last, dir_ + "/last");
  a.also_score_last = true;
  const Candidate c = candidate(1, kGenome);
  const EvalOutcome k = a.evaluate(c, {});
  const EvalOutcome l = b.evaluate(c, {});
  ASSERT_EQ(k.status, EvalStatus::Ok) << k.reason;
  ASSERT_EQ(l.status, EvalStatus::Ok) << l.reason;
  ASSERT_EQ(k.metrics.at("rung_miou_last").size(), 4u);
  EXPECT_EQ(k.metrics.at("rung_miou_last"), l.metrics.at("rung_miou"));
  EXPECT_FALSE(l.metrics.contains("rung_miou_last")) << "only when asked for";
  EXPECT_EQ(l.metrics.at("miou"), l.metrics.at("rung_miou").back());
  EXPECT_EQ(k.metrics.at("miou"), k.metrics.at("rung_miou").back());
  // Rung 1 trained one epoch: its best is its last. Later the two differ somewhere.
  EXPECT_EQ(k.metrics.at("rung_miou").at(0), k.metrics.at("rung_miou_last").at(0));
  EXPECT_NE(k.metrics.at("rung_miou"), k.metrics.at("rung_miou_last"))
      << "the setting does not exercise an epoch that fails to improve the validation loss";
  // The same as a single-stage run that keeps its last weights: a "last" evaluation killed
  // after rung 2 resumes to the uninterrupted result.
  {
    CandidateEvaluator killed(last, dir_ + "/killed");
    killed.on_rung = [](int rung) {
      if (rung == 1) throw std::runtime_error("killed");
    };
    EXPECT_THROW(killed.evaluate(c, {}), std::runtime_error);
  }
  CandidateEvaluator resumed(last, dir_ + "/killed");
  const EvalOutcome r = resumed.evaluate(c, {});
  EXPECT_EQ(r.metrics.at("resumed_at_rung"), 2);
  EXPECT_EQ(result_of(r), result_of(l));
}

TEST_F(CandidateEvaluatorTest, AKilledRungEvaluationResumesToTheUninterruptedResult) {
  const SearchConfig cfg = rung_config();
  const Candidate c = candidate(1, kGenome);
  EvalOutcome whole;
  {
    CandidateEvaluator ev(cfg, dir_ + "/whole");
    whole = ev.evaluate(c, {});
    ASSERT_EQ(whole.status, EvalStatus::Ok) << whole.reason;
  }
  {
    // Killed after rung 1 (0-based) was reached and saved.
    CandidateEvaluator ev(cfg, dir_ + "/killed");
    ev.on_rung = [](int rung) {
      if (rung == 1) throw std::runtime_error("killed");
    };
    EXPECT_THROW(ev.evaluate(c, {}), std::runtime_error);
    ASSERT_TRUE(std::filesystem::exists(ev.rung_state_path(c.genome)));
    const Checkpoint st = load_checkpoint(ev.rung_state_path(c.genome));
    EXPECT_EQ(st.metrics.at("rung"), 1);
    EXPECT_EQ(st.metrics.at("epochs"), 2);
  }
  CandidateEvaluator ev(cfg, dir_ + "/killed");  // a new process on the same run folder
  const EvalOutcome resumed = ev.evaluate(c, {});
  ASSERT_EQ(resumed.status, EvalStatus::Ok) << resumed.reason;
  EXPECT_EQ(resumed.metrics.at("resumed_at_rung"), 2);
  EXPECT_EQ(result_of(resumed), result_of(whole));
  EXPECT_FALSE(std::filesystem::exists(ev.rung_state_path(c.genome)));
  // A rung state whose training state (optimiser, last weights) is missing is not used.
  {
    CandidateEvaluator k(cfg, dir_ + "/lost");
    k.on_rung = [](int) { throw std::runtime_error("killed"); };
    EXPECT_THROW(k.evaluate(c, {}), std::runtime_error);
    const std::string path = k.rung_state_path(c.genome);
    ASSERT_TRUE(std::filesystem::remove(path.substr(0, path.size() - 3) + ".train"));
  }
  CandidateEvaluator lost(cfg, dir_ + "/lost");
  const EvalOutcome restarted = lost.evaluate(c, {});
  EXPECT_TRUE(restarted.metrics.contains("rung_state_skipped"));
  EXPECT_EQ(result_of(restarted), result_of(whole));
  // A damaged rung state is not trusted: from scratch, the same result, and said so.
  {
    CandidateEvaluator k(cfg, dir_ + "/damaged");
    k.on_rung = [](int) { throw std::runtime_error("killed"); };
    EXPECT_THROW(k.evaluate(c, {}), std::runtime_error);
    const std::string path = k.rung_state_path(c.genome);
    std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  }
  CandidateEvaluator again(cfg, dir_ + "/damaged");
  const EvalOutcome fresh = again.evaluate(c, {});
  EXPECT_TRUE(fresh.metrics.contains("rung_state_skipped"));
  EXPECT_FALSE(fresh.metrics.contains("resumed_at_rung"));
  EXPECT_EQ(result_of(fresh), result_of(whole));
}

TEST_F(CandidateEvaluatorTest, ASearchKilledMidRungResumesToTheSameJournal) {
  SearchConfig cfg = rung_config();
  cfg.strategy = "random";
  cfg.strategy_params = {{"budget", 4}};
  cfg.space.max_stages = 3;
  cfg.space.widths = {8, 16};
  cfg.space.decoder_widths = {8};
  cfg.space.max_params = 0;
  const auto runs = [&](const std::string& dir, int kill_at_rung_call) {
    std::filesystem::create_directories(dir);
    int calls = 0;
    bool killed = false;
    for (int attempt = 0; attempt < 2; ++attempt) {
      Journal journal(dir + "/journal.sqlite");
      CandidateEvaluator ev(cfg, dir);
      if (!killed)
        ev.on_rung = [&](int) {
          if (++calls == kill_at_rung_call) {
            killed = true;
            throw std::runtime_error("killed mid-candidate");
          }
        };
      try {
        run_search(cfg, cfg.space, ev, journal);
        break;
      } catch (const std::logic_error&) {
        EXPECT_TRUE(killed);
      }
    }
    Journal journal(dir + "/journal.sqlite", true);
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : journal.all_evaluations()) {
      nlohmann::json row = {{"genome", r.genome},
                            {"status", to_string(r.status)},
                            {"fitness", r.fitness},
                            {"candidate", r.candidate_id}};
      for (const char* k : {"miou", "epochs", "rung_fitness", "rung"})
        if (r.metrics.contains(k)) row[k] = r.metrics.at(k);
      rows.push_back(row);
    }
    return std::make_pair(rows, killed);
  };
  const auto whole = runs(dir_ + "/whole", 0);
  const auto killed = runs(dir_ + "/killed", 2);
  EXPECT_FALSE(whole.second);
  ASSERT_TRUE(killed.second) << "a candidate reached a second promotion to kill it at";
  EXPECT_EQ(killed.first, whole.first);
  EXPECT_EQ(whole.first.size(), 4u);
}

TEST_F(CandidateEvaluatorTest, ChipFractionsMakeLowRungsCheaperAndAreSeeded) {
  SearchConfig cfg = rung_config();
  cfg.evaluation.rung_chip_fraction = {0.5, 1, 1};
  CandidateEvaluator a(cfg, dir_ + "/a"), b(cfg, dir_ + "/b");
  const EvalOutcome x = a.evaluate(candidate(1, kGenome), {});
  const EvalOutcome y = b.evaluate(candidate(1, kGenome), {});
  ASSERT_EQ(x.status, EvalStatus::Ok) << x.reason;
  EXPECT_EQ(result_of(x), result_of(y));
  CandidateEvaluator full(rung_config(), dir_ + "/full");
  const EvalOutcome z = full.evaluate(candidate(1, kGenome), {});
  EXPECT_NE(x.metrics.at("rung_fitness").at(0), z.metrics.at("rung_fitness").at(0))
      << "half the chips at rung 0 trains another first epoch";
}

TEST_F(CandidateEvaluatorTest, EarlyStopEndsACandidateThatCannotReachTheRungsCutoff) {
  SearchConfig cfg = rung_config();
  cfg.evaluation.early_stop = true;
  CandidateEvaluator ev(cfg, dir_);
  // Rung 0 is easy to pass, rung 1's cutoff is beyond any fitness (mIoU 1 included).
  const std::vector<EvaluationRecord> history = {rung_record(10, {-1.0, 1e9}),
                                                 rung_record(11, {-1.0, 1e9})};
  const EvalOutcome o = ev.evaluate(candidate(1, kGenome), history);
  ASSERT_EQ(o.status, EvalStatus::Ok) << o.reason;
  EXPECT_EQ(o.metrics.at("early_stopped"), true);
  EXPECT_EQ(o.metrics.at("epochs"), 1) << "rung 1 was not trained";
  EXPECT_EQ(o.metrics.at("rung"), 0);
  EXPECT_NE(o.metrics.at("early_stop_reason").get<std::string>().find("cutoff"), std::string::npos);
  // Without early stopping it trains rung 1 and then stops.
  cfg.evaluation.early_stop = false;
  CandidateEvaluator plain(cfg, dir_ + "/plain");
  const EvalOutcome p = plain.evaluate(candidate(1, kGenome), history);
  EXPECT_EQ(p.metrics.at("epochs"), 2);
  EXPECT_FALSE(p.metrics.contains("early_stopped"));
}

// promotion "asha": a rung promotes nobody until it holds eta scores; early stopping leaves
// a candidate to train a rung too small to promote anyone (so that the rung fills).
TEST_F(CandidateEvaluatorTest, AshaPromotionWaitsForEtaScoresAndEarlyStopLetsASmallRungFill) {
  SearchConfig cfg = rung_config();  // rungs 1, 2, 3; eta 2
  cfg.evaluation.promotion = "asha";
  CandidateEvaluator ev(cfg, dir_);
  const EvalOutcome first = ev.evaluate(candidate(1, kGenome), {});
  ASSERT_EQ(first.status, EvalStatus::Ok) << first.reason;
  EXPECT_EQ(first.metrics.at("epochs"), 1) << "the first of rung 0 is not promoted under asha";
  EXPECT_EQ(first.metrics.at("rung"), 0);
  EXPECT_EQ(first.metrics.at("promoted"), false);
  // Two lower scores at rung 0, none at rung 1: promoted from rung 0 (floor(3/2) = 1, none
  // better), rung 1 trained though early_stop is on (its cutoff is +infinity: too small),
  // then not promoted from the empty rung 1.
  cfg.evaluation.early_stop = true;
  CandidateEvaluator es(cfg, dir_ + "/es");
  const std::vector<EvaluationRecord> history = {rung_record(10, {-1.0}), rung_record(11, {-1.0})};
  const EvalOutcome second = es.evaluate(candidate(2, kGenome), history);
  ASSERT_EQ(second.status, EvalStatus::Ok) << second.reason;
  EXPECT_EQ(second.metrics.at("epochs"), 2);
  EXPECT_EQ(second.metrics.at("rung"), 1);
  EXPECT_FALSE(second.metrics.contains("early_stopped"));
  // The eager rule on the same history climbs every rung.
  cfg.evaluation.promotion = "eager";
  CandidateEvaluator eager(cfg, dir_ + "/eager");
  EXPECT_EQ(eager.evaluate(candidate(2, kGenome), history).metrics.at("epochs"), 3);
}

// prefilter: the zero-cost score at initialisation decides whether a candidate trains.
TEST_F(CandidateEvaluatorTest, APrefilterRejectsALowZeroCostScoreBeforeTraining) {
  SearchConfig cfg = tiny();
  cfg.evaluation.prefilter = "naswot";
  cfg.evaluation.prefilter_keep = 0.5;
  cfg.evaluation.prefilter_warmup = 1;
  CandidateEvaluator ev(cfg, dir_);
  const Candidate c = candidate(1, kGenome);
  // The warm-up: the first candidate trains, its score recorded.
  const EvalOutcome first = ev.evaluate(c, {});
  ASSERT_EQ(first.status, EvalStatus::Ok) << first.reason;
  ASSERT_TRUE(first.metrics.at("zero_cost").at("naswot").is_number());
  const double z = first.metrics.at("zero_cost").at("naswot").get<double>();
  EXPECT_TRUE(first.metrics.contains("epochs"));
  // The same number zero_cost_scores() gives (bench/proxy_fidelity's measurement).
  EXPECT_EQ(
      z,
      zero_cost_scores(c.genome, ev.bands(), prepared_data(*ev.data()).train, first.seed).naswot);
  // Behind two better scores of two: rejected, untrained, the reason names the score.
  EvaluationRecord hi;
  hi.metrics = {{"zero_cost", {{"naswot", z + 100}}}};
  const EvalOutcome low = ev.evaluate(candidate(2, kGenome), {hi, hi});
  EXPECT_EQ(low.status, EvalStatus::Rejected);
  EXPECT_FALSE(low.metrics.contains("epochs")) << "not trained";
  EXPECT_EQ(low.metrics.at("zero_cost").at("naswot"), z) << "its score stays in the record";
  EXPECT_NE(low.reason.find("rejected by the pre-filter: naswot score"), std::string::npos)
      << low.reason;
  // Ahead of them: trained, the same result as without a pre-filter.
  EvaluationRecord lo;
  lo.metrics = {{"zero_cost", {{"naswot", z - 100}}}};
  const EvalOutcome passed = ev.evaluate(candidate(3, kGenome), {lo, lo});
  ASSERT_EQ(passed.status, EvalStatus::Ok) << passed.reason;
  EXPECT_EQ(passed.metrics.at("miou"), first.metrics.at("miou"));
}

TEST_F(CandidateEvaluatorTest, SharedPreparedDataGivesIdenticalResults) {
  const SearchConfig cfg = tiny();
  CandidateEvaluator owner(cfg, dir_ + "/owner");
  // Candidates train on the evaluator's one copy of the chips; training one must not
  // change what the next sees.
  const EvalOutcome before = owner.evaluate(candidate(1, kChild), {});
  const EvalOutcome a = owner.evaluate(candidate(2, kGenome), {});
  CandidateEvaluator sharing(cfg, dir_ + "/sharing", {}, owner.data());
  EXPECT_EQ(sharing.data().get(), owner.data().get()) << "the same tensors, not a copy";
  const EvalOutcome b = sharing.evaluate(candidate(2, kGenome), {});
  CandidateEvaluator own(cfg, dir_ + "/own", {}, prepare_search_data(cfg));
  const EvalOutcome c = own.evaluate(candidate(2, kGenome), {});
  CandidateEvaluator fresh(cfg, dir_ + "/fresh");
  const EvalOutcome d = fresh.evaluate(candidate(2, kGenome), {});
  ASSERT_EQ(a.status, EvalStatus::Ok) << a.reason;
  EXPECT_EQ(result_of(a), result_of(d));
  EXPECT_EQ(result_of(b), result_of(d));
  EXPECT_EQ(result_of(c), result_of(d));
  // Data of other settings is refused, naming what differs.
  SearchConfig other = tiny();
  other.train["tiling"]["size"] = 16;
  other.train["tiling"]["stride"] = 16;
  try {
    CandidateEvaluator wrong(other, dir_ + "/wrong", {}, owner.data());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("search data"), std::string::npos) << e.what();
  }
}

// bench/proxy_fidelity --repeat-full: a salt gives the same genome on the same data another
// training seed (other initial weights, so other trained weights); salt 0 is the search's.
TEST_F(CandidateEvaluatorTest, ATrainingSeedSaltRetrainsTheSameGenomeWithAnotherSeed) {
  SearchConfig cfg = tiny();
  cfg.evaluation.multi_fidelity = false;
  CandidateEvaluator plain(cfg, dir_ + "/plain");
  CandidateEvaluator salted(cfg, dir_ + "/salted", {}, plain.data());
  salted.training_seed_salt = 7;
  const Candidate c = candidate(1, kGenome);
  const EvalOutcome a = plain.evaluate(c, {});
  const EvalOutcome b = salted.evaluate(c, {});
  ASSERT_EQ(a.status, EvalStatus::Ok) << a.reason;
  ASSERT_EQ(b.status, EvalStatus::Ok) << b.reason;
  EXPECT_EQ(a.seed, candidate_seed(cfg.seed, c.genome));
  EXPECT_EQ(b.seed, candidate_seed(cfg.seed ^ 7, c.genome));
  EXPECT_NE(a.seed, b.seed);
  const Checkpoint ka = load_checkpoint(plain.checkpoint_path(c.genome));
  const Checkpoint kb = load_checkpoint(salted.checkpoint_path(c.genome));
  const auto pa = ka.net->parameters(), pb = kb.net->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  bool differ = false;
  for (size_t i = 0; i < pa.size(); ++i) differ = differ || !torch::equal(pa[i], pb[i]);
  EXPECT_TRUE(differ) << "another seed trained the same weights";
  // The same salt again: the same result.
  CandidateEvaluator again(cfg, dir_ + "/again", {}, plain.data());
  again.training_seed_salt = 7;
  EXPECT_EQ(result_of(again.evaluate(c, {})), result_of(b));
}

}  // namespace
}  // namespace dalnas
