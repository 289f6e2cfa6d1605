#include "device/emulator.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <stdexcept>
#include <thread>

#include "core/error.h"
#include "core/parallel_for.h"
#include "device/kernels.h"
#include "precision/prescale.h"

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
  // `hw_block`: the block length of fp16-blocked:hw accumulation.
  explicit Summer(const Numerics& num, int hw_block = 256)
      : block_(num.acc.hw_block() ? hw_block : num.acc.rounding_block()), mode_(num.half) {}
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

// An activation in FP16 arithmetic: every elementary operation rounded to FP16 (h).
float activate_fp16(float x, const Node& n, HalfMode m) {
  auto h = [m](float v) { return round_to_half(v, m); };
  switch (n.act) {
    case ActType::Sigmoid:
      return h(1.0f / h(1.0f + h(std::exp(-x))));
    case ActType::GELU:
      return h(h(x * 0.5f) * h(1.0f + h(std::erf(h(x * 0.70710678118654752f)))));
    case ActType::HardSwish:
      return h(h(x * kernels::clip(h(x + 3.0f), 0.0f, 6.0f)) / 6.0f);
    case ActType::HardSigmoid:
      return kernels::clip(h(h(n.alpha * x) + n.beta), 0.0f, 1.0f);
    case ActType::Swish:
      return h(x * h(1.0f / h(1.0f + h(std::exp(-x)))));
    default:
      return kernels::activate(x, n.act, n.act_min, n.act_max, n.alpha, n.beta);
  }
}

// A node's activation on its engine: fp32 (one rounding later, by storage), or FP16
// arithmetic where the engine evaluates activations so (Numerics::fp16_activations).
void act_node(std::vector<float>& v, const Node& n, const Numerics& num) {
  if (num.fp16_activations && num.storage == Storage::FP16 && n.act != ActType::None) {
    for (float& x : v) x = activate_fp16(x, n, num.half);
    return;
  }
  kernels::activate(v.data(), static_cast<int64_t>(v.size()), n.act, n.act_min, n.act_max, n.alpha,
                    n.beta);
}

// Pooling with padding: windows clipped to the input (padding never wins a maximum and
// is not counted in an average).
void padded_pool(const std::vector<float>& x, const Shape& is, const Node& n, const Shape& os,
                 const Numerics& num, bool average, bool count_padding, int hw_block,
                 std::vector<float>& y) {
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
          Summer s(num, hw_block);
          for (int iy = y0; iy < y1; ++iy) {
            for (int ix = x0; ix < x1; ++ix) s.add(plane[iy * is.w + ix]);
          }
          const int count = count_padding ? n.kernel * n.kernel : (y1 - y0) * (x1 - x0);
          v = s.total() * (1.0f / static_cast<float>(count));
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
        Summer sum(num, k * k * std::max(1, 256 / (k * k)));
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
              const Numerics& num, int hw_block, std::vector<float>& y) {
  const float inv = 1.0f / static_cast<float>(n.kernel * n.kernel);
  for (int c = 0; c < os.c; ++c) {
    const float* plane = x.data() + static_cast<int64_t>(c) * is.h * is.w;
    for (int oy = 0; oy < os.h; ++oy) {
      for (int ox = 0; ox < os.w; ++ox) {
        const float* win = plane + static_cast<int64_t>(oy * n.stride) * is.w + ox * n.stride;
        Summer s(num, hw_block);
        for (int ky = 0; ky < n.kernel; ++ky) {
          for (int kx = 0; kx < n.kernel; ++kx) s.add(win[ky * is.w + kx]);
        }
        y[(static_cast<int64_t>(c) * os.h + oy) * os.w + ox] = s.total() * inv;
      }
    }
  }
}

