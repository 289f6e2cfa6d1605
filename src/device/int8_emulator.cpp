#include "device/int8_emulator.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/error.h"
#include "core/parallel_for.h"
#include "device/emulator.h"
#include "device/precision_rule.h"
#include "precision/half.h"
#include "quant/conv_params.h"
#include "quant/dpu_ops.h"
#include "quant/entropy_calibration.h"
#include "quant/int16_ops.h"
#include "quant/int8_ops.h"
#include "quant/ort_int8_ops.h"

namespace dalnas {
namespace {

// Activations TFLite fuses into CONV_2D / ADD / MUL as a clamp.
bool fusable(ActType a) {
  return a == ActType::None || a == ActType::ReLU || a == ActType::ReLU6;
}

FusedActivation fused(ActType a) {
  return a == ActType::ReLU
             ? FusedActivation::Relu
             : (a == ActType::ReLU6 ? FusedActivation::Relu6 : FusedActivation::None);
}

// A range of width 0 (a tensor constant on every calibration tile, e.g. a dead ReLU) would
// give scale 0, which no requantization can divide by: it is widened to 2^-10 above.
TensorRange widened(const TensorRange& r, const std::string& node) {
  if (!std::isfinite(r.min) || !std::isfinite(r.max) || r.min > r.max) {
    throw Error("int8: node '" + node + "': calibration range [" + std::to_string(r.min) + ", " +
                std::to_string(r.max) + "] is not a finite interval");
  }
  TensorRange w{std::min(r.min, 0.0f), std::max(r.max, 0.0f)};
  if (w.max - w.min < 1.0f / 1024.0f) w.max = w.min + 1.0f / 1024.0f;
  return w;
}
QuantParams params_of(const TensorRange& r, const std::string& node) {
  const TensorRange w = widened(r, node);
  return asymmetric_int8_params(w.min, w.max);
}
// The int16 parameters of the same widened range (TFLite's 16x8: symmetric, zero point 0).
QuantParams params16_of(const TensorRange& r, const std::string& node) {
  const TensorRange w = widened(r, node);
  return symmetric_int16_params(w.min, w.max);
}

float sigmoid_f(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}
float gelu_f(float x) {
  return x * 0.5f * (1.0f + std::erf(x * 0.70710678118654752f));
}
float hardswish_f(float x) {
  return x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f;
}
float hardsigmoid_f(float x) {  // ONNX defaults (alpha 0.2, beta 0.5), as lower() emits none
  return std::min(std::max(0.2f * x + 0.5f, 0.0f), 1.0f);
}

bool table_activation(ActType a) {
  return a == ActType::Sigmoid || a == ActType::GELU || a == ActType::HardSwish ||
         a == ActType::HardSigmoid;
}

int32_t quantized_bound(float f, const QuantParams& p) {
  const float q = std::round(f / p.scale) + static_cast<float>(p.zero_point);
  return static_cast<int32_t>(std::max(-128.0f, std::min(127.0f, q)));
}

}  // namespace

DeviceGraph int8_form(const DeviceGraph& g, const Shape& in) {
  DeviceGraph f;
  f.input = g.input;
  f.norm_mean = g.norm_mean;
  f.norm_std = g.norm_std;
  f.norm_folded = g.norm_folded;
  std::vector<int> map(g.nodes.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node n = g.nodes[i];
    for (int& k : n.inputs) k = map.at(static_cast<size_t>(k));
    const bool split =
        (n.op == OpType::Conv || n.op == OpType::Add || n.op == OpType::Mul) && !fusable(n.act);
    if (!split) {
      map[i] = f.add(std::move(n));
      continue;
    }
    Node a;
    a.op = OpType::Activation;
    a.name = n.name + ".act";
    a.act = n.act;
    a.act_min = n.act_min;
    a.act_max = n.act_max;
    a.alpha = n.alpha;
    a.beta = n.beta;
    a.precision = n.precision;
    a.block = n.block;
    n.act = ActType::None;
    a.inputs = {f.add(std::move(n))};
    map[i] = f.add(std::move(a));
  }
  f.infer_shapes(in);
  return f;
}

std::vector<TensorRange> calibrate_ranges(const DeviceGraph& form, const float* images, int n,
                                          const Shape& in, const Int8Config& config, int threads) {
  if (n < 1) throw Error("int8 calibration: no calibration images");
  if (config.calibration == CalibrationMethod::Percentile &&
      !(config.percentile > 50.0 && config.percentile <= 100.0)) {
    throw Error("int8 calibration: percentile " + std::to_string(config.percentile) +
                " is outside (50, 100]");
  }
  EmulatorConfig fp32;  // the float model: FP32 storage and arithmetic everywhere
  fp32.simd = config.simd;
  const Emulator emu(form, fp32);
  const size_t nodes = form.nodes.size();
  std::vector<TensorRange> r(nodes);
  std::vector<bool> seen(nodes, false);
  // Percentile: up to 2^16 values per node and image, taken at an even stride.
  constexpr int64_t kSamples = int64_t{1} << 16;
  const bool sampled = config.calibration == CalibrationMethod::Percentile ||
                       config.calibration == CalibrationMethod::Entropy;
  std::vector<std::vector<float>> samples(sampled ? nodes : 0);
  // Diffs: each image's fix position of least error per node (on the same sample), then
  // the most frequent (vai_q's "modal" statistic over calibration batches).
  const bool diffs = config.calibration == CalibrationMethod::Diffs;
  if (diffs && config.format != Int8Format::Dpu) {
    throw Error("int8 calibration: 'diffs' is a calibration of format dpu-int8");
  }
  std::vector<std::vector<int>> positions(diffs ? nodes : 0);
  std::vector<float> sample;
  (void)threads;
  for (int k = 0; k < n; ++k) {
    const auto all = emu.run_all(images + in.numel() * k, in);
    for (size_t i = 0; i < nodes; ++i) {
      const std::vector<float>& v = all[i];
      if (v.empty()) continue;
      for (float x : v) {
        if (!std::isfinite(x)) {
          throw Error("int8 calibration: node '" + form.nodes[i].name +
                      "' computes a non-finite value on calibration image " + std::to_string(k));
        }
      }
      const auto mm = std::minmax_element(v.begin(), v.end());
      if (!seen[i]) {
        r[i] = TensorRange{*mm.first, *mm.second};
        seen[i] = true;
      } else {
        r[i].min = std::min(r[i].min, *mm.first);
        r[i].max = std::max(r[i].max, *mm.second);
      }
      if (!samples.empty() || diffs) {
        const int64_t size = static_cast<int64_t>(v.size());
        const int64_t step = std::max<int64_t>(1, size / kSamples);
        std::vector<float>& to = diffs ? sample : samples[i];
        if (diffs) sample.clear();
        for (int64_t j = 0; j < size; j += step) to.push_back(v[static_cast<size_t>(j)]);
        if (diffs) {
          const FixRound r = form.nodes[i].op == OpType::Input ? FixRound::Std : FixRound::HalfUp;
          positions[i].push_back(
              diffs_fix_pos(sample.data(), static_cast<int64_t>(sample.size()), r));
        }
      }
    }
  }
  if (diffs) {
    // The range whose overflow-free position (max_fix_pos) is the chosen one.
    for (size_t i = 0; i < nodes; ++i) {
      if (positions[i].empty()) continue;
      const double step = std::ldexp(1.0, -modal_fix_pos(positions[i]));
      r[i] = TensorRange{static_cast<float>(-128.0 * step), static_cast<float>(127.0 * step)};
    }
  }
  // keep_bounded: tensors after a bounded activation keep min / max (Int8Config).
  const auto kept = [&](size_t i) {
    const ActType a = form.nodes[i].act;
    return config.keep_bounded && (a == ActType::ReLU6 || a == ActType::Clip ||
                                   a == ActType::Sigmoid || a == ActType::HardSigmoid);
  };
  if (config.calibration == CalibrationMethod::Entropy) {
    for (size_t i = 0; i < nodes; ++i) {
      const std::vector<float>& s = samples[i];
      if (s.empty() || kept(i)) continue;
      // grid: a one-signed tensor has every level of an asymmetric grid on its side.
      const bool one_signed = r[i].min >= 0.0f || r[i].max <= 0.0f;
      const int levels =
          config.entropy_grid && one_signed && config.format != Int8Format::Dpu ? 256 : 128;
      const float t = entropy_threshold(s.data(), static_cast<int64_t>(s.size()), 2048, levels,
                                        config.entropy_grid);
      r[i].min = std::max(r[i].min, -t);
      r[i].max = std::min(r[i].max, t);
    }
  } else if (!samples.empty()) {
    for (size_t i = 0; i < nodes; ++i) {
      std::vector<float>& s = samples[i];
      if (s.empty() || kept(i)) continue;
      const double q = config.percentile / 100.0;
      const auto at = [&](double p) {
        const size_t idx = static_cast<size_t>(std::llround(p * static_cast<double>(s.size() - 1)));
        std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(idx), s.end());
        return s[idx];
      };
      r[i].max = at(q);
      r[i].min = at(1.0 - q);
    }
  }
  return r;
}

