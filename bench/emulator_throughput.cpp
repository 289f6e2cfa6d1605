// Emulator throughput: the `reference` genome, 4 bands, S×S inputs (default 256), images/s
// of the device emulator per numerics mode and kernel ISA, beside libtorch's FP32 forward
// of the same network in the same run, at the same thread count. Targets (issue): fp16
// storage + fp32 accumulation ≥ 1.0× libtorch FP32 with the AVX2 kernels as well as the
// AVX-512 ones; fp16 accumulation ≥ 0.25×; int8 emulation (int8-tflite and
// onnxruntime-int8, every SIMD int8 path: AVX-512 VNNI and, through DALNAS_INT8_ISA=avx2,
// AVX2 on the same machine) ≥ 2.0×. The base is libtorch's forward with row-major
// activations (its default, as when the targets were set); the same forward with
// channels-last activations (nn/layout.h, faster) is printed beside it with the factor that
// turns every ratio into one against it.
//
//   build/bench/emulator_throughput [--threads T] [--images N] [--reps R] [--size S]
//                                   [--scalar-images M] [--isa all|avx2|avx512]
//                                   [--cpu-time on] [--only all|fp16|int8]
//
// --only fp16 runs the FP16 emulator's modes only, --only int8 the integer and mixed ones
// (libtorch's forward, the ratios' base, always runs).
// --isa all (default) runs every mode with each SIMD ISA this CPU has (AVX2 forced through
// EmulatorConfig.isa on an AVX-512 CPU). Every mode runs one warm-up batch, then R timed
// batches of N images; the median is reported. The scalar path (slow) runs M images
// (default 1). libtorch picks its own kernels (oneDNN, ATen); to compare with libtorch as
// on an AVX2-only machine, run with ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2
// (printed in the header when set).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "bench_args.h"
#include "core/allocator.h"
#include "core/error.h"
#include "core/genome.h"
#include "device/emulator.h"
#include "device/graph.h"
#include "device/int8_emulator.h"
#include "device/lower.h"
#include "device/numerics.h"
#include "device/profile.h"
#include "nn/layout.h"
#include "nn/network.h"
#include "precision/half.h"

using namespace dalnas;

