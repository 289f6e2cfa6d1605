// The int8 convolution kernels (quant/int8_conv.h) one by one: GMAC/s (direct-convolution
// multiply-accumulates per second, whatever the algorithm) of every path this CPU has, on
// the dense convolutions of the `reference` genome on 256×256 inputs (a shape table below)
// and on --shape C_IN,C_OUT,H,W,K,S given by hand. The AVX2 path takes an exact integer
// Winograd F(2×2, 3×3) for 3×3 stride-1 convolutions where that is faster; both of its
// branches are timed beside it ("avx2 dir"; "avx2 win" where Winograd is exact, else 0),
// and every path's output is checked against the AVX2 direct one, bit for bit, before it
// is timed. One thread; the median CPU time (this thread's, so that the figures hold beside
// other work) of --reps timed runs after a warm-up; the scalar reference runs once.
//
//   build/bench/int8_conv [--reps R] [--shape C_IN,C_OUT,H,W,K,S]...
#include "quant/int8_conv.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_info.h"
#include "quant/fixed_point.h"

using namespace dalnas;

namespace {

struct Shape {
  int c_in, c_out, h, w, k, s;
  const char* what;
};

// This thread's CPU time (the figures hold on a machine busy with other work).
double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

double median_seconds(const std::function<void()>& run, int reps) {
  run();  // warm-up (buffers, caches)
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const double t0 = thread_seconds();
    run();
    t.push_back(thread_seconds() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "int8_conv: %s\nusage: int8_conv [--reps R] [--shape C_IN,C_OUT,H,W,K,S]...\n",
               why.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 7;
  std::vector<Shape> shapes;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(a + ": needs a value");
    const std::string v = argv[++i];
    if (a == "--reps") {
      reps = std::atoi(v.c_str());
      if (reps < 1) usage("--reps: '" + v + "' is not a count >= 1");
    } else if (a == "--shape") {
      Shape s{0, 0, 0, 0, 0, 0, "given"};
      if (std::sscanf(v.c_str(), "%d,%d,%d,%d,%d,%d", &s.c_in, &s.c_out, &s.h, &s.w, &s.k, &s.s) !=
              6 ||
          s.c_in < 1 || s.c_out < 1 || s.h < 1 || s.w < 1 || s.k < 1 || s.s < 1) {
        usage("--shape: '" + v + "' is not six counts C_IN,C_OUT,H,W,K,S");
      }
      shapes.push_back(s);
    } else {
      usage("unknown option " + a);
    }
  }
  if (shapes.empty()) {
    shapes = {
        // `reference` (nn/describe.cpp): its ResNet blocks and decoder convolutions
        {4, 16, 256, 256, 3, 1, "enc0 conv1"},  {16, 16, 256, 256, 3, 1, "enc0 conv2, dec2"},
        {16, 32, 128, 128, 3, 1, "enc1 conv1"}, {32, 32, 128, 128, 3, 1, "enc1 conv2"},
        {96, 16, 64, 64, 3, 1, "dec0 conv1"},   {16, 16, 64, 64, 3, 1, "dec0 conv2"},
        {64, 16, 128, 128, 3, 1, "dec1 conv1"}, {16, 16, 128, 128, 3, 1, "dec1 conv2"},
        {32, 16, 256, 256, 3, 1, "dec2 conv1"}, {16, 32, 128, 128, 1, 1, "enc1 shortcut 1×1"},
    };
  }
  const CpuIdentity cpu = this_cpu();
  std::printf(
      "int8_conv: %s (widest ISA %s; paths: avx2 %s, avx512vnni %s), 1 thread, median "
      "of %d runs; GMAC/s counts direct-convolution MACs\n",
      cpu.model.c_str(), cpu.isa.c_str(), int8_isa_supported(Int8Isa::AVX2) ? "yes" : "no",
      int8_isa_supported(Int8Isa::AVX512VNNI) ? "yes" : "no", reps);
  std::printf("%-20s %-18s %7s %8s %8s %8s %8s  %s\n", "shape", "", "scalar", "avx2 dir",
              "avx2 win", "avx2", "vnni", "avx2/dir");
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(-128, 127), wbyte(-127, 127);
  for (const Shape& s : shapes) {
    std::vector<int8_t> in(static_cast<size_t>(s.c_in) * s.h * s.w),
        w(static_cast<size_t>(s.c_out) * s.c_in * s.k * s.k);
    for (auto& v : in) v = static_cast<int8_t>(byte(rng));
    for (auto& v : w) v = static_cast<int8_t>(wbyte(rng));
    std::vector<int32_t> bias(static_cast<size_t>(s.c_out), 1000), mult;
    std::vector<int> shift;
    for (int oc = 0; oc < s.c_out; ++oc) {
      const QuantizedMultiplier q = QuantizeMultiplier(1.0 / 4096);
      mult.push_back(q.multiplier);
      shift.push_back(q.shift);
    }
    Int8ConvArgs a;
    a.in = in.data();
    a.c_in = s.c_in;
    a.h = s.h;
    a.w = s.w;
    a.in_zero_point = -3;
    a.weight = w.data();
    a.bias = bias.data();
    a.c_out = s.c_out;
    a.kernel = s.k;
    a.stride = s.s;
    a.pad = s.k / 2;
    a.multiplier = mult.data();
    a.shift = shift.data();
    a.out_zero_point = 5;
    const size_t n = static_cast<size_t>(s.c_out) * a.out_h() * a.out_w();
    const double macs = static_cast<double>(n) * s.c_in * s.k * s.k;
    std::vector<int8_t> ref(n), out(n);
    auto gmacs = [&](const std::function<void()>& f, int r) {
      return macs / median_seconds(f, r) * 1e-9;
    };
    const bool avx2 = int8_isa_supported(Int8Isa::AVX2);
    const bool vnni = int8_isa_supported(Int8Isa::AVX512VNNI);
    a.out = ref.data();
    if (avx2) {
      int8_conv_avx2_direct(a);
    } else {
      int8_conv(a, Int8Isa::Scalar);
    }
    a.out = out.data();
    auto checked = [&](const char* path, const std::function<void()>& f) {
      std::fill(out.begin(), out.end(), int8_t{0x55});
      f();
      if (out != ref) {
        std::fprintf(stderr, "int8_conv: %s differs from avx2 direct on %s\n", path, s.what);
        std::exit(1);
      }
    };
    const double scalar = gmacs([&] { int8_conv(a, Int8Isa::Scalar); }, 1);
    checked("scalar", [&] { int8_conv(a, Int8Isa::Scalar); });
    double dir = 0, win = 0, av = 0, vn = 0;
    if (avx2) {
      dir = gmacs([&] { int8_conv_avx2_direct(a); }, reps);
      if (int8_winograd_exact(a) && a.c_in != a.groups) {
        checked("avx2 winograd", [&] { int8_conv_avx2_winograd(a); });
        win = gmacs([&] { int8_conv_avx2_winograd(a); }, reps);
      }
      checked("avx2", [&] { int8_conv(a, Int8Isa::AVX2); });
      av = gmacs([&] { int8_conv(a, Int8Isa::AVX2); }, reps);
    }
    if (vnni) {
      checked("avx512vnni", [&] { int8_conv(a, Int8Isa::AVX512VNNI); });
      vn = gmacs([&] { int8_conv(a, Int8Isa::AVX512VNNI); }, reps);
    }
    char dims[64];
    std::snprintf(dims, sizeof dims, "%d>%d %dx%d k%d s%d", s.c_in, s.c_out, s.h, s.w, s.k, s.s);
    std::printf("%-20s %-18s %7.2f %8.2f %8.2f %8.2f %8.2f  %.2fx%s\n", dims, s.what, scalar, dir,
                win, av, vn, dir > 0 ? av / dir : 0.0,
                avx2 && int8_conv_avx2_uses_winograd(a) ? " (winograd)" : "");
  }
  return 0;
}
