// The round trip: a device emulated with a profile, its probe outputs written as .npy,
// read back and fitted, gives that profile's settings back (those the probes determine),
// from a base profile that differs; the written profile reproduces every probe output.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "core/config_file.h"
#include "core/error.h"
#include "probe/fit.h"
#include "probe/probe_files.h"
#include "temp_dir.h"

using namespace dalnas;
using dalnas::test_util::TempDir;

namespace {

struct Case {
  std::string name;
  DeviceProfile truth;
  std::string base;                    // the profile the fit starts from
  std::set<std::string> undetermined;  // keys the probes cannot settle for this device
};

DeviceProfile variant(const std::string& profile, const std::function<void(DeviceProfile&)>& f) {
  DeviceProfile p = load_profile(profile);
  f(p);
  return p;
}

// Equal values, NaN equal to NaN.
bool same_values(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a[i] == b[i] || (a[i] != a[i] && b[i] != b[i]))) return false;
  }
  return true;
}

const std::set<std::string> kNoPrescale = {"conversions.plugin_constants.overflow",
                                           "neural_engine.prescale_cap",
                                           "neural_engine.prescale_growing_output"};

std::vector<Case> cases() {
  std::vector<Case> c;
  c.push_back(
      {"fp32",
       load_profile("fp32"),
       "myriadx",
       {"conversions.device_convert", "shave.rounding", "shave.overflow", "shave.subnormals",
        "neural_engine.rounding", "neural_engine.overflow", "neural_engine.subnormals",
        "tiling.enabled", "neural_engine.prescale", "conversions.plugin_constants.overflow",
        "neural_engine.prescale_cap", "neural_engine.prescale_growing_output", "shave.activations",
        "fused_activations"}});
  c.push_back({"fp16-ideal", load_profile("fp16-ideal"), "myriadx", kNoPrescale});
  c.push_back({"myriadx", load_profile("myriadx"), "fp16-ideal", {}});
  for (int n : {2, 8, 57, 300, 512}) {
    c.push_back({"myriadx acc fp16-blocked:" + std::to_string(n),
                 variant("myriadx",
                         [n](DeviceProfile& p) {
                           p.neural_engine.acc = {Accumulation::FP16Blocked, n};
                         }),
                 "fp16-ideal",
                 {}});
  }
  c.push_back(
      {"myriadx acc fp16",
       variant("myriadx", [](DeviceProfile& p) { p.neural_engine.acc.kind = Accumulation::FP16; }),
       "fp16-ideal",
       {}});
  c.push_back({"myriadx acc fp32 + shave fp16-blocked:16",
               variant("myriadx",
                       [](DeviceProfile& p) {
                         p.neural_engine.acc = {Accumulation::FP32, 0};
                         p.shave.acc = {Accumulation::FP16Blocked, 16};
                       }),
               "fp16-ideal",
               {}});
  c.push_back({"myriadx overflow saturate",
               variant("myriadx",
                       [](DeviceProfile& p) {
                         p.neural_engine.half.overflow = Overflow::Saturate;
                         p.shave.half.overflow = Overflow::Saturate;
                       }),
               "fp16-ideal",
               {}});
  c.push_back({"myriadx subnormals keep / min-normal",
               variant("myriadx",
                       [](DeviceProfile& p) {
                         p.neural_engine.half.subnormals = Subnormals::Keep;
                         p.shave.half.subnormals = Subnormals::MinNormal;
                       }),
               "fp16-ideal",
               {}});
  c.push_back({"myriadx rounding away, device_convert ie",
               variant("myriadx",
                       [](DeviceProfile& p) {
                         p.neural_engine.half.rounding = Rounding::NearestAway;
                         p.shave.half.rounding = Rounding::NearestAway;
                         p.pipeline.device_convert = kIeHalf;
                       }),
               "fp16-ideal",
               {}});
  c.push_back(
      {"myriadx interpolation half_pixel",
       variant("myriadx",
               [](DeviceProfile& p) { p.pipeline.half_pixel_resize = ResizeCoord::HalfPixel; }),
       "fp16-ideal",
       {}});
  c.push_back(
      {"myriadx interpolation align_corners",
       variant("myriadx",
               [](DeviceProfile& p) { p.pipeline.half_pixel_resize = ResizeCoord::AlignCorners; }),
       "fp16-ideal",
       {}});
  c.push_back({"myriadx prescale off",
               variant("myriadx", [](DeviceProfile& p) { p.neural_engine.prescale = false; }),
               "fp16-ideal", kNoPrescale});
  c.push_back({"myriadx growing output off, plugin constants numpy",
               variant("myriadx",
                       [](DeviceProfile& p) {
                         p.neural_engine.prescale_growing_output = false;
                         p.pipeline.plugin_constants = kNumpyHalf;
                       }),
               "fp16-ideal",
               {}});
  c.push_back({"myriadx prescale cap 5",
               variant("myriadx", [](DeviceProfile& p) { p.neural_engine.prescale_cap = 5; }),
               "fp16-ideal",
               {}});
  c.push_back({"myriadx tiling off",
               variant("myriadx", [](DeviceProfile& p) { p.pipeline.tiling.enabled = false; }),
               "fp16-ideal",
               {}});
  // With a rounding accumulator and fp32 SHAVE activations, a fused activation and a
  // SHAVE one see the same FP16 value: the emulator computes the same either way.
  c.push_back({"myriadx fp32 activations, all fused, borders excluded",
               variant("myriadx",
                       [](DeviceProfile& p) {
                         p.shave.fp16_activations = false;
                         p.pipeline.nce_fuses_only_relu_clamp = false;
                         p.pipeline.hw_avgpool_counts_padding = false;
                       }),
               "fp16-ideal",
               {"fused_activations"}});
  c.push_back({"myriadx fp32 accumulation, all fused",
               variant("myriadx",
                       [](DeviceProfile& p) {
                         p.neural_engine.acc = Accumulation{};
                         p.pipeline.nce_fuses_only_relu_clamp = false;
                       }),
               "fp16-ideal",
               {}});
  c.push_back({"fp16-ideal with tiling, fp16 accumulation",
               variant("fp16-ideal",
                       [](DeviceProfile& p) {
                         p.pipeline.tiling.enabled = true;
                         p.neural_engine.acc.kind = Accumulation::FP16;
                       }),
               "myriadx",
               {"conversions.plugin_constants.overflow", "neural_engine.prescale_cap",
                "neural_engine.prescale_growing_output", "fused_activations"}});
  return c;
}

}  // namespace

