// The census from the command line (`dalnas compare --genomes/--arch-list/--pipelines`):
// `--resume DIR` keeps the units that finished, runs the rest, and gives the cells a whole run
// gives; a folder that holds a census is not overwritten without it; other settings, a missing
// census or one without its options are refused in one line naming the file and the setting.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_util.h"

namespace fs = std::filesystem;

namespace dalnas::test {
namespace {

// Two genomes (`tiny` and one sampled) x host, raw: four units of one cell each.
const std::string kCensus =
    "compare --arch-list tiny --genomes 1 --no-reference --pipelines host,raw --epochs 1 "
    "--finetune-epochs 1 --chip-size 64 --threads 1 --no-ablation --data synthetic:6 --quiet";

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(slurp(path));
}

void write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream(path) << j.dump(2) << "\n";
}

nlohmann::json cells_without_seconds(nlohmann::json cells) {
  for (auto& c : cells) c.erase("seconds");
  return cells;
}

TEST(CensusResume, KeepsFinishedUnitsRunsTheRestAndGivesTheWholeRunsCells) {
  TempDir d;
  const auto full = run_dalnas(kCensus + " --out " + d.str() + "/full");
  ASSERT_EQ(full.code, 0) << full.err;
  const nlohmann::json whole = read_json(d.str() + "/full/census.json");
  ASSERT_EQ(whole.at("cells").size(), 4u);
  ASSERT_TRUE(whole.contains("options"));

  // A census cut short: the last unit never finished, the second failed. The first and third
  // are kept; to prove they are not computed again, the first carries a mark.
  nlohmann::json part = whole;
  part["cells"].erase(3);
  part["cells"][1]["failure"] = "killed by the test";
  part["cells"][0]["params"] = 12345;
  fs::create_directories(d.path / "part");
  write_json(d.str() + "/part/census.json", part);
  std::ofstream(d.path / "part" / "command.txt") << "dalnas " << kCensus << "\n";

  const auto resumed = run_dalnas(kCensus + " --resume " + d.str() + "/part");
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  const nlohmann::json after = read_json(d.str() + "/part/census.json");
  ASSERT_EQ(after.at("cells").size(), 4u);
  EXPECT_EQ(after["cells"][0]["params"], 12345) << "a kept cell was computed again";
  nlohmann::json expected = cells_without_seconds(whole.at("cells"));
  expected[0]["params"] = 12345;
  EXPECT_EQ(cells_without_seconds(after.at("cells")), expected);
  // The time so far counts: the resumed census's seconds include the part's.
  EXPECT_GT(after.at("seconds").get<double>(), part.at("seconds").get<double>());
  // The resumed run's command line is added to the folder's record.
  EXPECT_EQ(count_lines(slurp(d.str() + "/part/command.txt")), 2);
  for (const char* f : {"census.csv", "census.txt"})
    EXPECT_TRUE(fs::exists(d.path / "part" / f)) << f;

  // With --quiet off, the resumed run says what it kept.
  write_json(d.str() + "/part/census.json", part);
  std::string loud = kCensus;
  loud.erase(loud.find(" --quiet"), 8);
  const auto said = run_dalnas(loud + " --resume " + d.str() + "/part");
  ASSERT_EQ(said.code, 0) << said.err;
  EXPECT_NE(said.err.find("resumed: 2 cells kept, 2 of 4 units to run"), std::string::npos)
      << said.err;
}

TEST(CensusResume, RefusalsNameTheFileAndTheSetting) {
  TempDir d;
  const std::string dir = d.str() + "/c";
  const auto first = run_dalnas(kCensus + " --out " + dir);
  ASSERT_EQ(first.code, 0) << first.err;
  const std::string before = slurp(dir + "/census.json");

  struct Case {
    std::string args, expect;
  };
  const Case cases[] = {
      // a census is not overwritten by accident
      {kCensus + " --out " + dir, "already holds a census (census.json); use --resume " + dir},
      // other settings than the folder's
      {kCensus + " --seed 77 --resume " + dir,
       "cannot resume with other settings: /train/seed is "},
      {kCensus + " --genome-seed 7 --resume " + dir,
       "cannot resume with other settings: /genomes/1"},
      // nothing to resume
      {kCensus + " --resume " + d.str() + "/none", "census.json: no census to resume"},
      // --out elsewhere
      {kCensus + " --resume " + dir + " --out " + d.str() + "/other",
       "a resumed census stays in its folder"},
      // not a census
      {"compare --arch tiny --resume " + dir, "--resume: only a census"},
  };
  for (const Case& c : cases) {
    const auto r = run_dalnas(c.args);
    EXPECT_NE(r.code, 0) << c.args;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_EQ(slurp(dir + "/census.json"), before) << "the census changed: " << c.args;
  }
  EXPECT_FALSE(fs::exists(d.path / "other"));

  // A census.json without its options (older versions, merged censuses) says so.
  nlohmann::json j = nlohmann::json::parse(before);
  j.erase("options");
  write_json(dir + "/census.json", j);
  const auto old = run_dalnas(kCensus + " --resume " + dir);
  EXPECT_NE(old.code, 0);
  EXPECT_NE(old.err.find(dir + "/census.json: has no 'options'"), std::string::npos) << old.err;
}

}  // namespace
}  // namespace dalnas::test
