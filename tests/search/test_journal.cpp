#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <thread>

#include "core/error.h"
#include "search/journal.h"

namespace dalnas {
namespace {

const char* kGenome =
    "ConvBnAct-16-k3-relu_max_MBConv-24-k3-e4-relu6_max_ResNetBlock-32-k3-relu_dec-16";
const char* kOther = "ConvBnAct-8-k3-relu_max_ConvBnAct-12-k3-relu_max_ConvBnAct-16-k3-relu_dec-8";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dalnas-journal-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/journal.sqlite";
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  static EvaluationRecord record(uint64_t candidate, const std::string& genome,
                                 const std::string& hash) {
    EvaluationRecord r;
    r.candidate_id = candidate;
    r.genome = genome;
    r.config_hash = hash;
    r.generation = 2;
    r.origin = "crossover";
    r.parents = {3, 5};
    r.metrics = {{"miou", 0.75}, {"latency_ms", 12.5}, {"params", 90000}};
    r.costs = {{"energy_mj", 1.25}};
    r.fitness = 1.5 + static_cast<double>(candidate);
    r.feasible = true;
    r.seconds = 42.5;
    r.seed = 0xfedcba9876543210ULL;
    return r;
  }

  // Raw SQL for checks independent of the Journal class.
  static std::string query_one(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    std::string out = "(none)";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

  std::string dir_, path_;
};

TEST(JournalHash, ConfigHashIsFnv1aOfSortedCompactJson) {
  // FNV-1a 64 of '{"a":2,"b":1}' computed independently (Python).
  EXPECT_EQ(config_hash(nlohmann::json::parse(R"({"b": 1, "a": 2})")), "f85f5878cbf2dc03");
  EXPECT_EQ(config_hash(nlohmann::json::parse(R"({"a":2,"b":1})")), "f85f5878cbf2dc03");
  EXPECT_NE(config_hash(nlohmann::json::parse(R"({"a":2,"b":2})")), "f85f5878cbf2dc03");
  EXPECT_EQ(hex64(0x1234), "0000000000001234");
}

TEST_F(JournalTest, RecordsAndReadsBackEverything) {
  Journal j(path_);
  const nlohmann::json config = {{"strategy", "ga"}, {"epochs", 5}};
  const int64_t run = j.start_run(config, 0xfedcba9876543210ULL);
  EXPECT_EQ(run, 1);
  const auto runs = j.runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].config, config);
  EXPECT_EQ(runs[0].config_hash, config_hash(config));
  EXPECT_EQ(runs[0].seed, 0xfedcba9876543210ULL);
  EXPECT_EQ(runs[0].created.size(), 20u);  // 2024-05-01T12:00:00Z

  EvaluationRecord a = record(1, kGenome, "h1");
  a.run_id = run;
  EvaluationRecord b = record(2, kOther, "h1");
  b.status = EvalStatus::Failed;
  b.reason = "training diverged";
  b.fitness = std::numeric_limits<double>::quiet_NaN();
  b.feasible = false;
  EvaluationRecord c = record(3, kOther, "h1");
  c.status = EvalStatus::Rejected;
  c.reason = "params 500000 > max_params 400000";
  c.fitness = -std::numeric_limits<double>::infinity();
  EXPECT_EQ(j.record_evaluation(a), 1);
  EXPECT_EQ(j.record_evaluation(b), 2);
  EXPECT_EQ(j.record_evaluation(c), 3);