namespace {

// Wall time, or with --cpu-time the CPU time of the process (all its threads): on a
// shared, busy machine, single-threaded runs (--threads 1) then measure the work done
// rather than the time slices the scheduler granted.
bool g_cpu_time = false;

double now_seconds() {
  if (g_cpu_time) {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Median time (seconds) of `reps` calls of f, after one warm-up call.
double median_seconds(int reps, const std::function<void()>& f) {
  f();
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    const double t0 = now_seconds();
    f();
    t.push_back(now_seconds() - t0);
  }
  std::sort(t.begin(), t.end());
  const size_t n = t.size();
  return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

Numerics numerics(Storage s, Accumulation a) {
  Numerics n;
  n.storage = s;
  n.acc = a;
  return n;
}

EmulatorConfig uniform(const Numerics& n) {
  EmulatorConfig c;
  c.nce = n;
  c.shave = n;
  return c;
}

Accumulation acc(Accumulation::Kind k, int block = 0) {
  Accumulation a;
  a.kind = k;
  a.block = block;
  return a;
}

struct Mode {
  std::string name;
  EmulatorConfig config;
  int images;     // per timed batch
  double target;  // minimum ratio to libtorch FP32; 0 = none
  bool per_isa;   // run once per SIMD ISA (else once, as configured)
};

const char* env_or(const char* name, const char* otherwise) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : otherwise;
}

int run_bench(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int images = 8, reps = 3, size = 256, scalar_images = 1;
  std::string isa_opt = "all", only = "all";
  const int bands = 4;
  bench::parse_pairs(argc, argv,
                     "usage: emulator_throughput [--threads T] [--images N] [--reps N] "
                     "[--size S] [--scalar-images N] [--isa all|avx512|avx2] "
                     "[--cpu-time on|off] [--only all|fp16|int8]",
                     [&](const std::string& k, const std::string& v) {
                       if (k == "--threads")
                         threads = bench::parse_int(k, v, 1);
                       else if (k == "--images")
                         images = bench::parse_int(k, v, 1);
                       else if (k == "--reps")
                         reps = bench::parse_int(k, v, 1);
                       else if (k == "--size")
                         size = bench::parse_int(k, v, 16);
                       else if (k == "--scalar-images")
                         scalar_images = bench::parse_int(k, v, 1);
                       else if (k == "--isa")
                         isa_opt = v;
                       else if (k == "--cpu-time")
                         g_cpu_time = v == "1" || v == "on";
                       else if (k == "--only")
                         only = v;
                       else
                         return false;
                       return true;
                     });
  if (only != "all" && only != "fp16" && only != "int8")
    throw Error("--only: '" + only + "' is not all, fp16 or int8");
  std::vector<KernelIsa> isas;
  if (isa_opt == "all" || isa_opt == "avx512") {
    if (cpu_has_avx512()) {
      isas.push_back(KernelIsa::AVX512);
    } else if (isa_opt == "avx512") {
      throw Error("--isa avx512: this CPU lacks AVX-512 F/DQ/BW/VL");
    }
  }
  if (isa_opt == "all" || isa_opt == "avx2") {
    if (cpu_has_avx2_f16c()) {
      isas.push_back(KernelIsa::AVX2);
    } else if (isa_opt == "avx2") {
      throw Error("--isa avx2: this CPU lacks AVX2 + F16C");
    }
  }
  if (isa_opt != "all" && isa_opt != "avx2" && isa_opt != "avx512")
    throw Error("--isa: '" + isa_opt + "' is not all, avx2 or avx512");
  torch::set_num_threads(threads);

  // The network, eval mode, with BatchNorm statistics perturbed like a trained network's.
  const Genome g = resolve_arch("reference", bands);
  torch::manual_seed(0);
  Network net = build_network(g, bands);
  {
    torch::NoGradGuard ng;
    for (auto& m : net->modules(/*include_self=*/false)) {
      if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) {
        bn->running_mean.copy_(0.1 * torch::randn_like(bn->running_mean));
        bn->running_var.copy_(0.8 + 0.4 * torch::rand_like(bn->running_var));
        bn->weight.copy_(1.0 + 0.1 * torch::randn_like(bn->weight));
        bn->bias.copy_(0.05 * torch::randn_like(bn->bias));
      }
    }
  }
  net->eval();

  LowerOptions lo;  // norm_mean / norm_std empty: the (already normalised) input as is
  DeviceGraph graph = lower(net, lo);
  const Shape in{bands, size, size};
  graph.infer_shapes(in);

  const int n_max = std::max(images, scalar_images);
  const torch::Tensor x = torch::randn({n_max, bands, size, size}).contiguous();
  const float* xp = x.data_ptr<float>();

  // libtorch FP32 forward: row-major activations (libtorch's default, the ratios' base as
  // the targets were set), and channels-last (dalnas's training layout, nn/layout.h).
  const torch::Tensor xb = x.narrow(0, 0, images).contiguous();
  torch::Tensor ref;
  const bool layout_was = channels_last_activations();
  set_channels_last_activations(false);
  const double t_torch = median_seconds(reps, [&] {
    torch::NoGradGuard ng;
    ref = net->forward(xb);
  });
  set_channels_last_activations(true);
  const double t_torch_cl = median_seconds(reps, [&] {
    torch::NoGradGuard ng;
    net->forward(xb);
  });
  set_channels_last_activations(layout_was);
  const double ips_torch = images / t_torch, ips_torch_cl = images / t_torch_cl;

  const DeviceProfile myriad = load_profile("myriadx");
  EmulatorConfig scalar = uniform(numerics(Storage::FP16, acc(Accumulation::FP32)));
  scalar.simd = false;
  scalar.isa = KernelIsa::Scalar;
  Numerics ie = numerics(Storage::FP16, acc(Accumulation::FP32));
  ie.half = kIeHalf;
  Numerics ie252 = numerics(Storage::FP16, acc(Accumulation::FP16Blocked, 252));
  ie252.half = kIeHalf;
  const std::vector<Mode> modes = {
      {"fp32 storage, fp32 acc", uniform(numerics(Storage::FP32, acc(Accumulation::FP32))), images,
       0.0, true},
      {"fp16 storage, fp32 acc", uniform(numerics(Storage::FP16, acc(Accumulation::FP32))), images,
       1.0, true},
      {"fp16 storage, fp16-blocked:252",
       uniform(numerics(Storage::FP16, acc(Accumulation::FP16Blocked, 252))), images, 0.0, true},
      {"fp16 storage, fp16-blocked:32",
       uniform(numerics(Storage::FP16, acc(Accumulation::FP16Blocked, 32))), images, 0.0, true},
      {"fp16 storage, fp16-blocked:8",
       uniform(numerics(Storage::FP16, acc(Accumulation::FP16Blocked, 8))), images, 0.0, true},
      {"fp16 storage, fp16 acc", uniform(numerics(Storage::FP16, acc(Accumulation::FP16))), images,
       0.25, true},
      {"ie half, fp32 acc", uniform(ie), images, 0.0, true},
      {"ie half, fp16-blocked:252", uniform(ie252), images, 0.0, true},
      {"profile myriadx", myriad.emulator_config(), images, 0.0, true},
      {"scalar: fp16 storage, fp32 acc", scalar, scalar_images, 0.0, false},
  };

  std::printf(
      "emulator_throughput: genome reference (%s), %dx%dx%d, %d images x %d reps (median), "
      "%d threads, %u CPU cores, %.1f MMAC/image, %s time\n",
      g.str().c_str(), bands, size, size, images, reps, threads,
      std::thread::hardware_concurrency(), graph.macs() / 1e6, g_cpu_time ? "CPU" : "wall");
  __builtin_cpu_init();
  std::printf(
      "CPU: avx2 %d, fma %d, f16c %d, avx512f/dq/bw/vl %d, avx512fp16 %d (not used); "
      "emulator kernels run: %s\n",
      __builtin_cpu_supports("avx2") != 0, __builtin_cpu_supports("fma") != 0,
      __builtin_cpu_supports("f16c") != 0, cpu_has_avx512() ? 1 : 0,
      __builtin_cpu_supports("avx512fp16") != 0, isa_opt.c_str());
  std::printf("libtorch: ONEDNN_MAX_CPU_ISA=%s ATEN_CPU_CAPABILITY=%s (unset: its best ISA)\n",
              env_or("ONEDNN_MAX_CPU_ISA", env_or("DNNL_MAX_CPU_ISA", "unset")),
              env_or("ATEN_CPU_CAPABILITY", "unset"));
  std::printf("%-32s %-7s %10s %8s  %s\n", "mode", "isa", "images/s", "ratio", "target");
  std::printf("%-32s %-7s %10.2f %8.2f\n", "libtorch FP32 forward", "-", ips_torch, 1.0);
  std::printf("%-32s %-7s %10.2f %8.2f     (the emulator's ratios to it: x %.2f)\n",
              "libtorch FP32, channels-last", "-", ips_torch_cl, ips_torch_cl / ips_torch,
              ips_torch / ips_torch_cl);

  struct Row {
    std::string mode;
    KernelIsa isa;
    double ratio;
  };
  std::vector<Row> rows;
  for (const Mode& m : modes) {
    if (only == "int8") break;
    std::vector<KernelIsa> run_isas = m.per_isa ? isas : std::vector<KernelIsa>{m.config.isa};
    for (KernelIsa isa : run_isas) {
      EmulatorConfig cfg = m.config;
      cfg.isa = isa;
      const Emulator emu(graph, cfg);
      std::vector<float> out;
      const double t = median_seconds(m.images == 1 ? 1 : reps,
                                      [&] { out = emu.run_batch(xp, m.images, in, threads); });
      const double ips = m.images / t;
      const double ratio = ips / ips_torch;
      rows.push_back({m.name, emu.isa(), ratio});
      char target[48] = "";
      if (m.target > 0)
        std::snprintf(target, sizeof target, "target >= %.2f  %s", m.target,
                      ratio >= m.target ? "PASS" : "below");
      std::string note;
      if (m.name == "fp32 storage, fp32 acc") {
        // Sanity check: FP32 emulation against libtorch on the same images.
        const torch::Tensor e =
            torch::from_blob(out.data(), ref.sizes(), torch::kFloat).narrow(0, 0, images);
        const double d = (e - ref).abs().max().item<double>();
        const double s = ref.abs().max().item<double>();
        char buf[96];
        std::snprintf(buf, sizeof buf, "; max |emu - torch| %.2e (|torch| max %.2f)", d, s);
        note += buf;
      }
      std::printf("%-32s %-7s %10.2f %8.2f  %-20s [%d img%s]\n", m.name.c_str(),
                  to_string(emu.isa()).c_str(), ips, ratio, target, m.images, note.c_str());
      std::fflush(stdout);
    }
  }
  // Integer emulation (issue 16): post-training int8 of the same graph, calibrated on the
  // benchmark images themselves (not timed), best int8 ISA and the scalar reference.
  // Target: >= 2.0x libtorch FP32.
  // Paths: the best int8 ISA, AVX2 where the best is AVX-512 VNNI (DALNAS_INT8_ISA caps the
  // path: the AVX2 figure on AVX-512 machines), and the scalar reference.
  const bool vnni = best_int8_isa() == Int8Isa::AVX512VNNI;
  // A cap set from outside (DALNAS_INT8_ISA=avx2 on the command line) holds for every row.
  const char* outside_cap = std::getenv("DALNAS_INT8_ISA");
  for (Int8Format format : {Int8Format::Tflite, Int8Format::OnnxRuntime}) {
    if (only == "fp16") break;
    bool best_done = false;  // the best ISA once, also where it is AVX2 or scalar
    for (Int8Isa isa : {best_int8_isa(), Int8Isa::AVX2, Int8Isa::Scalar}) {
      const bool best = isa == best_int8_isa();
      if (best && best_done) continue;
      best_done = best_done || best;
      if (!best && isa == Int8Isa::AVX2 && !vnni) continue;  // AVX2 is already the best
      if (!best && isa != Int8Isa::Scalar && !int8_isa_supported(isa)) continue;
      Int8Config ic;
      ic.format = format;
      ic.weight_max = format == Int8Format::OnnxRuntime ? 64 : 127;
      ic.simd = isa != Int8Isa::Scalar;
      if (!best && isa == Int8Isa::AVX2 && !outside_cap) setenv("DALNAS_INT8_ISA", "avx2", 1);
      const DeviceGraph form = int8_form(graph, in);
      const Int8Emulator emu(form, calibrate_ranges(form, xp, images, in, ic), ic);
      if (!outside_cap) unsetenv("DALNAS_INT8_ISA");
      const int n = isa == Int8Isa::Scalar ? scalar_images : images;
      std::vector<float> out;
      const double t =
          median_seconds(n == 1 ? 1 : reps, [&] { out = emu.run_batch(xp, n, in, threads); });
      const double ratio = n / t / ips_torch;
      const std::string name =
          to_string(format) + (best ? "" : std::string(" (") + to_string(isa) + ")");
      rows.push_back({name, KernelIsa::Scalar, ratio});
      char target[48] = "";
      if (isa != Int8Isa::Scalar)
        std::snprintf(target, sizeof target, "target >= 2.00  %s", ratio >= 2.0 ? "PASS" : "below");
      std::printf("%-32s %-7s %10.2f %8.2f  %-20s [%d img]\n", name.c_str(), to_string(emu.isa()),
                  n / t, ratio, target, n);
      std::fflush(stdout);
    }
  }
  // Mixed precision (devices/mixed-a8w4.toml's rule): int4 weights with the first block and
  // the head int8 (the int8 kernels, narrower weights), then with those two as FP16 layers
  // (the FP16 emulator between DEQUANTIZE and QUANTIZE). No target: what a float layer costs.
  for (LayerPrecision ends : {LayerPrecision::Int8, LayerPrecision::FP16}) {
    if (only == "fp16") break;
    Int8Config ic;
    ic.precision = LayerPrecision::Int4W;
    ic.first_last = ends;
    const DeviceGraph form = int8_form(graph, in);
    const Int8Emulator emu(form, calibrate_ranges(form, xp, images, in, ic), ic);
    std::vector<float> out;
    const double t = median_seconds(reps, [&] { out = emu.run_batch(xp, images, in, threads); });
    const std::string name = std::string("mixed int4w, ends ") + to_string(ends);
    std::printf("%-32s %-7s %10.2f %8.2f  %-20s [%d img]\n", name.c_str(), to_string(emu.isa()),
                images / t, images / t / ips_torch, "", images);
    std::fflush(stdout);
  }
  std::printf("summary (ratio to libtorch FP32):");
  for (const Row& r : rows) {
    if (r.mode == "fp16 storage, fp32 acc" || r.mode == "fp16 storage, fp16-blocked:252") {
      std::printf("  %s [%s] %.2f;", r.mode.c_str(), to_string(r.isa).c_str(), r.ratio);
    } else if ((r.mode.rfind("int8-tflite", 0) == 0 || r.mode.rfind("onnxruntime-int8", 0) == 0) &&
               r.mode.find("scalar") == std::string::npos) {
      std::printf("  %s %.2f;", r.mode.c_str(), r.ratio);
    }
  }
  std::printf("\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  dalnas::tune_allocator();
  try {
    return run_bench(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "emulator_throughput: %s\n", e.what());
    return 1;
  }
}
