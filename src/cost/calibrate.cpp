#include "cost/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "core/atomic_file.h"
#include "core/csv.h"
#include "core/error.h"
#include "cost/latency_table.h"
#include "onnx/onnx_import.h"

namespace dalnas {

namespace {

double* param_ref(CostParams& p, const std::string& name) {
  static const std::map<std::string, double CostParams::*> fields = {
      {"nce_gmacs", &CostParams::nce_gmacs},
      {"shave_gmacs", &CostParams::shave_gmacs},
      {"cmx_bytes", &CostParams::cmx_bytes},
      {"cmx_gbps", &CostParams::cmx_gbps},
      {"dram_gbps", &CostParams::dram_gbps},
      {"layer_overhead_us", &CostParams::layer_overhead_us},
      {"inference_overhead_ms", &CostParams::inference_overhead_ms},
      {"usb2_mbps", &CostParams::usb2_mbps},
      {"usb3_mbps", &CostParams::usb3_mbps},
  };
  auto it = fields.find(name);
  if (it == fields.end()) {
    std::string names;
    for (const auto& f : fields) names += (names.empty() ? "" : ", ") + f.first;
    throw Error("calibration: '" + name + "' is not a free parameter (allowed: " + names + ")");
  }
  return &(p.*(it->second));
}

double param(const CostParams& p, const std::string& name) {
  CostParams q = p;
  return *param_ref(q, name);
}

// Ranks 1..n with ties given their average rank.
std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double avg = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (size_t k = i; k <= j; ++k) r[order[k]] = avg;
    i = j + 1;
  }
  return r;
}

struct Problem {
  const std::vector<Measurement>& rows;
  const std::vector<DeviceGraph>& graphs;
  const CostParams& start;
  const std::vector<std::string>& free;
  double prior;
};

double objective(const Problem& pr, const CostParams& p, const std::vector<size_t>& use) {
  double loss = 0.0;
  for (size_t i : use) {
    const double e = std::log(predict_ms(pr.graphs[i], pr.rows[i], p) / pr.rows[i].target_ms());
    loss += e * e;
  }
  loss /= static_cast<double>(use.size());
  for (const std::string& name : pr.free) {
    const double d = std::log(param(p, name) / param(pr.start, name));
    loss += pr.prior * d * d;
  }
  return loss;
}

// Coordinate search in log space: try each parameter × e^±step, keep the first
// improvement; halve the step when none improves.
CostParams fit(const Problem& pr, const std::vector<size_t>& use) {
  CostParams p = pr.start;
  double best = objective(pr, p, use);
  double step = 1.0;
  while (step > 1e-6) {
    bool improved = false;
    for (const std::string& name : pr.free) {
      for (double dir : {1.0, -1.0}) {
        CostParams q = p;
        *param_ref(q, name) *= std::exp(dir * step);
        const double v = objective(pr, q, use);
        if (v < best) {
          best = v;
          p = q;
          improved = true;
          break;
        }
      }
    }
    if (!improved) step /= 2.0;
  }
  return p;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

}  // namespace

