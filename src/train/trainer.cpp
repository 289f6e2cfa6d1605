#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>

#include "core/error.h"

namespace dalnas {

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

Metrics evaluate_chips(Network& net, const ChipSet& set, const LossOptions& loss, int batch) {
  Metrics m;
  m.params = count_parameters(*net);
  if (set.size() == 0) return m;
  torch::NoGradGuard ng;
  const bool was_training = net->is_training();
  net->eval();
  double loss_sum = 0;
  int64_t loss_n = 0;
  for (int64_t b = 0; b < set.size(); b += batch) {
    const int64_t e = std::min<int64_t>(set.size(), b + batch);
    auto x = set.images.slice(0, b, e);
    auto y = set.masks.slice(0, b, e);
    auto logits = net->forward(x);
    // Precision aligned: chips whose device forward is non-finite (see fit()) count in the
    // confusion matrix as the device would score them, not in the loss.
    const torch::Tensor finite = torch::isfinite(logits).flatten(1).all(1);
    const int64_t n_finite = finite.sum().item<int64_t>();
    if (n_finite == e - b) {
      loss_sum += compute_loss(logits, y, loss).item<double>() * static_cast<double>(e - b);
      loss_n += e - b;
    } else if (n_finite > 0) {
      loss_sum += compute_loss(logits.index({finite}), y.index({finite}), loss).item<double>() *
                  static_cast<double>(n_finite);
      loss_n += n_finite;
    }
    auto prob = torch::sigmoid(logits).contiguous();
    auto mask = y.to(torch::kUInt8).contiguous();
    m.cm.add(prob.data_ptr<float>(), mask.data_ptr<uint8_t>(), static_cast<size_t>(prob.numel()));
  }
  m.loss = loss_n ? loss_sum / static_cast<double>(loss_n) : NAN;
  if (was_training) net->train();
  return m;
}

namespace {
using Clock = std::chrono::steady_clock;

// Per chip: whether the device receives a finite input (precision aligned only; all true
// otherwise). Uses a copy of the policy so that observers see only real forward passes.
torch::Tensor finite_on_device(const Network& net, const torch::Tensor& x) {
  if (!net->policy || !net->policy->device_aligned()) {
    return torch::ones({x.size(0)}, torch::kBool);
  }
  torch::NoGradGuard ng;
  PrecisionPolicy p = *net->policy;
  p.observer = nullptr;
  return torch::isfinite(p.input(x)).flatten(1).all(1);
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::vector<torch::Tensor> snapshot(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (auto& p : m.parameters()) out.push_back(p.detach().clone());
  for (auto& b : m.buffers()) out.push_back(b.detach().clone());
  return out;
}

}  // namespace

void load_weights(torch::nn::Module& m, const std::vector<torch::Tensor>& saved) {
  if (saved.size() != m.parameters().size() + m.buffers().size())
    throw Error("weights: " + std::to_string(saved.size()) + " tensors, the network has " +
                std::to_string(m.parameters().size() + m.buffers().size()));
  torch::NoGradGuard ng;
  size_t i = 0;
  for (auto& p : m.parameters()) p.copy_(saved[i++]);
  for (auto& b : m.buffers()) b.copy_(saved[i++]);
}

TrainHistory fit(Network& net, const ChipSet& train, const ChipSet& val, const TrainConfig& cfg,
                 const EpochCallback& on_epoch, const EpochRange& range, TrainState* state) {
  TrainHistory hist;
  const auto t_start = Clock::now();
  const int first = std::max(1, range.first);
  const int last = range.last > 0 ? std::min(range.last, cfg.epochs) : cfg.epochs;
  if (cfg.epochs == 0 || train.size() == 0 || first > last) return hist;
  if (state && state->stopped) {  // early stopping ended the schedule in an earlier range
    hist.early_stopped = true;
    hist.best_epoch = state->best_epoch;
    return hist;
  }
  torch::optim::Adam opt(net->parameters(),
                         torch::optim::AdamOptions(cfg.lr).weight_decay(cfg.weight_decay));
  if (state && !state->last.empty()) {
    if (state->last.size() != net->parameters().size() + net->buffers().size())
      throw Error("training state: " + std::to_string(state->last.size()) +
                  " tensors, the network has " +
                  std::to_string(net->parameters().size() + net->buffers().size()));
    load_weights(*net, state->last);  // continue where the last range stopped, not its best
    // ... with the activation ranges it had there (quantization-aware training).
    if (!state->last_ranges.empty()) net->policy->set_int8_ranges(state->last_ranges);
    if (!state->last_steps.empty()) net->policy->set_weight_steps(state->last_steps, true);
  }
  if (state && !state->optimizer.empty()) {
    std::istringstream in(state->optimizer);
    torch::serialize::InputArchive a;
    a.load_from(in);
    opt.load(a);
  }
  std::mt19937_64 rng;
  std::vector<int64_t> order(static_cast<size_t>(train.size()));
  if (!(range.chip_fraction > 0 && range.chip_fraction <= 1))
    throw Error("training: chip fraction " + std::to_string(range.chip_fraction) +
                " is not within (0, 1]");
  // The chips each epoch trains on: a prefix of the epoch's shuffled order.
  const size_t used =
      range.chip_fraction >= 1
          ? order.size()
          : std::min(
                order.size(),
                std::max<size_t>(2, static_cast<size_t>(std::ceil(
                                        range.chip_fraction * static_cast<double>(order.size())))));

  const bool has_val = val.size() > 0;
  const bool aligned = net->policy && net->policy->device_aligned();
  const int freeze_bn_epochs =
      cfg.resolved_freeze_bn_epochs(net->policy && net->policy->quantization_aware());
  double best_loss = state ? state->best_loss : INFINITY;
  std::vector<torch::Tensor> best_weights = state ? state->best : std::vector<torch::Tensor>{};
  ActRanges best_ranges = state ? state->best_ranges : ActRanges{};    // QAT: with best_weights
  WeightSteps best_steps = state ? state->best_steps : WeightSteps{};  // ... (log steps)
  int since_best = state ? state->since_best : 0;
  hist.best_epoch = state ? state->best_epoch : 0;
  const double lr_min = cfg.lr / 20;

  // Learned activation ranges and weight steps (LSQ, PrecisionPolicy::learned_ranges and
  // learned_weight_steps): an Adam of their own, made once the first training forward has
  // created them; the ranges at the weights' learning rate, the (log) weight steps at
  // kStepLrFactor times it, each group its own param group.
  std::unique_ptr<torch::optim::Adam> range_opt;
  std::vector<double> group_factor;  // each param group's factor of the learning rate
  const PrecisionPolicy& policy = *net->policy;
  double lr = cfg.lr;
  const auto step_ranges = [&] {
    if (!policy.learned_ranges && !policy.learned_weight_steps) return;
    const std::vector<torch::Tensor> ranges =
        policy.learned_ranges ? policy.learned_range_params() : std::vector<torch::Tensor>{};
    const std::vector<torch::Tensor> steps =
        policy.learned_weight_steps ? policy.learned_step_params() : std::vector<torch::Tensor>{};
    if (ranges.empty() && steps.empty()) return;
    if (!range_opt) {
      std::vector<torch::optim::OptimizerParamGroup> groups;
      if (!ranges.empty()) {
        groups.emplace_back(ranges, std::make_unique<torch::optim::AdamOptions>(lr));
        group_factor.push_back(1.0);
      }
      if (!steps.empty()) {
        groups.emplace_back(steps, std::make_unique<torch::optim::AdamOptions>(
                                       lr * PrecisionPolicy::kStepLrFactor));
        group_factor.push_back(PrecisionPolicy::kStepLrFactor);
      }
      range_opt = std::make_unique<torch::optim::Adam>(groups, torch::optim::AdamOptions(lr));
      if (state && !state->range_optimizer.empty()) {
        std::istringstream in(state->range_optimizer);
        torch::serialize::InputArchive a;
        a.load_from(in);
        range_opt->load(a);
      }
    } else {
      size_t known = 0;
      for (const auto& g : range_opt->param_groups()) known += g.params().size();
      if (known != ranges.size() + steps.size())  // a point or weight first met after the others
        throw Error("learned int8 ranges and weight steps: " +
                    std::to_string(ranges.size() + steps.size()) + " leaves, " +
                    std::to_string(known) + " when training began");
    }
    for (size_t i = 0; i < range_opt->param_groups().size(); ++i)
      static_cast<torch::optim::AdamOptions&>(range_opt->param_groups()[i].options())
          .lr(lr * group_factor[i]);
    range_opt->step();
    range_opt->zero_grad();
    policy.keep_learned_ranges_valid();
  };

  for (int epoch = first; epoch <= last; ++epoch) {
    const auto t0 = Clock::now();
    lr = cfg.lr;
    if (cfg.cosine && cfg.epochs > 1)
      lr = lr_min + 0.5 * (cfg.lr - lr_min) * (1 + std::cos(M_PI * (epoch - 1) / (cfg.epochs - 1)));
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);

    net->train();
    // The last freeze_bn_epochs epochs: BatchNorm on its running statistics, which stop
    // moving (eval mode), the rest of the network training.
    const bool freeze_bn = freeze_bn_epochs > 0 && epoch > cfg.epochs - freeze_bn_epochs;
    if (freeze_bn) {
      for (const auto& m : net->modules(/*include_self=*/false)) {
        if (dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get()) != nullptr) m->eval();
      }
      // The first frozen epoch: quantization-aware ranges seen on batch statistics start
      // again on the network the device folds (with few batches an epoch, a moving average
      // would otherwise keep most of the old ranges).
      if (epoch == cfg.epochs - freeze_bn_epochs + 1 && net->policy &&
          net->policy->quantization_aware())
        net->policy->restart_int8_ranges();
    }
    // The epoch's own stream: the same shuffle and augmentation in whichever range it runs.
    rng.seed(cfg.seed * 0x9E3779B97F4A7C15ULL + 17 + static_cast<uint64_t>(epoch - 1));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0;
    int64_t seen = 0, dropped = 0, skipped = 0;
    for (size_t b = 0; b < used; b += static_cast<size_t>(cfg.batch)) {
      const size_t e = std::min(used, b + static_cast<size_t>(cfg.batch));
      if (e - b < 2 && seen > 0) break;  // a batch of one breaks BatchNorm statistics
      std::vector<int64_t> idx(order.begin() + static_cast<long>(b),
                               order.begin() + static_cast<long>(e));
      auto [x, y] = make_batch(train, idx, cfg.augment ? &rng : nullptr);
      if (aligned) {
        const torch::Tensor keep = finite_on_device(net, x);
        const int64_t kept = keep.sum().item<int64_t>();
        if (kept < x.size(0)) {
          dropped += x.size(0) - kept;
          if (kept < 2) continue;  // nothing (or one chip: BatchNorm) left to learn from
          x = x.index({keep});
          y = y.index({keep});
        }
      }
      opt.zero_grad();
      auto loss = compute_loss(net->forward(x), y, cfg.loss);
      const double lv = loss.item<double>();
      if (!std::isfinite(lv)) {
        if (!aligned)
          throw Error("training diverged (loss is " + std::to_string(lv) + ") at epoch " +
                      std::to_string(epoch));
        ++skipped;  // the device's forward overflowed inside the network: no update
        if (range_opt) range_opt->zero_grad();
        continue;
      }
      loss.backward();
      opt.step();
      step_ranges();
      loss_sum += lv * static_cast<double>(x.size(0));
      seen += static_cast<int64_t>(x.size(0));
    }
    if (aligned && seen == 0 && (skipped > 0 || dropped > 0))
      throw Error("training diverged (nothing finite on the device to learn from: " +
                  std::to_string(dropped) + " chips with non-finite input, " +
                  std::to_string(skipped) + " steps with non-finite loss) at epoch " +
                  std::to_string(epoch));
    EpochStats st;
    st.epoch = epoch;
    st.lr = lr;
    st.train_loss = seen ? loss_sum / static_cast<double>(seen) : 0;
    st.images_per_s = static_cast<double>(seen) / std::max(1e-9, seconds_since(t0));
    st.dropped_chips = dropped;
    st.chips = static_cast<int64_t>(used);
    st.skipped_steps = skipped;
    if (has_val) {
      st.has_val = true;
      st.val = evaluate_chips(net, val, cfg.loss, std::max(cfg.batch, 16));
    }
    st.seconds = seconds_since(t0);
    hist.epochs.push_back(st);

