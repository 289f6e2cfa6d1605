// dalnas search --evaluator mpi under mpirun (3 ranks: rank 0 and two workers) on the tiny
// configuration: the same evaluations as the local evaluator, an injected worker failure
// recorded and survived, a worker killed with SIGKILL and the job resumed. Skipped when
// this dalnas was built without MPI or mpirun is missing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "cli/cli_util.h"
#include "cli/tiny_search.h"
#include "mpi_util.h"

namespace dalnas::test {
namespace {

namespace fs = std::filesystem;

std::string write_config(const TempDir& d, const std::string& text = kTinySearch) {
  return write_tiny_config(d.str(), text);
}

// "candidate id, genome, status, fitness, device mIoU, reason" of every journal row, sorted.
std::vector<std::string> journal_set(const std::string& path) {
  auto rows = journal_query(path,
                            "SELECT candidate_id, genome, status, quote(fitness), "
                            "quote(json_extract(metrics, '$.miou')), reason FROM evaluations");
  std::sort(rows.begin(), rows.end());
  return rows;
}

// The single column of every row `sql` returns from the journal at `path`.
std::vector<std::string> query(const std::string& path, const std::string& sql) {
  return journal_query(path, sql);
}

std::set<std::string> workers_in(const std::string& path) {
  const auto v = query(path, "SELECT json_extract(metrics, '$.worker') FROM evaluations");
  return {v.begin(), v.end()};
}

const std::string kFlags = " --threads 1 --final-epochs 0 --no-multi-fidelity -q";

TEST(MpiSearch, GaOnTwoWorkersCommitsTheLocalEvaluatorsEvaluations) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  const std::string cfg = write_config(d);
  const auto local = run_dalnas("search --config " + cfg + " --out " + d.str() + "/local" + kFlags);
  ASSERT_EQ(local.code, 0) << local.err;
  const auto mpi =
      run_shell(std::string(kMpirun) + DALNAS_BINARY + " search --evaluator mpi --config " + cfg +
                " --out " + d.str() + "/mpi" + kFlags);
  ASSERT_EQ(mpi.code, 0) << mpi.err;
  const auto expected = journal_set(d.str() + "/local/journal.sqlite");
  ASSERT_EQ(expected.size(), 10u);
  EXPECT_EQ(journal_set(d.str() + "/mpi/journal.sqlite"), expected);
  // Both workers evaluated, two candidates at a time; rank 0 measured its own cost.
  EXPECT_EQ(workers_in(d.str() + "/mpi/journal.sqlite"), (std::set<std::string>{"1", "2"}));
  const auto stats = nlohmann::json::parse(slurp(d.str() + "/mpi/mpi-stats.json"));
  EXPECT_EQ(stats["workers"], 2);
  EXPECT_EQ(stats["max_in_flight"], 2);
  EXPECT_EQ(stats["committed"], 10);
  EXPECT_GT(stats["commit_us_mean"].get<double>(), 0.0);
  EXPECT_TRUE(fs::exists(d.str() + "/mpi/candidates.csv"));
  EXPECT_TRUE(fs::exists(d.str() + "/mpi/summary.json"));
}

TEST(MpiSearch, AnInjectedWorkerFailureIsRecordedAndTheSearchGoesOn) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  const auto r = run_shell("DALNAS_TEST_FAIL_CANDIDATE=2 " + std::string(kMpirun) + DALNAS_BINARY +
                           " search --evaluator mpi --config " + write_config(d) + " --out " +
                           d.str() + "/run" + kFlags);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = journal_set(d.str() + "/run/journal.sqlite");
  ASSERT_EQ(rows.size(), 10u);
  int failed = 0;
  for (const auto& row : rows) {
    if (row.find(" failed ") == std::string::npos) continue;
    ++failed;
    EXPECT_EQ(row.rfind("2 ", 0), 0u) << row;
    EXPECT_NE(row.find("injected failure of candidate 2"), std::string::npos) << row;
    EXPECT_NE(row.find(" worker 1: ") + row.find(" worker 2: "), 2 * std::string::npos) << row;
  }
  EXPECT_EQ(failed, 1);
  const auto summary = nlohmann::json::parse(slurp(d.str() + "/run/summary.json"));
  EXPECT_EQ(summary["failed"], 1);
  EXPECT_EQ(summary["stop_reason"], "finished");
}

