#pragma once
// Subcommands of the dalnas executable, one file each.
#include <CLI/CLI.hpp>

namespace dalnas::cli {

void add_search(CLI::App& app);
void add_train(CLI::App& app);
void add_eval(CLI::App& app);
void add_export(CLI::App& app);
void add_arch(CLI::App& app);
void add_compare(CLI::App& app);
void add_profile(CLI::App& app);
void add_probe(CLI::App& app);
void add_report(CLI::App& app);

// Applies --threads (0 = all cores) to libtorch's intra-op pool.
void set_threads(int threads);
// "1m23s" style duration.
std::string format_seconds(double s);
// Current local time as YYYYmmdd-HHMMSS, for default run folders.
std::string timestamp();
// Parses "S" or "HxW" (positive integers) given to `flag`; throws dalnas::Error naming it.
void parse_size(const std::string& s, const std::string& flag, int& h, int& w);

}  // namespace dalnas::cli
