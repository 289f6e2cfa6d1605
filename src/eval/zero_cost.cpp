#include "eval/zero_cost.h"

#include <chrono>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "train/experiment.h"

namespace dalnas {

namespace {

// An FP32 copy of `net` (weights and BatchNorm statistics) with its own policy.
Network fp32_copy(Network& net) {
  return clone_network(net, std::make_shared<PrecisionPolicy>());
}

}  // namespace

double grad_norm_score(Network& net, const torch::Tensor& x, const torch::Tensor& y,
                       const LossOptions& loss) {
  Network n = fp32_copy(net);
  n->train();
  n->zero_grad();
  compute_loss(n->forward(x), y, loss).backward();
  double total = 0;
  for (const auto& p : n->parameters())
    if (p.grad().defined()) total += p.grad().norm().item<double>();
  return total;
}

double synflow_score(Network& net, int64_t height, int64_t width) {
  Network n = fp32_copy(net);
  n->to(torch::kFloat64);
  n->eval();
  {
    torch::NoGradGuard ng;
    for (auto& p : n->parameters()) p.abs_();
  }
  n->zero_grad();
  const torch::Tensor ones =
      torch::ones({1, n->in_bands, height, width}, torch::TensorOptions(torch::kFloat64));
  n->forward(ones).sum().backward();
  double total = 0;
  for (const auto& p : n->parameters())
    if (p.grad().defined()) total += (p * p.grad()).abs().sum().item<double>();
  return total;
}

double naswot_from_codes(const torch::Tensor& codes) {
  if (codes.dim() != 2) throw Error("naswot: codes must be a matrix (one row per input)");
  const torch::Tensor c = codes.to(torch::kFloat64);
  const torch::Tensor k = c.mm(c.t()) + (1 - c).mm((1 - c).t());
  const auto [sign, logabs] = torch::linalg_slogdet(k);
  if (sign.item<double>() == 0) return -std::numeric_limits<double>::infinity();
  return logabs.item<double>();
}

double naswot_score(Network& net, const torch::Tensor& x) {
  Network n = fp32_copy(net);
  n->train();
  const int64_t batch = x.size(0);
  // K accumulated tensor by tensor (the codes of a whole network do not fit in memory).
  torch::Tensor k = torch::zeros({batch, batch}, torch::kFloat64);
  n->policy->observer = [&](const std::string& where, const torch::Tensor& t) {
    if (where == "input") return;
    const torch::Tensor c = (t.detach() > 0).flatten(1).to(torch::kFloat64);
    k += c.mm(c.t()) + (1 - c).mm((1 - c).t());
  };
  {
    torch::NoGradGuard ng;
    n->forward(x);
  }
  n->policy->observer = nullptr;
  const auto [sign, logabs] = torch::linalg_slogdet(k);
  if (sign.item<double>() == 0) return -std::numeric_limits<double>::infinity();
  return logabs.item<double>();
}

namespace {

// The network of `g` initialised with `seed` and the first `batch` chips (at least two).
Network scored_network(const Genome& g, int bands, const ChipSet& chips, uint64_t seed, int batch,
                       torch::Tensor& x, torch::Tensor& y) {
  if (chips.size() < 2) throw Error("zero-cost scores: need at least two chips");
  const int64_t n = std::min<int64_t>(chips.size(), std::max(2, batch));
  x = chips.images.slice(0, 0, n);
  y = chips.masks.slice(0, 0, n);
  torch::manual_seed(seed);
  return build_network(g, bands);
}

}  // namespace

double zero_cost_score(const std::string& name, const Genome& g, int bands, const ChipSet& chips,
                       uint64_t seed, int batch) {
  if (name != "grad_norm" && name != "synflow" && name != "naswot")
    throw Error("zero-cost score: '" + name + "' is not one (grad_norm, synflow, naswot)");
  torch::Tensor x, y;
  Network net = scored_network(g, bands, chips, seed, batch, x, y);
  if (name == "grad_norm") return grad_norm_score(net, x, y);
  if (name == "synflow") return synflow_score(net, x.size(2), x.size(3));
  return naswot_score(net, x);
}

ZeroCostScores zero_cost_scores(const Genome& g, int bands, const ChipSet& chips, uint64_t seed,
                                int batch) {
  const auto t0 = std::chrono::steady_clock::now();
  torch::Tensor x, y;
  Network net = scored_network(g, bands, chips, seed, batch, x, y);
  ZeroCostScores s;
  s.grad_norm = grad_norm_score(net, x, y);
  s.synflow = synflow_score(net, x.size(2), x.size(3));
  s.naswot = naswot_score(net, x);
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

}  // namespace dalnas
