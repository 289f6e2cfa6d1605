// Training throughput: the `reference` genome, 4 bands, 128×128 chips, batch 16, one Adam
// step with focal+Dice loss, in dalnas (libtorch C++) and in PyTorch (Python) in the same run.
// Prints images/s, achieved GFLOP/s (3 × forward MACs × 2 per image) and the ratio; dalnas
// in both activation layouts (nn/layout.h), PyTorch as a user writes it (row-major) and with
// model and input in channels_last.
//
//   build/bench/train_throughput [--genome G] [--steps N] [--threads T] [--precision P]
//                                [--device PROFILE]   (the profile --precision aligned follows)
//                                [--qat-ranges ema|learned]  (integer profiles: LSQ ranges;
//                                the ranges' own optimiser step is not timed)
//                                [--qat-weights max|learned]  (integer profiles: LSQ
//                                weight steps; their optimiser step is not timed either)
#include <torch/torch.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "bench_args.h"
#include "core/allocator.h"
#include "core/genome.h"
#include "device/alignment.h"
#include "nn/describe.h"
#include "nn/layout.h"
#include "nn/network.h"
#include "train/loss.h"

using namespace dalnas;

namespace {
std::string run(const std::string& cmd) {
  std::array<char, 4096> buf;
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  if (!p) return out;
  while (fgets(buf.data(), buf.size(), p.get())) out += buf.data();
  return out;
}
}  // namespace

