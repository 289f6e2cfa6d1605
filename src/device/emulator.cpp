#include "device/emulator.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <thread>

#include "core/error.h"
#include "device/kernels.h"
#include "device/prescale.h"

namespace dalnas {

namespace {

KernelIsa resolve_isa(const EmulatorConfig& c) {
  const char* env = std::getenv("DALNAS_NO_SIMD");
  if (!c.simd || (env != nullptr && std::strcmp(env, "1") == 0)) return KernelIsa::Scalar;
  switch (c.isa) {
    case KernelIsa::Scalar:
      return KernelIsa::Scalar;
    case KernelIsa::AVX2:
      if (!kernels::cpu_has_avx2_f16c()) {
        throw Error("emulator: kernel isa avx2 needs AVX2 and F16C, which this CPU lacks");
      }
      return KernelIsa::AVX2;
    case KernelIsa::AVX512:
      if (!kernels::cpu_has_avx512()) {
        throw Error("emulator: kernel isa avx512 needs AVX-512 F/DQ/BW/VL, which this CPU lacks");
      }
      return KernelIsa::AVX512;
    case KernelIsa::Auto:
      break;
  }
  if (kernels::cpu_has_avx512()) return KernelIsa::AVX512;
  if (kernels::cpu_has_avx2_f16c()) return KernelIsa::AVX2;
  return KernelIsa::Scalar;
}

// Tensors of finished nodes are kept, per thread, for the next nodes and runs: the
// allocator would otherwise hand large buffers back to the system and fault them in again
// on every image (about a third of the run time of a 256×256 U-Net).
class BufferPool {
 public:
  // A vector of n values (contents unspecified).
  std::vector<float> take(size_t n) {
    size_t best = free_.size();
    for (size_t i = 0; i < free_.size(); ++i) {
      const size_t cap = free_[i].capacity();
      if (cap >= n && (best == free_.size() || cap < free_[best].capacity())) best = i;
    }
    std::vector<float> v;
    if (best != free_.size()) {
      v.swap(free_[best]);
      free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(best));
    }
    v.resize(n);
    return v;
  }
  void give(std::vector<float>& v) {
    if (v.capacity() == 0) return;
    free_.emplace_back();
    free_.back().swap(v);
    if (free_.size() > kMaxFree) free_.erase(free_.begin());  // the oldest
  }

 private:
  static constexpr size_t kMaxFree = 64;
  std::vector<std::vector<float>> free_;
};

BufferPool& thread_pool() {
  thread_local BufferPool pool;
  return pool;
}

// Storage rounding of a node's output.
void store(std::vector<float>& v, const Numerics& num, bool simd) {
  if (num.storage != Storage::FP16) return;
  if (simd) {
    round_to_half(v.data(), v.data(), v.size(), num.half);
  } else {
    round_to_half_scalar(v.data(), v.data(), v.size(), num.half);
  }
}

// A sum of values in order with an accumulation rule (see emulator.h).
class Summer {
 public:
  explicit Summer(const Numerics& num) : block_(num.acc.rounding_block()), mode_(num.half) {}
  void add(float v) {
    if (block_ == 0) {
      acc_ += v;
      return;
    }
    sum_ = count_ == 0 ? v : sum_ + v;  // a block sum starts with its first value
    if (++count_ == block_) flush();
  }
  float total() {
    if (block_ != 0 && count_ != 0) flush();
    return acc_;
  }

