// A stand-in for an external device (docs/devices.md), for the tests: loads the exported
// model with dalnas's own ONNX import and answers with the emulator's outputs under a device
// profile, as a real device's wrapper script would with its runtime.
//
//   dalnas_stub_device [--profile NAME|PATH] [--out-dtype f4|f2] MODEL INPUTS OUTPUTS [TIMING]
//
// INPUTS: float32 [N, C, H, W]; OUTPUTS: [N, C', H', W'] (float32, or float16 with
// --out-dtype f2); TIMING (optional): {"latency_ms": mean milliseconds per tile}.
// Exit status 0 on success, 2 on a usage error, 1 on any other error (message on stderr).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/npy.h"
#include "device/emulator.h"
#include "onnx/onnx_import.h"
#include "device/profile.h"

int main(int argc, char** argv) {
  std::string profile = "fp32", out_dtype = "f4";
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--profile" || a == "--out-dtype") && i + 1 < argc) {
      (a == "--profile" ? profile : out_dtype) = argv[++i];
    } else {
      pos.push_back(a);
    }
  }
  if (pos.size() < 3 || pos.size() > 4 || (out_dtype != "f4" && out_dtype != "f2")) {
    std::fprintf(stderr,
                 "usage: dalnas_stub_device [--profile P] [--out-dtype f4|f2] MODEL INPUTS "
                 "OUTPUTS [TIMING]\n");
    return 2;
  }
  try {
    using namespace dalnas;
    const NpyArray in = read_npy(pos[1]);
    if (in.shape.size() != 4) throw Error(pos[1] + ": expected N x C x H x W");
    const int n = static_cast<int>(in.shape[0]);
    const Shape s{static_cast<int>(in.shape[1]), static_cast<int>(in.shape[2]),
                  static_cast<int>(in.shape[3])};
    const DeviceGraph g = import_onnx(pos[0], &s);
    const Emulator emu(g, load_profile(profile).emulator_config());
    const Shape o = emu.output_shape(s);
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<float> out = emu.run_batch(in.data.data(), n, s, 1);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    write_npy(pos[2], {n, o.c, o.h, o.w}, out.data(),
              out_dtype == "f2" ? NpyDtype::Float16 : NpyDtype::Float32);
    if (pos.size() == 4) {
      write_file_atomic(pos[3], "{\"latency_ms\": " + std::to_string(ms / std::max(n, 1)) + "}\n");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stub device: %s\n", e.what());
    return 1;
  }
  return 0;
}