void global_avg_pool(const std::vector<float>& x, const Shape& is, const Numerics& num,
                     int hw_block, std::vector<float>& y) {
  const int64_t hw = static_cast<int64_t>(is.h) * is.w;
  const float inv = 1.0f / static_cast<float>(hw);
  for (int c = 0; c < is.c; ++c) {
    Summer s(num, hw_block);
    const float* plane = x.data() + c * hw;
    for (int64_t i = 0; i < hw; ++i) s.add(plane[i]);
    y[c] = s.total() * inv;
  }
}

struct Lerp {
  std::vector<int> i0, i1;
  std::vector<float> l0, l1;
};

Lerp lerp_table(int in, int out, float scale, ResizeCoord coord) {
  float ratio = scale > 0.0f ? static_cast<float>(1.0 / static_cast<double>(scale))
                             : static_cast<float>(in) / static_cast<float>(out);
  if (coord == ResizeCoord::AlignCorners) {
    ratio = out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
  }
  Lerp t;
  t.i0.resize(out);
  t.i1.resize(out);
  t.l0.resize(out);
  t.l1.resize(out);
  for (int d = 0; d < out; ++d) {
    float src = coord == ResizeCoord::HalfPixel ? ratio * (static_cast<float>(d) + 0.5f) - 0.5f
                                                : ratio * static_cast<float>(d);
    if (src < 0.0f) src = 0.0f;
    // (Half-pixel keeps torch's arithmetic at the far edge: i0 = i1 = in - 1, l1 > 0.)
    if (coord != ResizeCoord::HalfPixel && src > static_cast<float>(in - 1)) {
      src = static_cast<float>(in - 1);
    }
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
            ResizeCoord coord, std::vector<float>& y) {
  const Lerp ty = lerp_table(is.h, os.h, n.scale, coord);
  const Lerp tx = lerp_table(is.w, os.w, n.scale, coord);
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
  for (const Node& n : graph_.nodes) {
    if (n.extended()) {
      throw Error("emulator: node '" + n.name + "' (" + to_string(n.op) +
                  "): rectangular kernels, unequal or bottom/right padding, dilation and "
                  "count_include_pad come from imported graphs; the emulator does not run them "
                  "(the cost model does)");
    }
  }
  shifts_.assign(graph_.nodes.size(), 0);
  PrescalePass pass;
  pass.growing_output = config_.nce.prescale_growing_output && growing_output();
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    Node& n = graph_.nodes[i];
    if (n.op != OpType::Conv && n.op != OpType::FullyConnected && n.op != OpType::ConvTranspose) {
      continue;
    }
    const bool nce = on_neural_engine(n, config_);
    const Numerics& num = numerics_of(n, config_);
    if (n.bias.empty()) n.bias.assign(static_cast<size_t>(std::max(n.out_c, 0)), 0.0f);
    // Weights as the FP16 IR holds them (Model Optimizer's conversion).
    const HalfMode ir_mode =
        config_.ir_weights.value_or(HalfMode{num.half.overflow, Subnormals::Keep});
    std::vector<float> w16(n.weight.size()), b16(n.bias.size());
    round_to_half_scalar(n.weight.data(), w16.data(), w16.size(), ir_mode);
    round_to_half_scalar(n.bias.data(), b16.data(), b16.size(), ir_mode);
    int shift = 0;
    if (num.prescale && nce) {
      const int cap = n.op == OpType::FullyConnected ? num.prescale_cap_fc : num.prescale_cap;
      const int k2 = std::max(1, n.kernel * n.kernel);
      int in_c = 1;
      if (n.op == OpType::FullyConnected) {
        in_c = n.out_c > 0 ? static_cast<int>(n.weight.size() / static_cast<size_t>(n.out_c)) : 1;
      } else if (n.op == OpType::Conv) {
        in_c =
            n.out_c > 0
                ? static_cast<int>(n.weight.size() / (static_cast<size_t>(n.out_c) * k2)) * n.groups
                : 1;
      } else {
        const int cout_g = std::max(1, n.out_c / std::max(1, n.groups));
        in_c = static_cast<int>(n.weight.size() / (static_cast<size_t>(cout_g) * k2));
      }
      shift = pass.next(w16.data(), w16.size(), cap, in_c);
    }
    shifts_[i] = shift;
    // Re-scaled weights are converted again inside the plugin (f32tof16(f16tof32(w) ·
    // scale)); unscaled ones are the IR's. The engine then holds them in its format.
    const HalfMode plugin = config_.plugin_constants.value_or(num.half);
    auto prepare = [&](const std::vector<float>& v16, std::vector<float>& out) {
      for (size_t k = 0; k < v16.size(); ++k) {
        float v = v16[k];
        if (shift != 0) v = round_to_half(std::ldexp(v, shift), plugin);
        out[k] = round_to_half(v, num.half);
      }
    };
    if (num.storage == Storage::FP16) {
      prepare(w16, n.weight);
      prepare(b16, n.bias);
    } else if (shift != 0) {
      for (float& w : n.weight) w = std::ldexp(w, shift);
      for (float& b : n.bias) b = std::ldexp(b, shift);
    }
  }
  // Hardware tiling over input channels: the weights of each part of a split dense
  // convolution, copied once.
  parts_.assign(graph_.nodes.size(), {});
  if (config_.tiling.enabled) {
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      const Node& n = graph_.nodes[i];
      if (n.op != OpType::Conv || n.groups != 1 || !on_neural_engine(n, config_)) continue;
      const int k2 = n.kernel * n.kernel;
      const int cin =
          n.out_c > 0 ? static_cast<int>(n.weight.size() / (static_cast<size_t>(n.out_c) * k2)) : 0;
      const int cp = config_.tiling.channels_per_pass(n.kernel);
      if (config_.tiling.parts(n, cin) <= 1) continue;
      for (int c0 = 0; c0 < cin; c0 += cp) {
        const int nc = std::min(cp, cin - c0);
        std::vector<float> w(static_cast<size_t>(n.out_c) * nc * k2);
        for (int o = 0; o < n.out_c; ++o) {
          const float* src = n.weight.data() + (static_cast<int64_t>(o) * cin + c0) * k2;
          std::copy(src, src + static_cast<int64_t>(nc) * k2,
                    w.begin() + static_cast<int64_t>(o) * nc * k2);
        }
        parts_[i].push_back(std::move(w));
      }
    }
  }
}

