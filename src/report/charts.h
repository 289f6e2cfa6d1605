#pragma once
// Charts of the report as Chart.js 3 configurations (JSON), drawn in the page by the
// Chart.js library of Debian's libjs-chart.js, inlined. After drawing, the page's script
// counts, per chart, the data points the library placed (Chart.js's element positions of
// getDatasetMeta(i).data) and the error bars drawn, and writes them, with the expected
// counts, into the element #render-status (attribute data-status, JSON) so that a test
// can read them from the rendered DOM.
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace dalnas::report {

// Where the library is read from at report time (Debian package libjs-chart.js).
constexpr const char* kChartLibraryPath = "/usr/share/javascript/chart.js/chart.min.js";
constexpr const char* kChartLibraryPackage = "libjs-chart.js";
// The library's source; throws dalnas::Error naming the file and the Debian package when
// it is missing, or when the source would end the <script> element early.
std::string load_chart_library(const std::string& path = kChartLibraryPath);

struct Chart {
  std::string id;
  nlohmann::json config;        // Chart.js configuration
  int expected_points = 0;      // data elements the chart must place
  int expected_error_bars = 0;  // error bars the chart must draw
  int height_px = 380;
};

struct Point {
  double x = 0, y = 0;
  double r = 4;       // bubble radius (px)
  std::string label;  // tooltip
};

// Device mIoU against estimated latency; bubbles sized by parameters; the front as a line;
// the winner and `reference` (when given) as their own marked series. A reference that was
// not evaluated (no mIoU) but whose latency is known (`reference_latency_ms`, finite) is a
// vertical line at that latency across the candidates' mIoU range.
Chart pareto_chart(const std::string& id, const std::vector<Point>& candidates,
                   const std::vector<Point>& front, const std::optional<Point>& winner,
                   const std::optional<Point>& reference,
                   double reference_latency_ms = std::numeric_limits<double>::quiet_NaN());

// Best / median / worst fitness per generation.
Chart generations_chart(const std::string& id, const std::vector<int>& generations,
                        const std::vector<double>& best, const std::vector<double>& median,
                        const std::vector<double>& worst);

// Grouped bars: one series per arm, one group per label; `sd` (same shape as `mean`,
// NaN = none) draws mean ± sd as an error bar.
struct BarSeries {
  std::string name;
  std::vector<double> mean, sd;
};
Chart bars_chart(const std::string& id, const std::vector<std::string>& labels,
                 const std::vector<BarSeries>& series, const std::string& y_title,
                 bool horizontal = false);

// Heat map: one cell per (x, y) with a value (NaN: no cell); colour from blue (most
// negative) through white (0) to red (most positive).
struct HeatCell {
  std::string x, y;
  double value = 0;
};
Chart heatmap_chart(const std::string& id, const std::vector<std::string>& xs,
                    const std::vector<std::string>& ys, const std::vector<HeatCell>& cells,
                    const std::string& value_name);

// The colour of value v on a scale symmetric around 0 with |v| <= vmax ("rgb(r,g,b)").
std::string diverging_colour(double v, double vmax);

// <div class="chart"><canvas id=...></canvas></div>
std::string chart_canvas(const Chart& c);
// The page script: the error-bar plugin, every chart, sortable tables, #render-status.
std::string page_script(const std::vector<Chart>& charts);

}  // namespace dalnas::report
