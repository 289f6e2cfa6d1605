#pragma once
// The probes as files: what `dalnas probe export` writes for a user with a device, and
// what `dalnas probe fit` reads back.
//
//   DIR/<name>.onnx          FP16 ONNX (onnx/onnx_export.h: float32 interface, Casts
//                            inside), opset 11; with fp32: also DIR/<name>.fp32.onnx
//   DIR/<name>.input.npy     float32 [1, C, H, W]
//   DIR/<name>.output.npy    what the device produced: float32 or float16, [1, C, H, W]
//                            or [C, H, W] (written by the user's script, or by
//                            write_probe_outputs for an emulated device)
//   DIR/probes.json          manifest: format, probes (name, onnx, input, output, shapes,
//                            reveals, description), the fitting steps
//   DIR/run_probes.py        OpenVINO 2022.3 script that runs every probe on MYRIAD
//   DIR/README.txt           how to run them and fit the result
#include <map>
#include <string>
#include <vector>

#include "device/numerics.h"
#include "probe/probe.h"

namespace dalnas {

struct ProbeExportOptions {
  bool fp32 = false;  // also <name>.fp32.onnx
  int opset = 11;
};

// Writes the files above (not the outputs) into `dir` (created if missing).
void export_probes(const std::string& dir, const std::vector<Probe>& probes,
                   const ProbeExportOptions& opt = {});

// Writes DIR/<name>.output.npy as the emulator computes them under `config`.
void write_probe_outputs(const std::string& dir, const std::vector<Probe>& probes,
                         const EmulatorConfig& config);

// Reads DIR/<name>.output.npy for every probe. Throws dalnas::Error "<file>: <problem>"
// for a missing or malformed file or a shape other than the probe's output.
std::map<std::string, std::vector<float>> read_probe_outputs(const std::string& dir,
                                                             const std::vector<Probe>& probes);

// The texts written into DIR.
std::string probe_manifest(const std::vector<Probe>& probes, const ProbeExportOptions& opt);
std::string probe_script();
std::string probe_readme();

}  // namespace dalnas
