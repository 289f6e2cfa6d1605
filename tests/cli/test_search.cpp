// dalnas search end to end on a tiny configuration: outputs, resume after SIGKILL, errors.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "cli_util.h"
#include "core/config_file.h"
#include "tiny_search.h"

namespace dalnas::test {
namespace {

namespace fs = std::filesystem;

const char* const kTiny = kTinySearch;

std::string write_config(const TempDir& d, const std::string& text = kTiny) {
  return write_tiny_config(d.str(), text);
}

// (candidate id, genome, status, fitness) of every journal row, in commit order.
std::vector<std::string> journal_rows(const std::string& path) {
  return journal_query(path,
                       "SELECT candidate_id, genome, status, quote(fitness) FROM evaluations "
                       "ORDER BY id");
}

// The metrics JSON of the journal's first evaluation.
nlohmann::json first_metrics(const std::string& path) {
  const auto rows = journal_query(path, "SELECT metrics FROM evaluations ORDER BY id LIMIT 1");
  return nlohmann::json::parse(rows.empty() || rows[0] == "NULL" ? "{}" : rows[0]);
}

int lines_of(const std::string& path) {
  return count_lines(slurp(path));
}

TEST(SearchCli, TinySearchWritesEveryOutputAndResumesWithNothingToDo) {
  TempDir d;
  const std::string cfg = write_config(d);
  const std::string out = d.str() + "/run";
  const auto r = run_dalnas("search --config " + cfg + " --out " + out + " --threads 1");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"config.toml", "journal.sqlite", "candidates.csv", "pareto.csv",
                        "summary.json", "best/model.ckpt", "best/metrics.json", "best/genome.txt",
                        "best/model-fp32.onnx", "best/model-fp16.onnx"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  EXPECT_EQ(lines_of(out + "/candidates.csv"), 1 + 10) << "header + 4 + 2 x 3 evaluations";
  EXPECT_GE(lines_of(out + "/pareto.csv"), 2);
  EXPECT_EQ(journal_rows(out + "/journal.sqlite").size(), 10u);
  const auto summary = nlohmann::json::parse(slurp(out + "/summary.json"));
  EXPECT_EQ(summary["evaluations"], 10);
  EXPECT_EQ(summary["stop_reason"], "finished");
  const auto best = nlohmann::json::parse(slurp(out + "/best/metrics.json"));
  for (const char* k : {"host_test", "device_test", "latency_ms", "params", "genome"})
    EXPECT_TRUE(best.contains(k)) << k;
  EXPECT_TRUE(best["device_test"].contains("objects"));
  // Trained aligned, the winner has an FP32 twin (same genome, epochs, seed) converted after
  // training: best/ holds the headline comparison.
  EXPECT_EQ(best["precision"], "aligned");
  ASSERT_TRUE(best.contains("fp32_twin")) << best.dump();
  EXPECT_EQ(best["fp32_twin"]["precision"], "fp32");
  EXPECT_EQ(best["fp32_twin"]["genome"], best["genome"]);
  EXPECT_EQ(best["fp32_twin"]["epochs"], best["epochs"]);
  for (const char* k : {"host_test", "device_test"})
    EXPECT_TRUE(best["fp32_twin"].contains(k)) << k;
  EXPECT_TRUE(fs::exists(out + "/best/fp32/model.ckpt"));
  EXPECT_FALSE(fs::exists(out + "/best/fp32/model-fp16.onnx")) << "the twin is not for deployment";
  EXPECT_NE(r.err.find("its FP32 twin: test mIoU host FP32 "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("vessels recall "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("best:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[ 10/10 g2]"), std::string::npos) << r.err;

  // The written config is the whole search: resuming finds everything done, the winner
  // included (not retrained).
  const auto ckpt_time = fs::last_write_time(out + "/best/model.ckpt");
  const auto twin_time = fs::last_write_time(out + "/best/fp32/model.ckpt");
  const auto again = run_dalnas("search --resume " + out + " --threads 1");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(journal_rows(out + "/journal.sqlite").size(), 10u);
  EXPECT_NE(again.err.find("resumed: 10 evaluations"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("retrained before"), std::string::npos) << again.err;
  EXPECT_EQ(fs::last_write_time(out + "/best/model.ckpt"), ckpt_time);
  EXPECT_EQ(fs::last_write_time(out + "/best/fp32/model.ckpt"), twin_time);
  // A second search into the same folder is refused.
  const auto twice = run_dalnas("search --config " + cfg + " --out " + out + " -q");
  EXPECT_EQ(twice.code, 1);
  EXPECT_NE(twice.err.find("already holds a search"), std::string::npos) << twice.err;
}

TEST(SearchCli, JsonLinesReportEveryEvaluationThenTheSummary) {
  TempDir d;
  const auto r = run_dalnas("search --config " + write_config(d) + " --out " + d.str() +
                            "/run --threads 1 --final-epochs 0 --json --strategy random "
                            "--evaluations 3");
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream in(r.out);
  std::string line;
  std::vector<nlohmann::json> events;
  while (std::getline(in, line)) events.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(events.size(), 4u) << r.out;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(events[i]["event"], "evaluation");
    EXPECT_EQ(events[i]["done"], i + 1);
    EXPECT_TRUE(events[i]["metrics"].contains("latency_ms"));
  }
  EXPECT_EQ(events[3]["event"], "summary");
  EXPECT_EQ(events[3]["summary"]["stop_reason"], "max_evaluations");
  EXPECT_TRUE(r.err.empty()) << "--json keeps stderr quiet: " << r.err;
}

// Starts dalnas, kills it with SIGKILL after `ms` milliseconds (if still running); returns
// true when it finished by itself with exit code 0.
bool run_and_kill(const std::vector<std::string>& args, int ms) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(DALNAS_BINARY));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execv(DALNAS_BINARY, argv.data());
    _exit(127);
  }
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(SearchCli, KilledAtRandomMomentsAndResumedEndsLikeAnUninterruptedRun) {
  TempDir d;
  // 19 evaluations (4 + 5 generations of 3): a run takes a second or two.
  std::string text = kTiny;
  text.replace(text.find("generations = 3"), 15, "generations = 6");
  const std::string cfg = write_config(d, text);
  const std::string ref = d.str() + "/ref", run = d.str() + "/killed";
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_and_kill(
      {"search", "--config", cfg, "--out", ref, "--threads", "1", "--final-epochs", "0", "-q"},
      600000));
  const int full_ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  const auto expected = journal_rows(ref + "/journal.sqlite");
  ASSERT_EQ(expected.size(), 19u);

