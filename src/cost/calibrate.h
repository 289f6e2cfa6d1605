#pragma once
// Calibration of the cost model (cost/cost_model.h) against measured timings.
//
// The table is a CSV with a header naming at least: model_file (an ONNX file, relative
// paths against the CSV's folder), input_nchw ("1x3x224x224"), interface (USB2 / USB3),
// shaves (a count or "all"), requests_in_flight, fps; latency_ms may be blank. Optional:
// source (who published the row; "same" repeats the row above), input_precision (fp32 /
// fp16 / u8: what the host sends; fp32 when absent, the OpenVINO default for an FP32
// model's input).
// The target of a row is 1000 / fps: with one request in flight that is the latency of a
// synchronous inference; with two or more it is the device time per frame of the
// pipeline, compared with the model's 1000 / fps.
//
// The fit moves a few free parameters (by default nce_gmacs, shave_gmacs, usb2_mbps) to
// minimise mean((log predicted - log measured)²) + prior_weight · Σ log(p / p_start)²
// (the prior keeps parameters that the rows barely constrain near their public-figure
// start values). The optimiser is deterministic: coordinate search in log space with
// halving steps. Leave-one-out: every row is predicted by a fit that did not see it.
// Leave-one-source-out: every row is predicted by a fit that saw no row of its source
// (sources differ in method, host and network family; this is the test of a network and
// a setup the fit never saw).
#include <limits>
#include <string>
#include <vector>

#include "cost/cost_model.h"

namespace dalnas {

struct Measurement {
  std::string model_file;  // as written in the table
  std::string model_path;  // resolved against the table's folder
  Shape input;
  std::string device;
  HostLink link = HostLink::USB3;
  int shaves = 0;  // 0: all
  int requests = 1;
  double fps = 0.0;
  double latency_ms = std::numeric_limits<double>::quiet_NaN();  // NaN where blank
  std::string source;   // "" where the table has no source column
  int input_bytes = 4;  // per input value sent by the host (fp32 4, fp16 2, u8 1)
  double target_ms() const { return 1000.0 / fps; }
};

// Throws dalnas::Error "<csv>:<line>: <column>: ..." on a malformed row.
std::vector<Measurement> read_measurements(const std::string& csv_path);

// What the cost model predicts for a row's target (see above), in ms.
double predict_ms(const DeviceGraph& graph, const Measurement& m, const CostParams& params);

struct FitStats {
  double mape = 0.0;      // mean |predicted / measured - 1|
  double within10 = 0.0;  // share of rows with |predicted / measured - 1| <= 0.1
  double spearman = 0.0;  // rank correlation of predicted and measured (ties averaged)
};
FitStats fit_stats(const std::vector<double>& predicted, const std::vector<double>& measured);
double spearman(const std::vector<double>& a, const std::vector<double>& b);

struct CalibrationOptions {
  std::vector<std::string> free = {"nce_gmacs", "shave_gmacs",       "usb2_mbps",
                                   "usb3_mbps", "layer_overhead_us", "inference_overhead_ms",
                                   "dram_gbps"};
  double prior_weight = 0.003;
};

struct CalibrationRow {
  std::string model_file;
  double measured_ms = 0.0;
  double fitted_ms = 0.0;  // by the fit on all rows (in-sample)
  double loo_ms = 0.0;     // by the fit without this row
  std::string source;
  double loso_ms = 0.0;  // by the fit without any row of this row's source (0: one source)
};

struct Calibration {
  CostParams start, fitted;
  std::vector<std::string> free;
  std::vector<CalibrationRow> rows;
  FitStats in_sample, loo;
  std::vector<CostParams> loo_fits;  // one per row
  // Leave-one-source-out (only with two or more sources): per source, in order of first
  // appearance, the fit on the rows of the other sources.
  std::vector<std::string> sources;
  std::vector<CostParams> loso_fits;
  FitStats loso;
  bool has_loso() const { return sources.size() >= 2; }
};

// The rows a leave-one-source-out fit for `held_out` trains on: those of other sources.
std::vector<size_t> rows_without_source(const std::vector<Measurement>& rows,
                                        const std::string& held_out);

// The free parameters must be positive floating-point fields of CostParams (e.g.
// nce_gmacs, shave_gmacs, usb2_mbps, usb3_mbps, dram_gbps, layer_overhead_us,
// inference_overhead_ms); an unknown name is an error. Needs at least 2 rows.
Calibration calibrate(const std::vector<Measurement>& rows, const std::vector<DeviceGraph>& graphs,
                      const CostParams& start, const CalibrationOptions& options = {});
// Reads the table and imports every model (onnx/onnx_import.h) first.
Calibration calibrate(const std::string& csv_path, const CostParams& start,
                      const CalibrationOptions& options = {});

// A plain-text report: the fitted parameters, one line per row (measured, in-sample,
// leave-one-out, leave-one-source-out) and the three sets of figures, each labelled.
std::string format_report(const Calibration& c);

// How the leave-one-out figures move as rows are added: for every subset size k (from
// min_rows to all rows) and every subset of that size (all of them, or `max_subsets`
// evenly spaced ones in lexicographic order when there are more), the leave-one-out
// figures within the subset; per k the mean, min and max over subsets. The first point
// (rows = 0) is the baseline: every row predicted with the start values, no fit.
struct LearningCurvePoint {
  int rows = 0;
  int subsets = 0;
  double mape_mean = 0, mape_min = 0, mape_max = 0;
  double within10_mean = 0, within10_min = 0, within10_max = 0;
  double spearman_mean = 0, spearman_min = 0, spearman_max = 0;
};
std::vector<LearningCurvePoint> learning_curve(const std::vector<Measurement>& rows,
                                               const std::vector<DeviceGraph>& graphs,
                                               const CostParams& start,
                                               const CalibrationOptions& options = {},
                                               int min_rows = 3, int max_subsets = 200);
std::string format_learning_curve(const std::vector<LearningCurvePoint>& curve);

// ---------------------------------------------------------------------------------------
// The cpu model kind (cost_model.h, CpuCostParams) fitted to latencies measured on a host.
// Its time is linear in its coefficients (features · coefficients), so the fit is a
// non-negative least-squares problem on relative errors: minimise
//   Σ_rows ((features · c) / measured - 1)²  subject to c >= 0
// (projected coordinate descent on the normal equations, columns scaled; deterministic).
// Cross-validation: rows go to `folds` folds round-robin in the given order; each row is
// predicted by the fit on the other folds.
struct HostCalibrationRow {
  std::string name;
  double measured_ms = 0.0;
  double fitted_ms = 0.0;  // fit on all rows (in-sample)
  double cv_ms = 0.0;      // fit without the row's fold
};
struct HostCalibration {
  CpuCostParams fitted;
  int folds = 0;
  std::vector<HostCalibrationRow> rows;
  FitStats in_sample, cv;
};
// Non-negative least squares on relative errors over the rows `use` of (features, measured).
std::vector<double> fit_cpu_coefficients(const std::vector<std::vector<double>>& features,
                                         const std::vector<double>& measured_ms,
                                         const std::vector<size_t>& use);
// names: one per graph (e.g. the genome). Needs folds >= 2 and at least folds rows.
HostCalibration calibrate_cpu(const std::vector<DeviceGraph>& graphs,
                              const std::vector<double>& measured_ms,
                              const std::vector<std::string>& names, int folds = 5,
                              int channel_align = 16);
std::string format_report(const HostCalibration& c);

}  // namespace dalnas
