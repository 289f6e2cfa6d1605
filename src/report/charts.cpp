#include "report/charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/error.h"
#include "report/html.h"

namespace dalnas::report {

using nlohmann::json;

std::string load_chart_library(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw Error(path + ": the chart library is missing (install the Debian package " +
                std::string(kChartLibraryPackage) + ")");
  std::string js = read_file(path);
  std::string lower = js;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("</script") != std::string::npos)
    throw Error(path + ": contains \"</script\" and cannot be inlined");
  return js;
}

namespace {
json num(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}
json point(const Point& p) {
  return {{"x", p.x}, {"y", p.y}, {"r", p.r}, {"label", p.label}};
}
json axis(const std::string& title) {
  return {{"title", {{"display", true}, {"text", title}}}};
}
}  // namespace

Chart pareto_chart(const std::string& id, const std::vector<Point>& candidates,
                   const std::vector<Point>& front, const std::optional<Point>& winner,
                   const std::optional<Point>& reference, double reference_latency_ms) {
  Chart c;
  c.id = id;
  json datasets = json::array();
  auto add = [&](const std::string& name, const std::vector<Point>& pts, json style) {
    json d = style;
    d["label"] = name;
    d["data"] = json::array();
    for (const auto& p : pts) d["data"].push_back(point(p));
    datasets.push_back(d);
    c.expected_points += static_cast<int>(pts.size());
  };
  if (winner)
    add("winner", {*winner},
        {{"type", "bubble"},
         {"backgroundColor", "rgba(230,150,0,0.9)"},
         {"pointStyle", "star"},
         {"borderColor", "#000"},
         {"borderWidth", 2}});
  if (reference)
    add("reference", {*reference},
        {{"type", "bubble"},
         {"backgroundColor", "rgba(40,160,40,0.8)"},
         {"pointStyle", "triangle"},
         {"borderColor", "#000"}});
  if (!reference && std::isfinite(reference_latency_ms) && !candidates.empty()) {
    double lo = candidates.front().y, hi = lo;
    for (const auto& p : candidates) {
      lo = std::min(lo, p.y);
      hi = std::max(hi, p.y);
    }
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.2f", reference_latency_ms);
    const std::string label =
        std::string("reference (not evaluated): estimated latency ") + ms + " ms";
    add("reference latency (not evaluated)",
        {Point{reference_latency_ms, lo, 0, label}, Point{reference_latency_ms, hi, 0, label}},
        {{"type", "line"},
         {"borderColor", "rgba(40,160,40,0.8)"},
         {"backgroundColor", "rgba(40,160,40,0.8)"},
         {"borderDash", {6, 4}},
         {"pointStyle", "triangle"},
         {"pointRadius", 5},
         {"fill", false}});
  }
  std::vector<Point> f = front;
  std::sort(f.begin(), f.end(), [](const Point& a, const Point& b) { return a.x < b.x; });
  add("Pareto front", f,
      {{"type", "line"},
       {"borderColor", "rgba(200,30,30,0.9)"},
       {"backgroundColor", "rgba(200,30,30,0.9)"},
       {"pointRadius", 3},
       {"fill", false},
       {"tension", 0}});
  add("candidates", candidates,
      {{"type", "bubble"},
       {"backgroundColor", "rgba(60,110,200,0.35)"},
       {"borderColor", "rgba(60,110,200,0.9)"}});
  c.config = {
      {"type", "bubble"},
      {"data", {{"datasets", datasets}}},
      {"options",
       {{"scales", {{"x", axis("estimated latency (ms)")}, {"y", axis("device mIoU")}}},
        {"plugins",
         {{"title",
           {{"display", true},
            {"text", "device mIoU against estimated latency (marker area: parameters)"}}}}}}}};
  c.config["options"]["scales"]["x"]["type"] = "linear";
  for (const char* a : {"x", "y"}) c.config["options"]["scales"][a]["grace"] = "5%";
  return c;
}

Chart generations_chart(const std::string& id, const std::vector<int>& generations,
                        const std::vector<double>& best, const std::vector<double>& median,
                        const std::vector<double>& worst) {
  Chart c;
  c.id = id;
  json labels = json::array();
  for (int g : generations) labels.push_back(std::to_string(g));
  json datasets = json::array();
  const std::pair<const char*, const std::vector<double>*> series[] = {
      {"best", &best}, {"median", &median}, {"worst", &worst}};
  const char* colours[] = {"rgb(30,140,60)", "rgb(60,110,200)", "rgb(200,60,60)"};
  for (int k = 0; k < 3; ++k) {
    json d = {{"label", series[k].first},
              {"borderColor", colours[k]},
              {"backgroundColor", colours[k]},
              {"fill", false},
              {"data", json::array()}};
    for (double v : *series[k].second) {
      d["data"].push_back(num(v));
      c.expected_points += std::isfinite(v);
    }
    datasets.push_back(d);
  }
  c.config = {
      {"type", "line"},
      {"data", {{"labels", labels}, {"datasets", datasets}}},
      {"options",
       {{"scales", {{"x", axis("generation")}, {"y", axis("fitness")}}},
        {"plugins", {{"title", {{"display", true}, {"text", "fitness per generation"}}}}}}}};
  return c;
}