  std::mt19937 rng(20261124);
  // Kill moments spread over the first quarter of an uninterrupted run's duration (process
  // start, data preparation, training, evaluation, commits), so that each resumed run
  // still has work left when the next kill comes.
  std::uniform_int_distribution<int> delay(full_ms / 20, full_ms / 4);
  int kills = 0;
  bool finished = false;
  for (int attempt = 0; attempt < 40 && !finished; ++attempt) {
    const bool fresh = !fs::exists(run + "/journal.sqlite");
    std::vector<std::string> args =
        fresh ? std::vector<std::string>{"search", "--config",       cfg, "--out", run, "--threads",
                                         "1",      "--final-epochs", "0", "-q"}
              : std::vector<std::string>{"search", "--resume", run, "--threads", "1", "-q"};
    const int ms = kills < 6 ? delay(rng) : 600000;
    finished = run_and_kill(args, ms);
    if (!finished) ++kills;
    // Whatever was committed is a prefix of the uninterrupted run, each candidate once.
    const auto rows = journal_rows(run + "/journal.sqlite");
    ASSERT_LE(rows.size(), expected.size());
    for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i], expected[i]) << "row " << i;
  }
  ASSERT_TRUE(finished);
  EXPECT_GE(kills, 3) << "the kills should interrupt the search several times";
  const auto rows = journal_rows(run + "/journal.sqlite");
  EXPECT_EQ(rows, expected);
  std::set<std::string> ids;
  for (const auto& r : rows) ids.insert(r.substr(0, r.find(' ')));
  EXPECT_EQ(ids.size(), rows.size()) << "no candidate evaluated twice";
}

TEST(SearchCli, ComparePipelinesRunsBothPrecisionsAndComparesTheWinners) {
  TempDir d;
  const std::string out = d.str() + "/cmp";
  const auto r = run_dalnas("search --config " + write_config(d) + " --out " + out +
                            " --threads 1 --strategy random --evaluations 2 --compare-pipelines");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* p : {"fp32", "aligned"}) {
    EXPECT_EQ(journal_rows(out + "/" + p + "/journal.sqlite").size(), 2u) << p;
    EXPECT_NE(slurp(out + "/" + p + "/config.toml").find("precision = '" + std::string(p) + "'"),
              std::string::npos)
        << slurp(out + "/" + p + "/config.toml");
  }
  const auto j = nlohmann::json::parse(slurp(out + "/compare-pipelines.json"));
  for (const char* p : {"fp32", "aligned"}) {
    ASSERT_TRUE(j.contains(p));
    EXPECT_TRUE(j[p].contains("host_test"));
    EXPECT_TRUE(j[p].contains("device_test"));
  }
  EXPECT_NE(r.err.find("host FP32"), std::string::npos) << r.err;
}

TEST(SearchCli, BadInputGetsOneLineNamingTheProblem) {
  TempDir d;
  struct Case {
    std::string args, expect;
  };
  const std::string bad_key = d.str() + "/bad.toml";
  std::ofstream(bad_key) << "[search]\nstrategy = \"ga\"\npopulaton = 3\n";
  const std::vector<Case> cases = {
      {"search --resume " + d.str() + "/nothing", "not a search run folder"},
      {"search --strategy annealing --out " + d.str() + "/a", "unknown strategy 'annealing'"},
      {"search --config " + bad_key + " --out " + d.str() + "/b", "search.populaton"},
      {"search --config " + d.str() + "/missing.toml", "missing.toml"},
      {"search --time-budget 10x --out " + d.str() + "/c", "--time-budget: '10x'"},
      {"search --device nowhere --out " + d.str() + "/e", "nowhere"},
      {"search --resume " + d.str() + " --epochs 3", "--resume"},
      {"search --max-latency fast --out " + d.str() + "/f", "--max-latency: 'fast'"},
      {"search --max-latency -3 --out " + d.str() + "/g", "--max-latency: '-3'"},
      {"search --set evaluation.rungs --out " + d.str() + "/h", "expected KEY=VALUE"},
      {"search --set 'evaluation.rungz=[2]' --out " + d.str() + "/i", "evaluation.rungz"},
      {"search --set 'evaluation.eta=[2' --out " + d.str() + "/j", "is not TOML"},
      {"search --resume " + d.str() + " --set evaluation.eta=2", "--resume: --set"},
  };
  for (const auto& c : cases) {
    const auto r = run_dalnas(c.args + " -q");
    EXPECT_EQ(r.code, 1) << c.args << "\n" << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
  }
}

