// External devices end to end: a stand-in device program (tests/eval/stub_device, our ONNX
// import + the emulator) answers exactly what the emulator computes directly; stand-ins that
// time out, answer with the wrong shape, exit non-zero or write nothing each give one clear
// error line naming the device, and leave nothing behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "core/transient_error.h"
#include "data/synthetic.h"
#include "device/lower.h"
#include "eval/external_device.h"

using namespace dalnas;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("dalnas_test_" + name)) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// A profile file with `external` as the [external] table's body.
std::string write_profile(const TempDir& d, const std::string& name, const std::string& external) {
  const std::string p = (d.path / (name + ".toml")).string();
  std::ofstream(p) << "name = \"" << name << "\"\nkind = \"external\"\n[external]\n" << external;
  return p;
}

std::string stub(const std::string& profile, const std::string& extra = "") {
  return std::string("command = \"") + DALNAS_STUB_DEVICE + " --profile " + profile + " " + extra +
         " {model} {inputs} {outputs} {timing}\"\n";
}

Checkpoint tiny_checkpoint(uint64_t seed) {
  Checkpoint ck;
  ck.genome =
      Genome::parse("ConvBnAct-8-k3-relu_max_ConvSE-12-k3-hswish_max_MBConv-12-k3-e3-gelu_dec-8");
  ck.bands = 4;
  torch::manual_seed(seed);
  ck.net = build_network(ck.genome, 4);
  {
    torch::NoGradGuard ng;
    for (auto& m : ck.net->modules(false)) {
      if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
        bn->running_mean.uniform_(-0.5, 0.5);
        bn->running_var.uniform_(0.5, 2.0);
      }
    }
  }
  ck.net->eval();
  ck.norm.mean = {3000, 3000, 2800, 2000};
  ck.norm.std = {600, 650, 700, 900};
  return ck;
}

std::vector<float> raw_tiles(int n, const Shape& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> u(0, 6000);
  std::vector<float> v(static_cast<size_t>(n * s.numel()));
  for (float& x : v) x = static_cast<float>(u(rng));
  return v;
}

// The error message of `f`, which must throw dalnas::Error.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no dalnas::Error thrown";
  return "";
}

}  // namespace

TEST(ExternalDevice, DevicePrefix) {
  EXPECT_TRUE(is_external_device("external:ncs2"));
  EXPECT_FALSE(is_external_device("myriadx"));
  EXPECT_EQ(external_profile_name("external:devices/x.toml"), "devices/x.toml");
  EXPECT_EQ(external_profile_name("fp32"), "fp32");
}

