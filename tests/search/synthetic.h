#pragma once
// A synthetic evaluator and an asynchronous driver for strategy tests (no training).
#include <algorithm>
#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include "search/strategy.h"

namespace dalnas {
namespace testing_search {

// Deterministic results from the genome alone: "quality" grows with widths (saturating),
// "cost" with their sum; a few genomes fail, some exceed a cost limit.
inline Observation synthetic_result(const Candidate& c, double cost_limit = 200) {
  double sum = c.genome.decoder_width;
  double quality = 0;
  for (const BlockGene& b : c.genome.blocks) {
    sum += b.width * (b.kernel == 5 ? 1.5 : 1.0);
    quality += std::log1p(b.width) * (b.type == BlockType::MBConv ? 1.2 : 1.0);
  }
  Observation o;
  o.id = c.id;
  const uint64_t h = c.genome.hash();
  o.ok = h % 23 != 0;
  o.fitness = quality - 0.01 * sum + static_cast<double>(h % 1000) * 1e-6;
  o.objectives = {-quality, sum};
  o.feasible = sum <= cost_limit;
  o.violation = o.feasible ? 0.0 : sum / cost_limit - 1.0;
  return o;
}

// An independent ranking for the strategies' selection: feasible by fitness (descending),
// then infeasible by violation (ascending), failed last; ties by candidate id.
inline bool naive_better(const Candidate& ca, const Observation& a, const Candidate& cb,
                         const Observation& b) {
  auto cls = [](const Observation& o) { return o.ok ? (o.feasible ? 0 : 1) : 2; };
  if (cls(a) != cls(b)) return cls(a) < cls(b);
  if (cls(a) == 0 && a.fitness != b.fitness) return a.fitness > b.fitness;
  if (cls(a) == 1 && a.violation != b.violation) return a.violation < b.violation;
  return ca.id < cb.id;
}

inline std::string describe(const Candidate& c) {
  std::string s = "propose " + std::to_string(c.id) + " " + c.genome.str() + " g" +
                  std::to_string(c.generation) + " " + c.origin + " [";
  for (uint64_t p : c.parents) s += std::to_string(p) + ",";
  return s + "]";
}

// `workers` evaluations in flight; each step fills free workers with proposals, then
// finishes one in-flight candidate chosen by a fixed rule that is not the proposal order
// (so results arrive out of order), and observes it.
struct Driver {
  int workers = 1;
  std::vector<Candidate> inflight;
  std::vector<std::string> log;

  // Returns false when the strategy is done (nothing in flight, nothing proposed).
  bool step(Strategy& s) {
    for (const Candidate& c : s.propose(workers - static_cast<int>(inflight.size()))) {
      log.push_back(describe(c));
      inflight.push_back(c);
    }
    if (inflight.empty()) {
      if (!s.done()) throw std::logic_error("strategy stalled: nothing in flight, not done");
      return false;
    }
    auto it = std::min_element(inflight.begin(), inflight.end(),
                               [](const Candidate& a, const Candidate& b) {
                                 const uint64_t ka = a.genome.hash() % 5, kb = b.genome.hash() % 5;
                                 return ka != kb ? ka < kb : a.id < b.id;
                               });
    const Candidate c = *it;
    inflight.erase(it);
    log.push_back("observe " + std::to_string(c.id));
    s.observe({synthetic_result(c)});
    return true;
  }
  int run(Strategy& s, int max_steps = 1 << 30) {
    int n = 0;
    while (n < max_steps && step(s)) ++n;
    return n;
  }
};

}  // namespace testing_search
}  // namespace dalnas
