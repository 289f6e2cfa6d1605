#include "probe/probe.h"

#include <cmath>

#include "device/emulator.h"
#include "precision/half.h"

namespace dalnas {

namespace {

constexpr HalfMode kEven{Overflow::Inf, Subnormals::Keep, Rounding::NearestEven};
constexpr HalfMode kAway{Overflow::Inf, Subnormals::Keep, Rounding::NearestAway};

// True where `v` is a tie of the rounding to FP16 that even and away resolve differently.
bool discriminating_tie(float v) {
  return round_to_half(v, kEven) != round_to_half(v, kAway);
}

// A graph with its Input node (shape `in`).
DeviceGraph start(const Shape& in) {
  DeviceGraph g;
  g.input = in;
  Node input;
  input.op = OpType::Input;
  input.name = "input";
  g.add(input);
  return g;
}

int add_output(DeviceGraph& g, int from) {
  Node out;
  out.op = OpType::Output;
  out.name = "output";
  out.inputs = {from};
  return g.add(out);
}

Node conv(const std::string& name, int from, int out_c, int kernel, int stride,
          std::vector<float> weight, std::vector<float> bias) {
  Node n;
  n.op = OpType::Conv;
  n.name = name;
  n.inputs = {from};
  n.out_c = out_c;
  n.kernel = kernel;
  n.stride = stride;
  n.weight = std::move(weight);
  n.bias = std::move(bias);
  return n;
}

Probe finish(std::string name, std::string description, std::vector<std::string> reveals,
             DeviceGraph g, std::vector<float> input) {
  g.infer_shapes(g.input);
  Probe p;
  p.name = std::move(name);
  p.description = std::move(description);
  p.reveals = std::move(reveals);
  p.graph = std::move(g);
  p.input = std::move(input);
  return p;
}

// A row of `n` values as a 1 × 1 × n input padded with `fill`.
Shape row_shape(size_t n) {
  return {1, 1, static_cast<int>(n)};
}

// 1. The device's conversion of an FP32 input (and whether SHAVE stores FP16 at all):
//    Input -> Concat(x, x) -> Output copies the converted input.
Probe input_convert() {
  const float e = std::ldexp(1.0f, -11);
  std::vector<float> v = {1.0f + e,
                          -(1.0f + e),
                          1.0f + 3 * e,
                          1.0f + e + std::ldexp(1.0f, -20),  // ties
                          2.0f + 2 * e,
                          1024.5f,
                          2049.0f,
                          -2051.0f,  // ties
                          1.0f / 3.0f,
                          0.1f,
                          1000.3f,
                          -7.77f,  // not FP16: any rounding shows
                          65519.0f,
                          65520.0f,
                          70000.0f,
                          1.0e6f,
                          -1.0e6f,
                          -65520.0f,  // overflow
                          1.5f * std::ldexp(1.0f, -15),
                          std::ldexp(1.0f, -16),
                          std::ldexp(1.0f, -24),
                          std::ldexp(1.0f, -25),
                          3.0f * std::ldexp(1.0f, -26),
                          -1.5f * std::ldexp(1.0f, -15),
                          std::ldexp(1.0f, -14) * (1.0f - std::ldexp(1.0f, -12)),
                          0.75f * std::ldexp(1.0f, -14),
                          std::ldexp(1.0f, -15),
                          std::ldexp(1.0f, -15) * 1.00048828125f,  // underflow
                          1.0e-10f,
                          -1.0e-10f,
                          0.0f,
                          1.0f};
  DeviceGraph g = start(row_shape(v.size()));
  Node cat;
  cat.op = OpType::Concat;
  cat.name = "copy";
  cat.inputs = {0, 0};
  add_output(g, g.add(cat));
  return finish("input_convert",
                "Input -> Concat(x, x): the device's Convert of an FP32 input (ties, overflow, "
                "underflow) and whether values are stored in FP16",
                {"shave.storage", "conversions.device_convert"}, std::move(g), std::move(v));
}

// 2. SHAVE storage rounding: Mul(x, x) on FP16 inputs (ties of squares, overflow,
//    subnormal squares).
Probe shave_storage() {
  std::vector<float> v;
  for (int k = 0; k < 1024 && v.size() < 8; ++k) {
    const float x = 1.0f + static_cast<float>(k) / 1024.0f;
    if (discriminating_tie(x * x)) {
      v.push_back(x);
      v.push_back(-x);
    }
  }
  for (int k = 0; k < 1024 && v.size() < 14; k += 7) {
    const float x = 8.0f + static_cast<float>(k) / 128.0f;
    if (discriminating_tie(x * x)) v.push_back(x);
  }
  const float s8 = std::ldexp(1.0f, -8);
  const std::vector<float> more = {255.875f,
                                   256.0f,
                                   300.0f,
                                   -300.0f,
                                   1000.0f,  // overflow
                                   s8,
                                   1.25f * s8,
                                   1.5f * s8,
                                   -1.5f * s8,
                                   std::ldexp(1.0f, -12),
                                   1.5f * std::ldexp(1.0f, -13),
                                   std::ldexp(1.0f, -7),
                                   3.0f,
                                   0.0f};
  v.insert(v.end(), more.begin(), more.end());
  DeviceGraph g = start(row_shape(v.size()));
  Node mul;
  mul.op = OpType::Mul;
  mul.name = "square";
  mul.inputs = {0, 0};
  add_output(g, g.add(mul));
  return finish("shave_storage",
                "Mul(x, x) on SHAVE: rounding of ties, overflow and subnormals of stored results",
                {"shave.rounding", "shave.overflow", "shave.subnormals"}, std::move(g),
                std::move(v));
}

// 3. Neural-engine storage rounding: a 1×1 convolution, channel 0 computes 1.5·x (ties,
//    overflow), channel 1 computes x - 2^-14 (subnormal results). Weights >= 1: shift 0.
Probe nce_storage() {
  std::vector<float> v;
  for (int k = 0; k < 1024 && v.size() < 12; ++k) {
    const float x = 1.0f + static_cast<float>(k) / 1024.0f;
    if (discriminating_tie(1.5f * x)) {
      v.push_back(x);
      v.push_back(-x);
    }
  }
  const float m = std::ldexp(1.0f, -14);
  const std::vector<float> more = {43680.0f, 49984.0f,  -49984.0f, 43648.0f,  // 1.5x overflows
                                   1.5f * m, 1.25f * m, 1.75f * m, 1.125f * m,
                                   m,        2.0f * m,  0.0f,      3.0f};
  v.insert(v.end(), more.begin(), more.end());
  DeviceGraph g = start(row_shape(v.size()));
  const int c = g.add(conv("conv", 0, 2, 1, 1, {1.5f, 1.0f}, {0.0f, -m}));
  add_output(g, c);
  return finish("nce_storage",
                "1x1 convolution on the neural engine (1.5·x and x - 2^-14): rounding of ties, "
                "overflow and subnormals of its stored output",
                {"neural_engine.storage", "neural_engine.rounding", "neural_engine.overflow",
                 "neural_engine.subnormals"},
                std::move(g), std::move(v));
}

// 4. Accumulation of the neural engine: a 1×1 convolution over kAccumulationTerms input
//    channels (the hardware block is 256 channels) and a 3×3 stride-3 one over 57 channels
//    (block 28 channels = 252 products), weights 1, one output pixel per pattern row.
Probe accumulation(int kernel) {
  const std::vector<std::vector<float>> rows = accumulation_patterns();
  const int k2 = kernel * kernel;
  const int channels = (kAccumulationTerms + k2 - 1) / k2;
  const int pixels = static_cast<int>(rows.size());
  const Shape in{channels, kernel, kernel * pixels};
  std::vector<float> x(static_cast<size_t>(in.numel()), 0.0f);
  for (int p = 0; p < pixels; ++p) {
    for (int i = 0; i < kAccumulationTerms; ++i) {
      const int c = i / k2, ky = (i % k2) / kernel, kx = i % kernel;
      x[(static_cast<size_t>(c) * in.h + ky) * in.w + p * kernel + kx] = rows[p][i];
    }
  }
  DeviceGraph g = start(in);
  const int c = g.add(conv("conv", 0, 1, kernel, kernel,
                           std::vector<float>(static_cast<size_t>(channels) * k2, 1.0f), {0.0f}));
  add_output(g, c);
  const std::string k = std::to_string(kernel) + "x" + std::to_string(kernel);
  return finish("accumulation_" + k,
                k + " convolution over " + std::to_string(channels) +
                    " channels, weights 1: one large term, then ones placed so that each "
                    "pixel's sum tells whether the first accumulation block reaches it",
                {"neural_engine.accumulation"}, std::move(g), std::move(x));
}

// 5. Hardware tiling over input channels: a 3×3 stride-3 convolution over 688 channels
//    (more than the 448 of one pass): pixel 0 = 2048 + 1 in part 0 and 1 in part 1
//    (exact only without the FP16 partial), pixel 1 = 2048 in part 0 and four 1s in
//    separate blocks of part 1 (summed exactly only within their own part).
Probe tiling() {
  const int channels = 688, k = 3, pixels = 3;
  const Shape in{channels, k, k * pixels};
  std::vector<float> x(static_cast<size_t>(in.numel()), 0.0f);
  auto at = [&](int c, int ky, int px, int kx) -> float& {
    return x[(static_cast<size_t>(c) * in.h + ky) * in.w + px * k + kx];
  };
  at(0, 0, 0, 0) = 2048.0f;
  at(0, 0, 0, 1) = 1.0f;
  at(448, 0, 0, 0) = 1.0f;
  at(0, 0, 1, 0) = 2048.0f;
  for (int j = 0; j < 4; ++j) at(448 + 60 * j, 0, 1, 0) = 1.0f;
  at(0, 0, 2, 0) = 2.0f;  // pixel 2: small exact sums (a sanity row)
  at(500, 1, 2, 1) = 3.0f;
  DeviceGraph g = start(in);
  const int c = g.add(conv(
      "conv", 0, 1, k, k, std::vector<float>(static_cast<size_t>(channels) * k * k, 1.0f), {0.0f}));
  add_output(g, c);
  return finish("tiling",
                "3x3 convolution over 688 channels (more than one hardware pass): FP16 partial "
                "sums of the parts change the result",
                {"tiling.enabled"}, std::move(g), std::move(x));
}

// 6. Pre-scaling: a first 1×1 convolution with weights 2^-4 (shift 4 under any cap >= 4;
//    the growing-output rule cannot apply): channel 0 sums two large inputs (the scaled
//    accumulator exceeds 65504 only when scaled), channel 1 adds a bias of 5000 (scaled
//    beyond 65504: the plugin's conversion saturates or overflows).
Probe prescale() {
  const std::vector<std::pair<float, float>> pairs = {{1.0f, 1.0f},          {100.0f, 200.0f},
                                                      {60000.0f, 60000.0f},  {30000.0f, 40000.0f},
                                                      {-60000.0f, -6000.0f}, {0.5f, 0.25f}};
  const Shape in{2, 1, static_cast<int>(pairs.size())};
  std::vector<float> x(static_cast<size_t>(in.numel()));
  for (size_t i = 0; i < pairs.size(); ++i) {
    x[i] = pairs[i].first;
    x[pairs.size() + i] = pairs[i].second;
  }
  const float w = std::ldexp(1.0f, -4);
  DeviceGraph g = start(in);
  const int c = g.add(conv("conv", 0, 2, 1, 1, {w, w, w, w}, {0.0f, 5000.0f}));
  add_output(g, c);
  return finish("prescale",
                "1x1 convolution with weights 2^-4 (pre-scaling shift 4): a sum that overflows "
                "only in the scaled accumulator, and a bias that overflows only when scaled",
                {"neural_engine.prescale", "conversions.plugin_constants.overflow"}, std::move(g),
                std::move(x));
}

// 7. The cap of a convolution's pre-scaling shift: layer 1 (one input channel, weight 1:
//    shift 0, no normalVal) feeds layer 2, weights 2^-14 (shift min(14, cap)) with biases
//    2^1 .. 2^15: scaled by 2^s, the biases 2^k with k + s >= 16 overflow, s of them.
Probe prescale_cap() {
  const Shape in{1, 1, 4};
  const std::vector<float> x = {1.0f, -2.0f, 0.5f, 0.0f};
  std::vector<float> w(15, std::ldexp(1.0f, -14)), b;
  for (int k = 1; k <= 15; ++k) b.push_back(std::ldexp(1.0f, k));
  DeviceGraph g = start(in);
  const int c1 = g.add(conv("conv1", 0, 1, 1, 1, {1.0f}, {0.0f}));
  const int c2 = g.add(conv("conv2", c1, 15, 1, 1, w, b));
  add_output(g, c2);
  return finish("prescale_cap",
                "two 1x1 convolutions: the second (weights 2^-14) is shifted by min(14, cap), "
                "which shows in how many of its biases 2^1 .. 2^15 overflow when scaled",
                {"neural_engine.prescale_cap"}, std::move(g), x);
}

// 8. The growing-output rule: layer 1 (two input channels, weights 1: shift 0 < 4) sets
//    normalVal = 5 when the rule applies; layer 2 (weights 2^-8: shift 8, or 3 with
//    normalVal) has biases 100, 1000, 10000: scaled by 2^8 the last two overflow, by 2^3
//    only the last.
Probe growing_output() {
  const Shape in{2, 1, 4};
  const std::vector<float> x = {1.0f, 2.0f, 3.0f, -4.0f, 0.5f, 10.0f, 100.0f, 0.0f};
  const float w = std::ldexp(1.0f, -8);
  DeviceGraph g = start(in);
  const int c1 = g.add(conv("conv1", 0, 1, 1, 1, {1.0f, 1.0f}, {0.0f}));
  const int c2 = g.add(conv("conv2", c1, 4, 1, 1, {w, w, w, w}, {0.0f, 100.0f, 1000.0f, 10000.0f}));
  add_output(g, c2);
  return finish("growing_output",
                "two 1x1 convolutions: the second layer's pre-scaling shift (8, or 3 when the "
                "first layer sets normalVal = 5) shows in which scaled biases overflow",
                {"neural_engine.prescale_growing_output"}, std::move(g), x);
}

// 9. SHAVE accumulation: GlobalAvgPool over 32×32 values, one channel per pattern row.
Probe shave_accumulation() {
  const std::vector<std::vector<float>> rows = accumulation_patterns();
  const Shape in{static_cast<int>(rows.size()), 32, 32};
  std::vector<float> x(static_cast<size_t>(in.numel()), 0.0f);
  for (size_t c = 0; c < rows.size(); ++c) {
    for (int i = 0; i < kAccumulationTerms; ++i) x[c * 1024 + static_cast<size_t>(i)] = rows[c][i];
  }
  DeviceGraph g = start(in);
  Node gap;
  gap.op = OpType::GlobalAvgPool;
  gap.name = "gap";
  gap.inputs = {0};
  add_output(g, g.add(gap));
  return finish("shave_accumulation",
                "GlobalAveragePool over 32x32 values on SHAVE (ReduceMean), the accumulation "
                "patterns of the neural-engine probes",
                {"shave.accumulation"}, std::move(g), std::move(x));
}

// 10. SHAVE activations: Sigmoid over a ramp of FP16 values in [-8, 8].
Probe sigmoid() {
  std::vector<float> v;
  for (int i = -256; i <= 256; ++i) v.push_back(static_cast<float>(i) / 32.0f);
  DeviceGraph g = start(row_shape(v.size()));
  Node act;
  act.op = OpType::Activation;
  act.name = "sigmoid";
  act.act = ActType::Sigmoid;
  act.inputs = {0};
  add_output(g, g.add(act));
  return finish("sigmoid",
                "Sigmoid over a ramp on SHAVE: FP16 firmware arithmetic or fp32 with one rounding",
                {"shave.activations"}, std::move(g), std::move(v));
}

// 11. Fused activations: a 1×1 convolution (weight 1.5) with a Sigmoid: fused into the
//     engine (fp32 on the unrounded sum) or a SHAVE stage on the stored FP16 output.
Probe fused_activation() {
  // Inputs with full FP16 mantissas, so that 1.5·x needs rounding; at negative inputs
  // sigmoid is small and its FP16 output fine enough to show that rounding.
  std::vector<float> v;
  for (int i = 0; i <= 512; ++i)
    v.push_back(round_to_half(-7.0f + 0.0234567f * static_cast<float>(i)));
  DeviceGraph g = start(row_shape(v.size()));
  Node n = conv("conv", 0, 1, 1, 1, {1.5f}, {0.0f});
  n.act = ActType::Sigmoid;
  add_output(g, g.add(n));
  return finish("fused_activation",
                "1x1 convolution (weight 1.5) with Sigmoid: fused into the neural engine or run "
                "on SHAVE on the stored FP16 output",
                {"fused_activations"}, std::move(g), std::move(v));
}

// 12. Interpolation: a half-pixel ×2 bilinear Resize of a 4×6 ramp.
Probe resize() {
  const Shape in{1, 4, 6};
  std::vector<float> x;
  for (int y = 0; y < in.h; ++y) {
    for (int c = 0; c < in.w; ++c) x.push_back(static_cast<float>(8 * y + c * c));
  }
  DeviceGraph g = start(in);
  Node r;
  r.op = OpType::Resize;
  r.name = "resize";
  r.inputs = {0};
  r.scale = 2.0f;
  r.coord = ResizeCoord::HalfPixel;
  add_output(g, g.add(r));
  return finish("resize",
                "half_pixel bilinear x2 Resize of a ramp: what the device computes for "
                "PyTorch's align_corners=False",
                {"resize_half_pixel_as"}, std::move(g), std::move(x));
}

// 13. Hardware average pooling with padding: AvgPool 2×2 stride 2 pad 1 (on the engine,
//     output 7×7 > 5×5), padding excluded in the model.
Probe avgpool() {
  const Shape in{1, 12, 12};
  std::vector<float> x;
  for (int i = 0; i < in.numel(); ++i) x.push_back(static_cast<float>(1 + i % 7));
  DeviceGraph g = start(in);
  Node p;
  p.op = OpType::AvgPool;
  p.name = "avgpool";
  p.inputs = {0};
  p.kernel = 2;
  p.stride = 2;
  p.pad = 1;
  add_output(g, g.add(p));
  return finish("avgpool",
                "AveragePool 2x2 stride 2 pad 1 (count_include_pad = 0) on the neural engine: "
                "whether its borders count the padding",
                {"hw_avgpool_borders"}, std::move(g), std::move(x));
}

}  // namespace

std::vector<std::vector<float>> accumulation_patterns() {
  std::vector<std::vector<float>> rows(kAccumulationRows,
                                       std::vector<float>(kAccumulationTerms, 0.0f));
  rows[0][0] = 2048.0f;
  rows[0][2] = 1.0f;
  rows[0][3] = 1.0f;
  for (int t = 1; t < kAccumulationRows; ++t) {
    rows[t][0] = 2048.0f;
    rows[t][1] = 1.0f;
    rows[t][t + 1] = 1.0f;
  }
  return rows;
}

std::vector<Probe> make_probes() {
  std::vector<Probe> p;
  p.push_back(input_convert());
  p.push_back(shave_storage());
  p.push_back(nce_storage());
  p.push_back(accumulation(1));
  p.push_back(accumulation(3));
  p.push_back(tiling());
  p.push_back(prescale());
  p.push_back(prescale_cap());
  p.push_back(growing_output());
  p.push_back(shave_accumulation());
  p.push_back(sigmoid());
  p.push_back(fused_activation());
  p.push_back(resize());
  p.push_back(avgpool());
  return p;
}

const Probe* find_probe(const std::vector<Probe>& probes, const std::string& name) {
  for (const Probe& p : probes) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::vector<float> emulate_probe(const Probe& probe, const EmulatorConfig& config) {
  EmulatorConfig c = config;
  c.input_precision = InputPrecision::FP32;
  c.input = InputPipeline::Host;
  const Emulator emu(probe.graph, c);
  return emu.run(probe.input.data(), probe.graph.input);
}

}  // namespace dalnas
