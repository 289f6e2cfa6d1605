#include "onnx/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "device/int8_emulator.h"
#include "precision/half.h"

#ifndef DALNAS_VERSION
#define DALNAS_VERSION "unknown"
#endif

namespace dalnas {

namespace {

// The IR version that goes with an opset (ONNX's release table).
int64_t ir_version_for(int opset) {
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  return 8;
}

class Exporter {
 public:
  Exporter(const DeviceGraph& g, const ExportOptions& opt, const Int8Emulator* q = nullptr)
      : g_(g), opt_(opt), q_(q) {}

  std::string run() {
    if (opt_.opset < 11 || opt_.opset > 17) {
      throw Error("onnx export: opset " + std::to_string(opt_.opset) +
                  " is not supported (11 to 17)");
    }
    if (q_ != nullptr && opt_.opset < 13) {
      throw Error(
          "onnx export: an int8 QDQ model needs opset 13 or later (per-channel "
          "DequantizeLinear); got " +
          std::to_string(opt_.opset));
    }
    if (q_ != nullptr && opt_.fp16) throw Error("onnx export: int8 and fp16 together");
    if (g_.nodes.empty() || g_.nodes[0].op != OpType::Input) {
      throw Error("onnx export: the device graph has no Input node");
    }
    const Shape in = g_.input.numel() > 0 ? g_.input : g_.nodes[0].shape;
    if (in.numel() <= 0) {
      throw Error("onnx export: the device graph's input shape is not set (call infer_shapes)");
    }
    if (g_.output < 0) throw Error("onnx export: the device graph has no Output node");
    shapes_ = g_.compute_shapes(in);

    model_.set_ir_version(ir_version_for(opt_.opset));
    model_.set_producer_name("dalnas");
    model_.set_producer_version(DALNAS_VERSION);
    model_.set_domain("");
    model_.set_model_version(1);
    onnx::OperatorSetIdProto* ops = model_.add_opset_import();
    ops->set_domain("");
    ops->set_version(opt_.opset);
    graph_ = model_.mutable_graph();
    graph_->set_name("dalnas");
    metadata();

    values_.assign(g_.nodes.size(), "");
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      node(i);
      // QDQ: every int8 tensor is its float op's result through QuantizeLinear and
      // DequantizeLinear with the emulator's parameters.
      if (q_ != nullptr && g_.nodes[i].op != OpType::Output) {
        values_[i] = qdq(values_[i], q_->params(static_cast<int>(i)), node_base(i));
      }
    }
    output();
    return model_.SerializeAsString();
  }

 private:
  // ---- names, tensors, nodes -----------------------------------------------------------
  std::string unique(const std::string& base) {
    std::string name = base.empty() ? "v" : base;
    if (names_.insert(name).second) return name;
    for (int k = 1;; ++k) {
      const std::string n = name + "_" + std::to_string(k);
      if (names_.insert(n).second) return n;
    }
  }

  std::string node_base(size_t i) const {
    const Node& n = g_.nodes[i];
    return n.name.empty() ? to_string(n.op) + std::to_string(i) : n.name;
  }

