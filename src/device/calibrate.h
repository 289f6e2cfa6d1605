#pragma once
// Calibration of the cost model (device/cost_model.h) against measured timings.
//
// The table is a CSV with a header naming at least: model_file (an ONNX file, relative
// paths against the CSV's folder), input_nchw ("1x3x224x224"), interface (USB2 / USB3),
// shaves (a count or "all"), requests_in_flight, fps; latency_ms may be blank.
// The target of a row is 1000 / fps: with one request in flight that is the latency of a
// synchronous inference; with two or more it is the device time per frame of the
// pipeline, compared with the model's 1000 / fps.
//
// The fit moves a few free parameters (by default nce_gmacs, shave_gmacs, usb2_mbps) to
// minimise mean((log predicted - log measured)²) + prior_weight · Σ log(p / p_start)²
// (the prior keeps parameters that the rows barely constrain near their public-figure
// start values). The optimiser is deterministic: coordinate search in log space with
// halving steps. Leave-one-out: every row is predicted by a fit that did not see it.
#include <limits>
#include <string>
#include <vector>

#include "device/cost_model.h"

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
  std::vector<std::string> free = {"nce_gmacs", "shave_gmacs", "usb2_mbps"};
  double prior_weight = 0.01;
};

struct CalibrationRow {
  std::string model_file;
  double measured_ms = 0.0;
  double fitted_ms = 0.0;  // by the fit on all rows (in-sample)
  double loo_ms = 0.0;     // by the fit without this row
};

struct Calibration {
  CostParams start, fitted;
  std::vector<std::string> free;
  std::vector<CalibrationRow> rows;
  FitStats in_sample, loo;
  std::vector<CostParams> loo_fits;  // one per row
};

// The free parameters must be positive floating-point fields of CostParams (e.g.
// nce_gmacs, shave_gmacs, usb2_mbps, usb3_mbps, dram_gbps, layer_overhead_us,
// inference_overhead_ms); an unknown name is an error. Needs at least 2 rows.
Calibration calibrate(const std::vector<Measurement>& rows, const std::vector<DeviceGraph>& graphs,
                      const CostParams& start, const CalibrationOptions& options = {});
// Reads the table and imports every model (device/onnx_import.h) first.
Calibration calibrate(const std::string& csv_path, const CostParams& start,
                      const CalibrationOptions& options = {});

// A plain-text report: the fitted parameters, one line per row (measured, in-sample,
// leave-one-out) and both sets of figures, each labelled.
std::string format_report(const Calibration& c);

}  // namespace dalnas