// Failures are classified on the worker as run_search classifies them (reliability §2): a
// transient one is recorded as such and evaluated again by --resume; a programming error
// stops the search with one line naming the candidate, and the job ends.
TEST(MpiSearch, ATransientWorkerFailureIsRetriedOnResumeAndABugStopsTheSearch) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  const std::string cfg = write_config(d), run = d.str() + "/run";
  const auto r =
      run_shell("DALNAS_TEST_FAIL_CANDIDATE=2:transient " + std::string(kMpirun) + DALNAS_BINARY +
                " search --evaluator mpi --config " + cfg + " --out " + run + kFlags);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto transient_rows = [&] {
    return query(run + "/journal.sqlite",
                 "SELECT candidate_id || ' ' || status || ' ' || transient || ' ' || "
                 "ifnull(json_extract(metrics, '$.retry_of'), '-') FROM evaluations "
                 "WHERE candidate_id = 2 ORDER BY id");
  };
  ASSERT_EQ(transient_rows(), (std::vector<std::string>{"2 failed 1 -"}));
  const auto resumed = run_shell(std::string(kMpirun) + DALNAS_BINARY +
                                 " search --evaluator mpi --resume " + run + " --threads 1 -q");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  const auto rows = transient_rows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], "2 failed 1 -");
  EXPECT_EQ(rows[1].rfind("2 ok 0 ", 0), 0u) << rows[1] << " should be a retry that succeeded";
  const auto summary = nlohmann::json::parse(slurp(run + "/summary.json"));
  EXPECT_EQ(summary["failed"], 0);

  const auto bug =
      run_shell("DALNAS_TEST_FAIL_CANDIDATE=3:bug " + std::string(kMpirun) + DALNAS_BINARY +
                " search --evaluator mpi --config " + cfg + " --out " + d.str() + "/bug" + kFlags);
  EXPECT_NE(bug.code, 0);
  EXPECT_NE(bug.err.find("search: candidate 3 ("), std::string::npos) << bug.err;
  EXPECT_NE(bug.err.find("internal error std::logic_error: injected failure of candidate 3"),
            std::string::npos)
      << bug.err;
  EXPECT_NE(bug.err.find("this is a bug in dalnas"), std::string::npos) << bug.err;
  EXPECT_TRUE(query(d.str() + "/bug/journal.sqlite",
                    "SELECT candidate_id FROM evaluations WHERE candidate_id = 3")
                  .empty())
      << "a programming error is not recorded as a result";
}

TEST(MpiSearch, OneRankAloneSaysItNeedsWorkers) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  const auto r = run_dalnas("search --evaluator mpi --config " + write_config(d) + " --out " +
                            d.str() + "/run -q");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("--evaluator mpi: needs at least 2 ranks"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(d.str() + "/run/journal.sqlite"));
}

// The tiny search with `flags`, run locally into <d>/local and under mpirun (rank 0 and two
// workers) into <d>/mpi: the two runs' results.
std::pair<RunResult, RunResult> local_and_mpi(const TempDir& d, const std::string& flags) {
  const std::string cfg = write_config(d);
  RunResult local = run_dalnas("search --config " + cfg + " --out " + d.str() + "/local" + flags);
  RunResult mpi =
      run_shell(std::string(kMpirun) + DALNAS_BINARY + " search --evaluator mpi --config " + cfg +
                " --out " + d.str() + "/mpi" + flags);
  return {std::move(local), std::move(mpi)};
}

