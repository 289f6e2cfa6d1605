// dalnas report end to end: a tiny search and a tiny comparison write report.html, which
// headless Chromium renders with no console error and no failed resource, every chart having
// drawn its data points (the page's #render-status, report/charts.h). Screenshots are kept
// in <build>/test-artifacts/. Skips when Chromium is not installed (scripts/install-deps.sh
// installs it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli_util.h"
#include "tiny_search.h"

namespace dalnas::test {
namespace {

namespace fs = std::filesystem;

std::string chromium() {
  if (const char* c = std::getenv("DALNAS_CHROMIUM")) return c;
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (fs::exists(p)) return p;
  return "";
}

std::string html_unescape(std::string s) {
  const std::pair<const char*, const char*> m[] = {
      {"&quot;", "\""}, {"&#39;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}};
  for (const auto& [from, to] : m) {
    for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += std::strlen(to))
      s.replace(p, std::strlen(from), to);
  }
  return s;
}

// The value of attribute `attr` of the element with id `id` in the dumped DOM.
std::string attribute(const std::string& dom, const std::string& id, const std::string& attr) {
  const auto at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  const auto tag_begin = dom.rfind('<', at);
  const auto tag_end = dom.find('>', at);
  const std::string tag = dom.substr(tag_begin, tag_end - tag_begin);
  const auto a = tag.find(attr + "=\"");
  if (a == std::string::npos) return "";
  const auto v = a + attr.size() + 2;
  return html_unescape(tag.substr(v, tag.find('"', v) - v));
}

struct Rendered {
  std::string dom, log;
  nlohmann::json status, errors;
};

// Renders `html` in headless Chromium: the DOM after the scripts ran, Chromium's log, and a
// screenshot kept as `artifact`.
Rendered render(const std::string& html, const std::string& work, const std::string& artifact) {
  const std::string c = chromium();
  const std::string flags =
      " --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions "
      "--disable-background-networking --disable-component-update --disable-sync "
      "--user-data-dir=" +
      work + "/chromium-profile --enable-logging=stderr --v=0 --virtual-time-budget=10000 ";
  Rendered r;
  const std::string dom = work + "/dom.html", log = work + "/chromium.log";
  const int rc = std::system(
      ("timeout 120 " + c + flags + "--dump-dom file://" + html + " >" + dom + " 2>" + log)
          .c_str());
  EXPECT_EQ(rc, 0) << slurp(log);
  r.dom = slurp(dom);
  r.log = slurp(log);
  fs::create_directories(fs::path(artifact).parent_path());
  const std::string shot_log = work + "/screenshot.log";
  const int rs = std::system(("timeout 120 " + c + flags +
                              "--hide-scrollbars --window-size=1280,5000 --screenshot=" + artifact +
                              " file://" + html + " >" + shot_log + " 2>&1")
                                 .c_str());
  EXPECT_EQ(rs, 0) << slurp(shot_log);
  EXPECT_TRUE(fs::exists(artifact) && fs::file_size(artifact) > 10000) << artifact;
  const std::string s = attribute(r.dom, "render-status", "data-status");
  const std::string e = attribute(r.dom, "render-status", "data-errors");
  r.status = s.empty() ? nlohmann::json() : nlohmann::json::parse(s);
  r.errors = e.empty() ? nlohmann::json() : nlohmann::json::parse(e);
  return r;
}

// No console message, no failed load, no script error; every chart drew every point.
void expect_clean(const Rendered& r, const std::vector<std::string>& charts) {
  std::istringstream in(r.log);
  std::string line;
  while (std::getline(in, line)) {
    EXPECT_EQ(line.find("CONSOLE"), std::string::npos) << "console message: " << line;
    EXPECT_EQ(line.find("net::ERR_"), std::string::npos) << "failed resource: " << line;
    EXPECT_EQ(line.find("Failed to load"), std::string::npos) << "failed resource: " << line;
  }
  ASSERT_TRUE(r.status.is_object()) << "the page's script did not finish: no #render-status";
  EXPECT_EQ(r.errors, nlohmann::json::array()) << r.errors.dump();
  for (const auto& id : charts) {
    ASSERT_TRUE(r.status.contains(id)) << id << " missing in " << r.status.dump();
    const auto& s = r.status[id];
    EXPECT_GT(s["expected"].get<int>(), 0) << id;
    EXPECT_EQ(s["drawn"], s["expected"]) << id << ": " << s.dump();
    EXPECT_EQ(s.value("error_bars", 0), s.value("expected_error_bars", 0))
        << id << ": " << s.dump();
  }
  // Offline: no resource from the network.
  EXPECT_FALSE(std::regex_search(r.dom, std::regex("(src|href)=\"(https?:)?//")))
      << "the page refers to the network";
}

fs::path artifacts() {
  return fs::path(DALNAS_BINARY).parent_path() / "test-artifacts";
}

TEST(ReportCli, TinySearchWritesAReportThatChromiumDrawsCompletely) {
  TempDir d;
  // The CLI tests' tiny search (tiny_search.h) cut to two generations of one epoch each.
  const std::string cfg = write_tiny_config(d.str());
  const std::string out = d.str() + "/run";
  const auto r = run_dalnas("search --config " + cfg + " --out " + out +
                            " --threads 1 --set strategy.generations=2 --set evaluation.epochs=1"
                            " --set evaluation.multi_fidelity=false");
  ASSERT_EQ(r.code, 0) << r.err;
  // The search wrote its command and its report.
  EXPECT_NE(r.err.find("report: " + out + "/report.html"), std::string::npos) << r.err;
  const std::string command = slurp(out + "/command.txt");
  EXPECT_NE(command.find("search --config " + cfg), std::string::npos) << command;
  const std::string html = slurp(out + "/report.html");
  for (const char* s :
       {"Pareto front", "Fitness per generation", "Candidates", "per-layer latency and memory",
        "Winner: architecture", "<svg", "Object-level metrics", "Image panels",
        "data:image/png;base64,", "Configuration and command", "Chart.js v3"})
    EXPECT_NE(html.find(s), std::string::npos) << s;
  // The winner's FP32 twin gives the panels the headline comparison's columns.
  for (const char* s :
       {"FP32 twin, host", "FP32 twin, post-conversion on myriadx",
        "the winner, trained aligned, on myriadx", "FP32 twin after conversion, myriadx, test"})
    EXPECT_NE(html.find(s), std::string::npos) << s;
  EXPECT_EQ(html.find("there is no post-conversion column"), std::string::npos);
  // Written again by the command, to another file.
  const auto again = run_dalnas("report " + out + " --out " + d.str() + "/again.html -q");
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.out, d.str() + "/again.html\n");

  if (chromium().empty())
    GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it): the "
                    "report was written but not rendered";
  const Rendered page =
      render(out + "/report.html", d.str(), (artifacts() / "report-search.png").string());
  expect_clean(page,
               {"chart-pareto", "chart-generations", "chart-layer-time", "chart-layer-bytes"});
  // Every candidate is a row of the table; the panels are images.
  const auto rows = count_lines(slurp(out + "/candidates.csv")) - 1;
  EXPECT_GE(page.status["chart-pareto"]["expected"].get<int>(), 1);
  size_t trs = 0;
  const auto table = page.dom.find("id=\"candidates-table\"");
  ASSERT_NE(table, std::string::npos);
  const auto end = page.dom.find("</table>", table);
  for (size_t p = table; (p = page.dom.find("<tr>", p + 1)) < end;) ++trs;
  EXPECT_EQ(static_cast<int>(trs), rows + 1) << "header + one row per candidate";
}

TEST(ReportCli, TinyComparisonReportHasErrorBarsAndAllPanelColumns) {
  TempDir d;
  const std::string out = d.str() + "/cmp";
  const auto c = run_dalnas(
      "compare --arch tiny --epochs 1 --seeds 2 --finetune-epochs 1 --chip-size 64 "
      "--data synthetic:6 --threads 1 --quiet --out " +
      out);
  ASSERT_EQ(c.code, 0) << c.err;
  for (const char* f : {"report.html", "command.txt", "fp32.ckpt", "aligned.ckpt"})
    EXPECT_TRUE(fs::exists(fs::path(out) / f)) << f;
  const std::string html = slurp(out + "/report.html");
  for (const char* s :
       {"(a) FP32 on the host", "(b) post-conversion on", "(c) aligned on", "Four arms"})
    EXPECT_NE(html.find(s), std::string::npos) << s;
  if (chromium().empty()) GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh)";
  const Rendered page =
      render(out + "/report.html", d.str(), (artifacts() / "report-compare.png").string());
  expect_clean(page, {"chart-arms", "chart-layer-time"});
  EXPECT_EQ(page.status["chart-arms"]["expected_error_bars"], 8) << "4 arms × (mIoU, IoU vessel)";
}

TEST(ReportCli, BadRunFoldersFailWithOneLineNamingTheFile) {
  TempDir d;
  auto r = run_dalnas("report " + d.str());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("not a run folder"), std::string::npos) << r.err;
  std::ofstream(d.str() + "/summary.json") << "{ not json";
  r = run_dalnas("report " + d.str());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find(d.str() + "/summary.json: not valid JSON"), std::string::npos) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_FALSE(fs::exists(d.path / "report.html"));
  // An old, partial search folder (summary only): the report says what is missing.
  std::ofstream(d.str() + "/summary.json") << R"({"stop_reason": "budget", "evaluations": 0})";
  r = run_dalnas("report " + d.str() + " --no-panels");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string html = slurp(d.str() + "/report.html");
  EXPECT_NE(html.find("no candidates.csv in this run folder"), std::string::npos);
  EXPECT_NE(html.find("does not record its command"), std::string::npos);
  EXPECT_NE(r.err.find("report: not shown:"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dalnas::test
