// The census (eval/census.h): behaviours switch off what they say, a tiny census end to end,
// census.json read back, parts merged.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <tuple>

#include "core/error.h"
#include "core/genome.h"
#include "eval/census.h"
#include "eval/device_eval.h"

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

// An integer profile's behaviours are switched off toward a finer format, and only where
// the format runs that format and the profile has the behaviour.
TEST(Census, IntegerBehavioursSwitchOffWhatTheFormatRuns) {
  torch::manual_seed(1);
  Network net = build_network(resolve_arch("tiny", 4), 4);
  net->eval();
  Normalization norm;
  norm.mean = {1, 2, 3, 4};
  norm.std = {1, 1, 1, 1};
  const DeviceGraph g = lower_for(net, norm, false);
  const auto applying = [&](const std::string& device) {
    const DeviceProfile p = load_profile(device);
    EXPECT_TRUE(p.integer);
    std::vector<std::string> names;
    for (const Behaviour& b : behaviours_for(p)) {
      DeviceProfile q = p;
      b.switch_off(q);
      if (b.applies(g, p)) {
        names.push_back(b.name);
        EXPECT_TRUE(q.integer->precision != p.integer->precision ||
                    q.integer->first_last != p.integer->first_last ||
                    q.integer->weight_max != p.integer->weight_max ||
                    q.integer->weights_per_tensor != p.integer->weights_per_tensor ||
                    q.integer->calibration != p.integer->calibration ||
                    q.integer->dpu_bias_int8 != p.integer->dpu_bias_int8 ||
                    q.integer->dpu_pool_divisor != p.integer->dpu_pool_divisor ||
                    q.integer->dpu_add_truncation != p.integer->dpu_add_truncation ||
                    q.integer->dpu_hardswish != p.integer->dpu_hardswish)
            << device << " " << b.name;
      }
    }
    return names;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(applying("int8-tflite"), (V{"int8-activations", "first-last", "all"}));
  EXPECT_EQ(applying("onnxruntime-int8"), (V{"reduce-range"}));
  // int8 only, one fix position a tensor: its "diffs" calibration and the quirks of its
  // arithmetic that this network has (biased convolutions; no add, average pool or
  // hard-swish) can be switched.
  EXPECT_EQ(applying("dpu-int8"), (V{"calibration", "bias-8bit"}));
  EXPECT_EQ(applying("mixed-a8w4"), (V{"int4-weights", "int8-activations", "first-last", "all"}));
  DeviceProfile per_tensor = load_profile("int8-tflite");
  per_tensor.integer->weights_per_tensor = true;
  EXPECT_TRUE(integer_behaviours().front().applies(g, per_tensor));
  DeviceProfile kl = load_profile("int8-tflite");
  kl.integer->calibration = CalibrationMethod::Entropy;
  const auto names = [&](const DeviceProfile& p) {
    std::vector<std::string> v;
    for (const Behaviour& b : behaviours_for(p))
      if (b.applies(g, p)) v.push_back(b.name);
    return v;
  };
  EXPECT_EQ(names(kl), (V{"int8-activations", "first-last", "calibration", "all"}));
  // "model" on an integer profile: the normalisation in the graph, after the int8 input.
  const DeviceProfile m = profile_for_pipeline(load_profile("int8-tflite"), "model");
  EXPECT_EQ(m.pipeline.input, InputPipeline::Folded);
  EXPECT_TRUE(m.fold_normalization);
  EXPECT_EQ(profile_for_pipeline(load_profile("myriadx"), "model").pipeline.input,
            InputPipeline::Model);
}

// A census on an integer profile: the integer behaviours' rows, each run where it applies
// (the "model" pipeline's folded input is checked in DeviceEval.QuantizationAwareTraining-
// FollowsANormalisationOnTheDevice).
TEST(Census, TinyIntegerCensusAblatesTheIntegerBehaviours) {
  torch::set_num_threads(1);
  CensusOptions o = tiny_census();
  o.device = "int8-tflite";
  o.pipelines = {"host", "model"};
  // The second genome's hard-swish has no int16 kernel: its 16-bit-activation row is a
  // recorded failure, and the census goes on.
  o.genomes.push_back(
      "ConvBnAct-8-k3-hswish_max_ConvBnAct-8-k3-relu_max_ConvBnAct-8-k3-relu_dec-8");
  const CensusResult r = run_census(o, {});
  ASSERT_EQ(r.cells.size(), 4u);
  int failed = 0;
  for (const CensusCell& c : r.cells) {
    ASSERT_TRUE(c.failure.empty()) << c.failure;
    ASSERT_EQ(c.ablations.size(), integer_behaviours().size());
    EXPECT_GT(c.ptq_device.cm.total(), 0u);
    const bool hswish = c.genome.find("hswish") != std::string::npos;
    for (const Ablation& a : c.ablations) {
      // Rows that cannot apply repeat (b); "all" and the 16-bit activations run.
      const bool should =
          a.behaviour == "all" || a.behaviour == "int8-activations" || a.behaviour == "first-last";
      EXPECT_EQ(a.applies, should) << a.behaviour;
      if (!a.applies) {
        EXPECT_EQ(a.ptq_miou, c.ptq_device.cm.miou()) << a.behaviour;
      }
      if (hswish && a.behaviour == "int8-activations") {
        EXPECT_NE(a.failure.find("int16"), std::string::npos) << a.failure;
        EXPECT_TRUE(std::isnan(a.ptq_miou));
        ++failed;
      } else {
        EXPECT_TRUE(a.failure.empty()) << a.behaviour << ": " << a.failure;
        EXPECT_TRUE(std::isfinite(a.ptq_miou)) << a.behaviour;
      }
    }
  }
  EXPECT_EQ(failed, 2);  // host and model
  EXPECT_EQ(r.cells[0].pipeline, "host");
  EXPECT_EQ(r.cells[1].pipeline, "model");
  EXPECT_EQ(r.cells[0].ptq_device.cm.total(), r.cells[1].ptq_device.cm.total());
  // The failure survives census.json; the table's means leave it out.
  const CensusResult back = CensusResult::from_json(r.to_json(), "census.json");
  EXPECT_EQ(back.to_json().dump(), r.to_json().dump());
  EXPECT_EQ(back.table(), r.table());
  EXPECT_EQ(back.table().find("nan"), std::string::npos) << back.table();
  torch::set_num_threads(2);
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

TEST(Census, UnitsGroupThePipelinesThatShareTrainedNetworksAndCellsGoBackInOrder) {
  CensusOptions o;
  o.genomes = {"g1", "g2"};
  o.pipelines = {"raw", "host", "model"};
  const std::vector<CensusUnit> units = census_units(o);
  ASSERT_EQ(units.size(), 4u);
  EXPECT_EQ(units[0].genome, "g1");
  EXPECT_EQ(units[0].pipelines, (std::vector<std::string>{"host", "model"}));
  EXPECT_EQ(units[1].pipelines, (std::vector<std::string>{"raw"}));
  EXPECT_EQ(units[3].genome, "g2");
  o.pipelines = {"model"};
  ASSERT_EQ(census_units(o).size(), 2u);

  // Cells in the order they came back from workers, put back in the census's order.
  o.pipelines = {"raw", "host", "model"};
  std::vector<CensusCell> cells;
  for (const auto& [g, p] : std::vector<std::pair<std::string, std::string>>{
           {"g2", "model"}, {"g1", "host"}, {"g2", "raw"}, {"g1", "raw"}, {"g1", "model"}}) {
    CensusCell c;
    c.genome = g;
    c.pipeline = p;
    cells.push_back(c);
  }
  order_cells(cells, o);
  std::vector<std::string> got;
  for (const auto& c : cells) got.push_back(c.genome + "/" + c.pipeline);
  EXPECT_EQ(got, (std::vector<std::string>{"g1/raw", "g1/host", "g1/model", "g2/raw", "g2/model"}));
}

TEST(Census, OptionsRoundTripThroughJson) {
  CensusOptions o = tiny_census();
  o.pipelines = {"model", "raw"};
  o.raw_scale = 1e-4f;
  o.finetune_epochs = 3;
  o.ablate_aligned = true;
  const CensusOptions back = CensusOptions::from_json(o.to_json(), "job");
  EXPECT_EQ(back.to_json().dump(), o.to_json().dump());
  nlohmann::json bad = o.to_json();
  bad.erase("device");
  try {
    CensusOptions::from_json(bad, "job");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("device"), std::string::npos) << e.what();
  }
}

// Resuming: a unit is kept only when all its cells are there and none failed; kept cells come
// back in the census's order.
TEST(Census, ResumeKeepsOnlyWholeUnitsWithoutFailures) {
  CensusOptions o;
  o.genomes = {"g1", "g2", "g3"};
  o.pipelines = {"host", "model", "raw"};  // units: g1 {host,model}, g1 {raw}, g2 ..., g3 ...
  CensusResult prev;
  prev.seconds = 50;
  for (const auto& [g, p, failure] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"g2", "raw", ""},          // g2 {raw}: whole
           {"g1", "model", ""},        // g1 {host,model}: whole (out of order)
           {"g1", "host", ""},         //
           {"g1", "raw", "diverged"},  // g1 {raw}: failed, runs again
           {"g2", "host", ""},         // g2 {host,model}: cut short, runs again
           {"g3", "raw", ""},          // g3 {raw}: whole
           {"g9", "host", ""}}) {      // a genome the options lack: dropped
    CensusCell c;
    c.genome = g;
    c.pipeline = p;
    c.failure = failure;
    prev.cells.push_back(c);
  }
  std::vector<bool> done;
  const std::vector<CensusCell> kept = census_cells_kept(o, prev, &done);
  EXPECT_EQ(done, (std::vector<bool>{true, false, false, true, false, true}));
  std::vector<std::string> got;
  for (const auto& c : kept) got.push_back(c.genome + "/" + c.pipeline);
  EXPECT_EQ(got, (std::vector<std::string>{"g1/host", "g1/model", "g2/raw", "g3/raw"}));
}