std::vector<Measurement> read_measurements(const std::string& csv_path) {
  const std::string text = read_file(csv_path);
  const size_t slash = csv_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : csv_path.substr(0, slash + 1);
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> header;
  std::map<std::string, size_t> col;
  std::vector<Measurement> out;
  std::string last_source;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty()) continue;
    const std::vector<std::string> f = split_csv_line(line);
    if (header.empty()) {
      header = f;
      for (size_t i = 0; i < f.size(); ++i) col[trim(f[i])] = i;
      for (const char* need :
           {"model_file", "input_nchw", "interface", "shaves", "requests_in_flight", "fps"}) {
        if (col.count(need) == 0) {
          throw Error(csv_path + ": the header has no column '" + need + "'");
        }
      }
      continue;
    }
    const std::string where = csv_path + ":" + std::to_string(line_no);
    auto get = [&](const std::string& name) -> std::string {
      auto it = col.find(name);
      if (it == col.end() || it->second >= f.size()) return "";
      return trim(f[it->second]);
    };
    Measurement m;
    m.model_file = get("model_file");
    if (m.model_file.empty()) throw Error(where + ": model_file: empty");
    m.model_path = m.model_file[0] == '/' ? m.model_file : dir + m.model_file;
    {
      const std::string s = get("input_nchw");
      int d[4];
      char x1, x2, x3;
      std::istringstream ss(s);
      if (!(ss >> d[0] >> x1 >> d[1] >> x2 >> d[2] >> x3 >> d[3]) || x1 != 'x' || x2 != 'x' ||
          x3 != 'x' || !ss.eof() || d[0] != 1 || d[1] < 1 || d[2] < 1 || d[3] < 1) {
        throw Error(where + ": input_nchw: '" + s + "' is not 1xCxHxW");
      }
      m.input = {d[1], d[2], d[3]};
    }
    m.device = get("device");
    try {
      m.link = parse_host_link(get("interface"));
    } catch (const Error& e) {
      throw Error(where + ": interface: " + e.what());
    }
    const std::string shaves = get("shaves");
    if (shaves == "all" || shaves.empty()) {
      m.shaves = 0;
    } else if (!parse_int(shaves, m.shaves) || m.shaves < 1) {
      throw Error(where + ": shaves: '" + shaves + "' is neither a positive count nor 'all'");
    }
    if (!parse_int(get("requests_in_flight"), m.requests) || m.requests < 1) {
      throw Error(where + ": requests_in_flight: '" + get("requests_in_flight") +
                  "' is not a positive integer");
    }
    if (!parse_double(get("fps"), m.fps) || m.fps <= 0.0) {
      throw Error(where + ": fps: '" + get("fps") + "' is not a positive number");
    }
    const std::string lat = get("latency_ms");
    if (!lat.empty() && (!parse_double(lat, m.latency_ms) || m.latency_ms <= 0.0)) {
      throw Error(where + ": latency_ms: '" + lat + "' is not a positive number");
    }
    m.source = get("source");
    if (m.source == "same") {
      if (last_source.empty()) throw Error(where + ": source: 'same' with no row above");
      m.source = last_source;
    }
    last_source = m.source;
    const std::string ip = get("input_precision");
    if (ip.empty() || ip == "fp32") {
      m.input_bytes = 4;
    } else if (ip == "fp16") {
      m.input_bytes = 2;
    } else if (ip == "u8") {
      m.input_bytes = 1;
    } else {
      throw Error(where + ": input_precision: '" + ip + "' is not fp32, fp16 or u8");
    }
    out.push_back(m);
  }
  if (out.empty()) throw Error(csv_path + ": no measurements");
  return out;
}