// --rescore under MPI: the fold trainings run on both workers and give the local run's
// ranking, number for number (each is the search's evaluation message with the fold's
// configuration and seed salt).
TEST(MpiSearch, RescoreOnFoldsRunsOnTheWorkersLikeTheLocalSearch) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  const auto [local, mpi] = local_and_mpi(
      d, " --threads 1 --no-multi-fidelity --final-epochs 0 --rescore 3 --rescore-folds 2");
  ASSERT_EQ(local.code, 0) << local.err;
  ASSERT_EQ(mpi.code, 0) << mpi.err;
  EXPECT_NE(mpi.err.find("6 trainings to go, on the workers"), std::string::npos) << mpi.err;
  EXPECT_NE(mpi.err.find("(worker 1)"), std::string::npos) << mpi.err;
  EXPECT_NE(mpi.err.find("(worker 2)"), std::string::npos) << mpi.err;
  const auto expected = nlohmann::json::parse(slurp(d.str() + "/local/rescore/rescore.json"));
  ASSERT_EQ(expected.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(slurp(d.str() + "/mpi/rescore/rescore.json")), expected);
  EXPECT_EQ(nlohmann::json::parse(slurp(d.str() + "/mpi/summary.json"))["rescore"], expected);
}

// [evaluation] final_candidates under MPI: the finalists' retrainings go to the workers, side
// by side, and give what the local search's give (one thread each, deterministic).
TEST(MpiSearch, FinalistsRetrainOnTheWorkersLikeTheLocalSearch) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  const auto [local, mpi] = local_and_mpi(
      d, " --threads 1 --no-multi-fidelity --final-epochs 1 --final-seeds 2 --final-candidates 2");
  ASSERT_EQ(local.code, 0) << local.err;
  ASSERT_EQ(mpi.code, 0) << mpi.err;
  EXPECT_NE(mpi.err.find("retraining 4 finalists' seeds for 1 epochs on the workers"),
            std::string::npos)
      << mpi.err;
  EXPECT_NE(mpi.err.find("on worker 1"), std::string::npos) << mpi.err;
  EXPECT_NE(mpi.err.find("on worker 2"), std::string::npos) << mpi.err;
  const auto expected = nlohmann::json::parse(slurp(d.str() + "/local/finalists/finalists.json"));
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(slurp(d.str() + "/mpi/finalists/finalists.json")), expected);
  EXPECT_EQ(nlohmann::json::parse(slurp(d.str() + "/mpi/best/metrics.json"))["candidate_id"],
            nlohmann::json::parse(slurp(d.str() + "/local/best/metrics.json"))["candidate_id"]);
  EXPECT_TRUE(fs::exists(d.str() + "/mpi/best/model-fp16.onnx"));
}

// The winner's seeds and their FP32 twins under MPI: four retrainings on the workers, side by
// side, saved where the local search saves them and giving what its give.
TEST(MpiSearch, TheWinnersSeedsAndTwinsRetrainOnTheWorkersLikeTheLocalSearch) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  const auto [local, mpi] =
      local_and_mpi(d, " --threads 1 --no-multi-fidelity --final-epochs 1 --final-seeds 2");
  ASSERT_EQ(local.code, 0) << local.err;
  ASSERT_EQ(mpi.code, 0) << mpi.err;
  EXPECT_NE(mpi.err.find("retraining the winner on the workers: 4 retraining(s) of 1 epochs (2 "
                         "seed(s), each with its FP32 twin)"),
            std::string::npos)
      << mpi.err;
  EXPECT_NE(mpi.err.find("on worker 1"), std::string::npos) << mpi.err;
  EXPECT_NE(mpi.err.find("on worker 2"), std::string::npos) << mpi.err;
  EXPECT_EQ(local.err.find("on the workers"), std::string::npos) << local.err;
  for (const char* f : {"best/model.ckpt", "best/fp32/model.ckpt", "best/seeds/4/model.ckpt",
                        "best/seeds/4/fp32/model.ckpt", "best/model-fp16.onnx", "best/genome.txt"})
    EXPECT_TRUE(fs::exists(d.str() + "/mpi/" + f)) << f;
  const auto want = nlohmann::json::parse(slurp(d.str() + "/local/best/metrics.json"));
  const auto got = nlohmann::json::parse(slurp(d.str() + "/mpi/best/metrics.json"));
  EXPECT_EQ(got["candidate_id"], want["candidate_id"]);
  ASSERT_TRUE(want.contains("over_seeds"));
  EXPECT_EQ(got["over_seeds"], want["over_seeds"]);
  ASSERT_TRUE(want.contains("fp32_twin"));
  EXPECT_EQ(got["fp32_twin"]["device_test"], want["fp32_twin"]["device_test"]);
  const auto seed4 = nlohmann::json::parse(slurp(d.str() + "/mpi/best/seeds/4/metrics.json"));
  EXPECT_EQ(seed4["seed"], 4);
  EXPECT_EQ(seed4["fp32_twin"]["device_test"],
            nlohmann::json::parse(
                slurp(d.str() + "/local/best/seeds/4/metrics.json"))["fp32_twin"]["device_test"]);
}

