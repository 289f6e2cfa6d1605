// dalnas report: one self-contained report.html for a search, compare or census run folder.
#include <cstdio>

#include "cli/commands.h"
#include "report/report.h"

namespace dalnas::cli {

void add_report(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "report",
      "Write report.html for a run folder (search, compare or census): charts, tables, "
      "per-layer costs, image panels; opens offline");
  auto dir = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto no_panels = std::make_shared<bool>(false);
  auto quiet = std::make_shared<bool>(false);
  cmd->add_option("RUN_DIR", *dir, "The run folder")->required();
  cmd->add_option("--out", *out, "Output file (default RUN_DIR/report.html)");
  cmd->add_flag("--no-panels", *no_panels,
                "Leave out the image panels (they load the data and run the checkpoints)");
  cmd->add_flag("--quiet,-q", *quiet, "Print only the path");
  cmd->callback([dir, out, no_panels, quiet]() {
    report::ReportOptions opt;
    opt.panels = !*no_panels;
    std::vector<std::string> notes;
    const std::string path = report::write_report(*dir, *out, opt, &notes);
    if (!*quiet)
      for (const auto& n : notes) std::fprintf(stderr, "report: not shown: %s\n", n.c_str());
    std::printf("%s\n", path.c_str());
  });
}

}  // namespace dalnas::cli