 private:
  void flush() {
    acc_ = round_to_half(acc_ + round_to_half(sum_, mode_), mode_);
    count_ = 0;
  }
  int block_;
  HalfMode mode_;
  float acc_ = 0.0f, sum_ = 0.0f;
  int count_ = 0;
};

void act_node(std::vector<float>& v, const Node& n) {
  kernels::activate(v.data(), static_cast<int64_t>(v.size()), n.act, n.act_min, n.act_max, n.alpha,
                    n.beta);
}

// Pooling with padding: windows clipped to the input (padding never wins a maximum and
// is not counted in an average).
void padded_pool(const std::vector<float>& x, const Shape& is, const Node& n, const Shape& os,
                 const Numerics& num, bool average, std::vector<float>& y) {
  for (int c = 0; c < os.c; ++c) {
    const float* plane = x.data() + static_cast<int64_t>(c) * is.h * is.w;
    for (int oy = 0; oy < os.h; ++oy) {
      const int y0 = std::max(oy * n.stride - n.pad, 0);
      const int y1 = std::min(oy * n.stride - n.pad + n.kernel, is.h);
      for (int ox = 0; ox < os.w; ++ox) {
        const int x0 = std::max(ox * n.stride - n.pad, 0);
        const int x1 = std::min(ox * n.stride - n.pad + n.kernel, is.w);
        float v;
        if (average) {
          Summer s(num);
          for (int iy = y0; iy < y1; ++iy) {
            for (int ix = x0; ix < x1; ++ix) s.add(plane[iy * is.w + ix]);
          }
          v = s.total() * (1.0f / static_cast<float>((y1 - y0) * (x1 - x0)));
        } else {
          v = plane[y0 * is.w + x0];
          for (int iy = y0; iy < y1; ++iy) {
            for (int ix = x0; ix < x1; ++ix) {
              const float u = plane[iy * is.w + ix];
              v = v != v ? v : ((u > v || u != u) ? u : v);
            }
          }
        }
        y[(static_cast<int64_t>(c) * os.h + oy) * os.w + ox] = v;
      }
    }
  }
}

// Transposed convolution, gathered per output element (see emulator.h for the order).
void conv_transpose(const std::vector<float>& x, const Shape& is, const Node& n, const Shape& os,
                    const Numerics& num, int shift, std::vector<float>& y) {
  const int k = n.kernel, st = n.stride;
  const int cin_g = is.c / n.groups, cout_g = os.c / n.groups;
  const float unscale = std::ldexp(1.0f, -shift);
  const bool blocked = num.acc.rounding_block() != 0;
  for (int oc = 0; oc < os.c; ++oc) {
    const int g = oc / cout_g, j = oc % cout_g;
    const float b = n.bias.empty() ? 0.0f : n.bias[static_cast<size_t>(oc)];
    for (int oy = 0; oy < os.h; ++oy) {
      for (int ox = 0; ox < os.w; ++ox) {
        Summer sum(num);
        for (int ci = 0; ci < cin_g; ++ci) {
          const int c = g * cin_g + ci;
          const float* w = n.weight.data() + (static_cast<int64_t>(c) * cout_g + j) * k * k;
          const float* plane = x.data() + static_cast<int64_t>(c) * is.h * is.w;
          for (int ky = 0; ky < k; ++ky) {
            const int ty = oy + n.pad - ky;
            if (ty < 0 || ty % st != 0 || ty / st >= is.h) continue;
            for (int kx = 0; kx < k; ++kx) {
              const int tx = ox + n.pad - kx;
              if (tx < 0 || tx % st != 0 || tx / st >= is.w) continue;
              sum.add(w[ky * k + kx] * plane[(ty / st) * is.w + tx / st]);
            }
          }
        }
        float v = sum.total() + b;
        if (blocked) v = round_to_half(v, num.half);
        if (shift != 0) v = v * unscale;
        v = kernels::activate(v, n.act, n.act_min, n.act_max, n.alpha, n.beta);
        y[(static_cast<int64_t>(oc) * os.h + oy) * os.w + ox] = v;
      }
    }
  }
}

// Softmax over channels at every pixel, in fp32 (the maximum subtracted first).
void softmax(const std::vector<float>& x, const Shape& is, std::vector<float>& y) {
  const int64_t hw = static_cast<int64_t>(is.h) * is.w;
  for (int64_t p = 0; p < hw; ++p) {
    float m = x[p];
    for (int c = 1; c < is.c; ++c) m = std::max(m, x[c * hw + p]);
    float total = 0.0f;
    for (int c = 0; c < is.c; ++c) {
      const float e = std::exp(x[c * hw + p] - m);
      y[c * hw + p] = e;
      total += e;
    }
    for (int c = 0; c < is.c; ++c) y[c * hw + p] = y[c * hw + p] / total;
  }
}

// Nearest neighbour: src = min(floor(dst · in / out), in - 1), in integer arithmetic.
void resize_nearest(const std::vector<float>& x, const Shape& is, const Shape& os,
                    std::vector<float>& y) {
  std::vector<int> sx(static_cast<size_t>(os.w));
  for (int d = 0; d < os.w; ++d) {
    sx[d] = static_cast<int>(std::min<int64_t>(int64_t(d) * is.w / os.w, is.w - 1));
  }
  for (int c = 0; c < os.c; ++c) {
    for (int oy = 0; oy < os.h; ++oy) {
      const int iy = static_cast<int>(std::min<int64_t>(int64_t(oy) * is.h / os.h, is.h - 1));
      const float* src = x.data() + (static_cast<int64_t>(c) * is.h + iy) * is.w;
      float* out = y.data() + (static_cast<int64_t>(c) * os.h + oy) * os.w;
      for (int ox = 0; ox < os.w; ++ox) out[ox] = src[sx[ox]];
    }
  }
}

// Row by row: the window's values in row-major order update a row of running maxima.
void max_pool(const std::vector<float>& x, const Shape& is, const Node& n, const Shape& os,
              std::vector<float>& y) {
  const int s = n.stride;
  for (int c = 0; c < os.c; ++c) {
    const float* plane = x.data() + static_cast<int64_t>(c) * is.h * is.w;
    for (int oy = 0; oy < os.h; ++oy) {
      const float* base = plane + static_cast<int64_t>(oy * s) * is.w;
      float* m = y.data() + (static_cast<int64_t>(c) * os.h + oy) * os.w;
      for (int ox = 0; ox < os.w; ++ox) m[ox] = base[ox * s];
      for (int ky = 0; ky < n.kernel; ++ky) {
        for (int kx = 0; kx < n.kernel; ++kx) {
          const float* r = base + static_cast<int64_t>(ky) * is.w + kx;
          for (int ox = 0; ox < os.w; ++ox) {
            const float v = r[ox * s], cur = m[ox];
            // A NaN stays; a NaN or a larger value replaces the current maximum.
            m[ox] = cur != cur ? cur : ((v > cur || v != v) ? v : cur);
          }
        }
      }
    }
  }
}

void avg_pool(const std::vector<float>& x, const Shape& is, const Node& n, const Shape& os,
              const Numerics& num, std::vector<float>& y) {
  const float inv = 1.0f / static_cast<float>(n.kernel * n.kernel);
  for (int c = 0; c < os.c; ++c) {
    const float* plane = x.data() + static_cast<int64_t>(c) * is.h * is.w;
    for (int oy = 0; oy < os.h; ++oy) {
      for (int ox = 0; ox < os.w; ++ox) {
        const float* win = plane + static_cast<int64_t>(oy * n.stride) * is.w + ox * n.stride;
        Summer s(num);
        for (int ky = 0; ky < n.kernel; ++ky) {
          for (int kx = 0; kx < n.kernel; ++kx) s.add(win[ky * is.w + kx]);
        }
        y[(static_cast<int64_t>(c) * os.h + oy) * os.w + ox] = s.total() * inv;
      }
    }
  }
}

void global_avg_pool(const std::vector<float>& x, const Shape& is, const Numerics& num,
                     std::vector<float>& y) {
  const int64_t hw = static_cast<int64_t>(is.h) * is.w;
  const float inv = 1.0f / static_cast<float>(hw);
  for (int c = 0; c < is.c; ++c) {
    Summer s(num);
    const float* plane = x.data() + c * hw;
    for (int64_t i = 0; i < hw; ++i) s.add(plane[i]);
    y[c] = s.total() * inv;
  }
}

struct Lerp {
  std::vector<int> i0, i1;
  std::vector<float> l0, l1;
};

Lerp lerp_table(int in, int out, float scale) {
  const float ratio = scale > 0.0f ? static_cast<float>(1.0 / static_cast<double>(scale))
                                   : static_cast<float>(in) / static_cast<float>(out);
  Lerp t;
  t.i0.resize(out);
  t.i1.resize(out);
  t.l0.resize(out);
  t.l1.resize(out);
  for (int d = 0; d < out; ++d) {
    float src = ratio * (static_cast<float>(d) + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    const int i0 = std::min(static_cast<int>(src), in - 1);
    t.i0[d] = i0;
    t.i1[d] = std::min(i0 + 1, in - 1);
    t.l1[d] = src - static_cast<float>(i0);
    t.l0[d] = 1.0f - t.l1[d];
  }
  return t;
}

// Each source row is interpolated horizontally once (top / bottom terms of the formula),
// then rows are combined vertically.
void resize(const std::vector<float>& x, const Shape& is, const Node& n, const Shape& os,
            std::vector<float>& y) {
  const Lerp ty = lerp_table(is.h, os.h, n.scale);
  const Lerp tx = lerp_table(is.w, os.w, n.scale);
  std::vector<float> rows(2 * static_cast<size_t>(os.w));
  for (int c = 0; c < os.c; ++c) {
    const float* plane = x.data() + static_cast<int64_t>(c) * is.h * is.w;
    int held[2] = {-1, -1};  // the source row in each buffer
    auto row = [&](int sy, int keep) -> const float* {
      for (int b = 0; b < 2; ++b) {
        if (held[b] == sy) return rows.data() + static_cast<size_t>(b) * os.w;
      }
      const int b = held[0] == keep ? 1 : 0;
      held[b] = sy;
      float* out = rows.data() + static_cast<size_t>(b) * os.w;
      const float* src = plane + static_cast<int64_t>(sy) * is.w;
      for (int ox = 0; ox < os.w; ++ox) {
        out[ox] = tx.l0[ox] * src[tx.i0[ox]] + tx.l1[ox] * src[tx.i1[ox]];
      }
      return out;
    };
    for (int oy = 0; oy < os.h; ++oy) {
      const float* top = row(ty.i0[oy], ty.i1[oy]);
      const float* bottom = row(ty.i1[oy], ty.i0[oy]);
      const float a0 = ty.l0[oy], a1 = ty.l1[oy];
      float* out = y.data() + (static_cast<int64_t>(c) * os.h + oy) * os.w;
      for (int ox = 0; ox < os.w; ++ox) out[ox] = a0 * top[ox] + a1 * bottom[ox];
    }
  }
}

}  // namespace

Emulator::Emulator(const DeviceGraph& graph, const EmulatorConfig& config)
    : graph_(graph), config_(config), isa_(resolve_isa(config)) {
  if (graph_.input.numel() > 0) graph_.compute_shapes(graph_.input);  // fail early
  shifts_.assign(graph_.nodes.size(), 0);
  bool first_layer = true;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    Node& n = graph_.nodes[i];
    if (n.op != OpType::Conv && n.op != OpType::FullyConnected && n.op != OpType::ConvTranspose) {
      continue;
    }
    const Numerics& num = numerics_of(n, config_);
    if (n.bias.empty()) n.bias.assign(static_cast<size_t>(std::max(n.out_c, 0)), 0.0f);
    const HalfMode ir_mode{num.half.overflow, Subnormals::Keep};
    std::vector<float> w16(n.weight.size()), b16(n.bias.size());
    round_to_half_scalar(n.weight.data(), w16.data(), w16.size(), ir_mode);
    round_to_half_scalar(n.bias.data(), b16.data(), b16.size(), ir_mode);
    int shift = 0;
    if (num.prescale && on_neural_engine(n)) {
      const int cap = n.op == OpType::FullyConnected ? num.prescale_cap_fc : num.prescale_cap;
      shift = dalnas::prescale_shift(w16.data(), w16.size(), cap, first_layer);
      first_layer = false;
    }
    shifts_[i] = shift;
    if (num.storage == Storage::FP16) {
      for (size_t k = 0; k < w16.size(); ++k) {
        n.weight[k] = round_to_half(std::ldexp(w16[k], shift), num.half);
      }
      for (size_t k = 0; k < b16.size(); ++k) {
        n.bias[k] = round_to_half(std::ldexp(b16[k], shift), num.half);
      }
    } else if (shift != 0) {
      for (float& w : n.weight) w = std::ldexp(w, shift);
      for (float& b : n.bias) b = std::ldexp(b, shift);
    }
  }
}

