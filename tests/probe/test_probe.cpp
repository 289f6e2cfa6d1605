// The probes: well formed, exact FP16 weights and inputs, and each fitting step's
// candidates give different outputs (otherwise the fit could not tell them apart).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "device/profile.h"
#include "precision/half.h"
#include "probe/fit.h"
#include "probe/probe.h"

using namespace dalnas;

namespace {

bool exact_half(float v) {
  return std::isnan(v) || round_to_half(v) == v;
}

// Each candidate's outputs on the step's probes, concatenated.
std::vector<std::vector<float>> candidate_outputs(const ProbeStep& step,
                                                  const std::vector<Probe>& probes,
                                                  const DeviceProfile& base) {
  std::vector<std::vector<float>> out;
  for (const ProbeCandidate& c : step.candidates(base)) {
    DeviceProfile p = base;
    c.apply(p);
    std::vector<float> all;
    for (const std::string& name : step.probes) {
      const std::vector<float> y = emulate_probe(*find_probe(probes, name), p.emulator_config());
      all.insert(all.end(), y.begin(), y.end());
    }
    out.push_back(all);
  }
  return out;
}

bool same(const std::vector<float>& a, const std::vector<float>& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i] || (a[i] != a[i] && b[i] != b[i]))) return false;
  }
  return true;
}

}  // namespace

TEST(Probe, WellFormedWithExactWeightsAndInputs) {
  const std::vector<Probe> probes = make_probes();
  ASSERT_GE(probes.size(), 12u);
  std::set<std::string> names;
  for (const Probe& p : probes) {
    EXPECT_TRUE(names.insert(p.name).second) << p.name;
    EXPECT_FALSE(p.reveals.empty()) << p.name;
    EXPECT_EQ(static_cast<int64_t>(p.input.size()), p.graph.input.numel()) << p.name;
    ASSERT_GE(p.graph.output, 0) << p.name;
    for (const Node& n : p.graph.nodes) {
      for (float w : n.weight) EXPECT_TRUE(exact_half(w)) << p.name << " weight " << w;
      for (float b : n.bias) EXPECT_TRUE(exact_half(b)) << p.name << " bias " << b;
    }
    // After the input-conversion probe, inputs are FP16 values that no conversion changes.
    if (p.name == "input_convert") continue;
    for (float v : p.input) {
      EXPECT_TRUE(exact_half(v)) << p.name << " input " << v;
      EXPECT_TRUE(v == 0.0f || std::fabs(v) >= kHalfMinNormal) << p.name << " input " << v;
    }
  }
  // Every setting a step fits is revealed by its probes.
  for (const ProbeStep& s : probe_steps()) {
    for (const std::string& name : s.probes) {
      const Probe* p = find_probe(probes, name);
      ASSERT_NE(p, nullptr) << name;
      for (const std::string& key : s.keys) {
        EXPECT_NE(std::find(p->reveals.begin(), p->reveals.end(), key), p->reveals.end())
            << name << " " << key;
      }
    }
  }
}

TEST(Probe, AccumulationPatternsAreAThermometer) {
  // Row t > 0 is exact (2050) iff the first block of N reaches index t + 1.
  const auto rows = accumulation_patterns();
  ASSERT_EQ(rows.size(), static_cast<size_t>(kAccumulationRows));
  for (int t = 1; t < kAccumulationRows; ++t) {
    float sum = 0;
    for (float v : rows[t]) sum += v;
    EXPECT_EQ(sum, 2050.0f);
    EXPECT_EQ(rows[t][t + 1], 1.0f);
  }
}

// Under myriadx and fp16-ideal, every step's candidates produce pairwise different outputs
// on its probes (the emulator's own equivalences excepted: none among these candidates).
TEST(ProbeSlow, EveryStepSeparatesItsCandidates) {
  const std::vector<Probe> probes = make_probes();
  for (const char* profile : {"myriadx", "fp16-ideal"}) {
    const DeviceProfile base = load_profile(profile);
    for (const ProbeStep& step : probe_steps()) {
      if (!step.moot(base).empty()) continue;
      const std::vector<ProbeCandidate> cands = step.candidates(base);
      const auto outs = candidate_outputs(step, probes, base);
      std::map<std::vector<float>, size_t> seen;
      for (size_t i = 0; i < outs.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
          EXPECT_FALSE(same(outs[i], outs[j]))
              << profile << " step " << step.name << ": " << cands[i].label() << " and "
              << cands[j].label() << " give the same outputs";
        }
      }
    }
  }
}
