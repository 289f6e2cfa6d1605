// dalnas compare over MPI (under mpirun, 3 ranks): a comparison's seeds equal to the local
// comparison's; the census (`--genomes N --evaluator mpi`) with the same cells as the local
// census, and a unit that fails on a worker recorded as failed cells while the census goes on.
// Skipped when this dalnas was built without MPI or mpirun is missing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_util.h"
#include "mpi_util.h"

namespace dalnas::test {
namespace {

// Two genomes (`tiny` and one sampled), every pipeline: four units of work.
const std::string kCommon =
    "compare --arch-list tiny --no-reference --epochs 1 --finetune-epochs 1 --chip-size 64 "
    "--threads 1 --no-ablation --data synthetic:6 --quiet";
const std::string kCensus = kCommon + " --genomes 1 --pipelines host,model,raw";

nlohmann::json cells_without_seconds(const std::string& census_json) {
  nlohmann::json cells = nlohmann::json::parse(slurp(census_json)).at("cells");
  for (auto& c : cells) c.erase("seconds");
  return cells;
}

TEST(MpiCensus, TwoWorkersComputeTheLocalCensusCells) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  const auto local = run_dalnas(kCensus + " --out " + d.str() + "/local");
  ASSERT_EQ(local.code, 0) << local.err;
  const auto mpi = run_shell(std::string(kMpirun) + DALNAS_BINARY + " " + kCensus +
                             " --evaluator mpi --out " + d.str() + "/mpi");
  ASSERT_EQ(mpi.code, 0) << mpi.err;
  const nlohmann::json expected = cells_without_seconds(d.str() + "/local/census.json");
  ASSERT_EQ(expected.size(), 6u);  // 2 genomes x 3 pipelines
  EXPECT_EQ(cells_without_seconds(d.str() + "/mpi/census.json"), expected);
  const auto a = nlohmann::json::parse(slurp(d.str() + "/local/census.json"));
  const auto b = nlohmann::json::parse(slurp(d.str() + "/mpi/census.json"));
  EXPECT_EQ(b.at("test_scenes"), a.at("test_scenes"));
  EXPECT_EQ(slurp(d.str() + "/mpi/census.csv").size() > 0, true);
}

// --resume under MPI: only the units the folder lacks are handed out; kept cells stay as
// they were (the first carries a mark to prove it) and the rest equal the whole census's.
TEST(MpiCensus, ResumeHandsOutOnlyTheUnitsLeft) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  const auto local = run_dalnas(kCensus + " --out " + d.str() + "/local");
  ASSERT_EQ(local.code, 0) << local.err;
  const nlohmann::json whole = nlohmann::json::parse(slurp(d.str() + "/local/census.json"));
  nlohmann::json part = whole;
  part["cells"].erase(5);  // the sampled genome's raw unit never finished
  part["cells"][0]["params"] = 12345;
  std::filesystem::create_directories(d.path / "part");
  std::ofstream(d.path / "part" / "census.json") << part.dump(2);
  std::string loud = kCensus;
  loud.erase(loud.find(" --quiet"), 8);
  const auto r = run_shell(std::string(kMpirun) + DALNAS_BINARY + " " + loud +
                           " --evaluator mpi --resume " + d.str() + "/part");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("resumed: 5 cells kept, 1 of 4 units to run"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(" [host,model]: to worker"), std::string::npos) << r.err;
  nlohmann::json expected = cells_without_seconds(d.str() + "/local/census.json");
  expected[0]["params"] = 12345;
  EXPECT_EQ(cells_without_seconds(d.str() + "/part/census.json"), expected);
}

TEST(MpiCensus, AUnitThatFailsOnAWorkerBecomesFailedCellsAndTheCensusGoesOn) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  // `tiny`'s genome string, as the census names it.
  const auto probe = run_dalnas(kCommon + " --pipelines host --out " + d.str() + "/probe");
  ASSERT_EQ(probe.code, 0) << probe.err;
  const std::string tiny =
      nlohmann::json::parse(slurp(d.str() + "/probe/census.json")).at("cells").at(0).at("genome");
  const auto r = run_shell("DALNAS_TEST_FAIL_GENOME=" + tiny + " " + kMpirun + DALNAS_BINARY + " " +
                           kCensus + " --evaluator mpi --out " + d.str() + "/run");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json cells =
      nlohmann::json::parse(slurp(d.str() + "/run/census.json")).at("cells");
  ASSERT_EQ(cells.size(), 6u);
  int failed = 0;
  for (const auto& c : cells) {
    const std::string why = c.at("failure");
    if (c.at("genome") == tiny) {
      ++failed;
      EXPECT_NE(why.find("injected failure of genome"), std::string::npos) << why;
      EXPECT_EQ(why.rfind("worker ", 0), 0u) << why;
    } else {
      EXPECT_EQ(why, "") << "the other genome's cells are whole";
    }
  }
  EXPECT_EQ(failed, 3);
}

TEST(MpiCompare, SeedsOnTwoWorkersGiveTheLocalComparison) {
  SKIP_WITHOUT_MPI();
  TempDir d;
  const std::string cmd =
      "compare --arch tiny --epochs 1 --seeds 3 --finetune-epochs 1 --chip-size 64 --threads 1 "
      "--data synthetic:6 --quiet --out ";
  const auto local = run_dalnas(cmd + d.str() + "/local");
  ASSERT_EQ(local.code, 0) << local.err;
  const auto mpi = run_shell(std::string(kMpirun) + DALNAS_BINARY + " " + cmd + d.str() +
                             "/mpi --evaluator mpi");
  ASSERT_EQ(mpi.code, 0) << mpi.err;
  nlohmann::json a = nlohmann::json::parse(slurp(d.str() + "/local/compare.json"));
  nlohmann::json b = nlohmann::json::parse(slurp(d.str() + "/mpi/compare.json"));
  ASSERT_EQ(a.at("seeds").size(), 3u);
  a.erase("seconds_per_seed");
  b.erase("seconds_per_seed");
  EXPECT_EQ(b, a);
}

TEST(MpiCompare, WhatRunsOnlyLocallySaysSo) {
  TempDir d;
  const auto r =
      run_dalnas("compare --arch tiny --sweep-numerics --evaluator mpi --out " + d.str() + "/c");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--sweep-numerics runs locally"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(d.str() + "/c"));
}

}  // namespace
}  // namespace dalnas::test