Int8Emulator::Int8Emulator(const DeviceGraph& form, const std::vector<TensorRange>& ranges,
                           const Int8Config& config)
    : graph_(form), config_(config) {
  const char* no_simd = std::getenv("DALNAS_NO_SIMD");
  const bool scalar = !config.simd || (no_simd != nullptr && std::string(no_simd) == "1");
  isa_ = scalar ? Int8Isa::Scalar : best_int8_isa();
  const size_t nn = graph_.nodes.size();
  if (ranges.size() != nn) {
    throw Error("int8: " + std::to_string(ranges.size()) + " calibration ranges for " +
                std::to_string(nn) + " nodes");
  }
  const bool ort = config_.format == Int8Format::OnnxRuntime;
  precision_ = resolve_precision(graph_, config_);  // throws for a precision the format lacks
  if (std::find(precision_.begin(), precision_.end(), LayerPrecision::FP16) != precision_.end()) {
    // The float layers: FP16 storage, FP32 accumulation, round to nearest even, overflow to
    // infinity, subnormals kept (an IEEE FP16 float fallback; devices/fp16-ideal.toml).
    EmulatorConfig c;
    c.nce.storage = Storage::FP16;
    c.shave.storage = Storage::FP16;
    c.simd = config_.simd;
    fp16_ = std::make_shared<const Emulator>(graph_, c);
  }
  params_.resize(nn);
  consumers_.assign(nn, 0);
  for (const Node& n : graph_.nodes) {
    for (int k : n.inputs) ++consumers_.at(static_cast<size_t>(k));
  }
  conv_.resize(nn);
  lut_.resize(nn);
  act_min_.assign(nn, -128);
  act_max_.assign(nn, 127);
  concat_lut_.resize(nn);
  add_lut_.resize(nn);  // filled below (not for dpu-int8)
  for (const Node& n : graph_.nodes) {
    if (n.extended()) {
      throw Error("int8: node '" + n.name +
                  "' uses an imported field (dilation, rectangular kernel or uneven padding) "
                  "the int8 emulation does not support");
    }
    if (n.op == OpType::Activation && n.act == ActType::HardSigmoid &&
        (n.alpha != 0.2f || n.beta != 0.5f)) {
      throw Error("int8: node '" + n.name +
                  "': HardSigmoid with alpha/beta other than 0.2/0.5 is not supported");
    }
    if (n.act == ActType::Swish) {  // an integer target runs it as Logistic + Mul
      throw Error("int8: node '" + n.name +
                  "': Swish (SiLU) is not supported by the integer emulation");
    }
  }
  if (config_.format == Int8Format::Dpu) {
    config_.rounding = RequantRounding::Single;  // the DPU's shift: see quant/dpu_ops.h
    quantize_dpu(ranges);
    return;
  }
  for (size_t i = 0; i < nn; ++i) {
    const Node& n = graph_.nodes[i];
    const std::string& name = n.name;
    const QuantParams in_p = n.inputs.empty() ? QuantParams{} : params_[n.inputs[0]];
    switch (n.op) {
      case OpType::Input:
        params_[i] = params_of(ranges[i], name);
        break;
      case OpType::Conv: {
        if (!fusable(n.act)) throw Error("int8: node '" + name + "': graph not in int8 form");
        params_[i] = params_of(ranges[i], name);
        const int per = static_cast<int>(n.weight.size() / std::max(1, n.out_c));
        // Weight-only int4: the per-channel symmetric grid [−7, 7] (a 4-bit weight).
        const int wmax =
            precision_[i] == LayerPrecision::Int4W ? kInt4WeightMax : config_.weight_max;
        // A quantization-aware network's learned weight steps (Node::weight_scale) deploy
        // as trained ranges do: per-channel targets quantize at them.
        const bool trained_scales =
            config_.trained_ranges && !config_.weights_per_tensor && !n.weight_scale.empty();
        const PerChannelWeights w =
            trained_scales
                ? quantize_weights_at_scales(n.weight.data(), n.out_c, per, n.weight_scale, wmax)
            : config_.weights_per_tensor
                ? quantize_weights_per_tensor(n.weight.data(), n.out_c, per, wmax)
                : quantize_weights_per_channel(n.weight.data(), n.out_c, per, wmax);
        ConvData& d = conv_[i];
        d.weight = w.values;
        d.weight_scale = w.scales;
        // ONNX Runtime (QLinearConv::ComputeOutputScale): x_scale · w_scale[c] / y_scale, in
        // float, left to right. An all-zero channel (scale 0) keeps a tiny positive scale:
        // its sums are the bias alone, which is 0 too.
        d.float_scale.resize(w.scales.size());
        for (size_t c = 0; c < w.scales.size(); ++c) {
          const float f = in_p.scale * w.scales[c] / params_[i].scale;
          d.float_scale[c] = f > 0.0f ? f : std::numeric_limits<float>::min();
        }
        const std::vector<float> bias =
            n.bias.empty() ? std::vector<float>(static_cast<size_t>(n.out_c), 0.0f) : n.bias;
        d.bias = quantize_bias_per_channel(bias, in_p.scale, w.scales);
        const ConvRequant rq =
            conv_requant(in_p.scale, w.scales, params_[i].scale, config_.rounding);
        d.multiplier = rq.multiplier;
        d.shift = rq.shift;
        const ActivationRange ar = activation_range_int8(fused(n.act), params_[i]);
        d.act_min = ar.min;
        d.act_max = ar.max;
        break;
      }
      case OpType::MaxPool:
      case OpType::AvgPool:
      case OpType::Resize:
        params_[i] = in_p;  // shared with the input (quantization_spec.md)
        break;
      case OpType::GlobalAvgPool:
      case OpType::Concat:
        params_[i] = params_of(ranges[i], name);
        // ONNX Runtime's QLinearConcat: a copy where the parameters are equal, else a table.
        if (ort) {
          for (int k : n.inputs) {
            const QuantParams& pk = params_[static_cast<size_t>(k)];
            const bool equal =
                pk.scale == params_[i].scale && pk.zero_point == params_[i].zero_point;
            concat_lut_[i].push_back(equal ? Int8Table{} : ort_table(pk, params_[i]));
          }
        }
        break;
      case OpType::Add:
      case OpType::Mul: {
        params_[i] = params_of(ranges[i], name);
        const ActivationRange ar = activation_range_int8(fused(n.act), params_[i]);
        act_min_[i] = ar.min;
        act_max_[i] = ar.max;
        break;
      }
      case OpType::Activation:
        if (n.act == ActType::Sigmoid) {
          params_[i] = logistic_output_params();
        } else {
          params_[i] = params_of(ranges[i], name);
        }
        if (table_activation(n.act)) {
          float (*f)(float) = n.act == ActType::Sigmoid     ? sigmoid_f
                              : n.act == ActType::GELU      ? gelu_f
                              : n.act == ActType::HardSwish ? hardswish_f
                                                            : hardsigmoid_f;
          lut_[i] = ort ? ort_table(in_p, params_[i], f) : int8_table(in_p, params_[i], f);
        } else if (n.act == ActType::ReLU || n.act == ActType::ReLU6 || n.act == ActType::Clip) {
          const float lo = n.act == ActType::Clip ? n.act_min : 0.0f;
          act_min_[i] = std::max(-128, quantized_bound(lo, params_[i]));
          if (n.act == ActType::ReLU6)
            act_max_[i] = std::min(127, quantized_bound(6.0f, params_[i]));
          if (n.act == ActType::Clip)
            act_max_[i] = std::min(127, quantized_bound(n.act_max, params_[i]));
          // ONNX Runtime: DequantizeLinear -> QuantizeLinear (its Relu / Clip folded into
          // the quantization's clamp), then the clamp, all in one table.
          if (ort) {
            lut_[i] = ort_table(in_p, params_[i]);
            for (int8_t& q : lut_[i]) {
              q = static_cast<int8_t>(std::clamp<int32_t>(q, act_min_[i], act_max_[i]));
            }
          }
        } else if (n.act != ActType::None) {
          throw Error("int8: node '" + name + "': activation " + to_string(n.act) +
                      " has no int8 form");
        }
        break;
      case OpType::Output:
        params_[i] = in_p;
        break;
      default:
        throw Error("int8: node '" + name + "': operation " + to_string(n.op) +
                    " is not supported by the int8 emulation");
    }
  }
  if (std::find(precision_.begin(), precision_.end(), LayerPrecision::Int16) != precision_.end()) {
    quantize_int16_layers(ranges);
  }
  // Add: an elementwise function of two int8 values, so a table of all 65536 pairs computed
  // by the kernel itself gives its result bit for bit (one load per element instead of
  // three fixed-point multiplies).
  std::vector<int8_t> pa, pb;  // every input pair, filled at the first Add
  for (size_t i = 0; i < nn; ++i) {
    const Node& n = graph_.nodes[i];
    if (n.op != OpType::Add || precision_[i] == LayerPrecision::FP16 ||
        precision_[i] == LayerPrecision::Int16) {
      continue;
    }
    if (pa.empty()) {
      pa.resize(65536);
      pb.resize(65536);
      for (int j = 0; j < 65536; ++j) {
        pa[static_cast<size_t>(j)] = static_cast<int8_t>((j >> 8) - 128);
        pb[static_cast<size_t>(j)] = static_cast<int8_t>((j & 255) - 128);
      }
    }
    const size_t a = static_cast<size_t>(n.inputs.at(0)), b = static_cast<size_t>(n.inputs.at(1));
    std::vector<int8_t>& t = add_lut_[i];
    t.resize(65536);
    if (ort) {
      const OrtPath path = consumers_[a] > 1 || consumers_[b] > 1 ? OrtPath::Float : OrtPath::Fused;
      ort_add(pa.data(), params_[a], pb.data(), params_[b], 65536, params_[i], act_min_[i],
              act_max_[i], t.data(), path);
    } else {
      int8_add(pa.data(), params_[a], pb.data(), params_[b], 65536, params_[i], act_min_[i],
               act_max_[i], config_.rounding, t.data());
    }
  }
}

