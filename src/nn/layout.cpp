#include "nn/layout.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace dalnas {

namespace {
// -1: not decided yet (the environment decides on first use); 0 / 1 afterwards.
std::atomic<int> g_channels_last{-1};
}  // namespace

bool channels_last_activations() {
  int v = g_channels_last.load(std::memory_order_relaxed);
  if (v < 0) {
    const char* e = std::getenv("DALNAS_CHANNELS_LAST");
    int want = (e && std::strcmp(e, "0") == 0) ? 0 : 1;
    int expected = -1;
    g_channels_last.compare_exchange_strong(expected, want);
    v = g_channels_last.load(std::memory_order_relaxed);
  }
  return v == 1;
}

void set_channels_last_activations(bool on) {
  g_channels_last.store(on ? 1 : 0);
}

torch::Tensor activation_layout(const torch::Tensor& x) {
  if (x.dim() != 4 || !channels_last_activations()) return x;
  if (x.size(1) == 1 || x.size(2) * x.size(3) == 1) {
    // One channel or one pixel: both orders are the same memory, but a tensor whose strides
    // mix them (a one-channel tensor with a channel stride of 1) sent libtorch 1.13's oneDNN
    // convolution backward to wrong weight gradients. Row-major strides, always.
    const auto sizes = x.sizes();
    std::vector<int64_t> row_major(4, 1);
    for (int d = 2; d >= 0; --d) row_major[d] = row_major[d + 1] * sizes[d + 1];
    bool standard = true;
    for (int d = 0; d < 4; ++d) standard = standard && x.stride(d) == row_major[d];
    return standard ? x : x.clone(torch::MemoryFormat::Contiguous);
  }
  if (x.is_contiguous(torch::MemoryFormat::ChannelsLast)) return x;
  return x.contiguous(torch::MemoryFormat::ChannelsLast);
}

}  // namespace dalnas