double predict_ms(const DeviceGraph& graph, const Measurement& m, const CostParams& params) {
  CostOptions o;
  o.link = m.link;
  o.shaves = m.shaves;
  o.requests = m.requests;
  o.input_bytes = m.input_bytes;
  o.layers = false;
  const CostEstimate e = estimate(graph, params, o);
  return 1000.0 / e.fps;
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 2) return 0.0;
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size());
  double ma = 0.0, mb = 0.0;
  for (size_t i = 0; i < ra.size(); ++i) {
    ma += ra[i] / n;
    mb += rb[i] / n;
  }
  double sab = 0.0, saa = 0.0, sbb = 0.0;
  for (size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return saa > 0.0 && sbb > 0.0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

FitStats fit_stats(const std::vector<double>& predicted, const std::vector<double>& measured) {
  FitStats s;
  if (predicted.empty() || predicted.size() != measured.size()) return s;
  for (size_t i = 0; i < predicted.size(); ++i) {
    const double e = std::fabs(predicted[i] / measured[i] - 1.0);
    s.mape += e;
    if (e <= 0.1 + 1e-12) s.within10 += 1.0;
  }
  s.mape /= static_cast<double>(predicted.size());
  s.within10 /= static_cast<double>(predicted.size());
  s.spearman = spearman(predicted, measured);
  return s;
}

Calibration calibrate(const std::vector<Measurement>& rows, const std::vector<DeviceGraph>& graphs,
                      const CostParams& start, const CalibrationOptions& options) {
  if (rows.size() < 2) throw Error("calibration: needs at least 2 measurements");
  if (graphs.size() != rows.size()) throw Error("calibration: one graph per measurement needed");
  if (options.free.empty()) throw Error("calibration: no free parameters");
  if (!(options.prior_weight >= 0.0)) throw Error("calibration: prior_weight must be >= 0");
  for (const std::string& name : options.free) {
    if (!(param(start, name) > 0.0)) {
      throw Error("calibration: free parameter '" + name + "' must start positive");
    }
  }
  const Problem pr{rows, graphs, start, options.free, options.prior_weight};
  Calibration c;
  c.start = start;
  c.free = options.free;
  std::vector<size_t> all(rows.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  c.fitted = fit(pr, all);
  std::vector<double> measured, fitted, loo;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<size_t> rest;
    for (size_t j = 0; j < rows.size(); ++j) {
      if (j != i) rest.push_back(j);
    }
    c.loo_fits.push_back(fit(pr, rest));
    CalibrationRow r;
    r.model_file = rows[i].model_file;
    r.measured_ms = rows[i].target_ms();
    r.fitted_ms = predict_ms(graphs[i], rows[i], c.fitted);
    r.loo_ms = predict_ms(graphs[i], rows[i], c.loo_fits.back());
    measured.push_back(r.measured_ms);
    fitted.push_back(r.fitted_ms);
    loo.push_back(r.loo_ms);
    c.rows.push_back(r);
  }
  c.in_sample = fit_stats(fitted, measured);
  c.loo = fit_stats(loo, measured);
  for (const Measurement& m : rows) {
    if (std::find(c.sources.begin(), c.sources.end(), m.source) == c.sources.end()) {
      c.sources.push_back(m.source);
    }
  }
  if (c.has_loso()) {
    std::vector<double> loso(rows.size(), 0.0);
    for (const std::string& src : c.sources) {
      c.loso_fits.push_back(fit(pr, rows_without_source(rows, src)));
      for (size_t i = 0; i < rows.size(); ++i) {
        if (rows[i].source == src) loso[i] = predict_ms(graphs[i], rows[i], c.loso_fits.back());
      }
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      c.rows[i].source = rows[i].source;
      c.rows[i].loso_ms = loso[i];
    }
    c.loso = fit_stats(loso, measured);
  } else {
    for (size_t i = 0; i < rows.size(); ++i) c.rows[i].source = rows[i].source;
  }
  return c;
}

std::vector<size_t> rows_without_source(const std::vector<Measurement>& rows,
                                        const std::string& held_out) {
  std::vector<size_t> use;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].source != held_out) use.push_back(i);
  }
  return use;
}

Calibration calibrate(const std::string& csv_path, const CostParams& start,
                      const CalibrationOptions& options) {
  const std::vector<Measurement> rows = read_measurements(csv_path);
  std::vector<DeviceGraph> graphs;
  for (const Measurement& m : rows) graphs.push_back(import_onnx(m.model_path, &m.input));
  return calibrate(rows, graphs, start, options);
}

std::string format_report(const Calibration& c) {
  std::ostringstream ss;
  ss << "free parameters (start -> fitted on all rows):\n";
  for (const std::string& name : c.free) {
    ss << "  " << name << ": " << fmt("%.4g", param(c.start, name)) << " -> "
       << fmt("%.4g", param(c.fitted, name)) << "\n";
  }
  ss << "target ms per row: measured, in-sample fit, leave-one-out (error)"
     << (c.has_loso() ? ", leave-one-source-out (error)" : "") << "\n";
  for (const CalibrationRow& r : c.rows) {
    ss << "  " << r.model_file << ": " << fmt("%.2f", r.measured_ms) << ", "
       << fmt("%.2f", r.fitted_ms) << ", " << fmt("%.2f", r.loo_ms) << " ("
       << fmt("%+.1f%%", 100.0 * (r.loo_ms / r.measured_ms - 1.0)) << ")";
    if (c.has_loso()) {
      ss << ", " << fmt("%.2f", r.loso_ms) << " ("
         << fmt("%+.1f%%", 100.0 * (r.loso_ms / r.measured_ms - 1.0)) << ")";
    }
    ss << "\n";
  }
  if (c.has_loso()) {
    ss << "sources (leave-one-source-out folds):\n";
    for (size_t k = 0; k < c.sources.size(); ++k) {
      int n = 0;
      for (const CalibrationRow& r : c.rows) n += r.source == c.sources[k];
      ss << "  [" << k + 1 << "] " << n << " rows: " << c.sources[k] << "\n";
    }
  }
  auto line = [&](const char* label, const FitStats& s) {
    ss << label << ": MAPE " << fmt("%.1f%%", 100.0 * s.mape) << ", within +-10% "
       << fmt("%.0f%%", 100.0 * s.within10) << ", Spearman " << fmt("%.3f", s.spearman) << "\n";
  };
  line("in-sample (fitted on every row; not a test of prediction)", c.in_sample);
  line("leave-one-out (each row predicted by a fit without it)", c.loo);
  if (c.has_loso()) {
    line("leave-one-source-out (each row predicted by a fit without any row of its source)",
         c.loso);
  } else {
    ss << "leave-one-source-out: not computed (the table names fewer than 2 sources)\n";
  }
  return ss.str();
}