namespace {

// Nodes whose output is their input's tensor at the same fix position on the DPU.
bool dpu_shares_position(const Node& n) {
  return n.op == OpType::MaxPool || n.op == OpType::AvgPool || n.op == OpType::Resize ||
         n.op == OpType::Output;
}

}  // namespace

void Int8Emulator::quantize_dpu(const std::vector<TensorRange>& ranges) {
  const size_t nn = graph_.nodes.size();
  pos_.assign(nn, 0);
  // 1. Every tensor's own position: the calibrated range's (for "diffs" the range is the
  //    chosen position's int8 range, calibrate_ranges).
  for (size_t i = 0; i < nn; ++i) {
    const Node& n = graph_.nodes[i];
    pos_[i] = dpu_shares_position(n) ? pos_.at(static_cast<size_t>(n.inputs.at(0)))
                                     : max_fix_pos(ranges[i].min, ranges[i].max);
  }
  // 2. Concat: its inputs and output at the coarsest of their positions (vai_q
  //    align_concat), set where each input's tensor is produced; repeated until no
  //    position moves (a tensor may feed several concats; positions only decrease).
  auto root = [&](int k) {
    while (dpu_shares_position(graph_.nodes[static_cast<size_t>(k)])) {
      k = graph_.nodes[static_cast<size_t>(k)].inputs.at(0);
    }
    return static_cast<size_t>(k);
  };
  for (bool moved = true; moved;) {
    moved = false;
    for (size_t i = 0; i < nn; ++i) {
      const Node& n = graph_.nodes[i];
      if (n.op != OpType::Concat) continue;
      int m = pos_[i];
      for (int k : n.inputs) m = std::min(m, pos_[root(k)]);
      if (pos_[i] != m) {
        pos_[i] = m;
        moved = true;
      }
      for (int k : n.inputs) {
        if (pos_[root(k)] != m) {
          pos_[root(k)] = m;
          moved = true;
        }
      }
    }
    for (size_t i = 0; i < nn; ++i) {
      if (dpu_shares_position(graph_.nodes[i])) {
        pos_[i] = pos_[static_cast<size_t>(graph_.nodes[i].inputs.at(0))];
      }
    }
  }
  // 3. Per node: the bounds on the shifts, the integer data.
  for (size_t i = 0; i < nn; ++i) {
    const Node& n = graph_.nodes[i];
    const int pin = n.inputs.empty() ? 0 : pos_[static_cast<size_t>(n.inputs[0])];
    switch (n.op) {
      case OpType::MaxPool:
      case OpType::AvgPool:
      case OpType::Resize:
      case OpType::Output:
        pos_[i] = pin;  // again: an add's output position may have moved below
        break;
      case OpType::Input:
      case OpType::GlobalAvgPool:
        break;
      case OpType::Concat:  // aligned above; an input moved since (an add's output) is
                            // requantized by a table
        for (int k : n.inputs) {
          const int pk = pos_[static_cast<size_t>(k)];
          concat_lut_[i].push_back(pk == pos_[i] ? Int8Table{} : dpu_table(pk, pos_[i]));
        }
        break;
      case OpType::Conv: {
        if (!fusable(n.act)) throw Error("int8: node '" + n.name + "': graph not in int8 form");
        const int64_t count = static_cast<int64_t>(n.weight.size());
        const int pw = count > 0 ? diffs_fix_pos(n.weight.data(), count, FixRound::Std) : 0;
        const int pb =
            n.bias.empty()
                ? pw + pin
                : diffs_fix_pos(n.bias.data(), static_cast<int64_t>(n.bias.size()), FixRound::Std);
        const DpuConvShifts sh = dpu_conv_shifts(pin, pos_[i], pw, pb);
        ConvData& d = conv_[i];
        d.weight.resize(n.weight.size());
        for (size_t k = 0; k < n.weight.size(); ++k)
          d.weight[k] = fix_quantize(n.weight[k], sh.pos_w, FixRound::Std);
        d.weight_scale.assign(static_cast<size_t>(n.out_c),
                              static_cast<float>(std::ldexp(1.0, -sh.pos_w)));
        d.bias.assign(static_cast<size_t>(n.out_c), 0);
        for (size_t c = 0; c < n.bias.size(); ++c) {
          if (!config_.dpu_bias_int8) {  // int32 at the accumulator's position
            const double v = std::round(std::ldexp(static_cast<double>(n.bias[c]), sh.pos_w + pin));
            d.bias[c] = static_cast<int32_t>(std::clamp(v, -2147483648.0, 2147483647.0));
            continue;
          }
          d.bias[c] = int32_t{fix_quantize(n.bias[c], sh.pos_b, FixRound::Std)} *
                      (int32_t{1} << sh.shift_bias);
        }
        d.multiplier.assign(static_cast<size_t>(n.out_c), kDpuMultiplier);
        d.shift.assign(static_cast<size_t>(n.out_c), 1 - sh.shift_cut);
        d.act_min = n.act == ActType::None ? -128 : 0;
        d.act_max = n.act == ActType::ReLU6 ? dpu_relu6_max(pos_[i]) : 127;
        break;
      }
      case OpType::Add:
      case OpType::Mul: {
        if (n.op == OpType::Add) {
          pos_[i] = dpu_add_out_pos(pin, pos_[static_cast<size_t>(n.inputs.at(1))], pos_[i]);
        }
        act_min_[i] = n.act == ActType::None ? -128 : 0;
        act_max_[i] = n.act == ActType::ReLU6 ? dpu_relu6_max(pos_[i]) : 127;
        break;
      }
      case OpType::Activation:
        if (n.act == ActType::HardSwish && config_.dpu_hardswish) {
          lut_[i] = dpu_hardswish_table(pin, pos_[i]);
        } else if (n.act == ActType::HardSwish) {
          lut_[i] = dpu_table(pin, pos_[i], hardswish_f);
        } else if (table_activation(n.act)) {
          lut_[i] = dpu_table(pin, pos_[i],
                              n.act == ActType::Sigmoid ? sigmoid_f
                              : n.act == ActType::GELU  ? gelu_f
                                                        : hardsigmoid_f);
        } else if (n.act == ActType::ReLU || n.act == ActType::ReLU6 || n.act == ActType::Clip) {
          lut_[i] = dpu_table(pin, pos_[i]);
          const float lo = n.act == ActType::Clip ? n.act_min : 0.0f;
          const float hi = n.act == ActType::Clip ? n.act_max : 6.0f;
          const int32_t qlo = dpu_round(std::ldexp(static_cast<double>(lo), pos_[i]));
          const int32_t qhi = n.act == ActType::ReLU
                                  ? 127
                                  : dpu_round(std::ldexp(static_cast<double>(hi), pos_[i]));
          for (int8_t& q : lut_[i]) q = static_cast<int8_t>(std::clamp<int32_t>(q, qlo, qhi));
        } else if (n.act != ActType::None) {
          throw Error("int8: node '" + n.name + "': activation " + to_string(n.act) +
                      " has no int8 form");
        } else {
          lut_[i] = dpu_table(pin, pos_[i]);
        }
        break;
      default:
        throw Error("int8: node '" + n.name + "': operation " + to_string(n.op) +
                    " is not supported by the int8 emulation");
    }
  }
  for (size_t i = 0; i < nn; ++i) {
    params_[i] = QuantParams{static_cast<float>(std::ldexp(1.0, -pos_[i])), 0};
  }
}

