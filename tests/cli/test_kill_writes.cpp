// Crash-safe writes (issue 15 §3): dalnas killed with SIGKILL while it writes a checkpoint,
// an export or a search's outputs leaves the previous good file intact (or the new one
// whole), and the next run goes on. The kill comes from inside the write, at its worst
// moments (DALNAS_KILL_DURING_WRITE, core/atomic_file.cpp): half the bytes in the temporary
// file, the temporary complete but not renamed, renamed but the folder not yet synced.
// Killing the journal's writer at random moments is tested in tests/cli/test_search.cpp and
// tests/search/test_journal.cpp.
#include <gtest/gtest.h>
#include <signal.h>

#include "cli_util.h"

using namespace dalnas::test;
namespace fs = std::filesystem;

namespace {

const char* kStages[] = {"partial", "written", "renamed"};

RunResult run_killed(const std::string& suffix, const std::string& stage, const std::string& args) {
  return run_dalnas(args, "DALNAS_KILL_DURING_WRITE=" + suffix + ":" + stage + " ");
}

int temp_files(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    n += e.path().filename().string().find(".tmp-") != std::string::npos;
  return n;
}

const std::string kTrain =
    "train --quiet --data synthetic:3 --epochs 1 --chip-size 32 --threads 1 --arch tiny ";

}  // namespace

TEST(KillDuringWrite, CheckpointKeepsThePreviousGoodFileAndTheNextRunGoesOn) {
  TempDir d;
  const std::string out = d.str() + "/run";
  ASSERT_EQ(run_dalnas(kTrain + "--seed 1 --out " + out).code, 0);
  const std::string good = slurp(out + "/model.ckpt");
  ASSERT_GT(good.size(), 1000u);
  for (const char* stage : kStages) {
    // Another seed: a different checkpoint, so that old and new can be told apart.
    const RunResult r = run_killed("model.ckpt", stage, kTrain + "--seed 2 --out " + out);
    EXPECT_EQ(r.code, 128 + SIGKILL) << stage << ": " << r.err;
    const std::string now = slurp(out + "/model.ckpt");
    if (std::string(stage) == "renamed") {
      EXPECT_NE(now, good) << "renamed: the new checkpoint is in place";
    } else {
      EXPECT_EQ(now, good) << stage << ": the previous checkpoint must be intact";
      EXPECT_EQ(temp_files(out), 1) << stage << ": the killed writer's temporary file";
    }
    // Whatever is at the path loads and evaluates.
    const RunResult e = run_dalnas("eval --model " + out + "/model.ckpt --threads 1");
    EXPECT_EQ(e.code, 0) << stage << ": " << e.err;
    // The next run into the folder clears the stale temporary file and succeeds.
    ASSERT_EQ(run_dalnas(kTrain + "--seed 1 --out " + out).code, 0);
    EXPECT_EQ(temp_files(out), 0) << stage;
    EXPECT_EQ(slurp(out + "/model.ckpt"), good) << "same seed, same checkpoint";
  }
}

TEST(KillDuringWrite, ExportKeepsThePreviousGoodModel) {
  TempDir d;
  const std::string run = d.str() + "/run", onnx = d.str() + "/m.onnx";
  ASSERT_EQ(run_dalnas(kTrain + "--out " + run).code, 0);
  const std::string exp = "export --model " + run + "/model.ckpt --out " + onnx;
  ASSERT_EQ(run_dalnas(exp).code, 0);
  const std::string good = slurp(onnx);
  for (const char* stage : kStages) {
    const RunResult r = run_killed("m.onnx", stage, exp + " --precision fp16");
    EXPECT_EQ(r.code, 128 + SIGKILL) << stage << ": " << r.err;
    if (std::string(stage) != "renamed") {
      EXPECT_EQ(slurp(onnx), good) << stage << ": the previous export must be intact";
    } else {
      EXPECT_NE(slurp(onnx), good) << "renamed: the fp16 export is in place";
    }
    const RunResult p = run_dalnas("profile " + onnx);
    EXPECT_EQ(p.code, 0) << stage << ": the file at the path is a whole model: " << p.err;
    ASSERT_EQ(run_dalnas(exp).code, 0);
    EXPECT_EQ(temp_files(d.path), 0) << stage << ": the next export clears the temporary file";
    EXPECT_EQ(slurp(onnx), good);
  }
}

TEST(KillDuringWrite, SearchKilledWhileWritingItsOutputsResumes) {
  TempDir d;
  const std::string out = d.str() + "/s";
  const std::string search =
      "search -q --data synthetic:5 --evaluations 4 --epochs 1 --final-epochs 1 --threads 1 "
      "--input-size 64 ";
  // Killed while writing the candidates table, then the best model's checkpoint.
  for (const std::string target : {"candidates.csv", "best/model.ckpt"}) {
    fs::remove_all(out);
    const RunResult r = run_killed(target, "written", search + "--out " + out);
    ASSERT_EQ(r.code, 128 + SIGKILL) << target << ": " << r.err;
    const RunResult again = run_dalnas("search -q --threads 1 --resume " + out);
    ASSERT_EQ(again.code, 0) << target << ": " << again.err;
    EXPECT_TRUE(fs::exists(fs::path(out) / "best" / "model.ckpt")) << target;
    EXPECT_TRUE(fs::exists(fs::path(out) / "candidates.csv")) << target;
    for (const auto& e : fs::recursive_directory_iterator(out)) {
      EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos)
          << target << ": left behind: " << e.path();
    }
  }
}
