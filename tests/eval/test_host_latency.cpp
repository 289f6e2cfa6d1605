// Host latency measurement: the median, the robust statistics of rounds, a network with
// ~25x the work measured slower, the thread count restored; genome sampling and graphs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "eval/host_latency.h"

namespace dalnas {
namespace {

TEST(HostLatency, Median) {
  EXPECT_EQ(median_of({}), 0.0);
  EXPECT_EQ(median_of({3.0}), 3.0);
  EXPECT_EQ(median_of({5.0, 1.0, 3.0}), 3.0);
  EXPECT_EQ(median_of({4.0, 1.0, 3.0, 2.0}), 2.5);
}

TEST(HostLatency, MeasuresRoundsAndOrdersByWork) {
  const Genome small =
      Genome::parse("ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_dec-8");
  const Genome big =
      Genome::parse("ConvAct-64-k5-relu_max_ConvAct-64-k5-relu_max_ConvAct-64-k5-relu_dec-32");
  HostTimingOptions o;
  o.height = o.width = 48;
  o.rounds = 2;
  o.repeats = 3;
  o.warmup = 1;
  const int before = torch::get_num_threads();
  const std::vector<HostTiming> t = measure_host_latency({small, big}, o);
  EXPECT_EQ(torch::get_num_threads(), before);
  ASSERT_EQ(t.size(), 2u);
  for (const HostTiming& x : t) {
    ASSERT_EQ(x.round_ms.size(), 2u);
    EXPECT_GT(x.ms, 0.0);
    EXPECT_EQ(x.ms, std::min(x.round_ms[0], x.round_ms[1]));
    EXPECT_GE(x.spread, 0.0);
  }
  EXPECT_GT(t[1].ms, 3.0 * t[0].ms) << t[0].ms << " vs " << t[1].ms;
  o.repeats = 0;
  EXPECT_THROW(measure_host_latency({small}, o), Error);
}

TEST(HostLatency, SampledGenomesAreInTheSpaceAndReproducible) {
  SearchSpace space;
  const std::vector<Genome> a = sample_genomes(space, 5, 7, 4), b = sample_genomes(space, 5, 7, 4);
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(a, b);
  for (const Genome& g : a) EXPECT_TRUE(space.contains(g)) << g.str();
  const DeviceGraph g = genome_graph(a[0], 4, 32, 32);
  EXPECT_EQ(g.nodes.front().shape, (Shape{4, 32, 32}));
  EXPECT_EQ(g.nodes[static_cast<size_t>(g.output)].shape, (Shape{1, 32, 32}));
}

}  // namespace
}  // namespace dalnas
