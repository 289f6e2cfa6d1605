#pragma once
// Zero-cost proxies: scores of an untrained network that may rank architectures without
// training them (candidates for a pre-filter; bench/proxy_fidelity measures how well they
// rank against full training). Each works on an FP32 copy of the network (the network
// given is not changed):
//
//   grad_norm  sum over parameter tensors of the L2 norm of the loss gradient on one batch
//              (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", 2021).
//   synflow    sum over parameters of |theta * dR/dtheta| where R is the sum of the output
//              of the network with every parameter replaced by its absolute value, on an
//              all-ones input, in eval mode and float64 (Tanaka et al., 2020; as a NAS
//              proxy in Abdelfattah et al.). Data-free.
//   naswot     log |det K| of the batch's activation-pattern kernel: every stored
//              activation (the points PrecisionPolicy::act reports, the input excluded)
//              gives each chip a binary code (value > 0); K[i][j] = number of units where
//              chips i and j agree (Mellor et al., "Neural Architecture Search without
//              Training", 2021). Train mode (batch statistics), no gradients.
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "core/genome.h"
#include "nn/network.h"
#include "train/chips.h"
#include "train/loss.h"

namespace dalnas {

double grad_norm_score(Network& net, const torch::Tensor& x, const torch::Tensor& y,
                       const LossOptions& loss = {});
double synflow_score(Network& net, int64_t height, int64_t width);
double naswot_score(Network& net, const torch::Tensor& x);
// log |det K| of binary codes (N rows, one per input; values 0 or 1): K = C C^T +
// (1 - C)(1 - C)^T. -infinity when K is singular (e.g. two identical codes).
double naswot_from_codes(const torch::Tensor& codes);

struct ZeroCostScores {
  double grad_norm = 0, synflow = 0, naswot = 0;
  double seconds = 0;  // all three together
};
// The three scores of genome `g` initialised with `seed` (torch::manual_seed), on the
// first `batch` chips of `chips` (synflow at the chips' size).
ZeroCostScores zero_cost_scores(const Genome& g, int bands, const ChipSet& chips, uint64_t seed,
                                int batch = 16);
// One of them by name ("grad_norm", "synflow" or "naswot"; dalnas::Error otherwise), the
// same number zero_cost_scores() gives for it (the pre-filter of search/prefilter.h).
double zero_cost_score(const std::string& name, const Genome& g, int bands, const ChipSet& chips,
                       uint64_t seed, int batch = 16);

}  // namespace dalnas
