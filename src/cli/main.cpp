// dalnas: deployment-aligned low-precision NAS for segmentation networks.
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "cli/run_record.h"
#include "core/allocator.h"
#include "core/error.h"
#include "core/strings.h"

using dalnas::first_line;

int main(int argc, char** argv) {
  dalnas::tune_allocator();
  dalnas::cli::set_command_line(argc, argv);
  // A file that outgrows the file-size limit (a quota, RLIMIT_FSIZE) must be a write error
  // naming the file, not a kill: the atomic writers then remove their temporary file.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"dalnas: search, train and evaluate segmentation networks for FP16 edge devices"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("dalnas ") + DALNAS_VERSION);
  dalnas::cli::add_search(app);
  dalnas::cli::add_train(app);
  dalnas::cli::add_eval(app);
  dalnas::cli::add_export(app);
  dalnas::cli::add_arch(app);
  dalnas::cli::add_compare(app);
  dalnas::cli::add_profile(app);
  dalnas::cli::add_probe(app);
  dalnas::cli::add_report(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const dalnas::Error& e) {
    std::fprintf(stderr, "dalnas: error: %s\n", first_line(e.what()).c_str());
    return 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "dalnas: error: libtorch: %s\n",
                 first_line(e.what_without_backtrace()).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dalnas: error: %s\n", first_line(e.what()).c_str());
    return 1;
  }
  return 0;
}
