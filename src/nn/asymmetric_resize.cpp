#include "nn/asymmetric_resize.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

#include "core/error.h"

namespace dalnas {

namespace {

// One axis: source indices and the weight of the second source (the first's is 1 - l,
// computed in T as the composition computes it).
template <typename T>
struct Axis {
  std::vector<int64_t> i0, i1;
  std::vector<T> l1, l0;
  Axis(int64_t in, int64_t out) {
    const float ratio = static_cast<float>(in) / static_cast<float>(out);
    for (int64_t d = 0; d < out; ++d) {
      float src = ratio * static_cast<float>(d);
      if (src > static_cast<float>(in - 1)) src = static_cast<float>(in - 1);
      const int64_t a = std::min<int64_t>(static_cast<int64_t>(src), in - 1);
      i0.push_back(a);
      i1.push_back(std::min<int64_t>(a + 1, in - 1));
      const float l = src - static_cast<float>(a);
      l1.push_back(static_cast<T>(l));
      l0.push_back(T(1) - static_cast<T>(l));
    }
  }
};

template <typename T>
void forward_planes(const T* x, T* out, int64_t planes, int64_t in_h, int64_t in_w, int64_t h,
                    int64_t w) {
  const Axis<T> ax(in_w, w), ay(in_h, h);
  at::parallel_for(0, planes, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> row(static_cast<size_t>(in_h * w));
    for (int64_t p = begin; p < end; ++p) {
      const T* src = x + p * in_h * in_w;
      for (int64_t r = 0; r < in_h; ++r) {
        const T* s = src + r * in_w;
        T* d = row.data() + r * w;
        for (int64_t j = 0; j < w; ++j) {
          const T a = s[ax.i0[j]] * ax.l0[j];
          const T b = s[ax.i1[j]] * ax.l1[j];
          d[j] = a + b;
        }
      }
      T* dst = out + p * h * w;
      for (int64_t i = 0; i < h; ++i) {
        const T* r0 = row.data() + ay.i0[i] * w;
        const T* r1 = row.data() + ay.i1[i] * w;
        const T w0 = ay.l0[i], w1 = ay.l1[i];
        T* d = dst + i * w;
        for (int64_t j = 0; j < w; ++j) {
          const T a = r0[j] * w0;
          const T b = r1[j] * w1;
          d[j] = a + b;
        }
      }
    }
  });
}

template <typename T>
void backward_planes(const T* g, T* gx, int64_t planes, int64_t in_h, int64_t in_w, int64_t h,
                     int64_t w) {
  const Axis<T> ax(in_w, w), ay(in_h, h);
  at::parallel_for(0, planes, 1, [&](int64_t begin, int64_t end) {
    std::vector<T> grow(static_cast<size_t>(in_h * w));
    for (int64_t p = begin; p < end; ++p) {
      std::fill(grow.begin(), grow.end(), T(0));
      const T* gp = g + p * h * w;
      for (int64_t i = 0; i < h; ++i) {
        T* r0 = grow.data() + ay.i0[i] * w;
        T* r1 = grow.data() + ay.i1[i] * w;
        const T w0 = ay.l0[i], w1 = ay.l1[i];
        const T* gi = gp + i * w;
        for (int64_t j = 0; j < w; ++j) {
          r0[j] += gi[j] * w0;
          r1[j] += gi[j] * w1;
        }
      }
      T* dst = gx + p * in_h * in_w;
      std::fill(dst, dst + in_h * in_w, T(0));
      for (int64_t r = 0; r < in_h; ++r) {
        const T* gr = grow.data() + r * w;
        T* d = dst + r * in_w;
        for (int64_t j = 0; j < w; ++j) {
          d[ax.i0[j]] += gr[j] * ax.l0[j];
          d[ax.i1[j]] += gr[j] * ax.l1[j];
        }
      }
    }
  });
}

class AsymmetricResize : public torch::autograd::Function<AsymmetricResize> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               int64_t h, int64_t w) {
    ctx->saved_data["in_h"] = x.size(2);
    ctx->saved_data["in_w"] = x.size(3);
    const torch::Tensor src = x.contiguous();
    torch::Tensor out = torch::empty({x.size(0), x.size(1), h, w}, x.options());
    const int64_t planes = x.size(0) * x.size(1);
    if (x.scalar_type() == torch::kFloat)
      forward_planes(src.data_ptr<float>(), out.data_ptr<float>(), planes, x.size(2), x.size(3), h,
                     w);
    else
      forward_planes(src.data_ptr<double>(), out.data_ptr<double>(), planes, x.size(2), x.size(3),
                     h, w);
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const torch::Tensor g = grad_out[0].contiguous();
    const int64_t in_h = ctx->saved_data["in_h"].toInt(), in_w = ctx->saved_data["in_w"].toInt();
    torch::Tensor gx = torch::empty({g.size(0), g.size(1), in_h, in_w}, g.options());
    const int64_t planes = g.size(0) * g.size(1);
    if (g.scalar_type() == torch::kFloat)
      backward_planes(g.data_ptr<float>(), gx.data_ptr<float>(), planes, in_h, in_w, g.size(2),
                      g.size(3));
    else
      backward_planes(g.data_ptr<double>(), gx.data_ptr<double>(), planes, in_h, in_w, g.size(2),
                      g.size(3));
    return {gx, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor asymmetric_resize(const torch::Tensor& x, int64_t out_h, int64_t out_w) {
  if (x.dim() != 4 || !x.device().is_cpu() ||
      (x.scalar_type() != torch::kFloat && x.scalar_type() != torch::kDouble))
    throw Error("asymmetric resize: expects a float32 or float64 NCHW tensor on the CPU");
  if (out_h < 1 || out_w < 1 || x.size(2) < 1 || x.size(3) < 1)
    throw Error("asymmetric resize: empty input or output size");
  return AsymmetricResize::apply(x, out_h, out_w);
}

}  // namespace dalnas