void Int8Emulator::quantize_int16_layers(const std::vector<TensorRange>& ranges) {
  const size_t nn = graph_.nodes.size();
  params16_.resize(nn);
  for (size_t i = 0; i < nn; ++i) {
    const Node& n = graph_.nodes[i];
    const bool shares = n.op == OpType::MaxPool || n.op == OpType::AvgPool ||
                        n.op == OpType::Resize || n.op == OpType::Output;
    if (shares && !n.inputs.empty()) {
      params16_[i] = params16_[static_cast<size_t>(n.inputs[0])];
    } else {
      params16_[i] = params16_of(ranges[i], n.name);
    }
    if (precision_[i] != LayerPrecision::Int16) continue;
    const QuantParams& pin = params16_[static_cast<size_t>(n.inputs.at(0))];
    switch (n.op) {
      case OpType::Conv: {
        // TFLite 16x8: the int8 weights as quantized above, an int64 bias at s_in·s_w[c] of
        // the int16 input, the requantization to the int16 output.
        ConvData& d = conv_[i];
        const std::vector<float> bias =
            n.bias.empty() ? std::vector<float>(static_cast<size_t>(n.out_c), 0.0f) : n.bias;
        d.bias.clear();
        d.bias64 = quantize_bias_int64_per_channel(bias, pin.scale, d.weight_scale);
        const ConvRequant rq =
            conv_requant(pin.scale, d.weight_scale, params16_[i].scale, config_.rounding);
        for (size_t c = 0; c < rq.shift.size(); ++c) {
          if (rq.shift[c] > 7) {  // TFLite's int64 MultiplyByQuantizedMultiplier: <= 7
            throw Error("int16: node '" + n.name + "': output channel " + std::to_string(c) +
                        " needs a requantization shift of " + std::to_string(rq.shift[c]) +
                        " (TFLite's int64 requantization allows at most 7)");
          }
        }
        d.multiplier = rq.multiplier;
        d.shift = rq.shift;
        const ActivationRange ar = activation_range_int16(fused(n.act), params16_[i]);
        d.act_min = ar.min;
        d.act_max = ar.max;
        break;
      }
      case OpType::MaxPool:
      case OpType::AvgPool:
      case OpType::Resize:
      case OpType::Concat:
      case OpType::GlobalAvgPool:  // MEAN: its own parameters, from its range
        break;
      case OpType::Add:
      case OpType::Mul: {
        const ActivationRange ar = activation_range_int16(fused(n.act), params16_[i]);
        act_min_[i] = ar.min;
        act_max_[i] = ar.max;
        break;
      }
      case OpType::Activation:
        if (n.act == ActType::ReLU || n.act == ActType::ReLU6) {
          const ActivationRange ar = activation_range_int16(fused(n.act), params16_[i]);
          act_min_[i] = ar.min;
          act_max_[i] = ar.max;
          break;
        }
        if (n.act == ActType::Sigmoid) {
          // LOGISTIC int16: output fixed at 1/32768 (SigmoidPrepare ENSUREs it); the input's
          // multiplier is checked here, once, rather than at the first image.
          params16_[i] = int16_logistic_output_params();
          int16_logistic_prepare(pin);
          break;
        }
        // TFLite has no int16 kernel for these (HARD_SWISH and GELU: int8 / uint8 only).
        throw Error("int16: node '" + n.name + "': activation " + to_string(n.act) +
                    " has no int16 kernel (int16 layers run ReLU, ReLU6 and Sigmoid)");
      default:
        throw Error("int16: node '" + n.name + "': operation " + to_string(n.op) +
                    " has no int16 kernel here (int16 layers run Conv, MaxPool, AvgPool, "
                    "GlobalAvgPool, Add, Mul, Concat, Resize, ReLU, ReLU6 and Sigmoid)");
    }
  }
}