Shape Emulator::output_shape(const Shape& in) const {
  const std::vector<Shape> shapes = graph_.compute_shapes(in);
  if (graph_.output < 0) throw Error("device graph: no Output node");
  return shapes[static_cast<size_t>(graph_.output)];
}

void Emulator::execute(const float* input, const Shape& in, bool keep_all,
                       std::vector<std::vector<float>>& values) const {
  const std::vector<Shape> shapes = graph_.compute_shapes(in);
  if (graph_.output < 0) throw Error("device graph: no Output node");
  const size_t count = graph_.nodes.size();
  // The last node that reads each value, so that intermediate tensors can be freed.
  std::vector<size_t> last_use(count, 0);
  for (size_t i = 0; i < count; ++i) {
    for (int x : graph_.nodes[i].inputs) last_use[static_cast<size_t>(x)] = i;
  }
  values.assign(count, {});
  BufferPool& pool = thread_pool();
  const bool simd = isa_ != KernelIsa::Scalar;
  for (size_t i = 0; i < count; ++i) {
    const Node& n = graph_.nodes[i];
    const Numerics& num = numerics_of(n, config_);
    const Shape& os = shapes[i];
    std::vector<float>& y = values[i];
    y = pool.take(static_cast<size_t>(os.numel()));
    const std::vector<float>* x0 = n.inputs.empty() ? nullptr : &values[n.inputs[0]];
    const Shape is = n.inputs.empty() ? in : shapes[n.inputs[0]];
    switch (n.op) {
      case OpType::Input: {
        std::copy(input, input + in.numel(), y.begin());
        if (!graph_.norm_folded && !graph_.norm_mean.empty()) {
          if (static_cast<int>(graph_.norm_mean.size()) != in.c ||
              static_cast<int>(graph_.norm_std.size()) != in.c) {
            throw Error("device graph: normalisation has " +
                        std::to_string(graph_.norm_mean.size()) + " means and " +
                        std::to_string(graph_.norm_std.size()) + " deviations for " +
                        std::to_string(in.c) + " input channels");
          }
          const int64_t hw = static_cast<int64_t>(in.h) * in.w;
          for (int c = 0; c < in.c; ++c) {
            const float mean = graph_.norm_mean[c], sd = graph_.norm_std[c];
            for (int64_t k = 0; k < hw; ++k) y[c * hw + k] = (y[c * hw + k] - mean) / sd;
          }
        }
        store(y, num, simd);
        break;
      }
      case OpType::Conv:
      case OpType::FullyConnected: {
        kernels::ConvArgs a;
        a.in = x0->data();
        a.out = y.data();
        a.weight = n.weight.data();
        a.bias = n.bias.data();
        if (n.op == OpType::Conv) {
          a.in_shape = is;
          a.out_shape = os;
          a.kernel = n.kernel;
          a.stride = n.stride;
          a.pad = n.pad;
          a.groups = n.groups;
        } else {
          a.in_shape = {static_cast<int>(is.numel()), 1, 1};
          a.out_shape = {n.out_c, 1, 1};
        }
        a.block = num.acc.rounding_block();
        a.half = num.half;
        a.store_fp16 = num.storage == Storage::FP16;
        a.unscale = shifts_[i] != 0;
        a.unscale_factor = std::ldexp(1.0f, -shifts_[i]);
        a.act = n.act;
        a.act_min = n.act_min;
        a.act_max = n.act_max;
        a.alpha = n.alpha;
        a.beta = n.beta;
        // Fully connected layers (one output pixel) always take the scalar kernel.
        if (n.op == OpType::FullyConnected || isa_ == KernelIsa::Scalar) {
          kernels::conv_scalar(a);
        } else if (isa_ == KernelIsa::AVX512) {
          kernels::conv_avx512(a);
        } else {
          kernels::conv_avx2(a);
        }
        break;
      }
      case OpType::MaxPool:
      case OpType::AvgPool:
        if (n.pad > 0) {
          padded_pool(*x0, is, n, os, num, n.op == OpType::AvgPool, y);
        } else if (n.op == OpType::MaxPool) {
          max_pool(*x0, is, n, os, y);
        } else {
          avg_pool(*x0, is, n, os, num, y);
        }
        store(y, num, simd);
        break;
      case OpType::ConvTranspose:
        conv_transpose(*x0, is, n, os, num, shifts_[i], y);
        store(y, num, simd);
        break;
      case OpType::Softmax:
        softmax(*x0, is, y);
        store(y, num, simd);
        break;
      case OpType::GlobalAvgPool:
        global_avg_pool(*x0, is, num, y);
        store(y, num, simd);
        break;
      case OpType::Resize:
        if (n.nearest) {
          resize_nearest(*x0, is, os, y);
        } else {
          resize(*x0, is, n, os, y);
        }
        store(y, num, simd);
        break;
      case OpType::Concat: {
        auto at = y.begin();
        for (int x : n.inputs) at = std::copy(values[x].begin(), values[x].end(), at);
        break;
      }
      case OpType::Add: {
        const std::vector<float>& b = values[n.inputs[1]];
        for (size_t k = 0; k < y.size(); ++k) y[k] = (*x0)[k] + b[k];
        act_node(y, n);
        store(y, num, simd);
        break;
      }
      case OpType::Mul: {
        const std::vector<float>& b = values[n.inputs[1]];
        if (b.size() == x0->size()) {
          for (size_t k = 0; k < y.size(); ++k) y[k] = (*x0)[k] * b[k];
        } else {
          const size_t hw = static_cast<size_t>(is.h) * is.w;
          for (size_t k = 0; k < y.size(); ++k) y[k] = (*x0)[k] * b[k / hw];
        }
        act_node(y, n);
        store(y, num, simd);
        break;
      }
      case OpType::Activation:
        std::copy(x0->begin(), x0->end(), y.begin());
        act_node(y, n);
        store(y, num, simd);
        break;
      case OpType::Output:
        std::copy(x0->begin(), x0->end(), y.begin());
        break;
    }
    if (!keep_all) {
      for (int x : n.inputs) {
        if (last_use[static_cast<size_t>(x)] == i && x != graph_.output) {
          pool.give(values[static_cast<size_t>(x)]);
        }
      }
    }
  }
}

