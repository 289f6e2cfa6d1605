#include "probe/probe_files.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/npy.h"
#include "onnx/onnx_export.h"
#include "probe/fit.h"

namespace dalnas {

namespace {

std::string join_path(const std::string& dir, const std::string& file) {
  return (std::filesystem::path(dir) / file).string();
}

std::vector<int64_t> batch_shape(const Shape& s) {
  return {1, s.c, s.h, s.w};
}

const Shape& output_shape(const Probe& p) {
  return p.graph.nodes[static_cast<size_t>(p.graph.output)].shape;
}

}  // namespace

std::string probe_manifest(const std::vector<Probe>& probes, const ProbeExportOptions& opt) {
  nlohmann::json m;
  m["format"] = "dalnas-probes/1";
  m["note"] =
      "Run every <name>.onnx with <name>.input.npy on the device and save its output as "
      "<name>.output.npy (README.txt); then: dalnas probe fit --device-outputs DIR";
  nlohmann::json list = nlohmann::json::array();
  for (const Probe& p : probes) {
    nlohmann::json j;
    j["name"] = p.name;
    j["onnx"] = p.name + ".onnx";
    if (opt.fp32) j["onnx_fp32"] = p.name + ".fp32.onnx";
    j["input"] = p.name + ".input.npy";
    j["output"] = p.name + ".output.npy";
    j["input_shape"] = batch_shape(p.graph.input);
    j["output_shape"] = batch_shape(output_shape(p));
    j["reveals"] = p.reveals;
    j["description"] = p.description;
    list.push_back(j);
  }
  m["probes"] = list;
  nlohmann::json steps = nlohmann::json::array();
  for (const ProbeStep& s : probe_steps()) {
    steps.push_back({{"step", s.name}, {"settings", s.keys}, {"probes", s.probes}});
  }
  m["fit_order"] = steps;
  return m.dump(2) + "\n";
}

std::string probe_script() {
  return R"PY(#!/usr/bin/env python3
# Runs dalnas's numerics probes on a device through OpenVINO 2022.3 LTS (the last release
# with the MYRIAD plugin) and saves <name>.output.npy for `dalnas probe fit`.
# NOT RUN ON HARDWARE by dalnas's authors: written against OpenVINO 2022.3's Python API.
#
#   python3 run_probes.py DIR --out DIR/runs/default
#   python3 run_probes.py DIR --out DIR/runs/no-weights-analysis \
#       --config MYRIAD_ENABLE_WEIGHTS_ANALYSIS=NO
#   python3 run_probes.py DIR --out DIR/runs/no-hw --config VPU_HW_STAGES_OPTIMIZATION=NO
#       (2022.3's name for it: MYRIAD_ENABLE_HW_ACCELERATION=NO)
#   IRs from Model Optimizer instead of the ONNX files:
#   for f in DIR/*.onnx; do mo --input_model $f --data_type FP16 --output_dir DIR/ir; done
#   python3 run_probes.py DIR --models DIR/ir --suffix .xml --out DIR/runs/ir
import argparse, json, os, sys
import numpy as np
from openvino.runtime import Core

p = argparse.ArgumentParser()
p.add_argument("dir", nargs="?", default=os.path.dirname(os.path.abspath(__file__)))
p.add_argument("--device", default="MYRIAD")
p.add_argument("--out", default=None, help="folder for <name>.output.npy (default: DIR)")
p.add_argument("--models", default=None, help="folder of the models (default: DIR)")
p.add_argument("--suffix", default=".onnx", help=".onnx, .fp32.onnx or .xml (IR)")
p.add_argument("--config", nargs="*", default=[], help="plugin settings KEY=VALUE")
a = p.parse_args()
out = a.out or a.dir
models = a.models or a.dir
os.makedirs(out, exist_ok=True)
config = dict(kv.split("=", 1) for kv in a.config)
core = Core()
if config:
    core.set_property(a.device, config)
with open(os.path.join(a.dir, "probes.json")) as f:
    manifest = json.load(f)
failed = 0
for probe in manifest["probes"]:
    name = probe["name"]
    try:
        model = core.read_model(os.path.join(models, name + a.suffix))
        compiled = core.compile_model(model, a.device)
        request = compiled.create_infer_request()
        x = np.ascontiguousarray(np.load(os.path.join(a.dir, probe["input"])), dtype=np.float32)
        request.infer([x])
        y = request.get_output_tensor(0).data.astype(np.float32).copy()
    except Exception as e:  # no stick, a layer the plugin rejects, ...
        print(f"{name}: {e}".replace("\n", " "), file=sys.stderr)
        failed += 1
        continue
    np.save(os.path.join(out, probe["output"]), y)
    print(f"{name}: output {list(y.shape)} saved")
with open(os.path.join(out, "run.json"), "w") as f:
    json.dump({"device": a.device, "config": config, "suffix": a.suffix,
               "failed": failed}, f, indent=2)
sys.exit(1 if failed else 0)
)PY";
}