// --baseline under MPI: the baseline's seeds retrain on the workers, side by side, to what
// the local search's give (one thread each, deterministic).
TEST(MpiSearch, BaselineRetrainsOnTheWorkersLikeTheLocalSearch) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  const auto [local, mpi] =
      local_and_mpi(d,
                    " --threads 1 --no-multi-fidelity --final-epochs 1 --final-seeds 2 --baseline "
                    "ConvAct-12-k3-relu_max_ConvAct-12-k3-relu_max_ConvAct-12-k3-relu_dec-12");
  ASSERT_EQ(local.code, 0) << local.err;
  ASSERT_EQ(mpi.code, 0) << mpi.err;
  EXPECT_NE(mpi.err.find("2 of 2 seed(s), 1 epochs each, on the workers"), std::string::npos)
      << mpi.err;
  EXPECT_NE(mpi.err.find("on worker 1"), std::string::npos) << mpi.err;
  EXPECT_NE(mpi.err.find("on worker 2"), std::string::npos) << mpi.err;
  const auto expected = nlohmann::json::parse(slurp(d.str() + "/local/summary.json"))["baseline"];
  const auto got = nlohmann::json::parse(slurp(d.str() + "/mpi/summary.json"))["baseline"];
  ASSERT_EQ(expected["seeds"], nlohmann::json({3, 4}));
  EXPECT_EQ(got["seeds"], expected["seeds"]);
  EXPECT_EQ(got["device_test"]["baseline"], expected["device_test"]["baseline"]);
  EXPECT_EQ(got["params"], expected["params"]);
  EXPECT_TRUE(fs::exists(d.str() + "/mpi/baseline/4/model.ckpt"));
}

// A retraining that fails on a worker loses none of the finished ones: rank 0 saves each as
// it arrives, the run fails naming the one that did not, and the resume trains that alone.
TEST(MpiSearch, AFailedRetrainingKeepsTheFinishedOnesForTheResume) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  const std::string run = d.str() + "/run";
  const std::string search =
      std::string(kMpirun) + DALNAS_BINARY + " search --evaluator mpi --threads 1";
  const std::string baseline =
      " --baseline ConvAct-12-k3-relu_max_ConvAct-12-k3-relu_max_ConvAct-12-k3-relu_dec-12";
  auto r = run_shell(search + " --config " + write_config(d) + " --out " + run +
                     " --no-multi-fidelity --final-epochs 1 --final-seeds 2");
  ASSERT_EQ(r.code, 0) << r.err;
  // A file where seed 4's retraining is to be saved: it fails on its worker.
  fs::create_directories(run + "/baseline");
  std::ofstream(run + "/baseline/4") << "in the way\n";
  r = run_shell(search + " --resume " + run + baseline);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("retraining over MPI: " + run +
                       "/baseline/4: the retraining failed on "
                       "worker"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(fs::exists(run + "/FAILED.txt"));
  ASSERT_TRUE(fs::exists(run + "/baseline/3/metrics.json")) << "the finished one was not saved";
  const auto kept = fs::last_write_time(run + "/baseline/3/model.ckpt");
  fs::remove(run + "/baseline/4");
  r = run_shell(search + " --resume " + run + baseline);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("1 of 2 seed(s)"), std::string::npos) << r.err;
  EXPECT_EQ(fs::last_write_time(run + "/baseline/3/model.ckpt"), kept);
  EXPECT_EQ(nlohmann::json::parse(slurp(run + "/summary.json"))["baseline"]["seeds"],
            nlohmann::json({3, 4}));
  EXPECT_FALSE(fs::exists(run + "/FAILED.txt"));
}