// ---- reliability (docs/reliability.md) ---------------------------------------------------

TEST(SearchCli, WhatCanBeCheckedIsCheckedBeforeTheRunFolderIsCreated) {
  TempDir d;
  const std::string cfg = write_config(d);
  const struct {
    std::string args, expect;
  } cases[] = {
      {"--device nowhere", "nowhere"},
      {"--data /nonexistent/ships.json", "/nonexistent/ships.json"},
      {"--strategy annealing", "annealing"},
      {"--precision fp8", "fp8"},
  };
  int k = 0;
  for (const auto& c : cases) {
    const std::string out = d.str() + "/run" + std::to_string(k++);
    const auto r =
        run_dalnas("search --config " + cfg + " " + c.args + " --out " + out + " --threads 1 -q");
    EXPECT_EQ(r.code, 1) << c.args << "\n" << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out)) << c.args << ": a run folder was left behind";
  }
}

TEST(SearchCli, ASearchWithNoUsableCandidateFailsAndSaysWhyAndWhatToChange) {
  TempDir d;
  const std::string cfg =
      write_config(d, std::string(kTiny) + "\n[fitness]\nconstraints = {max_params = 10}\n");
  const std::string out = d.str() + "/run";
  const auto r = run_dalnas("search --config " + cfg + " --out " + out + " --threads 1 -q");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  for (const char* needle :
       {"no usable candidate: all 10 evaluations failed or were rejected (0 failed, 10 rejected",
        "most common reason (10 of 10): rejected: rejected before training", "max_params 10",
        "loosen the hard limits of [fitness.constraints]"})
    EXPECT_NE(r.err.find(needle), std::string::npos) << needle << "\n" << r.err;
  EXPECT_FALSE(fs::exists(out + "/best"));
  const std::string note = slurp(out + "/FAILED.txt");
  EXPECT_EQ(note.rfind("dalnas search failed at ", 0), 0u) << note;
  EXPECT_NE(note.find("no usable candidate"), std::string::npos) << note;
  const auto summary = nlohmann::json::parse(slurp(out + "/summary.json"));
  EXPECT_EQ(summary["rejected"], 10);
  EXPECT_NE(summary["no_winner"].get<std::string>().find("most common reason"), std::string::npos);
  EXPECT_EQ(lines_of(out + "/candidates.csv"), 11) << "the evaluations are all recorded";
}

TEST(SearchCli, MaxLatencyIsAHardLimitBesideTheConfigsOthers) {
  TempDir d;
  // The config limits parameters generously; --max-latency adds a limit no network meets.
  const std::string cfg =
      write_config(d, std::string(kTiny) + "\n[fitness]\nconstraints = {max_params = 1000000}\n");
  const std::string out = d.str() + "/run";
  const auto r = run_dalnas("search --config " + cfg + " --max-latency 0.001ms --out " + out +
                            " --threads 1 -q --evaluations 4");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("rejected before training"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("max_latency_ms 0.001"), std::string::npos) << r.err;
  const std::string written = slurp(out + "/config.toml");
  EXPECT_NE(written.find("max_latency_ms = 0.001"), std::string::npos) << written;
  EXPECT_NE(written.find("max_params = 1000000"), std::string::npos) << "kept beside it";
  // A limit every network meets leaves the search as it was: nothing rejected.
  const std::string out2 = d.str() + "/run2";
  const auto ok = run_dalnas("search --config " + cfg + " --max-latency 10000 --out " + out2 +
                             " --threads 1 -q --evaluations 3 --final-epochs 0");
  ASSERT_EQ(ok.code, 0) << ok.err;
  const auto summary = nlohmann::json::parse(slurp(out2 + "/summary.json"));
  EXPECT_EQ(summary["rejected"], 0) << summary.dump();
}

TEST(SearchCli, SetOverridesTheConfigFileAndNamedFlagsOverrideSet) {
  TempDir d;
  const std::string cfg = write_config(d);
  const std::string out = d.str() + "/run";
  // The file's two-stage schedule becomes rungs 1 -> 2 with half the chips at rung 1;
  // --seed, a named flag, wins over --set search.seed.
  const auto r = run_dalnas("search --config " + cfg +
                            " --set evaluation.schedule=rungs --set 'evaluation.rungs=[1, 2]'"
                            " --set 'evaluation.rung_chip_fraction=[0.5, 1]'"
                            " --set evaluation.rung_score=last --set search.seed=5 --seed 7"
                            " --evaluations 2 --final-epochs 0 --out " +
                            out + " --threads 1 -q");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto c = load_config_file(out + "/config.toml");
  EXPECT_EQ(c["evaluation"]["schedule"], "rungs");
  EXPECT_EQ(c["evaluation"]["rungs"], nlohmann::json::array({1, 2}));
  EXPECT_EQ(c["evaluation"]["rung_chip_fraction"], nlohmann::json::array({0.5, 1.0}));
  EXPECT_EQ(c["evaluation"]["rung_score"], "last");
  EXPECT_EQ(c["search"]["seed"], 7);
  EXPECT_EQ(c["strategy"]["population"], 4) << "the file's other keys are kept";
  // What ran is what config.toml says: the first candidate trained on the rungs.
  const auto m = first_metrics(out + "/journal.sqlite");
  ASSERT_TRUE(m.contains("rung_s")) << m.dump();
  EXPECT_EQ(m["fidelity"].get<std::string>().find("low"), std::string::npos) << m.dump();
  EXPECT_NE(slurp(out + "/command.txt").find("--set evaluation.rung_score=last"),
            std::string::npos);
}