void Int8Emulator::int16_node(size_t i, const std::vector<Shape>& shapes, Tensors& t,
                              std::vector<char>& ready16) const {
  const Node& n = graph_.nodes[i];
  const Shape& os = shapes[i];
  std::vector<int16_t>& y = t.s[i];
  y.resize(static_cast<size_t>(os.numel()));
  if (n.op == OpType::Concat) {
    // Each input straight to the concat's parameters (the converter's QUANTIZE before a
    // concatenation whose inputs' parameters differ): int16 -> int16, int8 -> int16, or an
    // FP16 layer's output quantized.
    int64_t off = 0;
    for (int k : n.inputs) {
      const size_t ks = static_cast<size_t>(k);
      const int64_t m = shapes[ks].numel();
      int16_t* dst = y.data() + off;
      if (precision_[ks] == LayerPrecision::Int16) {
        int16_requantize(t.s[ks].data(), m, params16_[ks], params16_[i], config_.rounding, dst);
      } else if (precision_[ks] == LayerPrecision::FP16) {
        quantize_int16(t.f[ks].data(), m, params16_[i], dst);
      } else {
        int8_to_int16_requantize(t.v[ks].data(), m, params_[ks], params16_[i], config_.rounding,
                                 dst);
      }
      off += m;
    }
  }
  // The inputs in int16: an int16 layer's output as it is; an int8 tensor requantized to
  // its int16 parameters (QUANTIZE int8 -> int16); an FP16 layer's output quantized.
  for (int k : n.inputs) {
    if (n.op == OpType::Concat) break;
    const size_t ks = static_cast<size_t>(k);
    if (ready16[ks]) continue;
    std::vector<int16_t>& sk = t.s[ks];
    sk.resize(static_cast<size_t>(shapes[ks].numel()));
    if (precision_[ks] == LayerPrecision::FP16) {
      quantize_int16(t.f[ks].data(), static_cast<int64_t>(sk.size()), params16_[ks], sk.data());
    } else {
      int8_to_int16_requantize(t.v[ks].data(), static_cast<int64_t>(sk.size()), params_[ks],
                               params16_[ks], config_.rounding, sk.data());
    }
    ready16[ks] = 1;
  }
  const int a = n.inputs.at(0);
  const Shape& is = shapes[static_cast<size_t>(a)];
  const std::vector<int16_t>& x = t.s[static_cast<size_t>(a)];
  switch (n.op) {
    case OpType::Concat:  // done above
      break;
    case OpType::Resize:  // parameters shared with the input
      if (n.nearest) {
        int16_resize_nearest(x.data(), is.c, is.h, is.w, os.h, os.w, y.data());
      } else {
        int16_resize_bilinear(x.data(), is.c, is.h, is.w, os.h, os.w,
                              n.coord == ResizeCoord::AlignCorners,
                              n.coord == ResizeCoord::HalfPixel, config_.rounding, y.data());
      }
      break;
    case OpType::Conv: {
      const ConvData& d = conv_[i];
      Int16ConvArgs c;
      c.in = x.data();
      c.c_in = is.c;
      c.h = is.h;
      c.w = is.w;
      c.weight = d.weight.data();
      c.bias = d.bias64.data();
      c.c_out = n.out_c;
      c.kernel = n.kernel;
      c.stride = n.stride;
      c.pad = n.pad;
      c.groups = n.groups;
      c.multiplier = d.multiplier.data();
      c.shift = d.shift.data();
      c.act_min = d.act_min;
      c.act_max = d.act_max;
      c.out = y.data();
      int16_conv(c, isa_ == Int8Isa::Scalar ? Int8Isa::Scalar : best_int16_isa());
      break;
    }
    case OpType::MaxPool:
    case OpType::AvgPool: {
      Int16PoolArgs pa;
      pa.in = x.data();
      pa.c = is.c;
      pa.h = is.h;
      pa.w = is.w;
      pa.kernel = n.kernel;
      pa.stride = n.stride;
      pa.pad = n.pad;
      pa.out = y.data();
      if (n.op == OpType::MaxPool) {
        int16_max_pool(pa);
      } else {
        int16_average_pool(pa);
      }
      break;
    }
    case OpType::Add: {
      const size_t b = static_cast<size_t>(n.inputs.at(1));
      int16_add(x.data(), params16_[static_cast<size_t>(a)], t.s[b].data(), params16_[b],
                os.numel(), params16_[i], act_min_[i], act_max_[i], config_.rounding, y.data());
      break;
    }
    case OpType::GlobalAvgPool:
      int16_mean_hw(x.data(), is.c, is.h, is.w, params16_[static_cast<size_t>(a)], params16_[i],
                    config_.rounding, y.data());
      break;
    case OpType::Mul: {
      // The second input per channel (c × 1 × 1, the SE gate) or of the same shape.
      const size_t b = static_cast<size_t>(n.inputs.at(1));
      const bool per_channel = shapes[b].h == 1 && shapes[b].w == 1 && (os.h > 1 || os.w > 1);
      int16_mul(x.data(), params16_[static_cast<size_t>(a)], t.s[b].data(), params16_[b], os.c,
                os.h, os.w, per_channel, params16_[i], act_min_[i], act_max_[i], config_.rounding,
                y.data());
      break;
    }
    case OpType::Activation:
      if (n.act == ActType::Sigmoid) {
        int16_logistic(x.data(), os.numel(), params16_[static_cast<size_t>(a)], y.data());
        break;
      }
      // ReLU / ReLU6 (the constructor refused the rest)
      int16_requantize(x.data(), os.numel(), params16_[static_cast<size_t>(a)], params16_[i],
                       config_.rounding, y.data());
      for (int16_t& q : y) {
        q = static_cast<int16_t>(std::max<int32_t>(act_min_[i], std::min<int32_t>(act_max_[i], q)));
      }
      break;
    default:
      throw Error("int16: node '" + n.name + "': unsupported operation");
  }
  ready16[i] = 1;
  // Its int8 form (QUANTIZE int16 -> int8) for int8 readers, at its int8 parameters.
  std::vector<int8_t>& q = t.v[i];
  q.resize(y.size());
  int16_to_int8_requantize(y.data(), static_cast<int64_t>(y.size()), params16_[i], params_[i],
                           config_.rounding, q.data());
}