  // A float tensor in the model's element type (FP16: rounded, saturated, subnormals kept).
  std::string floats(const std::string& base, const std::vector<int64_t>& dims,
                     const std::vector<float>& v, bool force_fp32 = false) {
    onnx::TensorProto* t = graph_->add_initializer();
    const std::string name = unique(base);
    t->set_name(name);
    for (int64_t d : dims) t->add_dims(d);
    if (opt_.fp16 && !force_fp32) {
      t->set_data_type(onnx::TensorProto::FLOAT16);
      std::vector<uint16_t> h(v.size());
      for (size_t k = 0; k < v.size(); ++k) {
        h[k] = float_to_half(v[k], HalfMode{Overflow::Saturate, Subnormals::Keep});
      }
      t->set_raw_data(std::string(reinterpret_cast<const char*>(h.data()), h.size() * 2));
    } else {
      t->set_data_type(onnx::TensorProto::FLOAT);
      t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
    }
    return name;
  }
  std::string scalar(const std::string& base, float v) { return floats(base, {}, {v}); }
  template <class T>
  std::string ints(const std::string& base, const std::vector<int64_t>& dims,
                   const std::vector<T>& v, int type) {
    onnx::TensorProto* t = graph_->add_initializer();
    const std::string name = unique(base);
    t->set_name(name);
    for (int64_t d : dims) t->add_dims(d);
    t->set_data_type(type);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T)));
    return name;
  }

  // x -> QuantizeLinear(scale, zero point) -> DequantizeLinear: the dequantized value's name.
  std::string qdq(const std::string& x, const QuantParams& p, const std::string& base) {
    const std::string s = floats(base + ".scale", {}, {p.scale}, true);
    const std::string z = ints<int8_t>(
        base + ".zero_point", {}, {static_cast<int8_t>(p.zero_point)}, onnx::TensorProto::INT8);
    const std::string qv = unique(base + ".q"), dv = unique(base + ".dq");
    op("QuantizeLinear", base + ".quantize", {x, s, z}, qv);
    op("DequantizeLinear", base + ".dequantize", {qv, s, z}, dv);
    return dv;
  }

  // A per-channel (axis 0) DequantizeLinear of an integer initializer; per tensor (scalar
  // scale and zero point, no axis: the profile's weights = "per-tensor", whose scales are
  // one value repeated) when `per_tensor`.
  template <class T>
  std::string dequantized(const std::string& base, const std::vector<int64_t>& dims,
                          const std::vector<T>& v, const std::vector<float>& scales, int type,
                          bool per_tensor = false) {
    const int64_t c = dims.at(0);
    const std::string q = ints<T>(base + "_quantized", dims, v, type);
    const std::string y = unique(base);
    if (per_tensor) {
      const std::string s = floats(base + "_scale", {}, {scales.at(0)}, true);
      const std::string z = ints<T>(base + "_zero_point", {}, std::vector<T>{0}, type);
      op("DequantizeLinear", base + ".dequantize", {q, s, z}, y);
      return y;
    }
    const std::string s = floats(base + "_scale", {c}, scales, true);
    const std::string z =
        ints<T>(base + "_zero_point", {c}, std::vector<T>(static_cast<size_t>(c), 0), type);
    attr(op("DequantizeLinear", base + ".dequantize", {q, s, z}, y), "axis", int64_t{0});
    return y;
  }
  std::string int64s(const std::string& base, const std::vector<int64_t>& v) {
    onnx::TensorProto* t = graph_->add_initializer();
    const std::string name = unique(base);
    t->set_name(name);
    t->add_dims(static_cast<int64_t>(v.size()));
    t->set_data_type(onnx::TensorProto::INT64);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8));
    return name;
  }

  onnx::NodeProto* op(const std::string& type, const std::string& name,
                      const std::vector<std::string>& inputs, const std::string& output) {
    onnx::NodeProto* n = graph_->add_node();
    n->set_op_type(type);
    std::string nn = name;
    for (int k = 1; !node_names_.insert(nn).second; ++k) nn = name + "_" + std::to_string(k);
    n->set_name(nn);
    for (const std::string& in : inputs) n->add_input(in);
    n->add_output(output);
    return n;
  }
  static void attr(onnx::NodeProto* n, const std::string& name, int64_t v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void attr(onnx::NodeProto* n, const std::string& name, float v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void attr(onnx::NodeProto* n, const std::string& name, const std::string& v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  static void attr(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }

  void value_info(onnx::ValueInfoProto* v, const std::string& name, const Shape& s) {
    v->set_name(name);
    onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    onnx::TensorShapeProto* sh = t->mutable_shape();
    sh->add_dim()->set_dim_value(1);
    sh->add_dim()->set_dim_value(s.c);
    if (opt_.dynamic_spatial) {
      sh->add_dim()->set_dim_param("height");
      sh->add_dim()->set_dim_param("width");
    } else {
      sh->add_dim()->set_dim_value(s.h);
      sh->add_dim()->set_dim_value(s.w);
    }
  }

  void metadata() {
    auto prop = [&](const std::string& key, const std::string& value) {
      onnx::StringStringEntryProto* p = model_.add_metadata_props();
      p->set_key(key);
      p->set_value(value);
    };
    if (!opt_.metadata.is_object()) throw Error("onnx export: metadata must be a JSON object");
    for (auto it = opt_.metadata.begin(); it != opt_.metadata.end(); ++it) {
      prop(it.key(), it->is_string() ? it->get<std::string>() : it->dump());
    }
    prop("dalnas.version", DALNAS_VERSION);
    prop("dalnas.precision", q_ != nullptr ? "int8" : opt_.fp16 ? "fp16" : "fp32");
    if (q_ != nullptr) prop("dalnas.int8_format", to_string(q_->config().format));
    prop("dalnas.input_layout", "NCHW");
    prop("dalnas.normalization_folded", g_.norm_folded ? "true" : "false");
    if (!g_.norm_mean.empty() && !opt_.metadata.contains("normalization")) {
      prop("normalization", nlohmann::json{{"mean", g_.norm_mean}, {"std", g_.norm_std}}.dump());
    }
  }

  // ---- activations ---------------------------------------------------------------------
  // Applies `a` (with the node's parameters) to value `x`; returns the result's name.
  std::string activation(const std::string& x, const Node& n, ActType a, const std::string& base) {
    if (a == ActType::None) return x;
    const std::string y = unique(base + ".act");
    switch (a) {
      case ActType::None:
        return x;
      case ActType::ReLU:
        op("Relu", base + ".relu", {x}, y);
        return y;
      case ActType::ReLU6:
      case ActType::Clip: {
        const float lo = a == ActType::ReLU6 ? 0.0f : n.act_min;
        const float hi = a == ActType::ReLU6 ? 6.0f : n.act_max;
        std::vector<std::string> in = {x, "", ""};
        if (!(std::isinf(lo) && lo < 0)) in[1] = scalar(base + ".clip_min", lo);
        if (!(std::isinf(hi) && hi > 0)) in[2] = scalar(base + ".clip_max", hi);
        while (!in.empty() && in.back().empty()) in.pop_back();
        op("Clip", base + ".clip", in, y);
        return y;
      }
      case ActType::Sigmoid:
        op("Sigmoid", base + ".sigmoid", {x}, y);
        return y;
      case ActType::HardSigmoid: {
        onnx::NodeProto* h = op("HardSigmoid", base + ".hardsigmoid", {x}, y);
        attr(h, "alpha", n.alpha);
        attr(h, "beta", n.beta);
        return y;
      }
      case ActType::HardSwish: {
        if (opt_.opset >= 14) {
          op("HardSwish", base + ".hardswish", {x}, y);
          return y;
        }
        const std::string h = unique(base + ".hardsigmoid");
        onnx::NodeProto* hs = op("HardSigmoid", base + ".hardsigmoid", {x}, h);
        attr(hs, "alpha", 1.0f / 6.0f);
        attr(hs, "beta", 0.5f);
        op("Mul", base + ".hardswish", {x, h}, y);
        return y;
      }
      case ActType::Swish: {  // SiLU as torch.onnx writes it: Mul(x, Sigmoid(x))
        const std::string s = unique(base + ".swish_sigmoid");
        op("Sigmoid", base + ".swish_sigmoid", {x}, s);
        op("Mul", base + ".swish", {x, s}, y);
        return y;
      }
      case ActType::GELU: {
        // torch.onnx's form: Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5).
        const std::string d = unique(base + ".gelu_div"), e = unique(base + ".gelu_erf"),
                          p = unique(base + ".gelu_add"), m = unique(base + ".gelu_mul");
        op("Div", base + ".gelu_div", {x, scalar(base + ".sqrt2", 1.41421356f)}, d);
        op("Erf", base + ".gelu_erf", {d}, e);
        op("Add", base + ".gelu_add", {e, scalar(base + ".one", 1.0f)}, p);
        op("Mul", base + ".gelu_mul", {x, p}, m);
        op("Mul", base + ".gelu", {m, scalar(base + ".half", 0.5f)}, y);
        return y;
      }
    }
    throw Error("onnx export: node '" + n.name + "': unknown activation");
  }

  // ---- nodes ---------------------------------------------------------------------------
  const std::string& in(const Node& n, size_t k) const {
    return values_[static_cast<size_t>(n.inputs.at(k))];
  }
  const Shape& in_shape(const Node& n, size_t k) const {
    return shapes_[static_cast<size_t>(n.inputs.at(k))];
  }

  void node(size_t i) {
    const Node& n = g_.nodes[i];
    const std::string base = node_base(i);
    std::string& out = values_[i];
    if (n.extended()) {
      throw Error("onnx export: node '" + n.name + "' (" + to_string(n.op) +
                  ") uses fields of imported graphs only (rectangular kernel, unequal padding, "
                  "dilation, count_include_pad); not exported");
    }
    switch (n.op) {
      case OpType::Input: {
        names_.insert("input");
        value_info(graph_->add_input(), "input", shapes_[i]);
        out = "input";
        if (opt_.fp16) {
          out = unique("input_fp16");
          onnx::NodeProto* c = op("Cast", "input_to_fp16", {"input"}, out);
          attr(c, "to", static_cast<int64_t>(onnx::TensorProto::FLOAT16));
        }
        return;
      }
      case OpType::Conv:
      case OpType::ConvTranspose: {
        const bool t = n.op == OpType::ConvTranspose;
        const int in_c = in_shape(n, 0).c;
        const std::vector<int64_t> wd =
            t ? std::vector<int64_t>{in_c, n.out_c / n.groups, n.kernel, n.kernel}
              : std::vector<int64_t>{n.out_c, in_c / n.groups, n.kernel, n.kernel};
        std::vector<std::string> ins;
        if (q_ != nullptr && !t) {
          // Per-channel (or per-tensor) int8 weights and the int32 bias (scale s_in · s_w[c]),
          // dequantized.
          const Int8Emulator::ConvData& d = q_->conv(static_cast<int>(i));
          const float s_in = q_->params(n.inputs.at(0)).scale;
          const bool per_tensor = q_->config().weights_per_tensor;
          std::vector<float> bias_scale(d.weight_scale.size());
          for (size_t c = 0; c < bias_scale.size(); ++c) bias_scale[c] = s_in * d.weight_scale[c];
          ins = {in(n, 0),
                 dequantized<int8_t>(base + ".weight", wd, d.weight, d.weight_scale,
                                     onnx::TensorProto::INT8, per_tensor),
                 dequantized<int32_t>(base + ".bias", {n.out_c}, d.bias, bias_scale,
                                      onnx::TensorProto::INT32, per_tensor)};
        } else {
          ins = {in(n, 0), floats(base + ".weight", wd, n.weight)};
          if (!n.bias.empty()) ins.push_back(floats(base + ".bias", {n.out_c}, n.bias));
        }
        const std::string y = unique(base);
        onnx::NodeProto* c = op(t ? "ConvTranspose" : "Conv", base, ins, y);
        attr(c, "kernel_shape", std::vector<int64_t>{n.kernel, n.kernel});
        attr(c, "strides", std::vector<int64_t>{n.stride, n.stride});
        attr(c, "pads", std::vector<int64_t>{n.pad, n.pad, n.pad, n.pad});
        attr(c, "dilations", std::vector<int64_t>{1, 1});
        attr(c, "group", static_cast<int64_t>(n.groups));
        if (t && n.output_pad != 0) {
          attr(c, "output_padding", std::vector<int64_t>{n.output_pad, n.output_pad});
        }
        out = activation(y, n, n.act, base);
        return;
      }
      case OpType::MaxPool:
      case OpType::AvgPool: {
        const std::string y = unique(base);
        onnx::NodeProto* p =
            op(n.op == OpType::MaxPool ? "MaxPool" : "AveragePool", base, {in(n, 0)}, y);
        attr(p, "kernel_shape", std::vector<int64_t>{n.kernel, n.kernel});
        attr(p, "strides", std::vector<int64_t>{n.stride, n.stride});
        attr(p, "pads", std::vector<int64_t>{n.pad, n.pad, n.pad, n.pad});
        if (n.op == OpType::AvgPool) attr(p, "count_include_pad", static_cast<int64_t>(0));
        out = y;
        return;
      }
      case OpType::GlobalAvgPool:
        out = unique(base);
        op("GlobalAveragePool", base, {in(n, 0)}, out);
        return;
      case OpType::Resize:
        out = resize(i, base);
        return;
      case OpType::Concat: {
        out = unique(base);
        std::vector<std::string> ins;
        for (size_t k = 0; k < n.inputs.size(); ++k) ins.push_back(in(n, k));
        attr(op("Concat", base, ins, out), "axis", static_cast<int64_t>(1));
        return;
      }
      case OpType::Add:
      case OpType::Mul: {
        const std::string y = unique(base);
        op(n.op == OpType::Add ? "Add" : "Mul", base, {in(n, 0), in(n, 1)}, y);
        out = activation(y, n, n.act, base);
        return;
      }
      case OpType::Activation:
        if (n.act == ActType::None) {
          out = unique(base);
          op("Identity", base, {in(n, 0)}, out);
        } else {
          out = activation(in(n, 0), n, n.act, base);
        }
        return;
      case OpType::FullyConnected: {
        const int64_t k = in_shape(n, 0).numel();
        const std::string f = unique(base + ".flatten"), y = unique(base + ".gemm");
        attr(op("Flatten", base + ".flatten", {in(n, 0)}, f), "axis", static_cast<int64_t>(1));
        std::vector<std::string> ins = {f, floats(base + ".weight", {n.out_c, k}, n.weight)};
        if (!n.bias.empty()) ins.push_back(floats(base + ".bias", {n.out_c}, n.bias));
        attr(op("Gemm", base, ins, y), "transB", static_cast<int64_t>(1));
        const std::string a = activation(y, n, n.act, base);
        out = unique(base + ".reshape");
        op("Reshape", base + ".reshape", {a, int64s(base + ".shape", {1, n.out_c, 1, 1})}, out);
        return;
      }
      case OpType::Softmax: {
        const Shape& s = in_shape(n, 0);
        out = unique(base);
        if (opt_.opset >= 13 || (s.h == 1 && s.w == 1 && !opt_.dynamic_spatial)) {
          attr(op("Softmax", base, {in(n, 0)}, out), "axis", static_cast<int64_t>(1));
          return;
        }
        // Opsets below 13 flatten from `axis` on: softmax over the last axis of NHWC.
        const std::string t0 = unique(base + ".nhwc"), sm = unique(base + ".softmax");
        attr(op("Transpose", base + ".nhwc", {in(n, 0)}, t0), "perm",
             std::vector<int64_t>{0, 2, 3, 1});
        attr(op("Softmax", base + ".softmax", {t0}, sm), "axis", static_cast<int64_t>(3));
        attr(op("Transpose", base + ".nchw", {sm}, out), "perm", std::vector<int64_t>{0, 3, 1, 2});
        return;
      }
      case OpType::Output:
        out = in(n, 0);
        return;
      case OpType::Slice:
      case OpType::Shuffle:
        break;  // imported graphs only
    }
    throw Error("onnx export: node '" + n.name + "' (" + to_string(n.op) +
                ") is not exported (ops and fields of imported graphs only)");
  }

  std::string resize(size_t i, const std::string& base) {
    const Node& n = g_.nodes[i];
    const Shape& y = shapes_[i];
    const std::string roi = floats(base + ".roi", {0}, {}, true);
    std::string scales, sizes;
    // Nearest with a non-integer scale: the emulator's source index is floor(dst·in/out),
    // which is what ONNX computes from `sizes`.
    const bool use_scale =
        n.scale > 0.0f && (!n.nearest || std::floor(n.scale) == n.scale || opt_.dynamic_spatial);
    if (use_scale) {
      scales = floats(base + ".scales", {4}, {1.0f, 1.0f, n.scale, n.scale}, true);
    } else {
      scales = floats(base + ".scales", {0}, {}, true);
      if (!opt_.dynamic_spatial) {
        sizes = int64s(base + ".sizes", {1, y.c, y.h, y.w});
      } else {
        if (n.inputs.size() < 2) {
          throw Error("onnx export: node '" + n.name +
                      "' (resize): a non-integer nearest scale cannot be exported with dynamic "
                      "spatial dimensions");
        }
        // [N, C] of the input, [H, W] of the reference.
        const std::string sx = unique(base + ".shape_x"), sr = unique(base + ".shape_ref"),
                          nc = unique(base + ".nc"), hw = unique(base + ".hw");
        sizes = unique(base + ".sizes");
        op("Shape", base + ".shape_x", {in(n, 0)}, sx);
        op("Shape", base + ".shape_ref", {in(n, 1)}, sr);
        op("Slice", base + ".nc", {sx, int64s(base + ".s0", {0}), int64s(base + ".e2", {2})}, nc);
        op("Slice", base + ".hw", {sr, int64s(base + ".s2", {2}), int64s(base + ".e4", {4})}, hw);
        attr(op("Concat", base + ".sizes", {nc, hw}, sizes), "axis", static_cast<int64_t>(0));
      }
    }
    const std::string out = unique(base);
    std::vector<std::string> ins = {in(n, 0), roi, scales};
    if (!sizes.empty()) ins.push_back(sizes);
    onnx::NodeProto* r = op("Resize", base, ins, out);
    if (n.nearest) {
      attr(r, "mode", std::string("nearest"));
      attr(r, "coordinate_transformation_mode", std::string("asymmetric"));
      attr(r, "nearest_mode", std::string("floor"));
    } else {
      attr(r, "mode", std::string("linear"));
      attr(r, "coordinate_transformation_mode", to_string(n.coord));
    }
    return out;
  }

  // Names the Output node's value "output" (FP16: through a Cast to float32).
  void output() {
    const Node& o = g_.nodes[static_cast<size_t>(g_.output)];
    const std::string& v = values_[static_cast<size_t>(g_.output)];
    const Shape& s = shapes_[static_cast<size_t>(g_.output)];
    if (opt_.fp16) {
      onnx::NodeProto* c = op("Cast", "output_to_fp32", {v}, "output");
      attr(c, "to", static_cast<int64_t>(onnx::TensorProto::FLOAT));
    } else if (v == "input") {
      op("Identity", o.name, {v}, "output");
    } else {
      // Rename the producer's value (and its other uses) to "output".
      for (onnx::NodeProto& n : *graph_->mutable_node()) {
        for (std::string& x : *n.mutable_input()) {
          if (x == v) x = "output";
        }
        for (std::string& x : *n.mutable_output()) {
          if (x == v) x = "output";
        }
      }
    }
    value_info(graph_->add_output(), "output", s);
  }

  const DeviceGraph& g_;
  const ExportOptions& opt_;
  const Int8Emulator* q_ = nullptr;  // set: a QDQ int8 model of its quantization
  std::vector<Shape> shapes_;
  onnx::ModelProto model_;
  onnx::GraphProto* graph_ = nullptr;
  std::vector<std::string> values_;        // per device node: the ONNX value holding its output
  std::set<std::string> names_{"output"};  // value and initializer names
  std::set<std::string> node_names_;
};

}  // namespace

std::string to_onnx_bytes(const DeviceGraph& g, const ExportOptions& opt) {
  return Exporter(g, opt).run();
}

std::string to_onnx_qdq_bytes(const Int8Emulator& q, const ExportOptions& opt) {
  // int4w layers export as int8 QDQ (their weights are in [−7, 7]); a float layer would
  // need float ops between DequantizeLinear and QuantizeLinear, which this exporter does
  // not write; an int16 layer needs opset 21.
  for (size_t i = 0; i < q.graph().nodes.size(); ++i) {
    const LayerPrecision p = q.precision(static_cast<int>(i));
    if (p == LayerPrecision::FP16 || p == LayerPrecision::Int16) {
      // int16: opset 13's QuantizeLinear has no int16 type (it came with opset 21).
      throw Error("export: node '" + q.graph().nodes[i].name + "' is an " + to_string(p) +
                  " layer of a mixed-precision model; the QDQ export (opset 13) writes int8 "
                  "layers only (int8, int4w)");
    }
  }
  return Exporter(q.graph(), opt, &q).run();
}

void check_onnx_bytes(const std::string& bytes, const std::string& what) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) throw Error(what + ": not a valid ONNX protobuf");
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    const auto nl = msg.find('\n');
    if (nl != std::string::npos) msg = msg.substr(0, nl);
    throw Error(what + ": fails the ONNX checker: " + msg);
  }
}

namespace {
// Builds the model (errors named after `path`), checks it, writes it atomically.
template <class Make>
void write_checked(const std::string& path, Make make) {
  std::string bytes;
  try {
    bytes = make();
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  check_onnx_bytes(bytes, path);
  write_file_atomic(path, bytes);
}
}  // namespace

void write_onnx(const DeviceGraph& g, const std::string& path, const ExportOptions& opt) {
  write_checked(path, [&] { return to_onnx_bytes(g, opt); });
}

void write_onnx_qdq(const Int8Emulator& q, const std::string& path, const ExportOptions& opt) {
  write_checked(path, [&] { return to_onnx_qdq_bytes(q, opt); });
}

}  // namespace dalnas