Chart bars_chart(const std::string& id, const std::vector<std::string>& labels,
                 const std::vector<BarSeries>& series, const std::string& y_title,
                 bool horizontal) {
  Chart c;
  c.id = id;
  const char* colours[] = {"rgb(90,90,90)",   "rgb(220,80,60)",  "rgb(40,150,70)",
                           "rgb(70,110,200)", "rgb(200,150,30)", "rgb(140,80,170)"};
  json datasets = json::array();
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    json d = {{"label", s.name},
              {"backgroundColor", colours[k % 6]},
              {"data", json::array()},
              {"errorBars", json::array()}};
    for (size_t i = 0; i < s.mean.size(); ++i) {
      d["data"].push_back(num(s.mean[i]));
      c.expected_points += std::isfinite(s.mean[i]);
      const double sd = i < s.sd.size() ? s.sd[i] : std::nan("");
      if (std::isfinite(sd) && std::isfinite(s.mean[i])) {
        d["errorBars"].push_back({s.mean[i] - sd, s.mean[i] + sd});
        ++c.expected_error_bars;
      } else {
        d["errorBars"].push_back(nullptr);
      }
    }
    datasets.push_back(d);
  }
  c.config = {{"type", "bar"},
              {"data", {{"labels", labels}, {"datasets", datasets}}},
              {"options", {{"scales", {{horizontal ? "x" : "y", axis(y_title)}}}}}};
  if (horizontal) c.config["options"]["indexAxis"] = "y";
  if (horizontal) c.height_px = std::max(240, 40 + 22 * static_cast<int>(labels.size()));
  return c;
}

std::string diverging_colour(double v, double vmax) {
  if (!std::isfinite(v)) return "rgb(200,200,200)";
  const double t = vmax > 0 ? std::clamp(v / vmax, -1.0, 1.0) : 0.0;
  int r = 255, g = 255, b = 255;
  if (t > 0) {  // white -> red
    g = b = static_cast<int>(std::lround(255 * (1 - t)));
    r = 255 - static_cast<int>(std::lround(40 * t));
  } else if (t < 0) {  // white -> blue
    r = g = static_cast<int>(std::lround(255 * (1 + t)));
    b = 255 - static_cast<int>(std::lround(40 * -t));
  }
  return "rgb(" + std::to_string(r) + "," + std::to_string(g) + "," + std::to_string(b) + ")";
}

Chart heatmap_chart(const std::string& id, const std::vector<std::string>& xs,
                    const std::vector<std::string>& ys, const std::vector<HeatCell>& cells,
                    const std::string& value_name) {
  Chart c;
  c.id = id;
  double vmax = 0;
  for (const auto& h : cells)
    if (std::isfinite(h.value)) vmax = std::max(vmax, std::fabs(h.value));
  json data = json::array(), colours = json::array();
  for (const auto& h : cells) {
    if (!std::isfinite(h.value)) continue;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%+.4f", h.value);
    data.push_back({{"x", h.x},
                    {"y", h.y},
                    {"v", h.value},
                    {"label", h.y + " / " + h.x + ": " + value_name + " " + buf}});
    colours.push_back(diverging_colour(h.value, vmax));
    ++c.expected_points;
  }
  c.height_px = std::max(200, 90 + 34 * static_cast<int>(ys.size()));
  const int cell =
      std::max(6, std::min(16, 560 / std::max<int>(1, static_cast<int>(xs.size())) / 2));
  json dataset = {{"label", value_name},        {"data", data},
                  {"backgroundColor", colours}, {"borderColor", "rgb(120,120,120)"},
                  {"borderWidth", 1},           {"pointStyle", "rect"},
                  {"pointRadius", cell},        {"pointHoverRadius", cell}};
  c.config = {{"type", "scatter"},
              {"data", {{"datasets", json::array({dataset})}}},
              {"options",
               {{"scales",
                 {{"x",
                   {{"type", "category"},
                    {"labels", xs},
                    {"offset", true},
                    {"title", {{"display", true}, {"text", "device behaviour switched off"}}}}},
                  {"y", {{"type", "category"}, {"labels", ys}, {"offset", true}}}}},
                {"plugins",
                 {{"legend", {{"display", false}}},
                  {"title",
                   {{"display", true},
                    {"text", value_name + " (red: switching the behaviour off gives mIoU back; "
                                          "blue: it costs mIoU)"}}}}}}}};
  return c;
}

std::string chart_canvas(const Chart& c) {
  return "<div class=\"chart\" style=\"height:" + std::to_string(c.height_px) +
         "px\"><canvas id=\"" + escape_html(c.id) + "\"></canvas></div>\n";
}

