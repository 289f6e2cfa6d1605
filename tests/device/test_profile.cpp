#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "core/error.h"
#include "device/alignment.h"
#include "device/profile.h"

namespace dalnas {
namespace {

const std::string kDevices = std::string(DALNAS_SOURCE_DIR) + "/devices";

std::string error_of(const std::string& name_or_path) {
  try {
    load_profile(name_or_path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

struct TempFile {
  std::string path;
  TempFile(const std::string& name, const std::string& text) {
    path = ::testing::TempDir() + name;
    std::ofstream(path) << text;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

TEST(Profile, LoadsTheShippedProfiles) {
  const DeviceProfile m = load_profile(kDevices + "/myriadx.toml");
  EXPECT_EQ(m.name, "myriadx");
  EXPECT_EQ(m.neural_engine.storage, Storage::FP16);
  EXPECT_TRUE(m.neural_engine.prescale);
  EXPECT_EQ(m.neural_engine.prescale_cap, 8);
  EXPECT_EQ(m.neural_engine.prescale_cap_fc, 9);
  EXPECT_EQ(m.neural_engine.half.subnormals, Subnormals::Flush);
  EXPECT_FALSE(m.shave.prescale);
  EXPECT_FALSE(m.fold_normalization);
  const EmulatorConfig c = m.emulator_config();
  EXPECT_TRUE(c.nce.prescale);
  EXPECT_EQ(c.shave.storage, Storage::FP16);

  const DeviceProfile ideal = load_profile(kDevices + "/fp16-ideal.toml");
  EXPECT_EQ(ideal.shave.storage, Storage::FP16);
  EXPECT_EQ(ideal.neural_engine.acc, parse_accumulation("fp32"));
  EXPECT_EQ(ideal.neural_engine.half.subnormals, Subnormals::Keep);
  EXPECT_FALSE(ideal.neural_engine.prescale);

  const DeviceProfile fp32 = load_profile(kDevices + "/fp32.toml");
  EXPECT_EQ(fp32.neural_engine.storage, Storage::FP32);
  EXPECT_EQ(fp32.shave.storage, Storage::FP32);
}

TEST(Profile, BareNamesUseTheDevicesDir) {
  const char* old = std::getenv("DALNAS_DEVICES_DIR");
  const std::string saved = old ? old : "";
  setenv("DALNAS_DEVICES_DIR", kDevices.c_str(), 1);
  EXPECT_EQ(load_profile("fp16-ideal").name, "fp16-ideal");
  const std::string e = error_of("nosuchdevice");
  EXPECT_NE(e.find("nosuchdevice.toml does not exist"), std::string::npos) << e;
  unsetenv("DALNAS_DEVICES_DIR");
  EXPECT_EQ(devices_dir(), DALNAS_DEVICES_DIR);
  EXPECT_EQ(load_profile("myriadx").name, "myriadx");  // the compiled-in folder
  if (old) setenv("DALNAS_DEVICES_DIR", saved.c_str(), 1);
}

TEST(Profile, ErrorsNameTheFileAndTheKey) {
  {
    TempFile f("bad_acc.toml",
               "name = \"x\"\n[numerics.neural_engine]\naccumulation = \"fp16-blocked\"\n");
    const std::string e = error_of(f.path);
    EXPECT_NE(e.find(f.path), std::string::npos) << e;
    EXPECT_NE(e.find("numerics.neural_engine.accumulation"), std::string::npos) << e;
    EXPECT_NE(e.find("fp16-blocked:N"), std::string::npos) << e;
  }
  {
    TempFile f("bad_key.toml", "name = \"x\"\n[numerics.shave]\nstorag = \"fp16\"\n");
    const std::string e = error_of(f.path);
    EXPECT_NE(e.find("numerics.shave: unknown key 'storag'"), std::string::npos) << e;
  }
  {
    TempFile f("bad_num.toml", "name = \"x\"\n[numerics]\nfold = true\n");
    EXPECT_NE(error_of(f.path).find("numerics: unknown key 'fold'"), std::string::npos);
  }
  {
    TempFile f("bad_type.toml", "name = \"x\"\n[numerics.shave]\nprescale = \"yes\"\n");
    EXPECT_NE(error_of(f.path).find("numerics.shave.prescale: expected true or false"),
              std::string::npos);
  }
  {
    TempFile f("bad_cap.toml", "name = \"x\"\n[numerics.shave]\nprescale_cap = -1\n");
    EXPECT_NE(error_of(f.path).find("prescale_cap"), std::string::npos);
  }
  {
    TempFile f("bad_ovf.toml", "name = \"x\"\n[numerics.shave]\noverflow = \"wrap\"\n");
    const std::string e = error_of(f.path);
    EXPECT_NE(e.find("numerics.shave.overflow"), std::string::npos) << e;
    EXPECT_NE(e.find("inf or saturate"), std::string::npos) << e;
  }
  {
    TempFile f("no_name.toml", "[numerics]\nfold_normalization = true\n");
    EXPECT_NE(error_of(f.path).find("name: missing"), std::string::npos);
  }
  EXPECT_NE(error_of("/nonexistent/dir/x.toml").find("/nonexistent/dir/x.toml"), std::string::npos);
}

TEST(Profile, IntegerTargetsAndTheirErrors) {
  const DeviceProfile p = load_profile("int8-tflite");
  ASSERT_TRUE(p.integer.has_value());
  EXPECT_EQ(p.integer->rounding, RequantRounding::Double);
  EXPECT_EQ(p.integer->calibration, CalibrationMethod::MinMax);
  EXPECT_GT(p.integer->calibration_tiles, 0);
  EXPECT_FALSE(load_profile("myriadx").integer.has_value());
  EXPECT_EQ(p.integer->format, Int8Format::Tflite);
  EXPECT_EQ(p.integer->weight_max, 127);
  const DeviceProfile ort = load_profile("onnxruntime-int8");
  ASSERT_TRUE(ort.integer.has_value());
  EXPECT_EQ(ort.integer->format, Int8Format::OnnxRuntime);
  EXPECT_EQ(ort.integer->weight_max, 64);  // reduce_range = true
  // Aligned training follows each target's rounding and weight range.
  const DeviceAlignment at = alignment_for(p), ao = alignment_for(ort);
  EXPECT_TRUE(at.int8 && ao.int8);
  EXPECT_FALSE(at.int8_ties_even);
  EXPECT_EQ(at.int8_weight_max, 127);
  EXPECT_TRUE(ao.int8_ties_even);
  EXPECT_EQ(ao.int8_weight_max, 64);
  {
    TempFile f("int_ok.toml",
               "name = \"x\"\n[integer]\nformat = \"int8-tflite\"\nrounding = \"single\"\n"
               "calibration = \"percentile\"\npercentile = 99.9\ncalibration_tiles = 8\n");
    const DeviceProfile q = load_profile(f.path);
    EXPECT_EQ(q.integer->rounding, RequantRounding::Single);
    EXPECT_EQ(q.integer->calibration, CalibrationMethod::Percentile);
    EXPECT_DOUBLE_EQ(q.integer->percentile, 99.9);
    EXPECT_EQ(q.integer->calibration_tiles, 8);
  }
  EXPECT_FALSE(p.integer->weights_per_tensor);  // per channel unless the profile says
  EXPECT_FALSE(at.int8_weights_per_tensor);
  {
    TempFile f(
        "int_pt.toml",
        "name = \"x\"\n[integer]\nformat = \"onnxruntime-int8\"\nweights = \"per-tensor\"\n");
    const DeviceProfile q = load_profile(f.path);
    EXPECT_TRUE(q.integer->weights_per_tensor);
    EXPECT_TRUE(alignment_for(q).int8_weights_per_tensor);  // and QAT trains on that grid
  }
  {
    TempFile f("int_kl.toml",
               "name = \"x\"\n[integer]\nformat = \"int8-tflite\"\n"
               "calibration = \"entropy\"\nkeep_bounded = true\n");
    EXPECT_EQ(load_profile(f.path).integer->calibration, CalibrationMethod::Entropy);
    EXPECT_TRUE(load_profile(f.path).integer->keep_bounded);
    EXPECT_FALSE(load_profile(f.path).integer->entropy_grid);
  }
  {
    TempFile f("int_kl_grid.toml",
               "name = \"x\"\n[integer]\nformat = \"int8-tflite\"\n"
               "calibration = \"entropy\"\nentropy = \"grid\"\n");
    EXPECT_TRUE(load_profile(f.path).integer->entropy_grid);
  }
  EXPECT_FALSE(p.integer->keep_bounded);  // TensorRT's calibrator clips every tensor
  const std::pair<const char*, const char*> bad[] = {
      {"[integer]\nrounding = \"double\"\n", "integer.format: missing"},
      {"[integer]\nformat = \"int4\"\n", "integer.format: 'int4'"},
      {"[integer]\nformat = \"int8-tflite\"\nkeep_bounded = 1\n", "integer.keep_bounded"},
      {"[integer]\nformat = \"int8-tflite\"\nentropy = \"kl\"\n", "integer.entropy: 'kl'"},
      {"[integer]\nformat = \"int8-tflite\"\nrounding = \"up\"\n", "integer.rounding: 'up'"},
      {"[integer]\nformat = \"int8-tflite\"\ncalibration = \"kl\"\n", "integer.calibration"},
      {"[integer]\nformat = \"int8-tflite\"\npercentile = 20\n", "integer.percentile"},
      {"[integer]\nformat = \"int8-tflite\"\ncalibration_tiles = 0\n", "integer.calibration_tiles"},
      {"[integer]\nformat = \"int8-tflite\"\ntiles = 3\n", "integer: unknown key 'tiles'"},
      {"[integer]\nformat = \"onnxruntime-int8\"\nreduce_range = 1\n", "integer.reduce_range"},
      {"[integer]\nformat = \"int8-tflite\"\nweights = \"per-layer\"\n",
       "integer.weights: 'per-layer': expected per-channel or per-tensor"},
      {"[integer]\nformat = \"dpu-int8\"\nweights = \"per-channel\"\n",
       "integer.weights: not a setting of format dpu-int8"},
      {"[integer]\nformat = \"int8-tflite\"\nprecision = \"int2\"\n", "integer.precision: 'int2'"},
      {"[integer]\nformat = \"onnxruntime-int8\"\nprecision = \"fp16\"\n",
       "integer.precision: fp16 is not a precision onnxruntime-int8 runs"},
      {"[integer]\nformat = \"dpu-int8\"\nfirst_last = \"int4w\"\n",
       "integer.first_last: int4w is not a precision dpu-int8 runs"},
  };
  for (const auto& [text, want] : bad) {
    TempFile f("int_bad.toml", std::string("name = \"x\"\n") + text);
    const std::string e = error_of(f.path);
    EXPECT_NE(e.find(f.path), std::string::npos) << e;
    EXPECT_NE(e.find(want), std::string::npos) << e;
  }
}

TEST(Profile, MixedPrecisionRule) {
  const DeviceProfile m = load_profile("mixed-a8w4");
  ASSERT_TRUE(m.integer.has_value());
  EXPECT_EQ(m.integer->format, Int8Format::Tflite);
  EXPECT_EQ(m.integer->precision, LayerPrecision::Int4W);
  EXPECT_EQ(m.integer->first_last, LayerPrecision::Int8);
  const DeviceAlignment a = alignment_for(m);
  EXPECT_EQ(a.int8_precision, LayerPrecision::Int4W);
  EXPECT_EQ(a.int8_first_last, LayerPrecision::Int8);
  // Without the keys: int8 everywhere, no rule for the ends.
  const DeviceProfile t = load_profile("int8-tflite");
  EXPECT_EQ(t.integer->precision, LayerPrecision::Int8);
  EXPECT_EQ(t.integer->first_last, LayerPrecision::Default);
}

TEST(Profile, KeepsOtherSectionsAndDefaults) {
  TempFile f("cost.toml",
             "name = \"y\"\ndescription = \"d\"\n[numerics]\nfold_normalization = true\n"
             "[numerics.neural_engine]\nstorage = \"fp16\"\n"
             "[cost]\nclock_mhz = 700\n[cost.engines]\nnce_macs = 256\n");
  const DeviceProfile p = load_profile(f.path);
  EXPECT_EQ(p.description, "d");
  EXPECT_TRUE(p.fold_normalization);
  EXPECT_EQ(p.sections["cost"]["clock_mhz"], 700);
  EXPECT_EQ(p.sections["cost"]["engines"]["nce_macs"], 256);
  // Unspecified keys take the defaults.
  EXPECT_EQ(p.neural_engine.acc, parse_accumulation("fp32"));
  EXPECT_EQ(p.neural_engine.half.overflow, Overflow::Inf);
  EXPECT_FALSE(p.neural_engine.prescale);
  EXPECT_EQ(p.shave.storage, Storage::FP32);
}

}  // namespace
// The fingerprint follows the parsed content: comments and layout do not change it, a value
// does; an unknown name is the same error as load_profile's.
TEST(Profile, FingerprintFollowsTheContentNotTheLayout) {
  TempFile a("fp_a.toml", "name = \"x\"\n[integer]\nformat = \"int8-tflite\"\n");
  TempFile b("fp_b.toml",
             "# a comment\nname = \"x\"   # same\n\n[integer]\nformat = \"int8-tflite\"\n");
  TempFile c("fp_c.toml",
             "name = \"x\"\n[integer]\nformat = \"int8-tflite\"\nkeep_bounded = true\n");
  const std::string fa = profile_fingerprint(a.path);
  EXPECT_EQ(fa.size(), 16u);
  EXPECT_EQ(profile_fingerprint(b.path), fa);
  EXPECT_NE(profile_fingerprint(c.path), fa);
  EXPECT_EQ(profile_fingerprint("myriadx"), profile_fingerprint(load_profile("myriadx").path));
  EXPECT_THROW(profile_fingerprint("no-such-profile"), Error);
}

}  // namespace dalnas