TEST(SearchCli, FinalSeedsRetrainTheWinnerPerSeedAndSummarizeThem) {
  TempDir d;
  const std::string out = d.str() + "/run";
  const auto r = run_dalnas("search --config " + write_config(d) + " --out " + out +
                            " --threads 1 --evaluations 3 --final-seeds 2");
  ASSERT_EQ(r.code, 0) << r.err;
  // kTiny's search seed is 3: the deployed retraining is seed 3, the second seed 4.
  const std::string second = out + "/best/seeds/4";
  for (const char* f : {"/model.ckpt", "/metrics.json", "/fp32/model.ckpt"})
    EXPECT_TRUE(fs::exists(second + f)) << f;
  EXPECT_FALSE(fs::exists(second + "/model-fp16.onnx")) << "only best/ is for deployment";
  EXPECT_TRUE(fs::exists(out + "/best/model-fp16.onnx"));
  EXPECT_NE(slurp(out + "/best/model.ckpt"), slurp(second + "/model.ckpt"))
      << "another seed trains other weights";
  const auto best = nlohmann::json::parse(slurp(out + "/best/metrics.json"));
  const auto other = nlohmann::json::parse(slurp(second + "/metrics.json"));
  EXPECT_EQ(best["seed"], 3);
  EXPECT_EQ(other["seed"], 4);
  EXPECT_EQ(other["fp32_twin"]["seed"], 4);
  EXPECT_EQ(other["genome"], best["genome"]);
  ASSERT_TRUE(best.contains("over_seeds")) << best.dump();
  const auto& s = best["over_seeds"];
  EXPECT_EQ(s["seeds"], nlohmann::json({3, 4}));
  EXPECT_EQ(s["device_test"]["miou"][0], best["device_test"]["miou"]);
  EXPECT_EQ(s["device_test"]["miou"][1], other["device_test"]["miou"]);
  EXPECT_EQ(s["fp32_twin"]["device_test"]["miou"][1], other["fp32_twin"]["device_test"]["miou"]);
  const double m = 0.5 * (best["device_test"]["miou"].get<double>() +
                          other["device_test"]["miou"].get<double>());
  EXPECT_NEAR(s["device_test"]["mean"].get<double>(), m, 1e-12);
  EXPECT_NE(r.err.find("over seeds 3-4 (2): test mIoU on myriadx"), std::string::npos) << r.err;
  const auto summary = nlohmann::json::parse(slurp(out + "/summary.json"));
  EXPECT_EQ(summary["best"]["over_seeds"], s);
  const std::string html = slurp(out + "/report.html");
  EXPECT_NE(html.find("The winner over seeds"), std::string::npos);
  char mean_sd[64];
  std::snprintf(mean_sd, sizeof mean_sd, "%.4f ± %.4f", s["device_test"]["mean"].get<double>(),
                s["device_test"]["sd"].get<double>());
  EXPECT_NE(html.find(mean_sd), std::string::npos) << mean_sd;

  // A run cut off after the first retraining: resuming trains only the missing seed.
  fs::remove_all(second);
  const auto first_time = fs::last_write_time(out + "/best/model.ckpt");
  const auto again = run_dalnas("search --resume " + out + " --threads 1");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(fs::last_write_time(out + "/best/model.ckpt"), first_time);
  EXPECT_NE(again.err.find("retrained before"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("(seed 4)"), std::string::npos) << again.err;
  const auto redone = nlohmann::json::parse(slurp(second + "/metrics.json"));
  EXPECT_EQ(redone["device_test"], other["device_test"]) << "the same seed trains the same";
  EXPECT_EQ(nlohmann::json::parse(slurp(out + "/best/metrics.json"))["over_seeds"], s);

  // Resumed with final_seeds lowered to 1: nothing is retrained, and the summary over the
  // earlier two seeds leaves best/metrics.json and summary.json (the seed's files stay).
  const auto one = run_dalnas("search --resume " + out + " --threads 1 --final-seeds 1");
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(fs::last_write_time(out + "/best/model.ckpt"), first_time);
  EXPECT_EQ(one.err.find("over seeds"), std::string::npos) << one.err;
  const auto lowered = nlohmann::json::parse(slurp(out + "/best/metrics.json"));
  EXPECT_FALSE(lowered.contains("over_seeds")) << lowered.dump();
  EXPECT_EQ(lowered["device_test"], best["device_test"]);
  EXPECT_FALSE(nlohmann::json::parse(slurp(out + "/summary.json"))["best"].contains("over_seeds"));
  EXPECT_TRUE(fs::exists(second + "/metrics.json"));
  // An option that would change the search itself is still refused on resume.
  const auto changed = run_dalnas("search --resume " + out + " --threads 1 -q --epochs 3");
  EXPECT_EQ(changed.code, 1);
  EXPECT_NE(changed.err.find("--epochs would change the search"), std::string::npos) << changed.err;
  const auto bad = run_dalnas("search --config " + write_config(d) + " --out " + d.str() +
                              "/bad --final-seeds 0 -q");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("final_seeds"), std::string::npos) << bad.err;
}