bool Emulator::growing_output() const {
  // OpenVINO's checkGrowingOutput: false when a ScaleShift at the input has a scale
  // (as FP16) below 0.1; only the Model pipeline puts one there.
  if (config_.input != InputPipeline::Model || graph_.norm_mean.empty()) return true;
  const HalfMode plugin = config_.plugin_constants.value_or(config_.shave.half);
  for (float sd : graph_.norm_std) {
    if (round_to_half(1.0f / sd, plugin) < 0.1f) return false;
  }
  return true;
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
  for (size_t i = 0; i < count; ++i) {
    const Node& n = graph_.nodes[i];
    std::vector<float>& y = values[i];
    y = pool.take(static_cast<size_t>(shapes[i].numel()));
    compute(i, input, in, shapes, values, y);
    if (!keep_all) {
      for (int x : n.inputs) {
        if (last_use[static_cast<size_t>(x)] == i && x != graph_.output) {
          pool.give(values[static_cast<size_t>(x)]);
        }
      }
    }
  }
}

void Emulator::compute(size_t i, const float* input, const Shape& in,
                       const std::vector<Shape>& shapes,
                       const std::vector<std::vector<float>>& values, std::vector<float>& y) const {
  const Node& n = graph_.nodes[i];
  const Numerics& num = numerics_of(n, config_);
  const Shape& os = shapes[i];
  const bool simd = isa_ != KernelIsa::Scalar;
  const std::vector<float>* x0 = n.inputs.empty() ? nullptr : &values[n.inputs[0]];
  const Shape is = n.inputs.empty() ? in : shapes[n.inputs[0]];
  switch (n.op) {
    case OpType::Input:
      input_node(input, in, y);
      break;
    case OpType::Conv:
    case OpType::FullyConnected:
      conv_node(i, *x0, is, os, y);
      break;
    case OpType::MaxPool:
    case OpType::AvgPool:
      if (n.pad > 0) {
        // Hardware average pooling that excludes padding counts it at the borders
        // where it stays on the engine (output larger than 5×5).
        const bool count_padding = config_.hw_avgpool_counts_padding &&
                                   on_neural_engine(n, config_) && (os.h > 5 || os.w > 5);
        padded_pool(*x0, is, n, os, num, n.op == OpType::AvgPool, count_padding,
                    config_.tiling.max_coeff_per_block, y);
      } else if (n.op == OpType::MaxPool) {
        max_pool(*x0, is, n, os, y);
      } else {
        avg_pool(*x0, is, n, os, num, config_.tiling.max_coeff_per_block, y);
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
      global_avg_pool(*x0, is, num, config_.tiling.max_coeff_per_block, y);
      store(y, num, simd);
      break;
    case OpType::Resize:
      if (n.nearest) {
        resize_nearest(*x0, is, os, y);
      } else {
        resize(*x0, is, n, os,
               n.coord == ResizeCoord::HalfPixel ? config_.half_pixel_resize : n.coord, y);
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
      act_node(y, n, num);
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
      act_node(y, n, num);
      store(y, num, simd);
      break;
    }
    case OpType::Activation:
      std::copy(x0->begin(), x0->end(), y.begin());
      act_node(y, n, num);
      store(y, num, simd);
      break;
    case OpType::Output:
      std::copy(x0->begin(), x0->end(), y.begin());
      break;
    case OpType::Slice: {
      const int64_t hw = static_cast<int64_t>(is.h) * is.w;
      std::copy(x0->begin() + n.c_begin * hw, x0->begin() + (n.c_begin + n.out_c) * hw, y.begin());
      break;
    }
    case OpType::Shuffle: {
      const int64_t hw = static_cast<int64_t>(is.h) * is.w;
      const int per = is.c / n.groups;
      for (int j = 0; j < is.c; ++j) {
        const int64_t src = static_cast<int64_t>(j % n.groups) * per + j / n.groups;
        std::copy(x0->begin() + src * hw, x0->begin() + (src + 1) * hw, y.begin() + j * hw);
      }
      break;
    }
  }
}

void Emulator::run_node(size_t i, const std::vector<Shape>& shapes,
                        const std::vector<std::vector<float>>& values,
                        std::vector<float>& y) const {
  const Node& n = graph_.nodes.at(i);
  if (n.op == OpType::Input) throw std::logic_error("Emulator::run_node: the Input node");
  y.resize(static_cast<size_t>(shapes.at(i).numel()));
  compute(i, nullptr, shapes.at(0), shapes, values, y);
}

void Emulator::input_node(const float* input, const Shape& in, std::vector<float>& y) const {
  const Numerics& num = config_.shave;  // the input conversion runs on SHAVE
  std::copy(input, input + in.numel(), y.begin());
  const bool has_norm = !graph_.norm_folded && !graph_.norm_mean.empty();
  if (has_norm && (static_cast<int>(graph_.norm_mean.size()) != in.c ||
                   static_cast<int>(graph_.norm_std.size()) != in.c)) {
    throw Error("device graph: normalisation has " + std::to_string(graph_.norm_mean.size()) +
                " means and " + std::to_string(graph_.norm_std.size()) + " deviations for " +
                std::to_string(in.c) + " input channels");
  }
  const int64_t hw = static_cast<int64_t>(in.h) * in.w;
  const bool on_host = config_.input != InputPipeline::Model;
  if (has_norm && on_host) {  // the host normalises in fp32
    for (int c = 0; c < in.c; ++c) {
      const float mean = graph_.norm_mean[c], sd = graph_.norm_std[c];
      for (int64_t k = 0; k < hw; ++k) y[c * hw + k] = (y[c * hw + k] - mean) / sd;
    }
  }
  if (config_.input_precision == InputPrecision::U8) {
    for (int64_t k = 0; k < in.numel(); ++k) {
      const float v = y[k];
      if (!(v >= 0.0f && v <= 255.0f) || v != std::floor(v)) {
        throw Error("emulator: input precision u8: value " + std::to_string(v) + " at index " +
                    std::to_string(k) + " is not an integer in [0, 255]");
      }
    }
  }
  // The conversion to FP16: the host's cast, or the device's Convert stage.
  if (num.storage == Storage::FP16) {
    const HalfMode mode = config_.input_precision == InputPrecision::FP16
                              ? config_.host_cast.value_or(num.half)
                              : config_.device_convert.value_or(num.half);
    if (isa_ != KernelIsa::Scalar) {
      round_to_half(y.data(), y.data(), y.size(), mode);
    } else {
      round_to_half_scalar(y.data(), y.data(), y.size(), mode);
    }
  }
  if (has_norm && !on_host) {
    // Model Optimizer's --mean_values / --scale_values: a ScaleShift on SHAVE with its
    // constants converted by the plugin, one rounding of x·s + b.
    const HalfMode plugin = config_.plugin_constants.value_or(num.half);
    const bool fp16 = num.storage == Storage::FP16;
    for (int c = 0; c < in.c; ++c) {
      const float sd = graph_.norm_std[c];
      float sc = 1.0f / sd, b = -graph_.norm_mean[c] / sd;
      if (fp16) {
        sc = round_to_half(sc, plugin);
        b = round_to_half(b, plugin);
      }
      for (int64_t k = 0; k < hw; ++k) y[c * hw + k] = y[c * hw + k] * sc + b;
    }
    store(y, num, isa_ != KernelIsa::Scalar);
  }
}

int Emulator::hw_parts(int node) const {
  const Node& n = graph_.nodes.at(static_cast<size_t>(node));
  if (!parts_[static_cast<size_t>(node)].empty()) {
    return static_cast<int>(parts_[static_cast<size_t>(node)].size());
  }
  if (n.op == OpType::Conv && n.groups > 1 && n.groups == n.out_c && on_neural_engine(n, config_)) {
    return config_.tiling.parts(n, n.groups);  // depthwise as block-diagonal dense
  }
  return 1;
}

void Emulator::conv_node(size_t i, const std::vector<float>& x, const Shape& is, const Shape& os,
                         std::vector<float>& y) const {
  const Node& n = graph_.nodes[i];
  const bool nce = on_neural_engine(n, config_);
  const Numerics& num = nce ? config_.nce : config_.shave;
  const bool simd = isa_ != KernelIsa::Scalar;
  kernels::ConvArgs a;
  a.in = x.data();
  a.out = y.data();
  a.weight = n.weight.data();
  a.bias = n.bias.data();
  const bool fc = n.op == OpType::FullyConnected;
  if (!fc) {
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
  const bool depthwise = !fc && n.groups > 1 && n.groups == is.c && n.out_c == is.c;
  if (num.acc.hw_block()) {
    // One block per hardware coefficient block: whole input channels of k² products
    // (depthwise: the one channel of each output).
    const int k2 = a.kernel * a.kernel;
    a.block = depthwise ? k2 : config_.tiling.channels_per_block(a.kernel) * k2;
  } else {
    a.block = num.acc.rounding_block();
  }
  a.half = num.half;
  a.store_fp16 = num.storage == Storage::FP16;
  a.unscale = shifts_[i] != 0;
  a.unscale_factor = std::ldexp(1.0f, -shifts_[i]);
  // Activations the engine cannot fuse run afterwards on SHAVE, on the stored output.
  const int parts = fc ? 1 : hw_parts(static_cast<int>(i));
  const bool split_act =
      nce && ((config_.nce_fuses_only_relu_clamp && !nce_fusable(n)) || parts > 1);
  if (!split_act) {
    a.act = n.act;
    a.act_min = n.act_min;
    a.act_max = n.act_max;
    a.alpha = n.alpha;
    a.beta = n.beta;
  }
  auto run_kernel = [&](const kernels::ConvArgs& args) {
    // Fully connected layers (one output pixel) always take the scalar kernel.
    if (fc || !simd || !kernels::simd_supports(args.half)) {
      kernels::conv_scalar(args);
    } else if (isa_ == KernelIsa::AVX512) {
      kernels::conv_avx512(args);
    } else {
      kernels::conv_avx2(args);
    }
  };
  const Numerics& sh = config_.shave;
  auto sum_into = [&](float* acc, const float* part, int64_t count) {
    // A SHAVE Sum stage: one add per element, stored in SHAVE's format.
    for (int64_t k = 0; k < count; ++k) acc[k] = acc[k] + part[k];
    if (sh.storage == Storage::FP16) round_to_half(acc, acc, static_cast<size_t>(count), sh.half);
  };
  if (parts <= 1) {
    run_kernel(a);
  } else if (!depthwise) {
    // Split over input channels: part t reads channels [t·cp, ...), bias on part 0 only;
    // each part is stored by the engine, then added on SHAVE in order.
    const int cp = config_.tiling.channels_per_pass(n.kernel);
    const int64_t plane = static_cast<int64_t>(is.h) * is.w;
    const std::vector<float> zeros(static_cast<size_t>(n.out_c), 0.0f);
    std::vector<float> part(y.size());
    for (int t = 0; t < parts; ++t) {
      kernels::ConvArgs p = a;
      const int c0 = t * cp;
      p.in = x.data() + c0 * plane;
      p.in_shape.c = std::min(cp, is.c - c0);
      p.weight = parts_[i][static_cast<size_t>(t)].data();
      p.bias = t == 0 ? n.bias.data() : zeros.data();
      p.out = t == 0 ? y.data() : part.data();
      run_kernel(p);
      if (t > 0) sum_into(y.data(), part.data(), static_cast<int64_t>(y.size()));
    }
  } else {
    // Depthwise as block-diagonal dense: output channel o gets its convolution from its
    // own tile and its bias from tile 0; the other tiles contribute exact zeros.
    const int cp = config_.tiling.channels_per_pass(n.kernel);
    const int64_t plane = static_cast<int64_t>(os.h) * os.w;
    const std::vector<float> zeros(static_cast<size_t>(n.out_c), 0.0f);
    std::vector<float> nobias(y.size());
    run_kernel(a);  // with bias: channels of tile 0
    kernels::ConvArgs p = a;
    p.bias = zeros.data();
    p.out = nobias.data();
    run_kernel(p);
    const int block = a.block;
    for (int o = cp; o < n.out_c; ++o) {
      // Tile 0's stored output for channel o: its bias alone, accumulated and un-scaled.
      float b = n.bias[static_cast<size_t>(o)];
      if (block != 0) b = round_to_half(b, num.half);
      if (a.unscale) b = b * a.unscale_factor;
      if (a.store_fp16) b = round_to_half(b, num.half);
      float* out = y.data() + o * plane;
      const float* conv = nobias.data() + o * plane;
      for (int64_t k = 0; k < plane; ++k) out[k] = b;
      sum_into(out, conv, plane);
    }
  }
  if (split_act) {
    act_node(y, n, sh);
    store(y, sh, simd);
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
  parallel_for(n, threads, [&](int i) {
    const std::vector<float> y = run(input + in_n * i, in);
    std::copy(y.begin(), y.end(), out.begin() + out_n * i);
  });
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