  const auto all = j.all_evaluations();
  ASSERT_EQ(all.size(), 3u);
  const EvaluationRecord& r = all[0];
  EXPECT_EQ(r.row, 1);
  EXPECT_EQ(r.run_id, run);
  EXPECT_EQ(r.candidate_id, 1u);
  EXPECT_EQ(r.genome, kGenome);
  EXPECT_EQ(r.genome_hash, Genome::parse(kGenome).hash());
  EXPECT_EQ(r.config_hash, "h1");
  EXPECT_EQ(r.status, EvalStatus::Ok);
  EXPECT_EQ(r.generation, 2);
  EXPECT_EQ(r.origin, "crossover");
  EXPECT_EQ(r.parents, (std::vector<uint64_t>{3, 5}));
  EXPECT_EQ(r.metrics, a.metrics);
  EXPECT_EQ(r.costs, a.costs);
  EXPECT_EQ(r.fitness, 2.5);
  EXPECT_TRUE(r.feasible);
  EXPECT_EQ(r.seconds, 42.5);
  EXPECT_EQ(r.seed, 0xfedcba9876543210ULL);
  EXPECT_EQ(all[1].status, EvalStatus::Failed);
  EXPECT_EQ(all[1].reason, "training diverged");
  EXPECT_TRUE(std::isnan(all[1].fitness));
  EXPECT_FALSE(all[1].feasible);
  EXPECT_EQ(all[2].status, EvalStatus::Rejected);
  EXPECT_EQ(all[2].fitness, -std::numeric_limits<double>::infinity());
  // The file itself: WAL mode, schema version 2, status strings as documented.
  EXPECT_EQ(query_one(path_, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(query_one(path_, "PRAGMA user_version"), "2");
  EXPECT_EQ(query_one(path_, "SELECT group_concat(status) FROM evaluations"), "ok,failed,rejected");
}

TEST_F(JournalTest, ReopeningKeepsEverythingAndFindsDuplicates) {
  {
    Journal j(path_);
    j.start_run({{"a", 1}}, 7);
    j.record_evaluation(record(1, kGenome, "cfgA"));
    j.record_evaluation(record(2, kOther, "cfgA"));
    EvaluationRecord again = record(9, kGenome, "cfgA");
    again.fitness = 99;
    j.record_evaluation(again);
  }
  Journal j(path_);
  EXPECT_EQ(j.runs().size(), 1u);
  EXPECT_EQ(j.all_evaluations().size(), 3u);
  auto hit = j.find(Genome::parse(kGenome), "cfgA");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->candidate_id, 9u);  // the latest
  EXPECT_EQ(hit->fitness, 99);
  EXPECT_TRUE(j.find(std::string(kOther), "cfgA").has_value());
  EXPECT_FALSE(j.find(Genome::parse(kGenome), "cfgB").has_value());  // other training config
  EXPECT_FALSE(
      j.find(
           std::string("ConvBnAct-8-k3-relu_max_ConvBnAct-8-k3-relu_max_ConvBnAct-8-k3-relu_dec-8"),
           "cfgA")
          .has_value());
  EXPECT_FALSE(j.find(std::string("not a genome"), "cfgA").has_value());
  // A second run in the same journal also finds the first run's evaluations.
  const int64_t run2 = j.start_run({{"a", 2}}, 8);
  EXPECT_EQ(run2, 2);
  EXPECT_TRUE(j.find(Genome::parse(kGenome), "cfgA").has_value());
}

TEST_F(JournalTest, StrategyStatesKeepTheLatestFew) {
  Journal j(path_);
  EXPECT_FALSE(j.load_latest_state().has_value());
  for (int step = 1; step <= 6; ++step) j.save_state(step, {{"step", step}});
  auto latest = j.load_latest_state();
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->first, 6);
  EXPECT_EQ(latest->second, (nlohmann::json{{"step", 6}}));
  EXPECT_EQ(
      query_one(path_,
                "SELECT group_concat(step) FROM (SELECT step FROM strategy_state ORDER BY step)"),
      "4,5,6");
  j.save_state(6, {{"step", "six"}});  // the same step replaces
  EXPECT_EQ(j.load_latest_state()->second, (nlohmann::json{{"step", "six"}}));
  // An evaluation and its state in one transaction.
  j.record_evaluation(record(1, kGenome, "h"), 7, {{"step", 7}});
  EXPECT_EQ(j.load_latest_state()->first, 7);
  EXPECT_EQ(j.all_evaluations().size(), 1u);
}

TEST_F(JournalTest, FailedCombinedCommitWritesNeitherPart) {
  Journal j(path_);
  j.save_state(1, {{"s", 1}});
  EvaluationRecord bad = record(1, "not-a-genome_dec-8", "h");
  EXPECT_THROW(j.record_evaluation(bad, 2, {{"s", 2}}), Error);
  EXPECT_EQ(j.load_latest_state()->first, 1);
  EXPECT_TRUE(j.all_evaluations().empty());
}

TEST_F(JournalTest, SecondConnectionSeesCommittedWrites) {
  Journal writer(path_);
  writer.record_evaluation(record(1, kGenome, "h"));
  Journal reader(path_, /*read_only=*/true);
  EXPECT_EQ(reader.all_evaluations().size(), 1u);
  writer.record_evaluation(record(2, kOther, "h"));
  EXPECT_EQ(reader.all_evaluations().size(), 2u);
  EXPECT_TRUE(reader.find(Genome::parse(kOther), "h").has_value());
  EXPECT_EQ(error_of([&] { reader.save_state(1, {}); }),
            path_ + ": opened read-only, cannot write");
}