TEST(SearchCli, FinalCandidatesRetrainTheBestFewAndChooseByTheMeanOverSeeds) {
  TempDir d;
  const std::string out = d.str() + "/run";
  const auto r = run_dalnas("search --config " + write_config(d) + " --out " + out +
                            " --threads 1 --evaluations 3 --final-seeds 2 --final-candidates 2");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto summary = nlohmann::json::parse(slurp(out + "/summary.json"));
  ASSERT_TRUE(summary.contains("finalists")) << summary.dump();
  const auto& fin = summary["finalists"];
  ASSERT_EQ(fin.size(), 2u);
  // The finalists are the search's first two, in its order.
  EXPECT_EQ(fin[0]["candidate_id"], summary["top"][0]["candidate_id"]);
  EXPECT_EQ(fin[1]["candidate_id"], summary["top"][1]["candidate_id"]);
  EXPECT_EQ(nlohmann::json::parse(slurp(out + "/finalists/finalists.json")), fin);
  int chosen = -1;
  for (int i = 0; i < 2; ++i) {
    const std::string dir = out + "/finalists/" + fin[i]["candidate_id"].dump();
    for (int seed : {3, 4}) {
      const std::string m = dir + "/" + std::to_string(seed) + "/metrics.json";
      ASSERT_TRUE(fs::exists(m)) << m;
      const auto j = nlohmann::json::parse(slurp(m));
      EXPECT_EQ(j["seed"], seed);
      EXPECT_EQ(j["genome"], fin[i]["genome"]);
      EXPECT_EQ(j["device_val"]["miou"], fin[i]["miou"][seed - 3]);
    }
    if (fin[i]["chosen"].get<bool>()) chosen = i;
  }
  ASSERT_GE(chosen, 0);
  // The winner has the best fitness with its mean.
  EXPECT_GE(fin[chosen]["fitness"].get<double>(), fin[1 - chosen]["fitness"].get<double>());
  // Its retrainings are best/ and best/seeds/4 (copied, not trained again), and its twin.
  const std::string win = out + "/finalists/" + fin[chosen]["candidate_id"].dump();
  EXPECT_EQ(slurp(out + "/best/model.ckpt"), slurp(win + "/3/model.ckpt"));
  EXPECT_EQ(slurp(out + "/best/seeds/4/model.ckpt"), slurp(win + "/4/model.ckpt"));
  EXPECT_TRUE(fs::exists(out + "/best/model-fp16.onnx"));
  EXPECT_TRUE(fs::exists(out + "/best/fp32/model.ckpt"));
  EXPECT_TRUE(fs::exists(out + "/best/seeds/4/fp32/model.ckpt"));
  const auto best = nlohmann::json::parse(slurp(out + "/best/metrics.json"));
  EXPECT_EQ(best["candidate_id"], fin[chosen]["candidate_id"]);
  EXPECT_EQ(best["genome"], fin[chosen]["genome"]);
  EXPECT_EQ(slurp(out + "/best/genome.txt"), fin[chosen]["genome"].get<std::string>() + "\n");
  EXPECT_EQ(best["over_seeds"]["device_val"]["miou"], fin[chosen]["miou"]);
  EXPECT_NE(r.err.find("retraining finalist 2 of 2"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("retraining the best genome"), std::string::npos)
      << "the winner's retrainings are its finalist's: " << r.err;
  EXPECT_NE(slurp(out + "/report.html").find("The finalists"), std::string::npos);

  // Resumed, nothing is retrained and the choice is the same.
  const auto again = run_dalnas("search --resume " + out + " --threads 1");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.err.find("retraining finalist"), std::string::npos) << again.err;
  EXPECT_EQ(again.err.find("training its FP32 twin"), std::string::npos) << again.err;
  EXPECT_EQ(nlohmann::json::parse(slurp(out + "/summary.json"))["finalists"], fin);

  // A finished run with one winner, resumed with final_candidates raised: the winner's
  // retrainings in best/ become its finalist's (not trained again), the other is trained.
  const std::string out2 = d.str() + "/run2";
  const auto one = run_dalnas("search --config " + write_config(d) + " --out " + out2 +
                              " --threads 1 --evaluations 3 --final-seeds 2");
  ASSERT_EQ(one.code, 0) << one.err;
  const std::string ckpt = slurp(out2 + "/best/model.ckpt");
  const auto first_id = nlohmann::json::parse(slurp(out2 + "/best/metrics.json"))["candidate_id"];
  const auto raised = run_dalnas("search --resume " + out2 + " --threads 1 --final-candidates 2");
  ASSERT_EQ(raised.code, 0) << raised.err;
  EXPECT_EQ(raised.err.find("retraining finalist 1 of 2"), std::string::npos) << raised.err;
  EXPECT_NE(raised.err.find("finalist 1 of 2, seed 4: the winner's retraining"), std::string::npos)
      << raised.err;
  EXPECT_NE(raised.err.find("retraining finalist 2 of 2"), std::string::npos) << raised.err;
  EXPECT_EQ(slurp(out2 + "/finalists/" + first_id.dump() + "/3/model.ckpt"), ckpt);
  EXPECT_EQ(nlohmann::json::parse(slurp(out2 + "/summary.json"))["finalists"].size(), 2u);
  const auto bad = run_dalnas("search --config " + write_config(d) + " --out " + d.str() +
                              "/bad --final-candidates 0 -q");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("final_candidates"), std::string::npos) << bad.err;
}

