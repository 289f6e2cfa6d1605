#pragma once
// What the tests of the search loops (test_driver.cpp: run_search; test_async_driver.cpp:
// run_search_async) share: small configurations of each strategy, a folder for their
// journals, and one line per evaluation record to compare runs by.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "search/journal.h"
#include "search/search_config.h"

namespace dalnas {
namespace testing_search {

// `strategy` with a handful of evaluations (ga 6 + 2 x 5, nsga2 4 x 3, regularized
// evolution 14, others 12) and no parameter limit.
inline SearchConfig small_config(const std::string& strategy) {
  SearchConfig c = SearchConfig::defaults();
  c.strategy = strategy;
  if (strategy == "ga")
    c.strategy_params = {{"population", 6}, {"generations", 3}, {"newcomers", 1}};
  else if (strategy == "nsga2")
    c.strategy_params = {{"population", 4}, {"generations", 3}};
  else if (strategy == "regularized-evolution")
    c.strategy_params = {{"population", 4}, {"sample", 2}, {"budget", 14}};
  else
    c.strategy_params = {{"budget", 12}};
  c.space.max_params = 0;
  return c;
}

// "id genome status fitness gN" (and " origin" when asked) of a record.
inline std::string record_line(const EvaluationRecord& r, bool with_origin) {
  char f[64];
  std::snprintf(f, sizeof f, "%.12g", r.fitness);
  return std::to_string(r.candidate_id) + " " + r.genome + " " + to_string(r.status) + " " + f +
         " g" + std::to_string(r.generation) + (with_origin ? " " + r.origin : "");
}

// A fixture with a temporary folder for journals, removed after the test.
class JournalDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dalnas-driver-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string journal(const std::string& name) { return dir_ + "/" + name + ".sqlite"; }
  std::string dir_;
};

}  // namespace testing_search
}  // namespace dalnas