TEST(Census, OptionsMismatchNamesTheFirstSettingThatDiffersThreadsAside) {
  const CensusOptions a = tiny_census();
  CensusOptions b = a;
  b.train.threads = 7;
  EXPECT_EQ(census_options_mismatch(a, b), "");
  b.finetune_epochs = 4;
  EXPECT_EQ(census_options_mismatch(a, b), "/finetune_epochs is 1 in the folder and 4 now");
  b = a;
  b.genomes.push_back("g2");
  EXPECT_EQ(census_options_mismatch(a, b), "/genomes/1 is absent in the folder and \"g2\" now");
  EXPECT_EQ(census_options_mismatch(b, a), "/genomes/1 is \"g2\" in the folder and absent now");
  b = a;
  b.train.lr = 0.5;
  EXPECT_NE(census_options_mismatch(a, b).find("/train/lr is "), std::string::npos);
}

// run_census with a previous result runs only what it lacks: the kept cell is not computed
// again (its mark stays), the missing one is, and the time so far counts.
TEST(Census, RunCensusWithPreviousRunsOnlyWhatItLacks) {
  torch::set_num_threads(1);
  CensusOptions o = tiny_census();
  o.ablate = false;
  const CensusResult whole = run_census(o);
  ASSERT_EQ(whole.cells.size(), 2u);
  CensusResult part = whole;
  part.cells.resize(1);  // host kept, raw to run
  part.cells[0].params = 12345;
  part.seconds = 1000;
  std::vector<std::string> said;
  const CensusResult r = run_census(
      o, [&](const std::string& s) { said.push_back(s); }, {}, &part);
  ASSERT_EQ(r.cells.size(), 2u);
  EXPECT_EQ(r.cells[0].params, 12345);
  EXPECT_EQ(r.cells[1].pipeline, "raw");
  EXPECT_EQ(r.cells[1].to_json().dump(), [&] {
    CensusCell c = whole.cells[1];
    c.seconds = r.cells[1].seconds;
    return c.to_json().dump();
  }());
  EXPECT_GT(r.seconds, 1000.0);
  ASSERT_FALSE(said.empty());
  EXPECT_EQ(said.front(), "resumed: 1 cells kept, 1 of 2 units to run");
  for (const std::string& s : said) EXPECT_EQ(s.find("[host]"), std::string::npos) << s;
}
