#include <gtest/gtest.h>

#include "core/error.h"
#include "data/synthetic.h"
#include "precision/learned_step.h"
#include "train/experiment.h"
#include "train/trainer.h"

using namespace dalnas;

namespace {
TrainConfig tiny_config() {
  TrainConfig c;
  c.data = "synthetic";
  c.synthetic.scenes = 5;
  c.synthetic.height = 96;
  c.synthetic.width = 96;
  c.arch = "ConvBnAct-8-k3-relu_max_ConvBnAct-12-k3-relu_max_ConvBnAct-16-k3-relu_dec-8";
  c.epochs = 4;
  c.batch = 8;
  c.tiling.size = 48;
  c.tiling.stride = 48;
  c.tiling.background_keep = 1.0;
  c.eval_tile = 64;
  c.eval_overlap = 8;
  c.threads = 2;
  return c;
}

// Every parameter and buffer of a network, copied.
std::vector<torch::Tensor> weights_of(Network& n) {
  std::vector<torch::Tensor> w;
  for (const auto& p : n->parameters()) w.push_back(p.detach().clone());
  for (const auto& b : n->buffers()) w.push_back(b.detach().clone());
  return w;
}
bool same_tensors(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!torch::equal(a[i], b[i])) return false;
  return true;
}
// A network whose forward is int8 quantization-aware (moving-average or learned ranges).
Network qat_network(const std::string& arch, int bands, uint64_t seed, bool learned = false,
                    bool learned_steps = false) {
  auto p = std::make_shared<PrecisionPolicy>();
  p->mode = PrecisionMode::Aligned;
  p->align.int8 = true;
  p->learned_ranges = learned;
  p->learned_weight_steps = learned_steps;
  torch::manual_seed(seed);
  return build_network(Genome::parse(arch), bands, p);
}
}  // namespace

TEST(Trainer, LossDecreasesAndBestWeightsAreKept) {
  torch::set_num_threads(2);
  TrainConfig c = tiny_config();
  c.lr = 3e-3;
  PreparedData d = prepare_data(c);
  ASSERT_GT(d.train.size(), 0);
  std::vector<double> losses;
  TrainOutcome r = train_model(c, d, [&](const EpochStats& e, int total, double) {
    EXPECT_EQ(total, 4);
    losses.push_back(e.train_loss);
  });
  ASSERT_EQ(losses.size(), 4u);
  EXPECT_LT(losses.back(), losses.front());
  ASSERT_GE(r.history.best_epoch, 1);
  // The kept weights are those of the best validation epoch: re-evaluating gives its loss.
  const auto& best = r.history.epochs[static_cast<size_t>(r.history.best_epoch - 1)];
  if (best.has_val) {
    Metrics again = evaluate_chips(r.ck.net, d.val, c.loss, 16);
    EXPECT_NEAR(again.loss, best.val.loss, 1e-5);
  }
  EXPECT_EQ(r.test.cm.total(), static_cast<uint64_t>(d.split.test.size()) * 96 * 96);
}

// monitor miou: the kept weights are those of the epoch with the highest validation mIoU
// (the first to beat the best by min_delta), and re-evaluating them gives that mIoU.
TEST(Trainer, MonitoringMiouKeepsTheEpochWithTheBestValidationMiou) {
  torch::set_num_threads(2);
  TrainConfig c = tiny_config();
  c.epochs = 6;
  c.lr = 3e-3;
  c.monitor = "miou";
  c.patience = 0;
  PreparedData d = prepare_data(c);
  ASSERT_GT(d.val.size(), 0);
  TrainOutcome r = train_model(c, d);
  ASSERT_EQ(r.history.epochs.size(), 6u);
  int want = 0;
  double best = -1;
  for (const auto& e : r.history.epochs) {
    ASSERT_TRUE(e.has_val);
    if (e.val.cm.miou() > best + c.min_delta) {
      best = e.val.cm.miou();
      want = e.epoch;
    }
  }
  EXPECT_EQ(r.history.best_epoch, want);
  Metrics again = evaluate_chips(r.ck.net, d.val, c.loss, 16);
  EXPECT_NEAR(again.cm.miou(), best, 1e-9);
  // Early stopping follows the mIoU too: nothing improves it by 1, so epoch 1 stays the best
  // and training stops two epochs later.
  c.epochs = 30;
  c.min_delta = 1.0;
  c.patience = 2;
  const TrainOutcome s = train_model(c, d);
  EXPECT_TRUE(s.history.early_stopped);
  EXPECT_EQ(s.history.epochs.size(), 3u);
  EXPECT_EQ(s.history.best_epoch, 1);
}