std::string page_script(const std::vector<Chart>& charts) {
  json specs = json::array();
  for (const auto& c : charts)
    specs.push_back({{"id", c.id},
                     {"config", c.config},
                     {"expected", c.expected_points},
                     {"expected_error_bars", c.expected_error_bars}});
  std::string s = "const DALNAS_CHARTS = " + script_safe(specs.dump()) + ";\n";
  s += R"JS(
(function () {
  const statusEl = document.getElementById('render-status');
  const errors = [];
  window.addEventListener('error', function (e) {
    errors.push(e.message || ('failed to load ' + (e.target && (e.target.src || e.target.href))));
    statusEl.setAttribute('data-errors', JSON.stringify(errors));
  }, true);
  // Sortable tables: a click on a header sorts by that column (numbers as numbers).
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (th, col) {
      th.addEventListener('click', function () {
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        const asc = th.getAttribute('data-sort') !== 'asc';
        table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('data-sort'); });
        th.setAttribute('data-sort', asc ? 'asc' : 'desc');
        const key = function (r) {
          const t = r.cells[col] ? r.cells[col].textContent.trim() : '';
          const n = parseFloat(t);
          return isNaN(n) || !/^[-+0-9.eE]+$/.test(t) ? t : n;
        };
        rows.sort(function (a, b) {
          const x = key(a), y = key(b);
          let c;
          if (typeof x === 'number' && typeof y === 'number') c = x - y;
          else c = String(x).localeCompare(String(y));
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  if (typeof Chart === 'undefined') {
    errors.push('the chart library did not load');
    statusEl.setAttribute('data-errors', JSON.stringify(errors));
    return;
  }
  // Error bars: datasets with errorBars[i] = [low, high] get a whisker at element i.
  Chart.register({
    id: 'dalnasErrorBars',
    afterDatasetsDraw: function (chart) {
      let n = 0;
      const ctx = chart.ctx;
      chart.data.datasets.forEach(function (ds, i) {
        if (!ds.errorBars) return;
        const meta = chart.getDatasetMeta(i);
        if (meta.hidden) return;
        const horizontal = chart.options.indexAxis === 'y';
        const scale = chart.scales[horizontal ? meta.xAxisID : meta.yAxisID];
        meta.data.forEach(function (el, k) {
          const e = ds.errorBars[k];
          if (!e || !isFinite(e[0]) || !isFinite(e[1])) return;
          const a = scale.getPixelForValue(e[0]), b = scale.getPixelForValue(e[1]);
          ctx.save();
          ctx.strokeStyle = '#111';
          ctx.lineWidth = 1.5;
          ctx.beginPath();
          if (horizontal) {
            ctx.moveTo(a, el.y); ctx.lineTo(b, el.y);
            ctx.moveTo(a, el.y - 4); ctx.lineTo(a, el.y + 4);
            ctx.moveTo(b, el.y - 4); ctx.lineTo(b, el.y + 4);
          } else {
            ctx.moveTo(el.x, a); ctx.lineTo(el.x, b);
            ctx.moveTo(el.x - 4, a); ctx.lineTo(el.x + 4, a);
            ctx.moveTo(el.x - 4, b); ctx.lineTo(el.x + 4, b);
          }
          ctx.stroke();
          ctx.restore();
          if (isFinite(a) && isFinite(b)) n++;
        });
      });
      chart.$dalnasErrorBars = n;
    }
  });
  const status = {};
  DALNAS_CHARTS.forEach(function (spec) {
    const cfg = spec.config;
    cfg.options = cfg.options || {};
    cfg.options.animation = false;
    cfg.options.responsive = true;
    cfg.options.maintainAspectRatio = false;
    cfg.options.plugins = cfg.options.plugins || {};
    cfg.options.plugins.tooltip = {
      callbacks: {
        label: function (item) {
          const r = item.raw;
          if (r && typeof r === 'object' && r.label) return r.label;
          return item.dataset.label + ': ' + item.formattedValue;
        }
      }
    };
    let drawn = 0;
    try {
      const chart = new Chart(document.getElementById(spec.id), cfg);
      chart.data.datasets.forEach(function (ds, i) {
        chart.getDatasetMeta(i).data.forEach(function (el) {
          if (el && !el.skip && isFinite(el.x) && isFinite(el.y)) drawn++;
        });
      });
      status[spec.id] = {expected: spec.expected, drawn: drawn,
                         expected_error_bars: spec.expected_error_bars,
                         error_bars: chart.$dalnasErrorBars || 0};
    } catch (e) {
      errors.push(spec.id + ': ' + e.message);
      status[spec.id] = {expected: spec.expected, drawn: 0, error: String(e.message)};
    }
  });
  statusEl.setAttribute('data-status', JSON.stringify(status));
  statusEl.setAttribute('data-errors', JSON.stringify(errors));
})();
)JS";
  return s;
}

}  // namespace dalnas::report