// A winner's twin that fails on a worker loses none of the other retrainings: each was saved
// as it arrived, the run fails naming the twin, and the resume trains that one alone (on
// rank 0: a single retraining).
TEST(MpiSearch, AFailedWinnerRetrainingKeepsTheOthersForTheResume) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  const std::string run = d.str() + "/run";
  const std::string search =
      std::string(kMpirun) + DALNAS_BINARY + " search --evaluator mpi --threads 1";
  // One seed and its twin: two retrainings, on the workers.
  auto r = run_shell(search + " --config " + write_config(d) + " --out " + run +
                     " --no-multi-fidelity --final-epochs 1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("retraining the winner on the workers: 2 retraining(s)"), std::string::npos)
      << r.err;
  const auto seed3 = fs::last_write_time(run + "/best/model.ckpt");
  // A file where seed 4's FP32 twin is to be saved: it fails on its worker.
  fs::create_directories(run + "/best/seeds/4");
  std::ofstream(run + "/best/seeds/4/fp32") << "in the way\n";
  r = run_shell(search + " --resume " + run + " --final-seeds 2");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("retraining over MPI: " + run +
                       "/best/seeds/4/fp32: the retraining failed on worker"),
            std::string::npos)
      << r.err;
  ASSERT_TRUE(fs::exists(run + "/best/seeds/4/metrics.json")) << "the finished seed was not saved";
  const auto seed4 = nlohmann::json::parse(slurp(run + "/best/seeds/4/metrics.json"));
  EXPECT_EQ(seed4["seed"], 4);
  EXPECT_FALSE(seed4.contains("fp32_twin"));
  const auto kept = fs::last_write_time(run + "/best/seeds/4/model.ckpt");
  fs::remove(run + "/best/seeds/4/fp32");
  r = run_shell(search + " --resume " + run + " --final-seeds 2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("retraining the winner on the workers"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("training its FP32 twin"), std::string::npos) << r.err;
  EXPECT_EQ(fs::last_write_time(run + "/best/seeds/4/model.ckpt"), kept);
  EXPECT_EQ(fs::last_write_time(run + "/best/model.ckpt"), seed3);
  EXPECT_TRUE(
      nlohmann::json::parse(slurp(run + "/best/seeds/4/metrics.json")).contains("fp32_twin"));
  EXPECT_TRUE(fs::exists(run + "/best/seeds/4/fp32/model.ckpt"));
  EXPECT_EQ(nlohmann::json::parse(slurp(run + "/best/metrics.json"))["over_seeds"]["seeds"],
            nlohmann::json({3, 4}));
}

// The other way round: a seed's retraining fails on its worker while its FP32 twin finishes.
// The twin's checkpoint carries its own metrics, so the resume keeps it and retrains the
// seed alone (on rank 0), recording the kept twin's metrics with the seed's.
TEST(MpiSearch, ATwinThatFinishedBesideItsFailedSeedIsKeptForTheResume) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  const std::string run = d.str() + "/run";
  const std::string search =
      std::string(kMpirun) + DALNAS_BINARY + " search --evaluator mpi --threads 1";
  auto r = run_shell(search + " --config " + write_config(d) + " --out " + run +
                     " --no-multi-fidelity --final-epochs 1");
  ASSERT_EQ(r.code, 0) << r.err;
  // A folder where seed 4's checkpoint is to be saved: its retraining fails on its worker,
  // its twin (best/seeds/4/fp32/) does not.
  fs::create_directories(run + "/best/seeds/4/model.ckpt");
  r = run_shell(search + " --resume " + run + " --final-seeds 2");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(
      r.err.find("retraining over MPI: " + run + "/best/seeds/4: the retraining failed on worker"),
      std::string::npos)
      << r.err;
  ASSERT_TRUE(fs::exists(run + "/best/seeds/4/fp32/model.ckpt")) << "the twin did not finish";
  EXPECT_FALSE(fs::exists(run + "/best/seeds/4/metrics.json"));
  const auto kept = fs::last_write_time(run + "/best/seeds/4/fp32/model.ckpt");
  fs::remove(run + "/best/seeds/4/model.ckpt");
  r = run_shell(search + " --resume " + run + " --final-seeds 2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("retraining the winner on the workers"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("its FP32 twin was trained before: " + run + "/best/seeds/4/fp32"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("training its FP32 twin"), std::string::npos) << r.err;
  EXPECT_EQ(fs::last_write_time(run + "/best/seeds/4/fp32/model.ckpt"), kept);
  const auto seed4 = nlohmann::json::parse(slurp(run + "/best/seeds/4/metrics.json"));
  EXPECT_EQ(seed4["seed"], 4);
  ASSERT_TRUE(seed4.contains("fp32_twin"));
  EXPECT_EQ(seed4["fp32_twin"]["precision"], "fp32");
  EXPECT_EQ(seed4["fp32_twin"]["seed"], 4);
  EXPECT_TRUE(seed4["fp32_twin"]["device_test"].contains("miou"));
  EXPECT_EQ(seed4["candidate_id"],
            nlohmann::json::parse(slurp(run + "/best/metrics.json"))["candidate_id"]);
  EXPECT_EQ(nlohmann::json::parse(slurp(run + "/best/metrics.json"))["over_seeds"]["seeds"],
            nlohmann::json({3, 4}));
}

