// dalnas probe: find the numerics of a real device (docs/devices.md, "Finding a device's
// numerics with probes"). Subcommands:
//   export   the probe networks (FP16 ONNX), their inputs (.npy), a manifest, the
//            OpenVINO 2022.3 script that runs them on MYRIAD and a README
//   fit      reads the outputs a device produced and writes the profile settings that
//            reproduce them (probe/fit.h), with a table of the evidence
//   run      runs the probes on an external device (docs/devices.md's protocol) and writes
//            their outputs (what fit reads)
//   emulate  the outputs a device profile gives on the probes (what fit reads)
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/config_file.h"
#include "core/error.h"
#include "core/npy.h"
#include "device/profile.h"
#include "eval/external_device.h"
#include "probe/fit.h"
#include "probe/probe_files.h"

namespace dalnas::cli {

namespace {

struct ExportArgs {
  std::string out;
  bool fp32 = false;
  int opset = 11;
};

struct FitArgs {
  std::string outputs;
  std::string base = "myriadx";
  std::string out;
  std::string name;
  bool json = false;
  int threads = 0;
};

struct RunArgs {
  std::string device;
  std::string out;
};

struct EmulateArgs {
  std::string device;
  std::string out;
};

void add_export_cmd(CLI::App& probe) {
  auto* cmd = probe.add_subcommand(
      "export",
      "Write the probe networks (FP16 ONNX), their inputs (.npy), probes.json, "
      "run_probes.py (OpenVINO 2022.3) and README.txt");
  auto a = std::make_shared<ExportArgs>();
  cmd->add_option("--out", a->out, "Folder to write into (created if missing)")->required();
  cmd->add_flag("--fp32", a->fp32, "Also write each probe as FP32 ONNX (<name>.fp32.onnx)");
  cmd->add_option("--opset", a->opset, "ONNX opset (11 to 17)")->check(CLI::Range(11, 17));
  cmd->callback([a]() {
    const std::vector<Probe> probes = make_probes();
    ProbeExportOptions opt;
    opt.fp32 = a->fp32;
    opt.opset = a->opset;
    export_probes(a->out, probes, opt);
    std::printf("wrote %zu probes to %s (README.txt: how to run them on a device)\n", probes.size(),
                a->out.c_str());
    for (const Probe& p : probes) {
      std::string reveals;
      for (const std::string& r : p.reveals) reveals += (reveals.empty() ? "" : ", ") + r;
      std::printf("  %-20s %s\n", p.name.c_str(), reveals.c_str());
    }
  });
}

void add_fit_cmd(CLI::App& probe) {
  auto* cmd = probe.add_subcommand(
      "fit", "Fit a device profile to the outputs a device produced on the probes");
  auto a = std::make_shared<FitArgs>();
  cmd->add_option("--device-outputs", a->outputs, "Folder with <name>.output.npy for every probe")
      ->required();
  cmd->add_option("--base", a->base,
                  "Profile the fit starts from and keeps what the probes cannot settle "
                  "(name or path; default myriadx)");
  cmd->add_option("--out", a->out, "Fitted profile to write (.toml; default DIR/fitted.toml)");
  cmd->add_option("--name", a->name, "Name of the fitted profile (default: the file's stem)");
  cmd->add_option("--threads", a->threads, "Candidates emulated in parallel (0: all cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", a->json, "Print the table as JSON");
  cmd->callback([a]() {
    const std::vector<Probe> probes = make_probes();
    const auto outputs = read_probe_outputs(a->outputs, probes);
    const DeviceProfile base = load_profile(a->base);
    const FitResult fit = fit_probes(probes, outputs, base, a->threads);
    const std::string out =
        a->out.empty() ? (std::filesystem::path(a->outputs) / "fitted.toml").string() : a->out;
    const std::string name = a->name.empty() ? std::filesystem::path(out).stem().string() : a->name;
    const nlohmann::json doc =
        fitted_profile_doc(load_config_file(base.path), fit, name,
                           "Fitted by `dalnas probe fit` to the probe outputs in " + a->outputs +
                               " (base profile " + base.name + ")");
    const std::string toml = to_toml(doc);
    parse_profile(doc, out);  // the written profile loads
    write_file_atomic(out, toml);
    int inexact = 0;
    for (const FitRow& r : fit.rows) inexact += r.determined && !r.exact;
    if (a->json) {
      nlohmann::json rows = nlohmann::json::array();
      for (const FitRow& r : fit.rows) {
        rows.push_back({{"setting", r.key},
                        {"value", r.value},
                        {"base", r.base_value},
                        {"determined", r.determined},
                        {"exact", r.exact},
                        {"mismatches", r.mismatches},
                        {"values", r.values},
                        {"max_diff", std::isinf(r.max_diff) ? -1.0 : r.max_diff},
                        {"also", r.also},
                        {"note", r.note},
                        {"probes", r.probes}});
      }
      std::printf("%s\n", nlohmann::json({{"profile", out}, {"rows", rows}}).dump().c_str());
      return;
    }
    std::printf("%s", format_fit(fit).c_str());
    std::printf(
        "\nwrote %s (base %s; values in parentheses are not determined by the probes "
        "and keep the base's)\n",
        out.c_str(), base.name.c_str());
    if (inexact > 0) {
      std::printf(
          "%d setting(s) matched no candidate exactly: the device does something the "
          "emulator has no setting for (closest shown)\n",
          inexact);
    }
  });
}

void add_emulate_cmd(CLI::App& probe) {
  auto* cmd = probe.add_subcommand(
      "emulate", "Write the outputs a device profile gives on the probes (<name>.output.npy)");
  auto a = std::make_shared<EmulateArgs>();
  cmd->add_option("--device", a->device, "Device profile (name or path)")->required();
  cmd->add_option("--out", a->out, "Folder to write into (created if missing)")->required();
  cmd->callback([a]() {
    const DeviceProfile p = load_profile(a->device);
    const std::vector<Probe> probes = make_probes();
    write_probe_outputs(a->out, probes, p.emulator_config());
    std::printf("wrote the outputs of %zu probes under %s to %s\n", probes.size(), p.name.c_str(),
                a->out.c_str());
  });
}

void add_run_cmd(CLI::App& probe) {
  auto* cmd = probe.add_subcommand(
      "run",
      "Run the probes on an external device (kind \"external\", docs/devices.md) and "
      "write their outputs (<name>.output.npy)");
  auto a = std::make_shared<RunArgs>();
  cmd->add_option("--device", a->device, "external:PROFILE (a name or path)")->required();
  cmd->add_option("--out", a->out, "Folder to write into (created if missing)")->required();
  cmd->callback([a]() {
    const ExternalProfile ext = load_external_profile(external_profile_name(a->device));
    const std::vector<Probe> probes = make_probes();
    std::filesystem::create_directories(a->out);
    for (const Probe& p : probes) {
      const Shape& os = p.graph.nodes[static_cast<size_t>(p.graph.output)].shape;
      std::vector<float> y(static_cast<size_t>(os.numel()));
      ExternalDevice dev(p.graph, ext);
      try {
        dev.run(p.input.data(), 1, p.graph.input, y.data());
      } catch (const Error& e) {
        throw Error("probe '" + p.name + "': " + e.what());
      }
      write_npy((std::filesystem::path(a->out) / (p.name + ".output.npy")).string(),
                {1, os.c, os.h, os.w}, y.data());
      std::printf("  %-20s done\n", p.name.c_str());
    }
    std::printf("wrote the outputs of %zu probes on %s to %s\n", probes.size(), ext.name.c_str(),
                a->out.c_str());
  });
}

}  // namespace

void add_probe(CLI::App& app) {
  auto* probe = app.add_subcommand(
      "probe", "Find a device's numerics: export probe networks, fit a profile to their outputs");
  probe->require_subcommand(1);
  add_export_cmd(*probe);
  add_fit_cmd(*probe);
  add_run_cmd(*probe);
  add_emulate_cmd(*probe);
}

}  // namespace dalnas::cli
