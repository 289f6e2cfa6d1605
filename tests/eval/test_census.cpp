// The census (eval/census.h): behaviours switch off what they say, a tiny census end to end,
// census.json read back, parts merged.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "core/error.h"
#include "core/genome.h"
#include "eval/census.h"

using namespace dalnas;

namespace {

CensusOptions tiny_census() {
  CensusOptions o;
  o.train.synthetic.scenes = 4;
  o.train.synthetic.height = 64;
  o.train.synthetic.width = 64;
  o.train.epochs = 1;
  o.train.tiling.size = 32;
  o.train.tiling.stride = 32;
  o.train.eval_tile = 64;
  o.train.eval_overlap = 8;
  o.train.threads = 1;
  o.finetune_epochs = 1;
  o.genomes = {resolve_arch("tiny", 4).str()};
  o.pipelines = {"host", "raw"};
  return o;
}

}  // namespace

TEST(Census, EachBehaviourSwitchesOffWhatItNames) {
  const DeviceProfile base = load_profile("myriadx");
  const std::vector<Behaviour> bs = device_behaviours();
  ASSERT_GE(bs.size(), 11u);
  EXPECT_EQ(bs.back().name, "all");
  auto same = [](const std::optional<HalfMode>& a, const std::optional<HalfMode>& b) {
    return a.has_value() == b.has_value() &&
           (!a || (a->rounding == b->rounding && a->overflow == b->overflow &&
                   a->subnormals == b->subnormals));
  };
  auto changed = [&](const Behaviour& b) {
    DeviceProfile p = base;
    b.switch_off(p);
    const EmulatorConfig x = p.emulator_config(), y = base.emulator_config();
    return p.neural_engine.prescale != base.neural_engine.prescale ||
           p.neural_engine.prescale_growing_output != base.neural_engine.prescale_growing_output ||
           x.tiling.enabled != y.tiling.enabled || x.half_pixel_resize != y.half_pixel_resize ||
           x.hw_avgpool_counts_padding != y.hw_avgpool_counts_padding ||
           x.nce_fuses_only_relu_clamp != y.nce_fuses_only_relu_clamp ||
           p.neural_engine.half.subnormals != base.neural_engine.half.subnormals ||
           p.neural_engine.half.overflow != base.neural_engine.half.overflow ||
           p.neural_engine.acc.kind != base.neural_engine.acc.kind ||
           p.shave.fp16_activations != base.shave.fp16_activations ||
           !same(x.host_cast, y.host_cast) || !same(x.plugin_constants, y.plugin_constants);
  };
  // On the OpenVINO pipeline every behaviour is on: switching it off changes the profile.
  for (const Behaviour& b : bs) EXPECT_TRUE(changed(b)) << b.name;
  // "all" is every one of them at once: the ideal machine's settings.
  DeviceProfile all = base;
  bs.back().switch_off(all);
  EXPECT_FALSE(all.neural_engine.prescale);
  EXPECT_FALSE(all.emulator_config().tiling.enabled);
  EXPECT_EQ(all.emulator_config().half_pixel_resize, ResizeCoord::HalfPixel);
  EXPECT_EQ(all.neural_engine.half.overflow, Overflow::Saturate);
}

TEST(Census, TinyCensusEndToEndAndReadBack) {
  torch::set_num_threads(1);
  CensusOptions o = tiny_census();
  int cells_seen = 0;
  const CensusResult r =
      run_census(o, {}, [&](const CensusResult& partial) { cells_seen = partial.cells.size(); });
  ASSERT_EQ(r.cells.size(), 2u);  // one genome x host, raw
  EXPECT_EQ(cells_seen, 2);
  const size_t n_behaviours = device_behaviours().size();
  for (const CensusCell& c : r.cells) {
    ASSERT_TRUE(c.failure.empty()) << c.failure;
    EXPECT_EQ(c.ablations.size(), n_behaviours) << c.pipeline;
    const uint64_t px = c.fp32_host.cm.total();
    EXPECT_GT(px, 0u);
    EXPECT_EQ(c.ptq_device.cm.total(), px);
    EXPECT_EQ(c.aligned_device.cm.total(), px);
    EXPECT_EQ(c.control_device.cm.total(), px);
    // What the ablation gives back is measured against (b).
    for (const Ablation& a : c.ablations) {
      EXPECT_DOUBLE_EQ(c.attributed(a), a.ptq_miou - c.ptq_device.cm.miou());
    }
  }
  EXPECT_EQ(r.cells[0].pipeline, "host");
  EXPECT_EQ(r.cells[1].pipeline, "raw");

  // census.json read back gives the same tables, byte for byte.
  const CensusResult back = CensusResult::from_json(r.to_json(), "census.json");
  EXPECT_EQ(back.table(), r.table());
  EXPECT_EQ(back.csv(), r.csv());
  EXPECT_EQ(back.to_json().dump(), r.to_json().dump());

  // Two parts merge into one census; parts of another device do not.
  CensusResult first = back, second = back;
  first.cells.resize(1);
  second.cells.erase(second.cells.begin());
  const CensusResult merged = CensusResult::merge({first, second});
  EXPECT_EQ(merged.csv(), r.csv());
  EXPECT_DOUBLE_EQ(merged.seconds, 2 * r.seconds);
  second.device = "fp16-ideal";
  EXPECT_THROW(CensusResult::merge({first, second}), Error);
}

TEST(Census, MalformedCensusJsonNamesTheFileAndField) {
  nlohmann::json j = {{"device", "myriadx"},
                      {"data", "synthetic"},
                      {"test_scenes", {"s1"}},
                      {"seconds", 1.0},
                      {"cells", {{{"genome", "g"}, {"pipeline", "host"}, {"params", 3}}}}};
  try {
    CensusResult::from_json(j, "x/census.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x/census.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fp32_host"), std::string::npos) << e.what();
  }
}
