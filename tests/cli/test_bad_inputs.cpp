// The bad-input corpus (tests/bad_inputs/ and files made here from good ones): every file
// type dalnas reads and every kind of command-line value, each fed to the command that
// reads it. Each case asserts a non-zero exit, one line on stderr that starts with
// "dalnas: error: " and names the file or field, and that nothing is left half-written: the
// command's output path does not exist afterwards, or is a folder that says it failed
// (FAILED.txt, cli/output_folder.h).
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cmath>
#include <functional>
#include <vector>

#include "cli_util.h"
#include "data/raster.h"

using namespace dalnas::test;
namespace fs = std::filesystem;

namespace {

const std::string kCorpus = std::string(DALNAS_SOURCE_DIR) + "/tests/bad_inputs";

// Files made once for every case: a good folder dataset, datasets that are bad in one way
// each, a trained checkpoint, its ONNX export, probe outputs, and damaged copies of those.
struct Fixture {
  fs::path root;
  bool ok = false;
  std::string why;
};

void write_scene(const fs::path& dir, const std::string& stem, int bands, int h, int w,
                 float special = 0.0f, int mask_h = 0, int mask_w = 0) {
  fs::create_directories(dir / "images");
  fs::create_directories(dir / "masks");
  dalnas::Raster r;
  r.bands = bands;
  r.height = h;
  r.width = w;
  r.data.resize(static_cast<size_t>(bands) * h * w);
  for (size_t i = 0; i < r.data.size(); ++i) r.data[i] = static_cast<float>(500 + (i * 37) % 900);
  if (special != 0.0f) r.data[5] = special;
  dalnas::write_geotiff((dir / "images" / (stem + ".tif")).string(), r);
  const int mh = mask_h ? mask_h : h, mw = mask_w ? mask_w : w;
  std::vector<uint8_t> m(static_cast<size_t>(mh) * mw, 0);
  for (int y = 10; y < 16; ++y)
    for (int x = 10; x < 16; ++x) m[static_cast<size_t>(y) * mw + x] = 1;
  dalnas::write_mask((dir / "masks" / (stem + ".tif")).string(), m, mh, mw);
}

void truncate_copy(const fs::path& from, const fs::path& to, double fraction) {
  const std::string s = slurp(from.string());
  std::ofstream(to, std::ios::binary) << s.substr(0, static_cast<size_t>(s.size() * fraction));
}

const Fixture& fixture() {
  static Fixture f = [] {
    Fixture x;
    x.root = fs::temp_directory_path() / ("dalnas-bad-inputs-" + std::to_string(::getpid()));
    fs::remove_all(x.root);
    const fs::path& r = x.root;
    for (const char* s : {"a", "b", "c"}) write_scene(r / "good", s, 4, 48, 48);
    for (const char* s : {"a", "b", "c"}) write_scene(r / "three-bands", s, 3, 48, 48);
    write_scene(r / "nan", "a", 4, 48, 48, NAN);
    write_scene(r / "inf", "a", 4, 48, 48, INFINITY);
    write_scene(r / "mask-size", "a", 4, 48, 48, 0.0f, 40, 40);
    write_scene(r / "no-mask", "a", 4, 48, 48);
    fs::remove(r / "no-mask" / "masks" / "a.tif");
    fs::create_directories(r / "empty" / "images");
    fs::create_directories(r / "empty" / "masks");
    write_scene(r / "text-tiff", "a", 4, 48, 48);
    std::ofstream(r / "text-tiff" / "images" / "a.tif") << "this is not a TIFF\n";
    write_scene(r / "truncated-tiff", "a", 4, 48, 48);
    truncate_copy(r / "good" / "images" / "a.tif", r / "truncated-tiff" / "images" / "a.tif", 0.3);
    write_scene(r / "mask-values", "a", 4, 48, 48);
    {
      dalnas::Raster m;
      m.bands = 1;
      m.height = m.width = 48;
      m.data.assign(48 * 48, 7.0f);
      dalnas::write_geotiff((r / "mask-values" / "masks" / "a.tif").string(), m);
    }
    // A trained checkpoint (4 bands), its export, probe outputs.
    const std::string run = (r / "run").string();
    RunResult t = run_dalnas(
        "train --data synthetic:3 --arch tiny --epochs 1 --chip-size 32 "
        "--threads 1 --quiet --out " +
        run);
    if (t.code != 0) {
      x.why = "training the fixture's checkpoint failed: " + t.err;
      return x;
    }
    truncate_copy(r / "run" / "model.ckpt", r / "truncated.ckpt", 0.5);
    std::ofstream(r / "garbage.ckpt") << "DALNASCK not really a checkpoint";
    RunResult e = run_dalnas("export --model " + run + "/model.ckpt --out " + run + "/model.onnx");
    if (e.code != 0) {
      x.why = "exporting the fixture's checkpoint failed: " + e.err;
      return x;
    }
    truncate_copy(r / "run" / "model.onnx", r / "truncated.onnx", 0.5);
    RunResult p = run_dalnas("probe emulate --device myriadx --out " + (r / "probes").string());
    if (p.code != 0) {
      x.why = "probe emulate failed: " + p.err;
      return x;
    }
    fs::copy(r / "probes", r / "probes-truncated");
    truncate_copy(r / "probes" / "avgpool.output.npy",
                  r / "probes-truncated" / "avgpool.output.npy", 0.6);
    fs::copy(r / "probes", r / "probes-shape");
    fs::copy_file(r / "probes" / "accumulation_1x1.output.npy",
                  r / "probes-shape" / "avgpool.output.npy", fs::copy_options::overwrite_existing);
    // A profile whose [cost] table names a lookup table that is not there.
    std::ofstream(r / "lut-missing.toml")
        << "name = \"lut-missing\"\n[cost]\nlut = \"nowhere.csv\"\n";
    x.ok = true;
    return x;
  }();
  return f;
}

struct Case {
  std::string name;
  std::string args;   // {R}: the fixture's folder, {C}: tests/bad_inputs, {O}: an output path
  std::string names;  // what the one-line message must contain (file or field)
  rlim_t max_file_bytes = 0;  // > 0: run with RLIMIT_FSIZE (a disk that fills up)
};

std::string expand(std::string s, const std::string& out) {
  auto rep = [&](const std::string& from, const std::string& to) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
      s.replace(p, from.size(), to);
  };
  rep("{R}", fixture().root.string());
  rep("{C}", kCorpus);
  rep("{O}", out);
  return s;
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class BadInput : public ::testing::TestWithParam<Case> {};

TEST_P(BadInput, OneLineNamingItNonZeroExitNothingHalfWritten) {
  const Fixture& f = fixture();
  if (!f.ok) GTEST_SKIP() << f.why;
  const Case& c = GetParam();
  TempDir d;
  const std::string out = (d.path / "out").string();
  std::string args = expand(c.args, out);
  RunResult r;
  if (c.max_file_bytes) {
    // A file system that fills up: every write beyond the limit fails with EFBIG.
    struct rlimit old {};
    getrlimit(RLIMIT_FSIZE, &old);
    struct rlimit lim = old;
    lim.rlim_cur = c.max_file_bytes;
    setrlimit(RLIMIT_FSIZE, &lim);
    r = run_dalnas(args);
    setrlimit(RLIMIT_FSIZE, &old);
  } else {
    r = run_dalnas(args);
  }
  EXPECT_NE(r.code, 0) << args << "\n" << r.err;
  EXPECT_LT(r.code, 128) << "killed by a signal: " << args << "\n" << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << args << "\n" << r.err;
  EXPECT_EQ(r.err.rfind("dalnas: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(expand(c.names, out)), std::string::npos)
      << "the message should name '" << expand(c.names, out) << "': " << r.err;
  // Nothing half-written: no output, or a folder that says it failed.
  if (fs::exists(out)) {
    EXPECT_TRUE(fs::is_directory(out) && fs::exists(fs::path(out) / "FAILED.txt"))
        << out << " is left behind without saying it failed";
  }
  for (const auto& e : fs::recursive_directory_iterator(d.path)) {
    const std::string n = e.path().filename().string();
    EXPECT_EQ(n.find(".tmp"), std::string::npos) << "temporary file left: " << e.path();
  }
}

const std::string kTrain = "train --quiet --epochs 1 --chip-size 32 --threads 1 --out {O} ";

std::vector<Case> cases() {
  return {
      // Genomes and architecture names.
      {"genome_kernel", "arch describe ConvBnAct-16-k4-relu_max_ConvBnAct-16-k3-relu_dec-8", "k4"},
      {"genome_block", "arch describe Conv3d-16-k3-relu_max_ConvBnAct-16-k3-relu_dec-8", "Conv3d"},
      {"genome_activation", "arch describe ConvBnAct-16-k3-swishy_max_ConvBnAct-16-k3-relu_dec-8",
       "swishy"},
      {"genome_width_zero", "arch describe ConvBnAct-0-k3-relu_max_ConvBnAct-16-k3-relu_dec-8",
       "ConvBnAct-0"},
      {"genome_pynas_code", "arch describe pynas:not-a-code", "not-a-code"},
      {"genome_empty", "arch describe ''", "genome"},
      {"train_arch", kTrain + "--data synthetic:3 --arch nosuchnet", "nosuchnet"},
      // Command-line values.
      {"epochs_negative", "train --quiet --epochs -3 --out {O}", "epochs"},
      {"batch_zero", kTrain + "--data synthetic:3 --batch 0", "batch"},
      {"lr_text", kTrain + "--data synthetic:3 --lr fast", "--lr"},
      {"seed_text", kTrain + "--data synthetic:3 --seed abc", "--seed"},
      {"chip_size_zero", "train --quiet --chip-size 0 --epochs 1 --out {O}", "size"},
      {"normalization", kTrain + "--data synthetic:3 --normalization zscore", "zscore"},
      {"precision", kTrain + "--data synthetic:3 --precision fp8", "fp8"},
      {"aligned_device", kTrain + "--data synthetic:3 --precision aligned --device nosuch",
       "nosuch"},
      {"search_device", "search --device nosuch --out {O}", "nosuch"},
      {"export_tile", "export --model {R}/run/model.ckpt --tile 0 --out {O}.onnx", "--tile"},
      {"profile_size", "profile reference --size 12x", "--size"},
      // Datasets: folders, rasters, masks.
      {"data_missing", kTrain + "--data {R}/nowhere", "{R}/nowhere"},
      {"data_empty", kTrain + "--data {R}/empty", "{R}/empty"},
      {"raster_nan", kTrain + "--data {R}/nan", "a.tif"},
      {"raster_inf", kTrain + "--data {R}/inf", "a.tif"},
      {"mask_wrong_size", kTrain + "--data {R}/mask-size", "a.tif"},
      {"mask_missing", kTrain + "--data {R}/no-mask", "a.tif"},
      {"mask_values", kTrain + "--data {R}/mask-values", "a.tif"},
      {"tiff_is_text", kTrain + "--data {R}/text-tiff", "a.tif"},
      {"tiff_truncated", kTrain + "--data {R}/truncated-tiff", "a.tif"},
      // COCO annotations.
      {"coco_truncated", kTrain + "--data {C}/coco-truncated.json", "coco-truncated.json"},
      {"coco_wrong_type", kTrain + "--data {C}/coco-wrong-type.json", "images"},
      {"coco_missing_image", kTrain + "--data {C}/coco-missing-image.json", "coco-missing-image"},
      {"coco_odd_polygon", kTrain + "--data {C}/coco-odd-polygon.json", "coco-odd-polygon"},
      {"coco_rle_overrun", kTrain + "--data {C}/coco-rle-overrun.json", "coco-rle-overrun"},
      {"coco_rle_garbage", kTrain + "--data {C}/coco-rle-garbage.json", "coco-rle-garbage"},
      // Configuration files.
      {"config_unknown_key", kTrain + "--config {C}/train-unknown-key.toml", "batchsize"},
      {"config_syntax", kTrain + "--config {C}/train-syntax.toml", "train-syntax.toml"},
      {"config_wrong_type", "train --config {C}/train-wrong-type.toml --out {O}", "epochs"},
      {"search_wrong_type", "search --config {C}/search-wrong-type.toml --out {O}", "population"},
      {"search_strategy", "search --config {C}/search-unknown-strategy.toml --out {O}",
       "annealing"},
      {"search_widths", "search --config {C}/search-widths-reversed.toml --out {O}", "widths"},
      {"search_unknown_table", "search --config {C}/search-unknown-table.toml --out {O}", "serch"},
      {"search_json", "search --config {C}/search-malformed.json --out {O}", "search-malformed"},
      // Device profiles.
      {"profile_accumulation", "profile reference --device {C}/profile-bad-accumulation.toml",
       "accumulation"},
      {"profile_unknown_key", "profile reference --device {C}/profile-unknown-key.toml",
       "frobnicate"},
      {"profile_lut_missing", "profile reference --device {R}/lut-missing.toml", "nowhere.csv"},
      {"profile_no_measure", "profile reference --device fp16-ideal --measure", "[measure]"},
      // Checkpoints.
      {"ckpt_missing", "eval --model {R}/none.ckpt", "none.ckpt"},
      {"ckpt_truncated", "eval --model {R}/truncated.ckpt", "truncated.ckpt"},
      {"ckpt_garbage", "eval --model {R}/garbage.ckpt", "garbage.ckpt"},
      {"ckpt_other_bands", "eval --model {R}/run/model.ckpt --data {R}/three-bands --split all",
       "bands"},
      {"ckpt_other_genome",
       kTrain + "--data synthetic:3 --arch reference --init {R}/run/model.ckpt", "--arch"},
      {"export_truncated_ckpt", "export --model {R}/truncated.ckpt --out {O}.onnx",
       "truncated.ckpt"},
      // ONNX models, measured tables, probe outputs (.npy).
      {"onnx_garbage", "profile {C}/garbage.onnx", "garbage.onnx"},
      {"onnx_truncated", "profile {R}/truncated.onnx", "truncated.onnx"},
      {"measured_columns", "profile calibrate --table {C}/measured-wrong-columns.csv",
       "measured-wrong-columns.csv"},
      {"measured_number", "profile calibrate --table {C}/measured-bad-number.csv",
       "measured-bad-number.csv"},
      {"lut_columns", "profile reference --lut {C}/lut-negative.csv", "lut-negative.csv"},
      {"npy_truncated", "probe fit --device-outputs {R}/probes-truncated --out {O}.toml",
       "avgpool.output.npy"},
      {"npy_shape", "probe fit --device-outputs {R}/probes-shape --out {O}.toml", "avgpool"},
      {"npy_missing_folder", "probe fit --device-outputs {R}/no-probes --out {O}.toml",
       "no-probes"},
      // A disk that fills up while the checkpoint is written: a clear error, no output.
      {"disk_full", kTrain + "--data synthetic:3 --arch reference", "{O}", 20000},
  };
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadInput, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

TEST(BadInputCorpus, HasAtLeastFortyCasesAndEveryCorpusFileIsUsed) {
  const std::vector<Case> all = cases();
  EXPECT_GE(all.size(), 40u);
  for (const auto& e : fs::directory_iterator(kCorpus)) {
    const std::string n = e.path().filename().string();
    bool used = false;
    for (const Case& c : all) used = used || c.args.find("{C}/" + n) != std::string::npos;
    EXPECT_TRUE(used) << "tests/bad_inputs/" << n << " is not fed to any command";
  }
}

}  // namespace