namespace {

uint64_t choose(int n, int k) {
  if (k < 0 || k > n) return 0;
  uint64_t c = 1;
  for (int i = 1; i <= k; ++i) c = c * static_cast<uint64_t>(n - k + i) / static_cast<uint64_t>(i);
  return c;
}

// The combination of rank `r` (lexicographic order) of k elements out of 0..n-1.
std::vector<size_t> unrank(uint64_t r, int n, int k) {
  std::vector<size_t> out;
  int next = 0;
  for (int left = k; left > 0; --left) {
    for (int x = next; x < n; ++x) {
      const uint64_t with_x = choose(n - x - 1, left - 1);  // combinations starting at x
      if (r < with_x) {
        out.push_back(static_cast<size_t>(x));
        next = x + 1;
        break;
      }
      r -= with_x;
    }
  }
  return out;
}

}  // namespace

std::vector<LearningCurvePoint> learning_curve(const std::vector<Measurement>& rows,
                                               const std::vector<DeviceGraph>& graphs,
                                               const CostParams& start,
                                               const CalibrationOptions& options, int min_rows,
                                               int max_subsets) {
  const int n = static_cast<int>(rows.size());
  if (graphs.size() != rows.size()) throw Error("calibration: one graph per measurement needed");
  if (min_rows < 2) throw Error("learning curve: needs subsets of at least 2 rows");
  if (n > 60) throw Error("learning curve: at most 60 rows");
  if (max_subsets < 1) throw Error("learning curve: max_subsets must be >= 1");
  std::vector<LearningCurvePoint> curve;
  {
    std::vector<double> predicted, measured;
    for (int i = 0; i < n; ++i) {
      predicted.push_back(
          predict_ms(graphs[static_cast<size_t>(i)], rows[static_cast<size_t>(i)], start));
      measured.push_back(rows[static_cast<size_t>(i)].target_ms());
    }
    const FitStats st = fit_stats(predicted, measured);
    LearningCurvePoint base;
    base.subsets = 1;
    base.mape_mean = base.mape_min = base.mape_max = st.mape;
    base.within10_mean = base.within10_min = base.within10_max = st.within10;
    base.spearman_mean = base.spearman_min = base.spearman_max = st.spearman;
    curve.push_back(base);
  }
  for (int k = min_rows; k <= n; ++k) {
    const uint64_t total = choose(n, k);
    const uint64_t take = std::min<uint64_t>(total, static_cast<uint64_t>(max_subsets));
    LearningCurvePoint pt;
    pt.rows = k;
    pt.subsets = static_cast<int>(take);
    pt.mape_min = pt.within10_min = pt.spearman_min = 1e300;
    pt.mape_max = pt.within10_max = pt.spearman_max = -1e300;
    for (uint64_t s = 0; s < take; ++s) {
      const uint64_t rank = take == total ? s : s * total / take;
      const std::vector<size_t> pick = unrank(rank, n, k);
      std::vector<Measurement> sub_rows;
      std::vector<DeviceGraph> sub_graphs;
      for (size_t i : pick) {
        sub_rows.push_back(rows[i]);
        sub_graphs.push_back(graphs[i]);
      }
      const FitStats st = calibrate(sub_rows, sub_graphs, start, options).loo;
      pt.mape_mean += st.mape / static_cast<double>(take);
      pt.within10_mean += st.within10 / static_cast<double>(take);
      pt.spearman_mean += st.spearman / static_cast<double>(take);
      pt.mape_min = std::min(pt.mape_min, st.mape);
      pt.mape_max = std::max(pt.mape_max, st.mape);
      pt.within10_min = std::min(pt.within10_min, st.within10);
      pt.within10_max = std::max(pt.within10_max, st.within10);
      pt.spearman_min = std::min(pt.spearman_min, st.spearman);
      pt.spearman_max = std::max(pt.spearman_max, st.spearman);
    }
    curve.push_back(pt);
  }
  return curve;
}

