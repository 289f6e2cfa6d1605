#include "onnx/onnx_fuse.h"

#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "precision/half.h"

namespace dalnas {

namespace {

class Fuser {
 public:
  explicit Fuser(onnx::ModelProto& model) : g_(*model.mutable_graph()) {
    for (const onnx::TensorProto& t : g_.initializer()) consts_[t.name()] = &t;
    for (int i = 0; i < g_.node_size(); ++i) {
      const onnx::NodeProto& n = g_.node(i);
      if (n.op_type() == "Constant" && n.output_size() == 1) {
        for (const onnx::AttributeProto& a : n.attribute()) {
          if (a.name() == "value" && a.has_t()) consts_[n.output(0)] = &a.t();
        }
      }
      for (const std::string& o : n.output()) producer_[o] = i;
      for (const std::string& in : n.input()) ++uses_[in];
    }
    for (const onnx::ValueInfoProto& o : g_.output()) ++uses_[o.name()];
  }

  int run() {
    int count = 0;
    for (int i = 0; i < g_.node_size(); ++i) {
      if (dead_.count(i) != 0 || g_.node(i).op_type() != "Mul") continue;
      if (hard_swish(i) || swish(i) || gelu(i)) ++count;
    }
    if (count == 0) return 0;
    google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
    for (int i = 0; i < g_.node_size(); ++i) {
      if (dead_.count(i) == 0) *kept.Add() = g_.node(i);
    }
    g_.mutable_node()->Swap(&kept);
    return count;
  }

 private:
  // The scalar value of a constant, if `name` is one.
  std::optional<double> scalar(const std::string& name) const {
    auto it = consts_.find(name);
    if (it == consts_.end()) return std::nullopt;
    const onnx::TensorProto& t = *it->second;
    // One value: every dimension 1 (a product of crafted dimensions could overflow, and
    // (-1)·(-1) would pass; found by UndefinedBehaviorSanitizer).
    for (int64_t d : t.dims()) {
      if (d != 1) return std::nullopt;
    }
    const std::string& r = t.raw_data();
    switch (t.data_type()) {
      case onnx::TensorProto::FLOAT: {
        if (t.float_data_size() == 1) return t.float_data(0);
        if (r.size() != 4) return std::nullopt;
        float f;
        std::memcpy(&f, r.data(), 4);
        return f;
      }
      case onnx::TensorProto::DOUBLE: {
        if (t.double_data_size() == 1) return t.double_data(0);
        if (r.size() != 8) return std::nullopt;
        double f;
        std::memcpy(&f, r.data(), 8);
        return f;
      }
      case onnx::TensorProto::FLOAT16: {
        uint16_t h;
        if (t.int32_data_size() == 1) {
          h = static_cast<uint16_t>(t.int32_data(0));
        } else if (r.size() == 2) {
          std::memcpy(&h, r.data(), 2);
        } else {
          return std::nullopt;
        }
        return half_to_float(h);
      }
      default:
        return std::nullopt;
    }
  }
  bool is_scalar(const std::string& name, double value, double tol) const {
    const std::optional<double> v = scalar(name);
    return v && std::fabs(*v - value) <= tol * std::fabs(value);
  }

  // The live node producing `value` with op `type` whose only output has one use.
  const onnx::NodeProto* single_use(const std::string& value, const char* type, int& index) const {
    auto it = producer_.find(value);
    if (it == producer_.end() || dead_.count(it->second) != 0) return nullptr;
    const onnx::NodeProto& n = g_.node(it->second);
    if (n.op_type() != type || !n.domain().empty() || n.output_size() != 1) return nullptr;
    auto u = uses_.find(value);
    if (u == uses_.end() || u->second != 1) return nullptr;
    index = it->second;
    return &n;
  }

  static float attr_float(const onnx::NodeProto& n, const char* name, float fallback) {
    for (const onnx::AttributeProto& a : n.attribute()) {
      if (a.name() == name) return a.f();
    }
    return fallback;
  }

  void replace(int i, const std::string& type, const std::string& x) {
    onnx::NodeProto& n = *g_.mutable_node(i);
    const std::string name = n.name(), out = n.output(0);
    n.Clear();
    n.set_op_type(type);
    n.set_name(name);
    n.add_input(x);
    n.add_output(out);
  }