void Int8Emulator::fp16_node(size_t i, const float* input, const Shape& in,
                             const std::vector<Shape>& shapes, Tensors& t,
                             std::vector<char>& ready) const {
  std::vector<std::vector<int8_t>>& v = t.v;
  std::vector<std::vector<float>>& f = t.f;
  const Node& n = graph_.nodes[i];
  // Its float inputs: an FP16 node's stored output as it is; the network input as the host
  // normalised it (a float first layer reads the input unquantized); any other int8 tensor
  // dequantized (DEQUANTIZE), stored as FP16.
  for (int k : n.inputs) {
    const size_t ks = static_cast<size_t>(k);
    if (precision_[ks] == LayerPrecision::FP16 || ready[ks]) continue;
    std::vector<float>& fk = f[ks];
    const Node& src = graph_.nodes[ks];
    fk.resize(static_cast<size_t>(shapes[ks].numel()));
    if (src.op == OpType::Input) {
      const int64_t hw = static_cast<int64_t>(in.h) * in.w;
      const bool has_norm = !graph_.norm_folded && !graph_.norm_mean.empty();
      for (int c = 0; c < in.c; ++c) {
        for (int64_t j = 0; j < hw; ++j) {
          float x = input[c * hw + j];
          if (has_norm) x = (x - graph_.norm_mean[c]) / graph_.norm_std[c];
          fk[static_cast<size_t>(c * hw + j)] = x;
        }
      }
    } else if (precision_[ks] == LayerPrecision::Int16) {  // DEQUANTIZE of the int16 tensor
      dequantize_int16(t.s[ks].data(), static_cast<int64_t>(t.s[ks].size()), params16_[ks],
                       fk.data());
    } else {
      dequantize_int8(v[ks].data(), static_cast<int64_t>(v[ks].size()), params_[ks], fk.data());
    }
    round_to_half(fk.data(), fk.data(), fk.size());
    ready[ks] = 1;
  }
  fp16_->run_node(i, shapes, f, f[i]);
  // Its int8 form (QUANTIZE) for int8 readers, at the tensor's calibrated parameters.
  std::vector<int8_t>& y = v[i];
  y.resize(f[i].size());
  for (size_t j = 0; j < y.size(); ++j) y[j] = quantize_int8(f[i][j], params_[i]);
}

