#pragma once
// The search's winner against a baseline network ([evaluation] baseline, e.g. "reference"):
// both retrained with the same recipe (final_epochs, [final_train]), the same training
// seeds and the same scenes, so that the difference is the architecture's, not the
// recipe's or a seed's. Answers what a user of a hardware-aware search asks first: is the
// network it found at least as accurate as the one I would have used, and at what cost?
// One training's seed moves the device mIoU on sen2ships by 0.01-0.03, as much as such
// networks differ, so the comparison is per seed (paired) and over several seeds
// (final_seeds).
//
// Input: per seed the retraining's metrics of the winner and of the baseline
// (CandidateEvaluator::train_final: "seed", "params", "latency_ms", and per split
// "host_val", "device_val", "host_test", "device_test" objects with "miou"), in the same
// seed order on both sides.
// Output:
//   {"baseline": the name given, "genome": its canonical genome, "seeds": [s1, ...],
//    "params": {"winner": w, "baseline": b, "ratio": w / b},
//    "latency_ms": {"winner": w, "baseline": b, "ratio": w / b},
//    "device_test": {"winner": [...], "baseline": [...], "difference": [...] (winner -
//                    baseline per seed), "winner_mean", "winner_sd", "baseline_mean",
//                    "baseline_sd", "difference_mean", "difference_sd",
//                    "seeds_above": how many differences are > 0,
//                    "p_above": one-sided exact paired permutation p that a mean
//                    difference this large is the seeds' chance (core/permutation_test.h)},
//    "device_val": ..., "host_test": ..., "host_val": ...   (the splits both sides have)}
// sd is the sample standard deviation (n - 1); one seed gives sd 0.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dalnas {

// Throws dalnas::Error when a side is empty, the two sides' seeds differ, or a retraining
// lacks "seed", "params" or "latency_ms", or has a split's "miou" that is not a number.
nlohmann::json compare_to_baseline(const std::string& name, const std::string& genome,
                                   const std::vector<nlohmann::json>& winner,
                                   const std::vector<nlohmann::json>& baseline);

// One line for the terminal, e.g. "against reference (retrained alike, seeds 1-3): test
// mIoU on myriadx 0.6379 +- 0.0137 vs 0.6310 +- 0.0089, difference +0.0069 +- 0.0120 (2 of
// 3 seeds above, paired p 0.250); latency 11.82 vs 19.98 ms (0.59x), params 14189 vs 95791
// (0.15x)". Uses device_test, else device_val, else the host's.
std::string baseline_line(const nlohmann::json& comparison, const std::string& device);

}  // namespace dalnas