TEST(ProbeFitSlow, RoundTripEveryProfile) {
  const std::vector<Probe> probes = make_probes();
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    TempDir dir("probe-fit");
    write_probe_outputs(dir.path.string(), probes, c.truth.emulator_config());
    const auto outputs = read_probe_outputs(dir.path.string(), probes);
    const DeviceProfile base = load_profile(c.base);
    const FitResult fit = fit_probes(probes, outputs, base);
    std::set<std::string> undetermined;
    for (const FitRow& r : fit.rows) {
      if (!r.determined) {
        undetermined.insert(r.key);
        EXPECT_EQ(r.value, r.base_value) << r.key << ": undetermined keys keep the base value";
        continue;
      }
      EXPECT_TRUE(r.exact) << r.key << " " << r.evidence();
      EXPECT_TRUE(r.also.empty()) << r.key << " " << r.evidence();
      EXPECT_EQ(r.value, probe_setting(c.truth, r.key)) << r.key << " " << r.evidence();
    }
    EXPECT_EQ(undetermined, c.undetermined) << format_fit(fit);
    // The written profile, read back, reproduces every probe's output.
    const nlohmann::json doc =
        fitted_profile_doc(load_config_file(base.path), fit, "fitted", "round trip");
    const std::string path = (dir.path / "fitted.toml").string();
    write_file_atomic(path, to_toml(doc));
    const DeviceProfile again = load_profile(path);
    for (const Probe& p : probes) {
      EXPECT_TRUE(same_values(emulate_probe(p, again.emulator_config()), outputs.at(p.name)))
          << p.name;
    }
  }
}

TEST(ProbeFit, ReportsTheClosestWhereNothingMatches) {
  const std::vector<Probe> probes = make_probes();
  const DeviceProfile truth = load_profile("myriadx");
  std::map<std::string, std::vector<float>> outputs;
  for (const Probe& p : probes) outputs[p.name] = emulate_probe(p, truth.emulator_config());
  // A device whose Sigmoid is neither candidate: one value off.
  std::vector<float>& s = outputs.at("sigmoid");
  s[10] = s[10] + 0.125f;
  const FitResult fit = fit_probes(probes, outputs, load_profile("fp16-ideal"));
  const FitRow* r = fit.row("shave.activations");
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->determined);
  EXPECT_FALSE(r->exact);
  EXPECT_EQ(r->value, "fp16");
  EXPECT_EQ(r->mismatches, 1);
  EXPECT_FLOAT_EQ(static_cast<float>(r->max_diff), 0.125f);
  EXPECT_NE(r->evidence().find("closest, 1 of 513 values differ"), std::string::npos)
      << r->evidence();
  // The other settings are unaffected.
  EXPECT_EQ(fit.row("neural_engine.accumulation")->value, "fp16-blocked:hw");
  EXPECT_TRUE(fit.row("neural_engine.accumulation")->exact);
}

TEST(ProbeFit, WrongSizeNamesTheProbe) {
  const std::vector<Probe> probes = make_probes();
  std::map<std::string, std::vector<float>> outputs;
  for (const Probe& p : probes)
    outputs[p.name] = emulate_probe(p, load_profile("fp32").emulator_config());
  outputs["resize"].pop_back();
  try {
    fit_probes(probes, outputs, load_profile("myriadx"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'resize'"), std::string::npos) << e.what();
  }
}
