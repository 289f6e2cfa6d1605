#pragma once
// Elementwise kernels on raw float arrays (fake quantization, FP16 projection) run over a
// tensor's memory in the order it is stored. dense_layout(x) is x itself when its elements
// fill its storage without gaps in row-major (NCHW) or channels-last (NHWC) order, else a
// row-major copy; the kernel's output is then torch::empty_like of it (the same strides),
// so a channels-last activation (nn/layout.h) stays channels-last without a copy.
#include <torch/torch.h>

namespace dalnas {

inline torch::Tensor dense_layout(const torch::Tensor& x) {
  if (x.is_contiguous()) return x;
  if (x.dim() == 4 && x.is_contiguous(torch::MemoryFormat::ChannelsLast)) return x;
  return x.contiguous();
}

// `g` with exactly the strides of `like` (same sizes), copied only where they differ: a
// gradient read element by element beside a mask saved in the forward's layout.
inline torch::Tensor with_strides_of(const torch::Tensor& g, const torch::Tensor& like) {
  if (g.strides() == like.strides()) return g;
  torch::Tensor out = torch::empty_like(like, g.options());
  out.copy_(g);
  return out;
}

}  // namespace dalnas