// A process that dies in the middle of a transaction leaves the journal as of its last
// commit: the child commits two evaluations, starts a third in an open transaction and
// exits without committing or closing.
TEST_F(JournalTest, CrashMidTransactionLeavesTheLastCommit) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    try {
      Journal j(path_);
      j.record_evaluation(record(1, kGenome, "h"));
      j.record_evaluation(record(2, kOther, "h"), 2, {{"step", 2}});
      sqlite3* db = nullptr;
      sqlite3_open(path_.c_str(), &db);
      sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      sqlite3_exec(db,
                   "INSERT INTO evaluations (run_id, candidate_id, genome, genome_hash, "
                   "config_hash, status, reason, generation, origin, parents, metrics, costs, "
                   "fitness, feasible, seconds, seed, created) VALUES (0, 3, 'x', 'x', 'h', 'ok', "
                   "'', 0, '', '[]', '{}', '{}', 1, 1, 1, 0, '')",
                   nullptr, nullptr, nullptr);
      sqlite3_exec(db, "INSERT INTO strategy_state (step, state, created) VALUES (3, '{}', '')",
                   nullptr, nullptr, nullptr);
    } catch (...) {
      _exit(2);
    }
    _exit(0);  // no COMMIT, no close
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  Journal j(path_);
  const auto all = j.all_evaluations();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].candidate_id, 2u);
  EXPECT_EQ(j.load_latest_state()->first, 2);
  EXPECT_EQ(query_one(path_, "PRAGMA integrity_check"), "ok");
}

// A writer killed (SIGKILL) at an arbitrary moment: every committed evaluation is whole and
// the ids are contiguous.
TEST_F(JournalTest, KilledWriterLeavesAConsistentJournal) {
  { Journal create(path_); }
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    try {
      Journal j(path_);
      for (uint64_t i = 1; i <= 5000; ++i)
        j.record_evaluation(record(i, i % 2 ? kGenome : kOther, "h"), static_cast<int64_t>(i),
                            {{"step", i}});
    } catch (...) {
      _exit(2);
    }
    _exit(0);
  }
  {
    Journal reader(path_, true);
    for (int i = 0; i < 2000 && reader.all_evaluations().size() < 5; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  Journal j(path_);
  const auto all = j.all_evaluations();
  ASSERT_GE(all.size(), 5u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].candidate_id, i + 1);
    EXPECT_EQ(all[i].metrics["miou"], 0.75);
  }
  // The state committed with the last evaluation is there too.
  EXPECT_EQ(j.load_latest_state()->first, static_cast<int64_t>(all.size()));
  EXPECT_EQ(query_one(path_, "PRAGMA integrity_check"), "ok");
}

TEST_F(JournalTest, ErrorsNameTheFile) {
  const std::string junk = dir_ + "/junk.sqlite";
  std::ofstream(junk) << "this is not a database, just some text that is long enough........."
                         "................................................................";
  EXPECT_EQ(error_of([&] { Journal j(junk); }).rfind(junk + ": not a dalnas journal", 0), 0u);
  const std::string missing = dir_ + "/no/such/folder/journal.sqlite";
  EXPECT_EQ(error_of([&] { Journal j(missing); }).rfind(missing + ": cannot open the journal", 0),
            0u);
  EXPECT_EQ(error_of([&] { Journal j(dir_ + "/absent.sqlite", true); }),
            dir_ + "/absent.sqlite: no such journal");
  EXPECT_EQ(error_of([&] { Journal j(dir_); }), dir_ + ": is a folder, not a journal file");
  // Another application's database.
  const std::string foreign = dir_ + "/foreign.sqlite";
  sqlite3* db = nullptr;
  sqlite3_open(foreign.c_str(), &db);
  sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(error_of([&] { Journal j(foreign); }),
            foreign + ": not a dalnas journal (a database without a journal schema version)");
  Journal j(path_);
  EXPECT_EQ(error_of([&] {
              j.record_evaluation(record(1, "ConvBnAct-16_dec-8", "h"));
            }).rfind(path_ + ": cannot record an evaluation of an invalid genome: ", 0),
            0u);
  EXPECT_THROW(parse_eval_status("done"), Error);
}

