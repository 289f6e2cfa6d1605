#pragma once
// The winner of a search retrained with several training seeds ([evaluation] final_seeds):
// what its metrics are over the seeds. On sen2ships one 30-epoch training's seed moves the
// val device mIoU by about 0.01, as much as the networks of a search differ
// (bench/proxy_fidelity --repeat-full), so one retraining cannot say whether the winner is
// better than a reference; the mean over seeds and its spread can.
//
// Input: each retraining's metrics (CandidateEvaluator::train_final, best/metrics.json and
// best/seeds/<seed>/metrics.json): "seed", "host_val", "device_val", "host_test",
// "device_test" (each an object with "miou"), optionally "fp32_twin" with the same keys.
// Output:
//   {"seeds": [s1, s2, ...],
//    "host_val": {"miou": [...], "mean": m, "sd": s}, "device_val": ..., "host_test": ...,
//    "device_test": ...,                     (a split every retraining has)
//    "fp32_twin": {the same keys},           (when every retraining has a twin)
//    "conversion_loss_test": {...},          twin host_test - twin device_test per seed
//    "aligned_gain_test": {...}}             device_test - twin device_test per seed
// sd is the sample standard deviation (n - 1); one seed gives sd 0.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dalnas {

// Throws dalnas::Error when `per_seed` is empty or a retraining lacks "seed" or has a
// split's "miou" that is not a number.
nlohmann::json summarize_seeds(const std::vector<nlohmann::json>& per_seed);

// The mIoU under `split` (e.g. "device_test") of each retraining in `rs`, in order; false
// (and `out` cleared) when one is null or lacks the split. Throws dalnas::Error "<side>
// retraining <i>: <split>.miou: expected a number" (side empty, or e.g. "winner").
bool split_mious(const std::vector<const nlohmann::json*>& rs, const std::string& split,
                 const std::string& side, std::vector<double>& out);

// One line for the terminal, e.g. "over seeds 1-3: test mIoU on myriadx 0.6299 +- 0.0109
// (host FP32 0.6301 +- 0.0110); FP32 twin: 0.6340 +- ... host, 0.6150 +- ... after
// conversion". Empty when `summary` has no test split.
std::string seed_summary_line(const nlohmann::json& summary, const std::string& device);

}  // namespace dalnas