void Int8Emulator::execute(const float* input, const Shape& in, Tensors& t) const {
  const std::vector<Shape> shapes = graph_.compute_shapes(in);
  const size_t nn = graph_.nodes.size();
  std::vector<std::vector<int8_t>>& v = t.v;
  // Buffers are kept from the previous image (run()'s are per thread): every operation
  // writes its whole output, so nothing stale is read.
  v.resize(nn);
  t.f.resize(fp16_ ? nn : 0);
  std::vector<char> ready(fp16_ ? nn : 0, 0);  // f[k] holds int8 node k's float form
  const bool int16 = !params16_.empty();
  t.s.resize(int16 ? nn : 0);
  std::vector<char> ready16(int16 ? nn : 0, 0);  // s[k] holds node k's int16 form
  const RequantRounding rnd = config_.rounding;
  const bool ort = config_.format == Int8Format::OnnxRuntime;
  const bool dpu = config_.format == Int8Format::Dpu;
  for (size_t i = 0; i < nn; ++i) {
    const Node& n = graph_.nodes[i];
    const Shape& os = shapes[i];
    OrtPath path = OrtPath::Fused;  // ORT: fused unless an input feeds other nodes too
    for (int k : n.inputs) {
      if (consumers_[static_cast<size_t>(k)] > 1) path = OrtPath::Float;
    }
    if (n.op == OpType::Output) continue;  // dequantized by run()
    if (precision_[i] == LayerPrecision::FP16) {
      fp16_node(i, input, in, shapes, t, ready);
      continue;
    }
    if (precision_[i] == LayerPrecision::Int16) {
      int16_node(i, shapes, t, ready16);
      continue;
    }
    std::vector<int8_t>& y = v[i];
    y.resize(static_cast<size_t>(os.numel()));
    const int a = n.inputs.empty() ? -1 : n.inputs[0];
    const Shape is = a >= 0 ? shapes[static_cast<size_t>(a)] : in;
    const std::vector<int8_t>* x0 = a >= 0 ? &v[static_cast<size_t>(a)] : nullptr;
    switch (n.op) {
      case OpType::Input: {
        const int64_t hw = static_cast<int64_t>(in.h) * in.w;
        const bool has_norm = !graph_.norm_folded && !graph_.norm_mean.empty();
        if (has_norm && (static_cast<int>(graph_.norm_mean.size()) != in.c ||
                         static_cast<int>(graph_.norm_std.size()) != in.c)) {
          throw Error("int8: the normalisation does not match the input's channels");
        }
        // Channel by channel: the host normalisation into a float row, then one batch
        // quantization (loops that vectorise).
        thread_local std::vector<float> row;
        for (int c = 0; c < in.c; ++c) {
          const float* x = input + c * hw;
          if (has_norm) {
            row.resize(static_cast<size_t>(hw));
            const float mean = graph_.norm_mean[c], sd = graph_.norm_std[c];
            for (int64_t k = 0; k < hw; ++k) row[static_cast<size_t>(k)] = (x[k] - mean) / sd;
            x = row.data();
          }
          int8_t* yc = y.data() + c * hw;
          if (dpu) {
            for (int64_t k = 0; k < hw; ++k) yc[k] = fix_quantize(x[k], pos_[i], FixRound::Std);
          } else if (ort) {
            quantize_int8_even(x, hw, params_[i], yc);
          } else {
            quantize_int8(x, hw, params_[i], yc);
          }
        }
        break;
      }
      case OpType::Conv: {
        const ConvData& d = conv_[i];
        Int8ConvArgs ca;
        ca.in = x0->data();
        ca.c_in = is.c;
        ca.h = is.h;
        ca.w = is.w;
        ca.in_zero_point = params_[a].zero_point;
        ca.weight = d.weight.data();
        ca.bias = d.bias.data();
        ca.c_out = n.out_c;
        ca.kernel = n.kernel;
        ca.stride = n.stride;
        ca.pad = n.pad;
        ca.groups = n.groups;
        ca.multiplier = d.multiplier.data();
        ca.shift = d.shift.data();
        ca.rounding = rnd;
        if (ort) ca.scale = d.float_scale.data();
        ca.out_zero_point = params_[i].zero_point;
        ca.act_min = d.act_min;
        ca.act_max = d.act_max;
        ca.out = y.data();
        int8_conv(ca, isa_);
        break;
      }
      case OpType::MaxPool:
      case OpType::AvgPool: {
        Int8PoolArgs pa;
        pa.in = x0->data();
        pa.c = is.c;
        pa.h = is.h;
        pa.w = is.w;
        pa.kernel = n.kernel;
        pa.stride = n.stride;
        pa.pad = n.pad;
        pa.out = y.data();
        if (n.op == OpType::MaxPool) {
          int8_max_pool(pa);
        } else if (dpu) {
          dpu_average_pool(pa, pos_[a], pos_[i], !config_.dpu_pool_divisor);
        } else if (ort) {
          ort_average_pool(pa, params_[a], params_[i], path);
        } else {
          int8_average_pool(pa);
        }
        break;
      }
      case OpType::GlobalAvgPool:
        if (dpu) {
          dpu_mean_hw(x0->data(), is.c, is.h, is.w, pos_[a], pos_[i], y.data(),
                      !config_.dpu_pool_divisor);
        } else if (ort) {
          ort_global_average_pool(x0->data(), is.c, is.h, is.w, params_[a], params_[i], y.data(),
                                  path);
        } else {
          int8_mean_hw(x0->data(), is.c, is.h, is.w, params_[a], params_[i], rnd, y.data());
        }
        break;
      case OpType::Resize:
        if (n.nearest) {
          int8_resize_nearest(x0->data(), is.c, is.h, is.w, os.h, os.w, y.data());
        } else if (ort || dpu) {
          const OrtCoord coord = n.coord == ResizeCoord::AlignCorners ? OrtCoord::AlignCorners
                                 : n.coord == ResizeCoord::HalfPixel  ? OrtCoord::HalfPixel
                                                                      : OrtCoord::Asymmetric;
          if (dpu) {
            dpu_resize_bilinear(x0->data(), is.c, is.h, is.w, os.h, os.w, coord, pos_[a], y.data());
          } else {
            ort_resize_bilinear(x0->data(), is.c, is.h, is.w, os.h, os.w, coord, params_[a],
                                y.data(), isa_);
          }
        } else {
          int8_resize_bilinear(x0->data(), is.c, is.h, is.w, os.h, os.w,
                               n.coord == ResizeCoord::AlignCorners,
                               n.coord == ResizeCoord::HalfPixel, rnd, y.data());
        }
        break;
      case OpType::Concat: {
        int64_t off = 0;
        for (size_t j = 0; j < n.inputs.size(); ++j) {
          const int k = n.inputs[j];
          const std::vector<int8_t>& xk = v[static_cast<size_t>(k)];
          if (ort || dpu) {  // the tables built by the constructor; none: a copy
            const Int8Table& t = concat_lut_[i][j];
            if (t.empty()) {
              std::copy(xk.begin(), xk.end(), y.begin() + off);
            } else {
              int8_apply_table(xk.data(), static_cast<int64_t>(xk.size()), t, y.data() + off);
            }
            off += static_cast<int64_t>(xk.size());
            continue;
          }
          int8_requantize(xk.data(), static_cast<int64_t>(xk.size()), params_[k], params_[i], rnd,
                          y.data() + off);
          off += static_cast<int64_t>(xk.size());
        }
        break;
      }
      case OpType::Add: {
        const int b = n.inputs.at(1);
        if (dpu) {
          dpu_add(x0->data(), pos_[a], v[b].data(), pos_[b], os.numel(), pos_[i], act_min_[i],
                  act_max_[i], y.data(), config_.dpu_add_truncation);
          break;
        }
        if (ort && add_lut_[i].empty()) {
          ort_add(x0->data(), params_[a], v[b].data(), params_[b], os.numel(), params_[i],
                  act_min_[i], act_max_[i], y.data(), path);
          break;
        }
        if (!add_lut_[i].empty()) {  // the constructor's table of int8_add / ort_add
          const int8_t* t = add_lut_[i].data();
          const int8_t* xa = x0->data();
          const int8_t* xb = v[b].data();
          int8_t* out = y.data();  // locals: stores through int8_t* may alias y and os
          const int64_t count = os.numel();
          for (int64_t j = 0; j < count; ++j) {
            out[j] = t[(static_cast<size_t>(static_cast<uint8_t>(xa[j] ^ 0x80)) << 8) |
                       static_cast<uint8_t>(xb[j] ^ 0x80)];
          }
          break;
        }
        int8_add(x0->data(), params_[a], v[b].data(), params_[b], os.numel(), params_[i],
                 act_min_[i], act_max_[i], rnd, y.data());
        break;
      }
      case OpType::Mul: {
        const int b = n.inputs.at(1);
        const bool per_channel = shapes[b].h == 1 && shapes[b].w == 1 && (os.h > 1 || os.w > 1);
        if (dpu) {
          dpu_mul(x0->data(), pos_[a], v[b].data(), pos_[b], os.c, os.h, os.w, per_channel, pos_[i],
                  act_min_[i], act_max_[i], y.data());
          break;
        }
        if (ort) {
          ort_mul(x0->data(), params_[a], v[b].data(), params_[b], os.c, os.h, os.w, per_channel,
                  params_[i], act_min_[i], act_max_[i], y.data(), path);
          break;
        }
        int8_mul(x0->data(), params_[a], v[b].data(), params_[b], os.c, os.h, os.w, per_channel,
                 params_[i], act_min_[i], act_max_[i], rnd, y.data());
        break;
      }
      case OpType::Activation:
        if (!lut_[i].empty()) {
          int8_apply_table(x0->data(), os.numel(), lut_[i], y.data());
        } else {
          int8_requantize(x0->data(), os.numel(), params_[a], params_[i], rnd, y.data());
          for (int8_t& q : y) {
            q = static_cast<int8_t>(
                std::max<int32_t>(act_min_[i], std::min<int32_t>(act_max_[i], q)));
          }
        }
        break;
      default:
        throw Error("int8: node '" + n.name + "': unsupported operation");
    }
  }
}