std::string format_learning_curve(const std::vector<LearningCurvePoint>& curve) {
  std::ostringstream ss;
  ss << "leave-one-out figures within subsets of k rows (mean [min, max] over the subsets);\n"
        "k = 0: every row predicted with the start values (no fit)\n";
  ss << "   k subsets  MAPE                    within +-10%        Spearman\n";
  for (const LearningCurvePoint& p : curve) {
    char buf[256];
    std::snprintf(
        buf, sizeof buf,
        "%4d %7d  %5.1f%% [%5.1f, %5.1f]   %4.0f%% [%3.0f, %3.0f]   %6.3f [%6.3f, %6.3f]\n", p.rows,
        p.subsets, 100 * p.mape_mean, 100 * p.mape_min, 100 * p.mape_max, 100 * p.within10_mean,
        100 * p.within10_min, 100 * p.within10_max, p.spearman_mean, p.spearman_min,
        p.spearman_max);
    ss << buf;
  }
  return ss.str();
}

// ---------------------------------------------------------------------------------------
// The cpu model kind.

std::vector<double> fit_cpu_coefficients(const std::vector<std::vector<double>>& features,
                                         const std::vector<double>& measured_ms,
                                         const std::vector<size_t>& use) {
  if (features.size() != measured_ms.size()) {
    throw Error("cpu calibration: one feature row per measurement needed");
  }
  if (use.empty()) throw Error("cpu calibration: no rows to fit");
  const size_t k = static_cast<size_t>(kCpuFeatures);
  // Rows scaled by 1 / measured (relative errors), times in µs; columns scaled to unit norm.
  std::vector<std::vector<double>> a;
  std::vector<double> b;
  for (size_t i : use) {
    if (features.at(i).size() != k) throw Error("cpu calibration: wrong feature count");
    if (!(measured_ms.at(i) > 0.0)) throw Error("cpu calibration: measured times must be > 0");
    const double y = measured_ms[i] * 1e3;
    std::vector<double> row(k);
    for (size_t j = 0; j < k; ++j) row[j] = features[i][j] / y;
    a.push_back(row);
    b.push_back(1.0);
  }
  std::vector<double> norm(k, 0.0);
  for (const auto& row : a) {
    for (size_t j = 0; j < k; ++j) norm[j] += row[j] * row[j];
  }
  for (double& x : norm) x = x > 0.0 ? std::sqrt(x) : 0.0;
  // Normal equations of the scaled problem: G = Aᵀ A, h = Aᵀ b.
  std::vector<std::vector<double>> g(k, std::vector<double>(k, 0.0));
  std::vector<double> h(k, 0.0);
  for (size_t r = 0; r < a.size(); ++r) {
    for (size_t i = 0; i < k; ++i) {
      if (norm[i] == 0.0) continue;
      const double ai = a[r][i] / norm[i];
      h[i] += ai * b[r];
      for (size_t j = 0; j < k; ++j) {
        if (norm[j] > 0.0) g[i][j] += ai * a[r][j] / norm[j];
      }
    }
  }
  // Projected coordinate descent: x_i = max(0, x_i - (G x - h)_i / G_ii).
  std::vector<double> x(k, 0.0);
  for (int sweep = 0; sweep < 20000; ++sweep) {
    double change = 0.0;
    for (size_t i = 0; i < k; ++i) {
      if (g[i][i] <= 0.0) continue;
      double grad = -h[i];
      for (size_t j = 0; j < k; ++j) grad += g[i][j] * x[j];
      const double nx = std::max(0.0, x[i] - grad / g[i][i]);
      change = std::max(change, std::fabs(nx - x[i]));
      x[i] = nx;
    }
    if (change < 1e-13) break;
  }
  std::vector<double> c(k, 0.0);
  for (size_t j = 0; j < k; ++j) c[j] = norm[j] > 0.0 ? x[j] / norm[j] : 0.0;
  return c;
}