TEST(Trainer, AChipFractionTrainsEachEpochOnASeededShareOfTheChips) {
  torch::set_num_threads(1);
  TrainConfig c = tiny_config();
  c.epochs = 2;
  PreparedData d = prepare_data(c);
  const int64_t n = d.train.size();
  ASSERT_GE(n, 4);
  const auto run = [&](double fraction, std::vector<int64_t>& chips) {
    torch::manual_seed(5);
    Network net = build_network(Genome::parse(c.arch), d.bands);
    const TrainHistory h = fit(net, d.train, d.val, c, {}, EpochRange{1, 0, fraction});
    for (const auto& e : h.epochs) chips.push_back(e.chips);
    return h.epochs.back().train_loss;
  };
  std::vector<int64_t> all, half, half2;
  const double l_all = run(1.0, all), l_half = run(0.5, half), l_half2 = run(0.5, half2);
  EXPECT_EQ(all, (std::vector<int64_t>{n, n}));
  const int64_t want = (n + 1) / 2;  // ceil(0.5 n)
  EXPECT_EQ(half, (std::vector<int64_t>{want, want}));
  EXPECT_NE(l_all, l_half) << "another share of chips trains differently";
  EXPECT_EQ(l_half, l_half2) << "the share is seeded";
  Network net = build_network(Genome::parse(c.arch), d.bands);
  EXPECT_THROW(fit(net, d.train, d.val, c, {}, EpochRange{1, 0, 0.0}), Error);
}

TEST(Trainer, SameSeedSameResult) {
  torch::set_num_threads(1);
  TrainConfig c = tiny_config();
  c.epochs = 2;
  PreparedData d1 = prepare_data(c), d2 = prepare_data(c);
  auto r1 = train_model(c, d1), r2 = train_model(c, d2);
  EXPECT_DOUBLE_EQ(r1.history.epochs.back().train_loss, r2.history.epochs.back().train_loss);
  torch::set_num_threads(2);
}

// The split by fractions is drawn by split.seed, not the training seed: another seed (a
// search's, `train --seed N`, a retraining's) trains and is tested on the same scenes.
TEST(PrepareData, TheTrainingSeedKeepsTheSplitAndSplitSeedRedrawsIt) {
  TrainConfig c = tiny_config();  // 5 scenes, val and test fractions 0.2: one scene each
  const Split first = prepare_data(c).split;
  ASSERT_EQ(first.val.size(), 1u);
  ASSERT_EQ(first.test.size(), 1u);
  for (uint64_t seed : {2, 3, 4, 5}) {
    c.seed = seed;
    const Split s = prepare_data(c).split;
    EXPECT_EQ(s.train, first.train) << "training seed " << seed;
    EXPECT_EQ(s.val, first.val) << "training seed " << seed;
    EXPECT_EQ(s.test, first.test) << "training seed " << seed;
  }
  // split.seed draws the shuffle: some seed of a few gives other val/test scenes, and each
  // is the split split_scenes draws with that seed.
  c.seed = 1;
  bool moved = false;
  for (uint64_t k : {2, 3, 4, 5, 6, 7}) {
    c.split.seed = k;
    const PreparedData d = prepare_data(c);
    const Split want = split_scenes(d.scenes, c.split);
    EXPECT_EQ(d.split.val, want.val) << "split.seed " << k;
    EXPECT_EQ(d.split.test, want.test) << "split.seed " << k;
    moved = moved || d.split.val != first.val || d.split.test != first.test;
  }
  EXPECT_TRUE(moved) << "no split.seed in 2..7 moved the val or test scene of 5";
}

TEST(Trainer, EarlyStoppingStopsWhenValidationStalls) {
  TrainConfig c = tiny_config();
  c.epochs = 30;
  c.lr = 1e-9;  // nothing improves by min_delta
  c.min_delta = 1.0;
  c.patience = 2;
  PreparedData d = prepare_data(c);
  ASSERT_GT(d.val.size(), 0);
  auto r = train_model(c, d);
  EXPECT_TRUE(r.history.early_stopped);
  EXPECT_EQ(r.history.epochs.size(), 3u);  // epoch 1 is best, two more without improvement
}

TEST(Trainer, DivergenceIsAnErrorNotACrash) {
  TrainConfig c = tiny_config();
  PreparedData d = prepare_data(c);
  d.train.images.index_put_({0, 0, 0, 0}, NAN);
  d.train.images.index_put_({1, 0, 0, 0}, NAN);
  c.batch = static_cast<int>(d.train.size());  // every batch holds the NaN chips
  Network net = build_network(resolve_arch(c.arch, 4), 4);
  try {
    fit(net, d.train, d.val, c);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos);
  }
}