// The pid of the process of MPI rank `rank` among the children of `parent` (mpirun), or 0.
pid_t rank_pid(pid_t parent, int rank) {
  const std::string want = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid != parent) continue;
    const std::string env = slurp((e.path() / "environ").string());
    size_t p = 0;
    while (p < env.size()) {
      const size_t end = env.find('\0', p);
      if (env.compare(p, (end == std::string::npos ? env.size() : end) - p, want) == 0)
        return static_cast<pid_t>(std::stoi(name));
      if (end == std::string::npos) break;
      p = end + 1;
    }
  }
  return 0;
}

TEST(MpiSearch, AWorkerKilledMidRunEndsTheJobAndResumeLosesNoCandidate) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  // 19 evaluations (4 + 5 generations of 3).
  std::string text = kTinySearch;
  text.replace(text.find("generations = 3"), 15, "generations = 6");
  const std::string cfg = write_config(d, text);
  const std::string run = d.str() + "/run", journal = run + "/journal.sqlite";
  const std::string args = " search --evaluator mpi --config " + cfg + " --out " + run + kFlags;

  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execl("/bin/sh", "sh", "-c", ("exec " + std::string(kMpirun) + DALNAS_BINARY + args).c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill worker rank 1 once a few results are committed.
  size_t before = 0;
  pid_t victim = 0;
  int status = 0;
  bool exited = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    if (fs::exists(journal)) before = journal_set(journal).size();
    if (before >= 3) {
      victim = rank_pid(pid, 1);
      if (victim) {
        kill(victim, SIGKILL);
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!exited) {
    // The job ends by itself (mpirun takes the other ranks down); a safety net after 30 s.
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (waitpid(pid, &status, WNOHANG) != pid) {
      if (std::chrono::steady_clock::now() > end) {
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        ADD_FAILURE() << "mpirun did not end after its worker was killed";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ASSERT_NE(victim, 0) << "the search ended (or stalled) before a worker could be killed";
  EXPECT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the job should fail";
  const auto partial = journal_set(journal);
  ASSERT_GE(partial.size(), 3u);
  ASSERT_LT(partial.size(), 19u) << "killed too late to test anything";

  // --resume (under mpirun again) finishes the search: every candidate once, and the
  // committed ones unchanged.
  const auto resumed = run_shell(std::string(kMpirun) + DALNAS_BINARY +
                                 " search --evaluator mpi --resume " + run + " --threads 1 -q");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  const auto rows = journal_set(journal);
  ASSERT_EQ(rows.size(), 19u);
  std::set<uint64_t> ids;
  for (const auto& r : rows) ids.insert(std::stoull(r.substr(0, r.find(' '))));
  EXPECT_EQ(ids.size(), 19u) << "no candidate twice";
  EXPECT_EQ(*ids.rbegin(), 19u) << "ids 1..19: none lost";
  for (const auto& p : partial)
    EXPECT_NE(std::find(rows.begin(), rows.end(), p), rows.end()) << "changed: " << p;
  const auto summary = nlohmann::json::parse(slurp(run + "/summary.json"));
  EXPECT_EQ(summary["stop_reason"], "finished");
}

}  // namespace
}  // namespace dalnas::test
