#pragma once
// Latency of networks on this machine (the `host-cpu` device's ground truth): libtorch FP32
// forwards of build_network(genome) at batch 1 on a fixed number of threads.
//
// The machine is shared, so the measurement is made robust against other loads:
//   - warm-up: `warmup` forwards per network before any timing (allocations, caches);
//   - interleaving: `rounds` rounds, each timing every network in turn (`repeats` forwards
//     back to back), so that a burst of outside load hits one round of every network rather
//     than all rounds of one;
//   - per round the median of the repeats; the latency is the smallest round median (the
//     run least disturbed: outside load only ever adds time).
// The spread of the round medians (largest / smallest - 1) is reported as the noise seen.
#include <cstdint>
#include <vector>

#include "core/genome.h"
#include "core/search_space.h"
#include "device/graph.h"

namespace dalnas {

enum class HostClock { Auto, Wall };

struct HostTimingOptions {
  HostClock clock = HostClock::Auto;  // Auto: thread CPU time at one thread, else wall
  int threads = 1;  // libtorch intra-op threads during the timing (restored afterwards)
  int warmup = 2;
  int repeats = 5;  // forwards per network per round
  int rounds = 3;
  int bands = 4;
  int height = 128, width = 128;
  uint64_t seed = 0;  // weights (timing does not depend on them; fixed for repeatability)
};

struct HostTiming {
  double ms = 0.0;               // min over rounds of the round medians
  double spread = 0.0;           // max / min of the round medians - 1
  std::vector<double> round_ms;  // median of each round
};

// Throws dalnas::Error on bad options (counts < 1, empty sizes).
std::vector<HostTiming> measure_host_latency(const std::vector<Genome>& genomes,
                                             const HostTimingOptions& opt);

// `count` genomes sampled from `space` with Rng(seed); when the space has a parameter cap
// and no counter, nn/describe's count at `bands` bands is installed.
std::vector<Genome> sample_genomes(SearchSpace space, int count, uint64_t seed, int bands);

// The genome's network lowered to a DeviceGraph (device/lower.h, host-side normalisation)
// with shapes for bands × height × width. Weights from a fixed seed: costs do not depend on
// them.
DeviceGraph genome_graph(const Genome& g, int bands, int height, int width);

// The median of v (mean of the middle two for even sizes); 0 for an empty v.
double median_of(std::vector<double> v);

}  // namespace dalnas
