#pragma once
// `dalnas report RUN_DIR`: one self-contained report.html for a search, a comparison or a
// census run folder (report/run_folder.h): charts (report/charts.h, Chart.js inlined),
// tables, the winner's per-layer costs and block diagram, image panels of test chips
// (report/chip_panels.h, PNG inlined as data URIs), the resolved configuration and the
// command. Nothing is fetched at view time. A section whose data the folder lacks says so.
#include <string>
#include <vector>

#include "report/run_folder.h"

namespace dalnas::report {

struct ReportOptions {
  std::string chart_library = "/usr/share/javascript/chart.js/chart.min.js";
  bool panels = true;  // image panels (loads the data and runs the checkpoints)
  int max_chips = 4;
  int chip_size = 64;
};

// The page of a loaded run folder. `notes` (optional) receives one line per section that
// lacks data or could not be made.
std::string build_report(const RunFolder& run, const ReportOptions& opt = {},
                         std::vector<std::string>* notes = nullptr);

// Loads `run_dir`, builds the page and writes it atomically to `out_file` (default
// <run_dir>/report.html). Returns the path written. Throws dalnas::Error naming the file
// for a malformed run folder file or a missing chart library.
std::string write_report(const std::string& run_dir, const std::string& out_file = "",
                         const ReportOptions& opt = {}, std::vector<std::string>* notes = nullptr);

}  // namespace dalnas::report