// --rescore: the search's best 3 are trained again on 2 folds of the scenes outside test;
// the finalists and the winner come from that ranking. A run killed among the fold
// trainings (one result missing from rescore/results.json) resumes with only that one and
// ends with the same ranking; --rescore 1 is refused naming the setting.
TEST(SearchCli, RescoreOnFoldsChoosesTheWinnerAndAResumeTrainsOnlyWhatIsMissing) {
  TempDir d;
  const std::string out = d.str() + "/run";
  const auto r =
      run_dalnas("search --config " + write_config(d) + " --out " + out +
                 " --threads 1 --evaluations 5 --rescore 3 --rescore-folds 2 --final-candidates 2");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto summary = nlohmann::json::parse(slurp(out + "/summary.json"));
  ASSERT_TRUE(summary.contains("rescore")) << summary.dump();
  const auto& table = summary["rescore"];
  ASSERT_EQ(table.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(slurp(out + "/rescore/rescore.json")), table);
  std::map<int, nlohmann::json> by_rank;
  for (size_t i = 0; i < 3; ++i) {
    // The rows are the search's first three, in its order, each with two fold scores.
    EXPECT_EQ(table[i]["candidate_id"], summary["top"][i]["candidate_id"]);
    ASSERT_EQ(table[i]["fold_miou"].size(), 2u);
    by_rank[table[i]["rank"].get<int>()] = table[i];
  }
  ASSERT_EQ(by_rank.size(), 3u);
  // The finalists are the re-scoring's first two, in its order; the winner one of them.
  ASSERT_TRUE(summary.contains("finalists"));
  EXPECT_EQ(summary["finalists"][0]["candidate_id"], by_rank[1]["candidate_id"]);
  EXPECT_EQ(summary["finalists"][1]["candidate_id"], by_rank[2]["candidate_id"]);
  // Every fold result is on disk: results.json, keyed by genome.
  auto results = nlohmann::json::parse(slurp(out + "/rescore/results.json"));
  for (const auto& row : table) {
    const auto& folds = results["results"][row["genome"].get<std::string>()];
    ASSERT_EQ(folds.size(), 2u);
    for (int k = 0; k < 2; ++k) {
      if (folds[k]["status"] == "ok") {
        EXPECT_EQ(folds[k]["miou"], row["fold_miou"][k]);
      }
    }
  }
  EXPECT_NE(r.err.find("fold 2 of 2: val "), std::string::npos) << r.err;
  EXPECT_NE(slurp(out + "/report.html").find("Re-scored on folds"), std::string::npos);

  // Killed after all but one fold result: the resume trains that one only.
  results["results"][table[1]["genome"].get<std::string>()][1] = nullptr;
  std::ofstream(out + "/rescore/results.json", std::ios::trunc) << results.dump();
  fs::remove(out + "/rescore/rescore.json");
  const auto again =
      run_dalnas("search --resume " + out + " --threads 1 --rescore 3 --rescore-folds 2");
  ASSERT_EQ(again.code, 0) << again.err;
  size_t trained = 0;
  for (size_t p = again.err.find("  candidate "); p != std::string::npos;
       p = again.err.find("  candidate ", p + 1))
    ++trained;
  EXPECT_EQ(trained, 1u) << again.err;
  EXPECT_EQ(nlohmann::json::parse(slurp(out + "/summary.json"))["rescore"], table);
  EXPECT_EQ(again.err.find("retraining finalist"), std::string::npos) << again.err;

  const auto bad = run_dalnas("search --config " + write_config(d) + " --out " + d.str() +
                              "/bad --rescore 1 -q");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("rescore_candidates"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(d.str() + "/bad"));
  // Folds the data cannot hold (5 scenes, one for test: 4 outside it) are refused before the
  // search starts, naming the setting; no folder is left.
  const auto many = run_dalnas("search --config " + write_config(d) + " --out " + d.str() +
                               "/many --rescore 2 --rescore-folds 5 -q");
  EXPECT_EQ(many.code, 1);
  EXPECT_NE(many.err.find("evaluation.rescore_folds: 5 folds do not fit the data (split.folds: 5 "
                          "folds need at least 5 scenes outside test, the split has 4)"),
            std::string::npos)
      << many.err;
  EXPECT_FALSE(fs::exists(d.str() + "/many"));
}

