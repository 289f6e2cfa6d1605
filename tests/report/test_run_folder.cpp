// Reading run folders: kinds, missing parts, malformed files named in one line.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "report/report.h"
#include "report/run_folder.h"
#include "temp_dir.h"

namespace dalnas::report {
namespace {

using test_util::TempDir;

std::string error_of(const std::string& dir) {
  try {
    load_run_folder(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(RunFolder, KindsFromTheFilesPresent) {
  TempDir d("report-kind");
  EXPECT_NE(error_of(d.path.string()).find("not a run folder"), std::string::npos);
  EXPECT_NE(error_of(d.path.string() + "/nothing").find("not a folder"), std::string::npos);
  d.write("candidates.csv", "candidate_id,genome,status\n0,a_b,ok\n");
  EXPECT_EQ(load_run_folder(d.path.string()).kind, RunKind::Search);
  d.write("compare.json", R"({"genome": "g", "train_config": {"data": "synthetic"}})");
  auto r = load_run_folder(d.path.string());
  EXPECT_EQ(r.kind, RunKind::Compare);
  EXPECT_EQ(r.config["data"], "synthetic");
  EXPECT_TRUE(r.fp32_checkpoint.empty());
  d.write("census.json", R"({"cells": []})");
  EXPECT_EQ(load_run_folder(d.path.string()).kind, RunKind::Census);
}

TEST(RunFolder, AnOldSearchFolderLoadsWithWhatItHas) {
  TempDir d("report-old");
  d.write("candidates.csv",
          "candidate_id,generation,genome,status,fitness,miou,latency_ms,params\n"
          "0,0,\"ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_dec-8\",ok,0.5,"
          "0.6,1.25,900\n"
          "1,0,x,failed,,,,\n");
  const RunFolder r = load_run_folder(d.path.string());
  EXPECT_TRUE(r.summary.is_null());
  EXPECT_FALSE(r.pareto.has_value());
  EXPECT_TRUE(r.best.is_null());
  EXPECT_TRUE(r.best_checkpoint.empty());
  EXPECT_TRUE(r.command.empty());
  EXPECT_TRUE(r.config.is_null());
  ASSERT_TRUE(r.candidates.has_value());
  EXPECT_EQ(r.candidates->rows.size(), 2u);
  EXPECT_DOUBLE_EQ(r.candidates->number(0, "latency_ms"), 1.25);
  EXPECT_TRUE(std::isnan(r.candidates->number(1, "miou")));
  EXPECT_TRUE(std::isnan(r.candidates->number(0, "no_such_column")));
  // The report says what is missing, section by section.
  ReportOptions opt;
  opt.panels = false;
  std::vector<std::string> notes;
  const std::string html = build_report(r, opt, &notes);
  for (const char* s : {"no summary.json", "no pareto.csv in this run folder",
                        "does not record its command", "no resolved configuration"})
    EXPECT_NE(html.find(s), std::string::npos) << s;
  EXPECT_GE(notes.size(), 4u);
  // The winner (the only ok row) still gets its costs and diagram.
  EXPECT_NE(html.find("<svg"), std::string::npos);
}

TEST(RunFolder, MalformedFilesAreNamedInOneLine) {
  TempDir d("report-bad");
  d.write("candidates.csv", "a,b,c\n1,2\n");
  std::string e = error_of(d.path.string());
  EXPECT_NE(e.find("candidates.csv:2: 2 fields, the header has 3"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
  d.write("candidates.csv", "a\n1\n");
  d.write("summary.json", "{\"stop_reason\": ");
  e = error_of(d.path.string());
  EXPECT_NE(e.find("summary.json: not valid JSON"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
  d.write("summary.json", "{}");
  d.write("config.toml", "[search\nstrategy = 1\n");
  e = error_of(d.path.string());
  EXPECT_NE(e.find("config.toml"), std::string::npos) << e;
  TempDir c("report-bad-compare");
  c.write("compare.json", "[1, 2]");
  EXPECT_NE(error_of(c.path.string()).find("compare.json: top level must be an object"),
            std::string::npos);
}

TEST(RunFolder, CommandIsReadWithoutItsNewline) {
  TempDir d("report-cmd");
  d.write("census.json", R"({"cells": []})");
  d.write("command.txt", "dalnas compare --genomes 2\n");
  EXPECT_EQ(load_run_folder(d.path.string()).command, "dalnas compare --genomes 2");
}

TEST(Report, MissingChartLibraryNamesThePackage) {
  TempDir d("report-lib");
  d.write("census.json", R"({"cells": []})");
  ReportOptions opt;
  opt.chart_library = d.path.string() + "/none.js";
  try {
    write_report(d.path.string(), "", opt);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("libjs-chart.js"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(d.path / "report.html"));
}

}  // namespace
}  // namespace dalnas::report
