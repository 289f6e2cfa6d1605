#include "eval/host_latency.h"

#include <time.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/rng.h"
#include "device/lower.h"
#include "nn/describe.h"
#include "nn/network.h"

namespace dalnas {

double median_of(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::vector<Genome> sample_genomes(SearchSpace space, int count, uint64_t seed, int bands) {
  if (count < 1) throw Error("genome sampling: count must be >= 1");
  if (space.max_params > 0 && !space.param_counter) {
    space.param_counter = [bands](const Genome& g) { return describe(g, bands, 64, 64).params; };
  }
  Rng rng(seed);
  std::vector<Genome> out;
  for (int i = 0; i < count; ++i) out.push_back(space.sample(rng));
  return out;
}

DeviceGraph genome_graph(const Genome& g, int bands, int height, int width) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  Network net = build_network(g, bands);
  net->eval();
  DeviceGraph graph = lower(net, LowerOptions{});
  graph.infer_shapes(Shape{bands, height, width});
  return graph;
}

std::vector<HostTiming> measure_host_latency(const std::vector<Genome>& genomes,
                                             const HostTimingOptions& o) {
  if (o.threads < 1 || o.warmup < 0 || o.repeats < 1 || o.rounds < 1 || o.bands < 1 ||
      o.height < 1 || o.width < 1) {
    throw Error(
        "host latency: threads, repeats, rounds, bands and the size must be >= 1 (warmup >= 0)");
  }
  const int saved_threads = torch::get_num_threads();
  torch::set_num_threads(o.threads);
  torch::NoGradGuard no_grad;
  torch::manual_seed(static_cast<int64_t>(o.seed));
  std::vector<Network> nets;
  for (const Genome& g : genomes) {
    nets.push_back(build_network(g, o.bands));
    nets.back()->eval();
  }
  const torch::Tensor x = torch::randn({1, o.bands, o.height, o.width});
  // One thread: the forward runs on this thread (libtorch and OpenMP run inline), so this
  // thread's CPU time is the forward's time without the time other processes took the core.
  const bool cpu_clock = o.threads == 1 && o.clock != HostClock::Wall;
  auto now_ms = [cpu_clock]() {
    timespec ts{};
    clock_gettime(cpu_clock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
  };
  for (auto& net : nets) {
    for (int i = 0; i < o.warmup; ++i) net->forward(x);
  }
  std::vector<HostTiming> out(genomes.size());
  std::vector<double> times(static_cast<size_t>(o.repeats));
  for (int r = 0; r < o.rounds; ++r) {
    for (size_t k = 0; k < nets.size(); ++k) {
      for (int i = 0; i < o.repeats; ++i) {
        const double t0 = now_ms();
        torch::Tensor y = nets[k]->forward(x);
        times[static_cast<size_t>(i)] = now_ms() - t0;
        (void)y;
      }
      out[k].round_ms.push_back(median_of(times));
    }
  }
  for (HostTiming& t : out) {
    const auto [lo, hi] = std::minmax_element(t.round_ms.begin(), t.round_ms.end());
    t.ms = *lo;
    t.spread = *lo > 0.0 ? *hi / *lo - 1.0 : 0.0;
  }
  torch::set_num_threads(saved_threads);
  return out;
}

}  // namespace dalnas