// --baseline: the network to beat is retrained like the winner (same recipe, seeds 3 and 4)
// into baseline/<seed>/ and compared per seed; given on the resume of a finished run it
// trains only the baseline, and a resume after one of its retrainings was lost trains that
// one alone.
TEST(SearchCli, BaselineIsRetrainedLikeTheWinnerAndComparedSeedBySeed) {
  TempDir d;
  const std::string out = d.str() + "/run";
  const std::string g = "ConvAct-12-k3-relu_max_ConvAct-12-k3-relu_max_ConvAct-12-k3-relu_dec-12";
  const auto r = run_dalnas("search --config " + write_config(d) + " --out " + out +
                            " --threads 1 --evaluations 3 --final-seeds 2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(out + "/baseline"));
  const auto winner_time = fs::last_write_time(out + "/best/model.ckpt");

  const auto b = run_dalnas("search --resume " + out + " --threads 1 --baseline " + g);
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(fs::last_write_time(out + "/best/model.ckpt"), winner_time) << "not retrained";
  EXPECT_NE(b.err.find("retraining the baseline " + g), std::string::npos) << b.err;
  EXPECT_NE(b.err.find("2 of 2 seed(s), 1 epochs each"), std::string::npos) << b.err;
  for (const char* seed : {"3", "4"}) {
    EXPECT_TRUE(fs::exists(out + "/baseline/" + seed + "/model.ckpt")) << seed;
    const auto m = nlohmann::json::parse(slurp(out + "/baseline/" + seed + "/metrics.json"));
    EXPECT_EQ(m["genome"], g);
    EXPECT_EQ(m["seed"], std::stoi(seed));
  }
  EXPECT_NE(slurp(out + "/baseline/3/model.ckpt"), slurp(out + "/baseline/4/model.ckpt"))
      << "another seed trains other weights";
  const auto summary = nlohmann::json::parse(slurp(out + "/summary.json"));
  ASSERT_TRUE(summary.contains("baseline")) << summary.dump();
  const auto& c = summary["baseline"];
  EXPECT_EQ(nlohmann::json::parse(slurp(out + "/baseline/baseline.json")), c);
  EXPECT_EQ(c["baseline"], g);
  EXPECT_EQ(c["seeds"], nlohmann::json({3, 4}));
  // The columns are the retrainings' own numbers, the difference theirs per seed.
  const auto best = nlohmann::json::parse(slurp(out + "/best/metrics.json"));
  const auto best4 = nlohmann::json::parse(slurp(out + "/best/seeds/4/metrics.json"));
  const auto base3 = nlohmann::json::parse(slurp(out + "/baseline/3/metrics.json"));
  const auto base4 = nlohmann::json::parse(slurp(out + "/baseline/4/metrics.json"));
  const auto& t = c["device_test"];
  EXPECT_EQ(t["winner"],
            nlohmann::json({best["device_test"]["miou"], best4["device_test"]["miou"]}));
  EXPECT_EQ(t["baseline"],
            nlohmann::json({base3["device_test"]["miou"], base4["device_test"]["miou"]}));
  EXPECT_NEAR(
      t["difference"][1].get<double>(),
      best4["device_test"]["miou"].get<double>() - base4["device_test"]["miou"].get<double>(),
      1e-12);
  EXPECT_EQ(c["latency_ms"]["winner"], best["latency_ms"]);
  EXPECT_EQ(c["latency_ms"]["baseline"], base3["latency_ms"]);
  EXPECT_EQ(c["params"]["baseline"], base3["params"]);
  EXPECT_NE(b.err.find("against " + g + " (retrained alike, seeds 3-4): test mIoU on myriadx"),
            std::string::npos)
      << b.err;
  EXPECT_NE(slurp(out + "/report.html").find("Against the baseline"), std::string::npos);

  // One retraining lost: the resume trains that seed alone, to the same numbers.
  const auto kept = fs::last_write_time(out + "/baseline/3/model.ckpt");
  fs::remove_all(out + "/baseline/4");
  const auto again = run_dalnas("search --resume " + out + " --threads 1 --baseline " + g);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find("1 of 2 seed(s)"), std::string::npos) << again.err;
  EXPECT_EQ(fs::last_write_time(out + "/baseline/3/model.ckpt"), kept);
  EXPECT_EQ(nlohmann::json::parse(slurp(out + "/summary.json"))["baseline"], c);

  // The winner as its own baseline: nothing trained, every difference 0.
  const auto self = run_dalnas("search --resume " + out + " --threads 1 --baseline " +
                               best["genome"].get<std::string>());
  ASSERT_EQ(self.code, 0) << self.err;
  EXPECT_NE(self.err.find("is the winner itself"), std::string::npos) << self.err;
  const auto s = nlohmann::json::parse(slurp(out + "/summary.json"))["baseline"];
  EXPECT_EQ(s["device_test"]["difference"], nlohmann::json({0.0, 0.0}));
  EXPECT_EQ(s["device_test"]["seeds_above"], 0);

  // A baseline that is not a network, or nothing to retrain it with: one line naming the
  // setting, before any folder is made.
  const auto bad = run_dalnas("search --config " + write_config(d) + " --out " + d.str() +
                              "/bad --baseline resnet50 -q");
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(count_lines(bad.err), 1) << bad.err;
  EXPECT_NE(bad.err.find("evaluation.baseline: arch 'resnet50': not a named genome"),
            std::string::npos)
      << bad.err;
  EXPECT_FALSE(fs::exists(d.str() + "/bad"));
  const auto none = run_dalnas("search --config " + write_config(d) + " --out " + d.str() +
                               "/none --baseline reference --final-epochs 0 -q");
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("evaluation.baseline: the baseline is retrained like the winner for "
                          "final_epochs, which is 0"),
            std::string::npos)
      << none.err;
  EXPECT_FALSE(fs::exists(d.str() + "/none"));
}

TEST(SearchCli, AFailedResumeLeavesFailedTxtAndASuccessfulOneRemovesIt) {
  TempDir d;
  const std::string out = d.str() + "/run";
  ASSERT_EQ(run_dalnas("search --config " + write_config(d) + " --out " + out +
                       " --threads 1 -q --final-epochs 0 --evaluations 2")
                .code,
            0);
  EXPECT_FALSE(fs::exists(out + "/FAILED.txt"));
  const std::string journal = slurp(out + "/journal.sqlite");
  fs::remove(out + "/journal.sqlite-wal");
  fs::remove(out + "/journal.sqlite-shm");
  std::ofstream(out + "/journal.sqlite") << std::string(4096, 'x');  // a damaged journal
  const auto bad = run_dalnas("search --resume " + out + " --threads 1 -q");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("not a dalnas journal"), std::string::npos) << bad.err;
  const std::string note = slurp(out + "/FAILED.txt");
  EXPECT_NE(note.find("not a dalnas journal"), std::string::npos) << note;
  EXPECT_NE(note.find("dalnas search --resume " + out), std::string::npos) << note;
  fs::remove(out + "/journal.sqlite-wal");
  fs::remove(out + "/journal.sqlite-shm");
  std::ofstream(out + "/journal.sqlite", std::ios::binary | std::ios::trunc) << journal;
  const auto good = run_dalnas("search --resume " + out + " --threads 1 -q --evaluations 3");
  EXPECT_EQ(good.code, 0) << good.err;
  EXPECT_FALSE(fs::exists(out + "/FAILED.txt"));
}