bool Int8Emulator::mixed() const {
  return is_mixed(precision_);
}

std::vector<std::vector<int8_t>> Int8Emulator::run_all(const float* input, const Shape& in) const {
  Tensors t;
  execute(input, in, t);
  return std::move(t.v);
}

std::vector<float> Int8Emulator::run(const float* input, const Shape& in) const {
  thread_local Tensors t;
  execute(input, in, t);
  const int out = graph_.output;
  if (out < 0) throw Error("int8: the graph has no Output node");
  const int src = graph_.nodes[static_cast<size_t>(out)].inputs.at(0);
  const size_t ss = static_cast<size_t>(src);
  // A float last layer: its output as it is (no int8 step before the host).
  if (precision_[ss] == LayerPrecision::FP16) return t.f[ss];
  if (precision_[ss] == LayerPrecision::Int16) {  // DEQUANTIZE of the int16 output
    std::vector<float> y(t.s[ss].size());
    dequantize_int16(t.s[ss].data(), static_cast<int64_t>(y.size()), params16_[ss], y.data());
    return y;
  }
  const std::vector<int8_t>& q = t.v[ss];
  std::vector<float> y(q.size());
  dequantize_int8(q.data(), static_cast<int64_t>(q.size()), params_[src], y.data());
  return y;
}

std::vector<float> Int8Emulator::run_batch(const float* input, int n, const Shape& in,
                                           int threads) const {
  if (n <= 0) return {};
  const int64_t in_n = in.numel();
  std::vector<std::vector<float>> outs(static_cast<size_t>(n));
  parallel_for(n, threads,
               [&](int i) { outs[static_cast<size_t>(i)] = run(input + in_n * i, in); });
  std::vector<float> all;
  all.reserve(outs.empty() ? 0 : outs[0].size() * outs.size());
  for (const auto& o : outs) all.insert(all.end(), o.begin(), o.end());
  return all;
}

}  // namespace dalnas