TEST(ExternalDevice, ParsesTheProfileAndNamesBadKeys) {
  TempDir d("external_profile");
  ExternalProfile p = load_external_profile(
      write_profile(d, "dev",
                    "command = \"run {model} {inputs} {outputs}\"\ntimeout_s = 2.5\nprecision = "
                    "\"fp32\"\nbatch = 3\nfold_normalization = true\nopset = 13\n"));
  EXPECT_EQ(p.name, "dev");
  EXPECT_EQ(p.command, "run {model} {inputs} {outputs}");
  EXPECT_EQ(p.timeout_s, 2.5);
  EXPECT_FALSE(p.fp16);
  EXPECT_EQ(p.batch, 3);
  EXPECT_TRUE(p.fold_normalization);
  EXPECT_EQ(p.opset, 13);
  // The example in devices/ parses.
  const ExternalProfile ex = load_external_profile("example-external");
  EXPECT_TRUE(ex.fp16);
  EXPECT_EQ(ex.batch, 8);

  const struct {
    const char* body;
    const char* message;
  } bad[] = {
      {"timeout_s = 3\n", "external.command: missing"},
      {"command = \"x\"\nspeed = 3\n", "external.speed: unknown key"},
      {"command = \"x\"\nprecision = \"int8\"\n", "external.precision: 'int8' is not fp16 or fp32"},
      {"command = \"x\"\nbatch = 0\n", "external.batch: expected 1 to 4096"},
      {"command = \"x\"\ntimeout_s = -1\n", "external.timeout_s: expected a number"},
      {"command = \"run {model} {input}\"\n", "external.command: "},
  };
  for (const auto& b : bad) {
    const std::string path = write_profile(d, "bad", b.body);
    const std::string m = error_of([&] { load_external_profile(path); });
    EXPECT_EQ(m.rfind(path + ": " + b.message, 0), 0u) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
  // The unknown placeholder is named.
  EXPECT_NE(error_of([&] {
              load_external_profile(write_profile(d, "bad", "command = \"run {input}\"\n"));
            }).find("input"),
            std::string::npos);
  // A profile of another kind is not an external device.
  EXPECT_NE(error_of([] { load_external_profile("myriadx"); }).find("kind"), std::string::npos);
}

TEST(ExternalDevice, StubDeviceAnswersExactlyWhatTheEmulatorComputes) {
  TempDir d("external_stub");
  Checkpoint ck = tiny_checkpoint(1);
  const Shape s{4, 32, 32};
  const int n = 5;
  const std::vector<float> x = raw_tiles(n, s, 2);
  const struct {
    const char* emulated;
    const char* precision;
    bool fold;
    const char* out_dtype;
  } cases[] = {{"fp16-ideal", "fp16", false, "f2"},
               {"myriadx", "fp16", true, "f4"},
               {"fp32", "fp32", false, "f4"}};
  for (const auto& c : cases) {
    const std::string what = std::string(c.emulated) + " " + c.precision;
    ExternalProfile p = load_external_profile(write_profile(
        d, "stub",
        stub(c.emulated, std::string("--out-dtype ") + c.out_dtype) + "batch = 2\nprecision = \"" +
            c.precision + "\"\nfold_normalization = " + (c.fold ? "true" : "false") + "\n"));
    DeviceGraph g = lower_for_external(ck.net, ck.norm, p);
    std::vector<float> got(static_cast<size_t>(n * 32 * 32));
    std::string workdir;
    {
      ExternalDevice dev(g, p);
      workdir = dev.workdir();
      dev.run(x.data(), n, s, got.data());
      EXPECT_EQ(dev.stats().calls, 3) << what;  // 2 + 2 + 1 tiles
      EXPECT_EQ(dev.stats().tiles, n);
      EXPECT_EQ(dev.stats().timed_tiles, n);  // the stub writes a timing file
      EXPECT_GE(dev.stats().ms_per_tile(), 0.0);
      // Only the exported model is left between runs.
      EXPECT_EQ(std::distance(fs::directory_iterator(workdir), {}), 1) << what;
    }
    EXPECT_FALSE(fs::exists(workdir)) << what;  // the temporary folder is removed
    g.infer_shapes(s);
    const std::vector<float> want =
        Emulator(g, load_profile(c.emulated).emulator_config()).run_batch(x.data(), n, s, 1);
    ASSERT_EQ(got.size(), want.size());
    int64_t diff = 0;
    for (size_t i = 0; i < got.size(); ++i) diff += !(got[i] == want[i]);
    EXPECT_EQ(diff, 0) << what;
  }
}

TEST(ExternalDevice, EvalThroughTheExternalPrefixMatchesTheEmulatedDevice) {
  TempDir d("external_eval");
  Checkpoint ck = tiny_checkpoint(3);
  SyntheticOptions so;
  so.scenes = 1;
  so.height = 70;
  so.width = 90;
  so.seed = 3;
  const std::vector<Scene> scenes = make_synthetic(so);
  TileOptions to;
  to.tile = 32;
  to.overlap = 4;
  to.batch = 8;
  const std::string path = write_profile(d, "stub", stub("fp16-ideal") + "batch = 16\n");
  const DeviceMetrics ext = evaluate_on_device(ck, "external:" + path, scenes, {0}, to);
  const DeviceMetrics emu = evaluate_on_device(ck, "fp16-ideal", scenes, {0}, to);
  EXPECT_EQ(ext.metrics.cm.tp, emu.metrics.cm.tp);
  EXPECT_EQ(ext.metrics.cm.fp, emu.metrics.cm.fp);
  EXPECT_EQ(ext.metrics.cm.fn, emu.metrics.cm.fn);
  EXPECT_EQ(ext.metrics.cm.total(), emu.metrics.cm.total());
  EXPECT_EQ(ext.nan_pixels, emu.nan_pixels);
  EXPECT_GE(ext.device_ms_per_tile, 0.0);
  EXPECT_EQ(emu.device_ms_per_tile, -1.0);
  EXPECT_EQ(ext.metrics.params, emu.metrics.params);
}

TEST(ExternalDevice, FailingDevicesGiveOneClearLine) {
  TempDir d("external_fail");
  Checkpoint ck = tiny_checkpoint(4);
  const Shape s{4, 16, 16};
  const std::vector<float> x = raw_tiles(2, s, 5);
  std::vector<float> out(2 * 16 * 16);
  const struct {
    const char* name;
    std::string external;
    const char* message;
  } cases[] = {
      {"slow", "command = \"sleep 5\"\ntimeout_s = 0.3\n",
       "the command timed out after 0.3 s (external.timeout_s)"},
      {"shape", "command = \"cp {inputs} {outputs}\"\n",
       "outputs.npy has shape [2, 4, 16, 16], expected [2, 1, 16, 16] (N x C x H x W)"},
      {"crash", "command = \"echo loading; echo 'no MYRIAD device found' >&2; exit 3\"\n",
       "the command exited with status 3: no MYRIAD device found"},
      {"silent", "command = \"true\"\n", "the command exited 0 but wrote no "},
      {"garbage", "command = \"echo hello > {outputs}\"\n", "not a NumPy .npy file"},
  };
  for (const auto& c : cases) {
    const std::string path = write_profile(d, c.name, c.external);
    const ExternalProfile p = load_external_profile(path);
    std::string workdir;
    const std::string m = error_of([&] {
      ExternalDevice dev(lower_for_external(ck.net, ck.norm, p), p);
      workdir = dev.workdir();
      dev.run(x.data(), 2, s, out.data());
    });
    EXPECT_EQ(m.rfind("device '" + std::string(c.name) + "' (" + path + "): ", 0), 0u) << m;
    EXPECT_NE(m.find(c.message), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_FALSE(workdir.empty() || fs::exists(workdir)) << c.name;  // cleaned up anyway
  }
  // A timeout may not happen again: a TransientError (a search evaluates the candidate
  // again on resume); a device that answers wrongly is a lasting Error.
  {
    const ExternalProfile slow = load_external_profile(
        write_profile(d, "slow2", "command = \"sleep 5\"\ntimeout_s = 0.3\n"));
    ExternalDevice dev(lower_for_external(ck.net, ck.norm, slow), slow);
    EXPECT_THROW(dev.run(x.data(), 2, s, out.data()), TransientError);
    const ExternalProfile crash =
        load_external_profile(write_profile(d, "crash2", "command = \"exit 3\"\n"));
    ExternalDevice dev2(lower_for_external(ck.net, ck.norm, crash), crash);
    bool lasting = false;
    try {
      dev2.run(x.data(), 2, s, out.data());
    } catch (const TransientError&) {
      lasting = false;
    } catch (const Error&) {
      lasting = true;
    }
    EXPECT_TRUE(lasting) << "a non-zero exit is not transient";
  }
  // A timing file that is not JSON.
  const std::string path =
      write_profile(d, "timing",
                    "command = \"" + std::string(DALNAS_STUB_DEVICE) +
                        " --profile fp32 {model} {inputs} {outputs} && echo oops > {timing}\"\n");
  const ExternalProfile p = load_external_profile(path);
  ExternalDevice dev(lower_for_external(ck.net, ck.norm, p), p);
  EXPECT_NE(error_of([&] { dev.run(x.data(), 2, s, out.data()); }).find("timing.json: not a JSON"),
            std::string::npos);
  // Nothing else breaks: a working device runs afterwards in the same process.
  const ExternalProfile ok = load_external_profile(write_profile(d, "ok", stub("fp32")));
  ExternalDevice good(lower_for_external(ck.net, ck.norm, ok), ok);
  EXPECT_NO_THROW(good.run(x.data(), 2, s, out.data()));
  // The eval path reports the same errors.
  EXPECT_NE(error_of([&] {
              SyntheticOptions so;
              so.scenes = 1;
              so.height = so.width = 20;
              TileOptions to;
              to.tile = 16;
              to.overlap = 2;
              evaluate_on_device(ck, "external:" + write_profile(d, "crash2", cases[2].external),
                                 make_synthetic(so), {0}, to);
            }).find("device 'crash2'"),
            std::string::npos);
}
