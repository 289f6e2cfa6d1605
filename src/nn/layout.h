#pragma once
// The memory layout of the network's activations. libtorch's oneDNN convolutions run on
// channels-last (NHWC) tensors directly; on row-major (NCHW) ones each convolution reorders
// its input and output, which for the narrow layers of these networks costs more than the
// arithmetic (bench/train_throughput: README, "Training throughput"). The network puts its
// input in channels-last order, so every activation after it is channels-last; parameters
// stay row-major (checkpoints, the export and the emulators read them as they are). The
// values are those of the row-major forward within float rounding (another summation
// order inside the convolutions), tested in tests/nn/test_layout.cpp.
// DALNAS_CHANNELS_LAST=0 in the environment keeps activations row-major.
#include <torch/torch.h>

namespace dalnas {

// Whether activations are channels-last: DALNAS_CHANNELS_LAST (read once) unless set below.
bool channels_last_activations();
// Sets it for the process (tests and benchmarks compare both layouts in one run).
void set_channels_last_activations(bool on);

// A 4-D activation in that layout (x itself when it already is, or when not 4-D).
torch::Tensor activation_layout(const torch::Tensor& x);

}  // namespace dalnas