HostCalibration calibrate_cpu(const std::vector<DeviceGraph>& graphs,
                              const std::vector<double>& measured_ms,
                              const std::vector<std::string>& names, int folds, int channel_align) {
  const size_t n = graphs.size();
  if (measured_ms.size() != n || names.size() != n) {
    throw Error("cpu calibration: one measurement and one name per graph needed");
  }
  if (folds < 2) throw Error("cpu calibration: needs at least 2 folds");
  if (n < static_cast<size_t>(folds)) {
    throw Error("cpu calibration: " + std::to_string(n) + " rows for " + std::to_string(folds) +
                " folds");
  }
  std::vector<std::vector<double>> features;
  for (const DeviceGraph& g : graphs) features.push_back(cpu_features(g, channel_align));
  auto predict = [&](const std::vector<double>& c, size_t i) {
    double us = 0.0;
    for (size_t j = 0; j < c.size(); ++j) us += features[i][j] * c[j];
    return us * 1e-3;
  };
  HostCalibration hc;
  hc.folds = folds;
  std::vector<size_t> all(n);
  for (size_t i = 0; i < n; ++i) all[i] = i;
  const std::vector<double> c_all = fit_cpu_coefficients(features, measured_ms, all);
  hc.fitted = cpu_params_from_coefficients(c_all, channel_align);
  hc.rows.resize(n);
  for (int f = 0; f < folds; ++f) {
    std::vector<size_t> train;
    for (size_t i = 0; i < n; ++i) {
      if (static_cast<int>(i % static_cast<size_t>(folds)) != f) train.push_back(i);
    }
    const std::vector<double> c = fit_cpu_coefficients(features, measured_ms, train);
    for (size_t i = static_cast<size_t>(f); i < n; i += static_cast<size_t>(folds)) {
      hc.rows[i].cv_ms = predict(c, i);
    }
  }
  std::vector<double> fitted, cv;
  for (size_t i = 0; i < n; ++i) {
    hc.rows[i].name = names[i];
    hc.rows[i].measured_ms = measured_ms[i];
    hc.rows[i].fitted_ms = predict(c_all, i);
    fitted.push_back(hc.rows[i].fitted_ms);
    cv.push_back(hc.rows[i].cv_ms);
  }
  hc.in_sample = fit_stats(fitted, measured_ms);
  hc.cv = fit_stats(cv, measured_ms);
  return hc;
}

std::string format_report(const HostCalibration& c) {
  std::ostringstream ss;
  ss << "fitted cpu model (all rows):\n" << to_json(c.fitted).dump(1) << "\n";
  ss << "ms per row: measured, in-sample fit, " << c.folds << "-fold cross-validated (error)\n";
  for (const HostCalibrationRow& r : c.rows) {
    ss << "  " << r.name << ": " << fmt("%.2f", r.measured_ms) << ", " << fmt("%.2f", r.fitted_ms)
       << ", " << fmt("%.2f", r.cv_ms) << " ("
       << fmt("%+.1f%%", 100.0 * (r.cv_ms / r.measured_ms - 1.0)) << ")\n";
  }
  auto line = [&](const std::string& label, const FitStats& s) {
    ss << label << ": MAPE " << fmt("%.1f%%", 100.0 * s.mape) << ", within +-10% "
       << fmt("%.0f%%", 100.0 * s.within10) << ", Spearman " << fmt("%.3f", s.spearman) << "\n";
  };
  line("in-sample (fitted on every row; not a test of prediction)", c.in_sample);
  line(std::to_string(c.folds) + "-fold cross-validation (each row predicted by a fit without it)",
       c.cv);
  return ss.str();
}

}  // namespace dalnas
