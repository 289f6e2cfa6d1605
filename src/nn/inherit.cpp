#include "nn/inherit.h"

namespace dalnas {

InheritStats inherit_weights(Network& child, Network& parent) {
  InheritStats s;
  torch::NoGradGuard ng;
  const auto src = parent->named_parameters();
  for (auto& p : child->named_parameters()) {
    s.total += p.value().numel();
    const torch::Tensor* q = src.find(p.key());
    if (!q || !q->sizes().equals(p.value().sizes())) continue;
    p.value().copy_(*q);
    s.copied += p.value().numel();
    ++s.tensors;
  }
  const auto srcb = parent->named_buffers();
  for (auto& b : child->named_buffers()) {
    const torch::Tensor* q = srcb.find(b.key());
    if (!q || !q->sizes().equals(b.value().sizes())) continue;
    b.value().copy_(*q);
    ++s.tensors;
  }
  return s;
}

}  // namespace dalnas