std::string probe_readme() {
  return R"TXT(dalnas numerics probes
======================

Small networks whose outputs reveal a device's arithmetic: input conversion, FP16
rounding of ties, overflow, subnormals, accumulation width and blocking, weight
pre-scaling, tiling over input channels, interpolation, activations, pooling borders.
probes.json lists them, what each reveals, and the order in which they are fitted.

  <name>.onnx         FP16 ONNX model (float32 input and output, Casts inside)
  <name>.input.npy    its input, float32 [1, C, H, W]
  <name>.output.npy   what the device produced (you write it), float32 [1, C, H, W]

On an NCS2 with OpenVINO 2022.3 (pip install openvino==2022.3.*), stick plugged in:

  python3 run_probes.py . --out runs/default
  dalnas probe fit --device-outputs runs/default --out myriadx-probed.toml

The same with pre-scaling switched off, which should fit neural_engine.prescale = false
and so confirms that the pre-scaling probes see the pre-scaling:

  python3 run_probes.py . --out runs/no-weights-analysis \
      --config MYRIAD_ENABLE_WEIGHTS_ANALYSIS=NO
  dalnas probe fit --device-outputs runs/no-weights-analysis

and with the hardware stages off (every layer on the SHAVE cores), which isolates what
the neural engine does from what the SHAVE software does: compare the two fits.

  python3 run_probes.py . --out runs/no-hw --config VPU_HW_STAGES_OPTIMIZATION=NO
  (OpenVINO 2022.3's name for that key: MYRIAD_ENABLE_HW_ACCELERATION=NO)
  dalnas probe fit --device-outputs runs/no-hw

Model Optimizer's IR instead of the ONNX files:

  for f in *.onnx; do mo --input_model "$f" --data_type FP16 --output_dir ir; done
  python3 run_probes.py . --models ir --suffix .xml --out runs/ir

Any other runtime works too: run each <name>.onnx on <name>.input.npy and np.save the
output as <name>.output.npy in one folder.

NOT RUN ON HARDWARE: run_probes.py and these commands were written from OpenVINO
2022.3's documentation and source and have not been run on a Myriad X by dalnas's
authors; the fit itself is tested by emulating every device profile and fitting its
settings back (tests/probe/test_fit.cpp).
)TXT";
}

void export_probes(const std::string& dir, const std::vector<Probe>& probes,
                   const ProbeExportOptions& opt) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the folder (" + ec.message() + ")");
  for (const Probe& p : probes) {
    ExportOptions eo;
    eo.fp16 = true;
    eo.opset = opt.opset;
    eo.metadata["dalnas.probe"] = p.name;
    eo.metadata["dalnas.probe_reveals"] = p.reveals;
    write_onnx(p.graph, join_path(dir, p.name + ".onnx"), eo);
    if (opt.fp32) {
      eo.fp16 = false;
      write_onnx(p.graph, join_path(dir, p.name + ".fp32.onnx"), eo);
    }
    write_npy(join_path(dir, p.name + ".input.npy"), batch_shape(p.graph.input), p.input.data());
  }
  write_file_atomic(join_path(dir, "probes.json"), probe_manifest(probes, opt));
  write_file_atomic(join_path(dir, "run_probes.py"), probe_script());
  write_file_atomic(join_path(dir, "README.txt"), probe_readme());
}

void write_probe_outputs(const std::string& dir, const std::vector<Probe>& probes,
                         const EmulatorConfig& config) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the folder (" + ec.message() + ")");
  for (const Probe& p : probes) {
    const std::vector<float> y = emulate_probe(p, config);
    write_npy(join_path(dir, p.name + ".output.npy"), batch_shape(output_shape(p)), y.data());
  }
}

std::map<std::string, std::vector<float>> read_probe_outputs(const std::string& dir,
                                                             const std::vector<Probe>& probes) {
  if (!std::filesystem::is_directory(dir)) throw Error(dir + ": no such folder");
  std::map<std::string, std::vector<float>> out;
  for (const Probe& p : probes) {
    const std::string path = join_path(dir, p.name + ".output.npy");
    if (!std::filesystem::exists(path)) {
      throw Error(path + ": no such file (the output of probe '" + p.name + "')");
    }
    NpyArray a = read_npy(path);
    const Shape& s = output_shape(p);
    const std::vector<int64_t> want = batch_shape(s);
    const std::vector<int64_t> unbatched(want.begin() + 1, want.end());
    if (a.shape != want && a.shape != unbatched) {
      throw Error(path + ": shape " + shape_string(a.shape) + ", expected " + shape_string(want) +
                  " (the output of probe '" + p.name + "')");
    }
    out[p.name] = std::move(a.data);
  }
  return out;
}

}  // namespace dalnas