  // Mul(x, HardSigmoid(x; 1/6, 0.5)) at node i.
  bool hard_swish(int i) {
    const onnx::NodeProto& m = g_.node(i);
    if (m.input_size() != 2 || m.output_size() != 1) return false;
    for (int k = 0; k < 2; ++k) {
      int h = -1;
      const onnx::NodeProto* hs = single_use(m.input(k), "HardSigmoid", h);
      if (hs == nullptr || hs->input_size() != 1 || hs->input(0) != m.input(1 - k)) continue;
      if (std::fabs(attr_float(*hs, "alpha", 0.2f) - 1.0f / 6.0f) > 1e-4f ||
          attr_float(*hs, "beta", 0.5f) != 0.5f) {
        continue;
      }
      const std::string x = m.input(1 - k);
      dead_.insert(h);
      replace(i, "HardSwish", x);
      return true;
    }
    return false;
  }

  // Mul(x, Sigmoid(x)) at node i: SiLU, as torch.onnx writes it (no SiLU op in ONNX before
  // opset 24's Swish); OpenVINO fuses the same pattern into one Swish (SwishFusionWithSigmoid).
  bool swish(int i) {
    const onnx::NodeProto& m = g_.node(i);
    if (m.input_size() != 2 || m.output_size() != 1) return false;
    for (int k = 0; k < 2; ++k) {
      int s = -1;
      const onnx::NodeProto* sig = single_use(m.input(k), "Sigmoid", s);
      if (sig == nullptr || sig->input_size() != 1 || sig->input(0) != m.input(1 - k)) continue;
      const std::string x = m.input(1 - k);
      dead_.insert(s);
      replace(i, "Swish", x);
      return true;
    }
    return false;
  }

  // Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5) ending at node i.
  bool gelu(int i) {
    const onnx::NodeProto& last = g_.node(i);
    if (last.input_size() != 2) return false;
    for (int k = 0; k < 2; ++k) {
      if (!is_scalar(last.input(1 - k), 0.5, 0.0)) continue;
      int im = -1, ia = -1, ie = -1, id = -1;
      const onnx::NodeProto* mul = single_use(last.input(k), "Mul", im);
      if (mul == nullptr || mul->input_size() != 2) continue;
      for (int j = 0; j < 2; ++j) {
        const std::string& x = mul->input(1 - j);
        const onnx::NodeProto* add = single_use(mul->input(j), "Add", ia);
        if (add == nullptr || add->input_size() != 2) continue;
        for (int a = 0; a < 2; ++a) {
          if (!is_scalar(add->input(1 - a), 1.0, 0.0)) continue;
          const onnx::NodeProto* erf = single_use(add->input(a), "Erf", ie);
          if (erf == nullptr || erf->input_size() != 1) continue;
          const onnx::NodeProto* div = single_use(erf->input(0), "Div", id);
          bool ok = div != nullptr && div->input_size() == 2 && div->input(0) == x &&
                    is_scalar(div->input(1), std::sqrt(2.0), 1e-3);
          if (!ok) {
            const onnx::NodeProto* mr = single_use(erf->input(0), "Mul", id);
            ok = mr != nullptr && mr->input_size() == 2 &&
                 ((mr->input(0) == x && is_scalar(mr->input(1), std::sqrt(0.5), 1e-3)) ||
                  (mr->input(1) == x && is_scalar(mr->input(0), std::sqrt(0.5), 1e-3)));
          }
          if (!ok) continue;
          const std::string input = x;
          dead_.insert({im, ia, ie, id});
          replace(i, "Gelu", input);
          return true;
        }
      }
    }
    return false;
  }

  onnx::GraphProto& g_;
  std::map<std::string, const onnx::TensorProto*> consts_;
  std::map<std::string, int> producer_;
  std::map<std::string, int> uses_;
  std::set<int> dead_;
};

}  // namespace

int fuse_onnx_activations(onnx::ModelProto& model) {
  if (!model.has_graph()) return 0;
  return Fuser(model).run();
}

}  // namespace dalnas