std::vector<float> Emulator::run(const float* input, const Shape& in) const {
  std::vector<std::vector<float>> values;
  execute(input, in, false, values);
  std::vector<float> out = std::move(values[static_cast<size_t>(graph_.output)]);
  for (std::vector<float>& v : values) thread_pool().give(v);
  return out;
}

std::vector<std::vector<float>> Emulator::run_all(const float* input, const Shape& in) const {
  std::vector<std::vector<float>> values;
  execute(input, in, true, values);
  return values;
}

std::vector<float> Emulator::run_batch(const float* input, int n, const Shape& in,
                                       int threads) const {
  if (n <= 0) return {};
  const int64_t out_n = output_shape(in).numel();
  const int64_t in_n = in.numel();
  std::vector<float> out(static_cast<size_t>(out_n * n));
  int t = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  t = std::max(1, std::min(t, n));
  auto work = [&](int first, int step, std::exception_ptr& error) {
    try {
      for (int i = first; i < n; i += step) {
        const std::vector<float> y = run(input + in_n * i, in);
        std::copy(y.begin(), y.end(), out.begin() + out_n * i);
      }
    } catch (...) {
      error = std::current_exception();
    }
  };
  std::vector<std::exception_ptr> errors(static_cast<size_t>(t));
  if (t == 1) {
    work(0, 1, errors[0]);
  } else {
    std::vector<std::thread> pool;
    for (int k = 0; k < t; ++k) pool.emplace_back(work, k, t, std::ref(errors[k]));
    for (std::thread& th : pool) th.join();
  }
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return out;
}

TensorStats tensor_stats(const std::vector<float>& values) {
  TensorStats s;
  s.count = static_cast<int64_t>(values.size());
  for (float v : values) {
    if (v != v) {
      ++s.nan;
    } else if (std::isinf(v)) {
      ++s.inf;
    } else {
      const float a = std::fabs(v);
      if (a == 0.0f) ++s.zero;
      if (a != 0.0f && a < kHalfMinNormal) ++s.fp16_subnormal;
      s.max_abs = std::max(s.max_abs, a);
    }
  }
  return s;
}

}  // namespace dalnas