// Precision aligned: chips the device reads as non-finite are left out (the device's output
// there is NaN whatever the weights), and training goes on with the others.
TEST(Trainer, AlignedTrainingLeavesOutChipsTheDeviceReadsAsNonFinite) {
  TrainConfig c = tiny_config();
  c.epochs = 2;
  PreparedData d = prepare_data(c);
  ASSERT_GT(d.train.size(), 4);
  d.train.images.index_put_({0, 0, 3, 3}, NAN);
  d.train.images.index_put_({1, 1, 5, 5}, 1e6f);  // beyond FP16: infinity or 65504 on device
  c.batch = static_cast<int>(d.train.size());
  auto policy = std::make_shared<PrecisionPolicy>();
  policy->mode = PrecisionMode::Aligned;
  policy->align.input = kNumpyHalf;  // NumPy rule: overflow to infinity
  Network net = build_network(resolve_arch(c.arch, 4), 4, policy);
  TrainHistory h = fit(net, d.train, d.val, c);
  ASSERT_EQ(h.epochs.size(), 2u);
  for (const EpochStats& e : h.epochs) {
    EXPECT_EQ(e.dropped_chips, 2);
    EXPECT_EQ(e.skipped_steps, 0);
    EXPECT_TRUE(std::isfinite(e.train_loss));
  }
  for (const auto& p : net->parameters()) EXPECT_TRUE(torch::isfinite(p).all().item<bool>());

  // Every chip non-finite: nothing to learn from is divergence, not a silent no-op.
  d.train.images.index_put_({torch::indexing::Slice(), 0, 0, 0}, NAN);
  Network net2 = build_network(resolve_arch(c.arch, 4), 4, policy);
  try {
    fit(net2, d.train, d.val, c);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos) << e.what();
  }
}

