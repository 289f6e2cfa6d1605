// dalnas arch describe: layers, parameters, MACs and peak activation memory of a genome.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/genome.h"
#include "nn/describe.h"

namespace dalnas::cli {

namespace {
struct ArchArgs {
  std::string genome;
  int bands = 4;
  std::string size = "256";
  bool json = false;
};

}  // namespace

void add_arch(CLI::App& app) {
  auto* arch = app.add_subcommand("arch", "Architectures (genomes)");
  arch->require_subcommand(1);
  auto* cmd = arch->add_subcommand("describe", "Layers, parameters, MACs, peak activation memory");
  auto a = std::make_shared<ArchArgs>();
  cmd->add_option("genome", a->genome, "Genome string, named genome, or pynas:<code>")->required();
  cmd->add_option("--bands", a->bands, "Input bands (default 4)")->check(CLI::Range(1, 1024));
  cmd->add_option("--size", a->size, "Input size S or HxW (default 256)");
  cmd->add_flag("--json", a->json,
                "One JSON object: params, macs, peak_activation_bytes, genome, layers");
  cmd->callback([a]() {
    int h = 0, w = 0;
    parse_size(a->size, "--size", h, w);
    const Genome g = resolve_arch(a->genome, a->bands);
    const ArchDescription d = describe(g, a->bands, h, w);
    if (a->json)
      std::printf("%s\n", d.to_json().dump().c_str());
    else
      std::printf("%s", d.table().c_str());
  });
}

}  // namespace dalnas::cli
