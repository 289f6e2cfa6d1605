#pragma once
// build_network(genome, in_bands, policy): the genome's encoder–decoder as a libtorch module.
//
// Encoder: blocks[0] at full resolution; before each later block, the genome's 2×2 pooling.
// Each block's output is a skip. Decoder (U-Net, as pynas): from the bottleneck, per level
// upwards: bilinear upsample to the skip's size (align_corners=false; an aligned
// policy may run the device's mode instead), 1×1 conv to the
// skip's width, concatenate with the skip, two 3×3 conv+BN+ReLU to the decoder width.
// Head: 1×1 conv to one logit per pixel (vessel). Output: N×1×H×W logits.
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "core/genome.h"
#include "precision/policy.h"

namespace dalnas {

using PolicyPtr = std::shared_ptr<PrecisionPolicy>;

// Common base of every encoder block (one file each under nn/blocks/).
struct BlockImpl : torch::nn::Module {
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

struct NetworkImpl : torch::nn::Module {
  NetworkImpl(const Genome& genome, int in_bands, PolicyPtr policy);
  torch::Tensor forward(torch::Tensor x);  // x: N×bands×H×W, already normalised

  Genome genome;
  int in_bands;
  PolicyPtr policy;  // shared with every block; change its mode to switch fp32 <-> fp16-aligned
  std::vector<std::shared_ptr<BlockImpl>> encoder;
  // Decoder modules per level (index 0 = the level just above the bottleneck).
  torch::nn::ModuleList up_proj{nullptr};  // 1×1 convs after upsampling
  torch::nn::ModuleList dec_conv1{nullptr}, dec_bn1{nullptr}, dec_conv2{nullptr}, dec_bn2{nullptr};
  torch::nn::Conv2d head{nullptr};
};
TORCH_MODULE(Network);

Network build_network(const Genome& genome, int in_bands, PolicyPtr policy = nullptr);

// Bilinear resize of N×C×H×W to h×w with a coordinate mode (half_pixel and align_corners
// through torch's interpolate; asymmetric as the device computes it, differentiable).
torch::Tensor upsample_bilinear(const torch::Tensor& x, int64_t h, int64_t w, AlignResize mode);

// Trainable parameter count of the libtorch module.
int64_t count_parameters(torch::nn::Module& m);

}  // namespace dalnas