// Rungs and the two-stage schedule train a network in ranges of epochs of one schedule; with
// a TrainState the ranges compute what one uninterrupted run computes, bit for bit.
TEST(Trainer, RangesWithAStateEqualOneUninterruptedRun) {
  torch::set_num_threads(1);
  TrainConfig c = tiny_config();
  c.epochs = 4;
  c.lr = 3e-3;
  c.augment = true;
  PreparedData d = prepare_data(c);
  ASSERT_GT(d.val.size(), 0) << "best-weight restoring between ranges is part of the check";
  const auto fresh = [&] {
    torch::manual_seed(11);
    return build_network(Genome::parse(c.arch), d.bands);
  };
  Network whole = fresh();
  const TrainHistory hw = fit(whole, d.train, d.val, c);
  ASSERT_EQ(hw.epochs.size(), 4u);

  Network parts = fresh();
  TrainState state;
  std::vector<EpochStats> epochs;
  for (const EpochRange r : {EpochRange{1, 1}, EpochRange{2, 3}, EpochRange{4, 4}}) {
    const TrainHistory h = fit(parts, d.train, d.val, c, {}, r, &state);
    epochs.insert(epochs.end(), h.epochs.begin(), h.epochs.end());
    EXPECT_EQ(state.epochs_done, r.last);
    EXPECT_FALSE(state.optimizer.empty());
  }
  ASSERT_EQ(epochs.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(epochs[i].train_loss, hw.epochs[i].train_loss) << i;
  EXPECT_EQ(state.best_epoch, hw.best_epoch);
  EXPECT_TRUE(same_tensors(weights_of(parts), weights_of(whole))) << "the kept (best) weights";

  // Through a file (a search killed between rungs continues from it): the same again.
  Network resumed = fresh();
  TrainState first;
  fit(resumed, d.train, d.val, c, {}, EpochRange{1, 2}, &first);
  const std::string path = ::testing::TempDir() + "/ranges.train";
  first.save(path);
  TrainState loaded = TrainState::load(path);
  Network other = fresh();  // another object: the state carries the weights where it stopped
  fit(other, d.train, d.val, c, {}, EpochRange{3, 4}, &loaded);
  EXPECT_TRUE(same_tensors(weights_of(other), weights_of(whole)));

  // Without the state the optimiser starts afresh: a different network (the test can fail).
  Network stateless = fresh();
  fit(stateless, d.train, d.val, c, {}, EpochRange{1, 2});
  fit(stateless, d.train, d.val, c, {}, EpochRange{3, 4});
  EXPECT_FALSE(same_tensors(weights_of(stateless), weights_of(whole)));
  torch::set_num_threads(2);
}

// Quantization-aware training (an int8 target): the activation ranges are state like the
// weights. Ranges of epochs through a state file train what one run trains, and the kept
// (best) weights come back with the ranges they were trained at.
TEST(Trainer, QuantizationAwareRangesCarryOverBetweenRanges) {
  torch::set_num_threads(1);
  TrainConfig c = tiny_config();
  c.epochs = 4;
  c.lr = 3e-3;
  PreparedData d = prepare_data(c);
  const auto fresh = [&] { return qat_network(c.arch, d.bands, 11); };
  Network whole = fresh();
  TrainState ws;
  fit(whole, d.train, d.val, c, {}, EpochRange{1, 4}, &ws);
  ASSERT_FALSE(whole->policy->int8_ranges().empty());
  // After training the network holds the kept weights and their ranges; the state holds
  // both where training stopped.
  EXPECT_EQ(whole->policy->int8_ranges(), ws.best_ranges);
  EXPECT_FALSE(ws.last_ranges.empty());

  const std::string path = ::testing::TempDir() + "/qat-ranges.train";
  {
    Network first = fresh();
    TrainState s;
    fit(first, d.train, d.val, c, {}, EpochRange{1, 2}, &s);
    s.save(path);
  }
  TrainState loaded = TrainState::load(path);
  ASSERT_FALSE(loaded.last_ranges.empty());
  Network other = fresh();  // a new network and policy: everything comes from the file
  fit(other, d.train, d.val, c, {}, EpochRange{3, 4}, &loaded);
  EXPECT_TRUE(same_tensors(weights_of(other), weights_of(whole)));
  EXPECT_EQ(other->policy->int8_ranges(), whole->policy->int8_ranges());

  // Without the ranges (a state that lost them) the moving averages restart: another
  // network (the check can fail).
  TrainState lost = TrainState::load(path);
  lost.last_ranges.clear();
  lost.best_ranges.clear();
  Network restarted = fresh();
  fit(restarted, d.train, d.val, c, {}, EpochRange{3, 4}, &lost);
  EXPECT_FALSE(same_tensors(weights_of(restarted), weights_of(whole)) &&
               restarted->policy->int8_ranges() == whole->policy->int8_ranges());
  torch::set_num_threads(2);
}

// Learned ranges (LSQ): the ranges and their optimiser carry over between ranges of epochs
// too, and learning moves them away from the moving averages'.
TEST(Trainer, LearnedRangesCarryOverBetweenRangesAndDifferFromMovingAverages) {
  torch::set_num_threads(1);
  TrainConfig c = tiny_config();
  c.epochs = 3;
  c.lr = 3e-3;
  PreparedData d = prepare_data(c);
  const auto fresh = [&](bool learned) { return qat_network(c.arch, d.bands, 12, learned); };
  Network whole = fresh(true);
  fit(whole, d.train, d.val, c);
  ASSERT_FALSE(whole->policy->learned_range_params().empty());
  Network ema = fresh(false);
  fit(ema, d.train, d.val, c);
  EXPECT_NE(whole->policy->int8_ranges(), ema->policy->int8_ranges());

  const std::string path = ::testing::TempDir() + "/lsq-ranges.train";
  {
    Network first = fresh(true);
    TrainState s;
    fit(first, d.train, d.val, c, {}, EpochRange{1, 1}, &s);
    EXPECT_FALSE(s.range_optimizer.empty());
    s.save(path);
  }
  TrainState loaded = TrainState::load(path);
  Network other = fresh(true);
  fit(other, d.train, d.val, c, {}, EpochRange{2, 3}, &loaded);
  EXPECT_TRUE(same_tensors(weights_of(other), weights_of(whole)));
  EXPECT_EQ(other->policy->int8_ranges(), whole->policy->int8_ranges());
  torch::set_num_threads(2);
}

// Learned weight steps (LSQ on weights): training moves them away from max |w| / qmax; they
// and their optimiser carry over between ranges of epochs through a state file (the split
// run equals the whole one, weights, ranges and steps); the kept weights come back with
// their steps. Without the carried steps the split run differs (the check can fail).
TEST(Trainer, LearnedWeightStepsMoveAndCarryOverBetweenRanges) {
  torch::set_num_threads(1);
  TrainConfig c = tiny_config();
  c.epochs = 3;
  c.lr = 3e-3;
  PreparedData d = prepare_data(c);
  const auto fresh = [&] { return qat_network(c.arch, d.bands, 13, true, true); };
  Network whole = fresh();
  TrainState ws;
  fit(whole, d.train, d.val, c, {}, EpochRange{1, 3}, &ws);
  const WeightSteps learned = whole->policy->weight_steps();
  ASSERT_FALSE(learned.empty());
  EXPECT_EQ(whole->policy->weight_steps(true), ws.best_steps);
  // The steps moved from where they started (max |w_c| / 127 of the trained weights would be
  // a coincidence).
  int moved = 0, total = 0;
  for (const auto& p : whole->named_parameters()) {
    const auto it = learned.find(p.key());
    if (it == learned.end()) continue;
    const torch::Tensor start = initial_weight_steps(p.value(), 127);
    for (size_t i = 0; i < it->second.size(); ++i, ++total)
      moved += std::fabs(it->second[i] / start[static_cast<int64_t>(i)].item<float>() - 1) > 1e-3;
  }
  EXPECT_GT(moved, total / 2) << moved << " of " << total;

  const std::string path = ::testing::TempDir() + "/lsq-steps.train";
  {
    Network first = fresh();
    TrainState s;
    fit(first, d.train, d.val, c, {}, EpochRange{1, 1}, &s);
    EXPECT_FALSE(s.last_steps.empty());
    s.save(path);
  }
  TrainState loaded = TrainState::load(path);
  ASSERT_FALSE(loaded.last_steps.empty());
  Network other = fresh();
  fit(other, d.train, d.val, c, {}, EpochRange{2, 3}, &loaded);
  EXPECT_TRUE(same_tensors(weights_of(other), weights_of(whole)));
  EXPECT_EQ(other->policy->weight_steps(), learned);

  TrainState lost = TrainState::load(path);
  lost.last_steps.clear();
  lost.best_steps.clear();
  lost.range_optimizer.clear();
  Network restarted = fresh();
  fit(restarted, d.train, d.val, c, {}, EpochRange{2, 3}, &lost);
  EXPECT_NE(restarted->policy->weight_steps(), learned);
  torch::set_num_threads(2);
}

TEST(Trainer, AStateStoppedEarlyTrainsNoFurther) {
  TrainConfig c = tiny_config();
  c.epochs = 30;
  c.lr = 1e-9;
  c.min_delta = 1.0;
  c.patience = 2;
  PreparedData d = prepare_data(c);
  ASSERT_GT(d.val.size(), 0);
  Network net = build_network(Genome::parse(c.arch), d.bands);
  TrainState state;
  const TrainHistory a = fit(net, d.train, d.val, c, {}, EpochRange{1, 10}, &state);
  EXPECT_EQ(a.epochs.size(), 3u);
  EXPECT_TRUE(state.stopped);
  const TrainHistory b = fit(net, d.train, d.val, c, {}, EpochRange{11, 20}, &state);
  EXPECT_TRUE(b.epochs.empty()) << "an uninterrupted run would have stopped at epoch 3";
  EXPECT_TRUE(b.early_stopped);
  EXPECT_EQ(b.best_epoch, 1);
}

// freeze_bn_epochs: BatchNorm on its running statistics, which stop moving, while the rest
// (BatchNorm's affine parameters included) trains. Frozen for every epoch, the statistics
// are still their initial values; not frozen, they moved.
TEST(Trainer, FrozenBatchNormKeepsItsRunningStatisticsAndStillLearns) {
  torch::set_num_threads(1);
  for (int freeze : {0, 2}) {
    TrainConfig c = tiny_config();
    c.epochs = 2;
    c.freeze_bn_epochs = freeze;
    PreparedData d = prepare_data(c);
    TrainOutcome r = train_model(c, d, nullptr);
    int bns = 0;
    bool stats_moved = false, affine_moved = false;
    for (const auto& m : r.ck.net->modules(false)) {
      const auto* bn = dynamic_cast<const torch::nn::BatchNorm2dImpl*>(m.get());
      if (bn == nullptr) continue;
      ++bns;
      stats_moved = stats_moved ||
                    !torch::equal(bn->running_mean, torch::zeros_like(bn->running_mean)) ||
                    !torch::equal(bn->running_var, torch::ones_like(bn->running_var));
      affine_moved = affine_moved || !torch::equal(bn->weight, torch::ones_like(bn->weight));
    }
    ASSERT_GT(bns, 0);
    EXPECT_EQ(stats_moved, freeze == 0) << "freeze_bn_epochs " << freeze;
    EXPECT_TRUE(affine_moved) << "freeze_bn_epochs " << freeze;
  }
}