// The journal records the device profile's fingerprint: a resume after the profile's
// content changed is refused naming it, nothing is evaluated; with the old content back it
// resumes.
TEST(SearchCli, AResumeAfterTheDeviceProfileChangedIsRefused) {
  TempDir d;
  const std::string out = d.str() + "/run";
  const std::string profile = d.str() + "/dev.toml";
  const std::string original = slurp(std::string(DALNAS_SOURCE_DIR) + "/devices/fp16-ideal.toml");
  std::ofstream(profile) << original;
  std::string text = kTiny;
  text.replace(text.find("seed = 3"), 8, "seed = 3\ndevice = \"" + profile + "\"");
  ASSERT_EQ(run_dalnas("search --config " + write_config(d, text) + " --out " + out +
                       " --threads 1 -q --final-epochs 0 --evaluations 2")
                .code,
            0);
  const auto rows = journal_rows(out + "/journal.sqlite");
  std::ofstream(profile, std::ios::app) << "\n[cost]\nmodel = \"integer\"\n";  // changed
  const auto bad = run_dalnas("search --resume " + out + " --threads 1 -q --evaluations 3");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("device profile changed"), std::string::npos) << bad.err;
  EXPECT_EQ(journal_rows(out + "/journal.sqlite"), rows);
  std::ofstream(profile, std::ios::trunc) << "# a comment only\n" << original;  // same content
  const auto good = run_dalnas("search --resume " + out + " --threads 1 -q --evaluations 3");
  EXPECT_EQ(good.code, 0) << good.err;
  EXPECT_EQ(journal_rows(out + "/journal.sqlite").size(), 3u);
}

TEST(SearchCli, StaleTemporaryFilesAreRemovedOnResume) {
  TempDir d;
  const std::string out = d.str() + "/run";
  ASSERT_EQ(run_dalnas("search --config " + write_config(d) + " --out " + out +
                       " --threads 1 -q --final-epochs 0 --evaluations 2")
                .code,
            0);
  // Leftovers of a writer killed between write and rename (pid 2^22 + 1 is above Linux's
  // default pid_max and running nowhere), and a user's file that only looks alike.
  const std::string dead = std::to_string((1 << 22) + 1);
  std::ofstream(out + "/summary.json.tmp-" + dead) << "{half";
  fs::create_directories(out + "/checkpoints");
  std::ofstream(out + "/checkpoints/00000000deadbeef.ck.tmp-" + dead) << "half";
  std::ofstream(out + "/notes.tmp-draft") << "mine";
  const auto r = run_dalnas("search --resume " + out + " --threads 1 -q");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(out + "/summary.json.tmp-" + dead));
  EXPECT_FALSE(fs::exists(out + "/checkpoints/00000000deadbeef.ck.tmp-" + dead));
  EXPECT_TRUE(fs::exists(out + "/notes.tmp-draft"));
}

// Starts dalnas with `args` in the background (output to /dev/null); returns its pid.
pid_t start_dalnas(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(DALNAS_BINARY));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execv(DALNAS_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

TEST(SearchCli, TwoProcessesInOneRunFolderAreRefusedNotInterleaved) {
  TempDir d;
  // A long search (a few hundred evaluations): it is still running when the second comes.
  std::string text = kTiny;
  text.replace(text.find("generations = 3"), 15, "generations = 200");
  const std::string cfg = write_config(d, text);
  const std::string out = d.str() + "/run";
  const pid_t first = start_dalnas(
      {"search", "--config", cfg, "--out", out, "--threads", "1", "--final-epochs", "0", "-q"});
  ASSERT_GT(first, 0);
  // Wait until it holds the folder and has written its configuration.
  const std::string holder = "search (pid " + std::to_string(first) + ")";
  for (int i = 0; i < 600; ++i) {
    if (slurp(out + "/.dalnas.lock").find(holder) != std::string::npos &&
        fs::exists(out + "/journal.sqlite"))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(slurp(out + "/.dalnas.lock").find(holder), std::string::npos);
  const auto second = run_dalnas("search --resume " + out + " --threads 1 -q");
  const auto third = run_dalnas("search --config " + cfg + " --out " + out + " --threads 1 -q");
  int status = 0;
  const bool still_running = waitpid(first, &status, WNOHANG) == 0;
  kill(first, SIGKILL);
  waitpid(first, &status, 0);
  ASSERT_TRUE(still_running) << "the first search ended before the check";
  EXPECT_EQ(second.code, 1);
  EXPECT_EQ(count_lines(second.err), 1) << second.err;
  EXPECT_NE(second.err.find(out + ": in use by another dalnas " + holder), std::string::npos)
      << second.err;
  EXPECT_EQ(third.code, 1);
  EXPECT_NE(third.err.find("already holds a search"), std::string::npos) << third.err;
  EXPECT_FALSE(fs::exists(out + "/FAILED.txt")) << "the refused process wrote nothing there";
  // The kill released the lock: a resume now runs (and has work left).
  const auto rows = journal_rows(out + "/journal.sqlite").size();
  const auto resumed = run_dalnas("search --resume " + out + " --threads 1 -q --evaluations " +
                                  std::to_string(rows + 1));
  EXPECT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(journal_rows(out + "/journal.sqlite").size(), rows + 1);
}

}  // namespace
}  // namespace dalnas::test