int run_bench(int argc, char** argv) {
  dalnas::tune_allocator();
  std::string genome = "reference", precision = "fp32", device = "myriadx", qat_ranges = "ema",
              qat_weights = "max";
  int steps = 20, warmup = 3, batch = 16, size = 128, bands = 4;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  bench::parse_pairs(
      argc, argv,
      "usage: train_throughput [--genome G] [--steps N] [--threads T] [--precision P] "
      "[--device PROFILE] [--batch B] [--size S] [--qat-ranges ema|learned] "
      "[--qat-weights max|learned]",
      [&](const std::string& k, const std::string& v) {
        if (k == "--genome")
          genome = v;
        else if (k == "--steps")
          steps = bench::parse_int(k, v, 1);
        else if (k == "--threads")
          threads = bench::parse_int(k, v, 1);
        else if (k == "--precision")
          precision = v;
        else if (k == "--device")
          device = v;
        else if (k == "--batch")
          batch = bench::parse_int(k, v, 1);
        else if (k == "--size")
          size = bench::parse_int(k, v, 16);
        else if (k == "--qat-ranges")
          qat_ranges = v;
        else if (k == "--qat-weights")
          qat_weights = v;
        else
          return false;
        return true;
      });
  torch::set_num_threads(threads);
  const Genome g = resolve_arch(genome, bands);
  auto policy = std::make_shared<PrecisionPolicy>();
  policy->mode = parse_precision(precision);
  if (policy->mode == PrecisionMode::Aligned) {
    policy->align = alignment_for(load_profile(device));
    precision += " (" + device + ")";
    policy->learned_ranges = qat_ranges == "learned";
    policy->learned_weight_steps = qat_weights == "learned";
    if (policy->align.int8) precision += ", ranges " + qat_ranges + ", weights " + qat_weights;
  }
  auto x = torch::randn({batch, bands, size, size});
  auto t = (torch::rand({batch, 1, size, size}) > 0.97).to(torch::kFloat);
  LossOptions lo;
  // The training step with activations channels-last or row-major (nn/layout.h), from the
  // same initial weights; fwd / fwdbwd: forward only, and forward + backward without loss
  // and optimiser.
  struct Timing {
    double ips = 0, fwd = 0, fwdbwd = 0;
  };
  auto time_layout = [&](bool channels_last) {
    set_channels_last_activations(channels_last);
    torch::manual_seed(0);
    Network net = build_network(g, bands, policy);
    net->train();
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3).weight_decay(1e-4));
    std::chrono::steady_clock::time_point t0;
    for (int i = 0; i < warmup + steps; ++i) {
      if (i == warmup) t0 = std::chrono::steady_clock::now();
      opt.zero_grad();
      auto loss = compute_loss(net->forward(x), t, lo);
      loss.backward();
      opt.step();
    }
    Timing r;
    r.ips = steps * batch /
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto time_it = [&](bool backward) {
      const auto s0 = std::chrono::steady_clock::now();
      for (int i = 0; i < steps / 2 + 1; ++i) {
        auto y = net->forward(x);
        if (backward) y.sum().backward();
      }
      return (steps / 2 + 1) * batch /
             std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
    };
    r.fwd = time_it(false);
    r.fwdbwd = time_it(true);
    return r;
  };
  const bool default_layout = channels_last_activations();
  const Timing other = time_layout(!default_layout);
  const Timing primary = time_layout(default_layout);
  set_channels_last_activations(default_layout);
  const double ips = primary.ips, fwd = primary.fwd, fwdbwd = primary.fwdbwd;
  const auto d = describe(g, bands, size, size);
  const double gflops = ips * 3.0 * 2.0 * static_cast<double>(d.macs) / 1e9;
  std::printf(
      "train_throughput: genome %s (%lld params, %.1f MMAC/image), %dx%dx%d, batch %d, "
      "%d threads, precision %s\n",
      g.str().c_str(), static_cast<long long>(d.params), d.macs / 1e6, bands, size, size, batch,
      threads, precision.c_str());
  const char* layout_name = default_layout ? "channels-last" : "row-major";
  std::printf(
      "dalnas  (C++ libtorch)   %8.1f img/s  %7.1f GFLOP/s  (forward only %.1f img/s, "
      "forward+backward %.1f img/s; activations %s)\n",
      ips, gflops, fwd, fwdbwd, layout_name);
  std::printf("dalnas, %-16s %8.1f img/s  %7.1f GFLOP/s  (DALNAS_CHANNELS_LAST=%d)\n",
              default_layout ? "row-major" : "channels-last", other.ips,
              other.ips * 3.0 * 2.0 * static_cast<double>(d.macs) / 1e9, default_layout ? 0 : 1);

  // PyTorch: its default (row-major) and with model and input in channels_last.
  double py[2] = {0, 0};
  int64_t py_params = 0;
  for (int cl = 0; cl < 2; ++cl) {
    const std::string cmd = std::string("/usr/bin/python3 ") + DALNAS_SOURCE_DIR +
                            "/bench/train_throughput.py --genome '" + g.str() + "' --bands " +
                            std::to_string(bands) + " --size " + std::to_string(size) +
                            " --batch " + std::to_string(batch) + " --steps " +
                            std::to_string(steps) + " --threads " + std::to_string(threads) +
                            (cl ? " --channels-last" : "") + " 2>&1";
    const std::string out = run(cmd);
    try {
      const auto j = nlohmann::json::parse(out.substr(out.find('{')));
      py[cl] = j.at("images_per_s").get<double>();
      py_params = j.at("params").get<int64_t>();
    } catch (const std::exception&) {
      std::printf("PyTorch reference failed: %s\n", out.c_str());
      return 1;
    }
  }
  const double flop = 3.0 * 2.0 * static_cast<double>(d.macs) / 1e9;
  std::printf("PyTorch (Python)         %8.1f img/s  %7.1f GFLOP/s  (%lld params)\n", py[0],
              py[0] * flop, static_cast<long long>(py_params));
  std::printf("PyTorch, channels_last   %8.1f img/s  %7.1f GFLOP/s\n", py[1], py[1] * flop);
  std::printf("ratio dalnas/PyTorch     %8.2f   (against PyTorch channels_last: %.2f)\n",
              ips / py[0], ips / py[1]);
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run_bench(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_throughput: %s\n", e.what());
    return 1;
  }
}