    // Lower is better: the loss, or the mIoU negated (TrainConfig::monitor). Without
    // validation chips, the training loss either way.
    const double monitored =
        !has_val ? st.train_loss : (cfg.monitor == "miou" ? -st.val.cm.miou() : st.val.loss);
    if (monitored < best_loss - cfg.min_delta) {
      best_loss = monitored;
      best_weights = snapshot(*net);
      best_ranges = net->policy->int8_ranges();
      best_steps = net->policy->weight_steps(/*log=*/true);
      hist.best_epoch = epoch;
      since_best = 0;
    } else {
      ++since_best;
    }
    const double mean_epoch = seconds_since(t_start) / (epoch - first + 1);
    if (on_epoch) on_epoch(st, last, mean_epoch * (last - epoch));
    if (has_val && cfg.patience > 0 && since_best >= cfg.patience) {
      hist.early_stopped = true;
      break;
    }
  }
  if (state) {
    state->epochs_done = hist.epochs.empty() ? state->epochs_done : hist.epochs.back().epoch;
    state->last = snapshot(*net);
    state->best = best_weights;
    state->best_loss = best_loss;
    state->best_epoch = hist.best_epoch;
    state->since_best = since_best;
    state->stopped = hist.early_stopped;
    state->last_ranges = net->policy->int8_ranges();
    state->best_ranges = best_ranges;
    state->last_steps = net->policy->weight_steps(/*log=*/true);
    state->best_steps = best_steps;
    std::ostringstream out;
    torch::serialize::OutputArchive a;
    opt.save(a);
    a.save_to(out);
    state->optimizer = out.str();
    if (range_opt) {
      std::ostringstream ro;
      torch::serialize::OutputArchive ra;
      range_opt->save(ra);
      ra.save_to(ro);
      state->range_optimizer = ro.str();
    }
  }
  if (!best_weights.empty()) {
    load_weights(*net, best_weights);
    // The best weights evaluate and deploy at the ranges they were trained at.
    if (!best_ranges.empty()) net->policy->set_int8_ranges(best_ranges);
    if (!best_steps.empty()) net->policy->set_weight_steps(best_steps, /*log=*/true);
  }
  net->eval();
  hist.seconds = seconds_since(t_start);
  return hist;
}

}  // namespace dalnas
