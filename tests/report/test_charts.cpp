// Chart configurations: what each chart must draw, colours of the heat map.
#include <gtest/gtest.h>

#include <cmath>

#include "report/charts.h"

namespace dalnas::report {
namespace {

TEST(Charts, ExpectedPointsCountEveryFiniteValue) {
  const auto g = generations_chart("g", {0, 1}, {1.0, 2.0}, {0.5, NAN}, {0.1, 0.2});
  EXPECT_EQ(g.expected_points, 5);
  EXPECT_TRUE(g.config["data"]["datasets"][1]["data"][1].is_null());
  const auto b = bars_chart("b", {"x", "y"}, {{"m", {1.0, 2.0}, {0.1, NAN}}}, "t");
  EXPECT_EQ(b.expected_points, 2);
  EXPECT_EQ(b.expected_error_bars, 1);
  EXPECT_EQ(b.config["data"]["datasets"][0]["errorBars"][0], nlohmann::json::array({0.9, 1.1}));
  const auto p = pareto_chart("p", {{1, 0.5, 4, "a"}, {2, 0.6, 6, "b"}}, {{2, 0.6, 6, "b"}},
                              Point{2, 0.6, 6, "b"}, std::nullopt);
  EXPECT_EQ(p.expected_points, 4);
  EXPECT_EQ(p.config["data"]["datasets"][0]["label"], "winner");
  // A reference that was not evaluated: a vertical line at its latency over the mIoU range.
  const auto r =
      pareto_chart("p", {{1, 0.5, 4, "a"}, {2, 0.6, 6, "b"}}, {}, std::nullopt, std::nullopt, 3.25);
  EXPECT_EQ(r.expected_points, 4);
  const auto& line = r.config["data"]["datasets"][0];
  EXPECT_EQ(line["label"], "reference latency (not evaluated)");
  ASSERT_EQ(line["data"].size(), 2u);
  EXPECT_EQ(line["data"][0]["x"], 3.25);
  EXPECT_EQ(line["data"][1]["x"], 3.25);
  EXPECT_EQ(line["data"][0]["y"], 0.5);
  EXPECT_EQ(line["data"][1]["y"], 0.6);
  EXPECT_NE(line["data"][0]["label"].get<std::string>().find("3.25 ms"), std::string::npos);
  // An evaluated reference is a point; no line then.
  const auto e =
      pareto_chart("p", {{1, 0.5, 4, "a"}}, {}, std::nullopt, Point{3, 0.7, 5, "ref"}, 3.25);
  EXPECT_EQ(e.expected_points, 2);
  EXPECT_EQ(e.config["data"]["datasets"][0]["label"], "reference");
}

TEST(Charts, HeatMapSkipsMissingCellsAndColoursBySign) {
  const auto h = heatmap_chart("h", {"a", "b"}, {"r"}, {{"a", "r", 0.2}, {"b", "r", NAN}}, "gap");
  EXPECT_EQ(h.expected_points, 1);
  EXPECT_EQ(diverging_colour(0.0, 1.0), "rgb(255,255,255)");
  EXPECT_EQ(diverging_colour(1.0, 1.0), "rgb(215,0,0)");
  EXPECT_EQ(diverging_colour(-1.0, 1.0), "rgb(0,0,215)");
  EXPECT_EQ(diverging_colour(5.0, 1.0), diverging_colour(1.0, 1.0));  // clamped
}

TEST(Charts, LibraryFromDebianIsInlinableOrNamed) {
  try {
    const std::string js = load_chart_library();
    EXPECT_NE(js.find("Chart.js v3"), std::string::npos);
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(kChartLibraryPackage), std::string::npos);
    GTEST_SKIP() << e.what();
  }
}

TEST(Charts, PageScriptEmbedsTheSpecsSafely) {
  Chart c = bars_chart("b</script>", {"</script>"}, {{"m", {1.0}, {}}}, "t");
  const std::string s = page_script({c});
  EXPECT_EQ(s.find("</script"), std::string::npos);
  EXPECT_NE(s.find("render-status"), std::string::npos);
}

}  // namespace
}  // namespace dalnas::report