TEST_F(JournalTest, TransientFailuresAreKeptButDoNotAnswerDuplicates) {
  Journal j(path_);
  EvaluationRecord t = record(1, kGenome, "h");
  t.status = EvalStatus::Failed;
  t.reason = "unmeasured: the measure command timed out after 5 s";
  t.transient = true;
  t.feasible = false;
  j.record_evaluation(t);
  EXPECT_FALSE(j.find(kGenome, "h").has_value()) << "a transient failure is no answer";
  ASSERT_TRUE(j.find(kGenome, "h", /*include_transient=*/true).has_value());
  EXPECT_TRUE(j.find(kGenome, "h", true)->transient);
  EXPECT_TRUE(j.all_evaluations().at(0).transient);
  // A lasting failure answers, and so does a later success.
  EvaluationRecord f = record(2, kOther, "h");
  f.status = EvalStatus::Failed;
  f.reason = "training diverged";
  j.record_evaluation(f);
  ASSERT_TRUE(j.find(kOther, "h").has_value());
  EXPECT_FALSE(j.find(kOther, "h")->transient);
  j.record_evaluation(record(3, kGenome, "h"));
  ASSERT_TRUE(j.find(kGenome, "h").has_value());
  EXPECT_EQ(j.find(kGenome, "h")->candidate_id, 3u);
  // Only failures are transient.
  EvaluationRecord ok = record(4, kOther, "h2");
  ok.transient = true;
  j.record_evaluation(ok);
  EXPECT_FALSE(j.find(kOther, "h2")->transient);
  EXPECT_EQ(query_one(path_, "PRAGMA user_version"), "2");
}

// A journal written by the previous schema (version 1, no `transient` column) stays
// readable read-only, and gains the column when opened for writing.
TEST_F(JournalTest, VersionOneJournalsAreReadAndUpgraded) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    const char* v1 = R"sql(
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, config TEXT NOT NULL,
  config_hash TEXT NOT NULL, seed INTEGER NOT NULL, created TEXT NOT NULL);
CREATE TABLE evaluations (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL,
  candidate_id INTEGER NOT NULL, genome TEXT NOT NULL, genome_hash TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'rejected')), reason TEXT NOT NULL,
  generation INTEGER NOT NULL, origin TEXT NOT NULL, parents TEXT NOT NULL,
  metrics TEXT NOT NULL, costs TEXT NOT NULL, fitness REAL, feasible INTEGER NOT NULL,
  seconds REAL NOT NULL, seed INTEGER NOT NULL, created TEXT NOT NULL);
CREATE INDEX evaluations_by_genome ON evaluations (genome_hash, config_hash);
CREATE TABLE strategy_state (step INTEGER PRIMARY KEY, state TEXT NOT NULL,
  created TEXT NOT NULL);
PRAGMA user_version = 1;
)sql";
    ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
    const std::string hash = hex64(Genome::parse(kGenome).hash());
    const std::string row =
        "INSERT INTO evaluations (run_id, candidate_id, genome, genome_hash, config_hash, "
        "status, reason, generation, origin, parents, metrics, costs, fitness, feasible, "
        "seconds, seed, created) VALUES (1, 7, '" +
        std::string(kGenome) + "', '" + hash +
        "', 'h', 'failed', 'unmeasured: timeout', 0, 'random', '[]', '{}', '{}', NULL, 0, 1.0, "
        "5, '2026-01-01T00:00:00Z')";
    ASSERT_EQ(sqlite3_exec(db, row.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  {
    Journal ro(path_, /*read_only=*/true);
    const auto all = ro.all_evaluations();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].candidate_id, 7u);
    EXPECT_FALSE(all[0].transient) << "version 1 had no transient failures";
    ASSERT_TRUE(ro.find(kGenome, "h").has_value()) << "its failures answer as they did";
  }
  EXPECT_EQ(query_one(path_, "PRAGMA user_version"), "1") << "read-only changes nothing";
  {
    Journal rw(path_);
    EXPECT_EQ(rw.all_evaluations().size(), 1u);
    EvaluationRecord t = record(8, kOther, "h");
    t.status = EvalStatus::Failed;
    t.transient = true;
    rw.record_evaluation(t);
    EXPECT_TRUE(rw.all_evaluations().at(1).transient);
  }
  EXPECT_EQ(query_one(path_, "PRAGMA user_version"), "2");
  EXPECT_EQ(query_one(path_, "SELECT transient FROM evaluations WHERE candidate_id = 7"), "0");
}

}  // namespace
}  // namespace dalnas
