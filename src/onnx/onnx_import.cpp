#include "onnx/onnx_import.h"

#include <onnx/onnx_pb.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <map>

#include "core/atomic_file.h"
#include "core/error.h"
#include "onnx/onnx_fuse.h"
#include "precision/half.h"

namespace dalnas {

namespace {

// "2 GiB", "64 KiB", "1000 bytes".
std::string byte_size_text(size_t n) {
  if (n >= (size_t(1) << 30) && n % (size_t(1) << 30) == 0) return std::to_string(n >> 30) + " GiB";
  if (n >= (size_t(1) << 20) && n % (size_t(1) << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n >= 1024 && n % 1024 == 0) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " bytes";
}

}  // namespace

std::string gunzip(const std::string& bytes, const std::string& path, size_t max_bytes) {
  if (bytes.size() > std::numeric_limits<uInt>::max())
    throw Error(path + ": compressed file is larger than 4 GiB; not a model dalnas reads");
  z_stream z{};
  // 15 + 32: a zlib or gzip header, detected automatically.
  if (inflateInit2(&z, 15 + 32) != Z_OK) throw Error(path + ": cannot start gzip decompression");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const std::string msg = z.msg != nullptr ? z.msg : "truncated or corrupt data";
      inflateEnd(&z);
      throw Error(path + ": not a valid gzip file (" + msg + ")");
    }
    const size_t got = sizeof(buf) - z.avail_out;
    if (got > max_bytes - out.size()) {
      inflateEnd(&z);
      throw Error(path + ": decompresses to more than " + byte_size_text(max_bytes) +
                  " (the limit for a .onnx.gz); not a model dalnas reads");
    }
    out.append(buf, got);
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      throw Error(path + ": not a valid gzip file (truncated)");
    }
  }
  inflateEnd(&z);
  return out;
}

namespace {

// Zero padding of H (top, bottom) and W (left, right).
struct Pads {
  int t = 0, l = 0, b = 0, r = 0;
  bool any() const { return t != 0 || l != 0 || b != 0 || r != 0; }
};

// A tensor value of the ONNX graph: the device-graph node that holds it, its ONNX rank
// (4: [1, C, H, W]; 2: flattened [1, K]; 5: the [1, G, C/G, H, W] view of a channel
// shuffle, `swapped` once its two group axes are transposed) and zero padding of a Pad
// node still to be absorbed by the next convolution or average pooling.
struct Value {
  int node = -1;
  int rank = 4;
  Pads pad;
  int g5 = 0;  // rank 5: G
  bool swapped = false;
};

class Importer {
 public:
  Importer(const onnx::ModelProto& model, const std::string& path, const Shape* override_shape)
      : model_(model), path_(path), override_(override_shape) {}

  DeviceGraph run() {
    opset_ = opset();
    const onnx::GraphProto& g = model_.graph();
    for (const onnx::TensorProto& t : g.initializer()) consts_[t.name()] = &t;
    for (const onnx::NodeProto& n : g.node()) {
      for (const std::string& in : n.input()) ++uses_[in];
    }
    for (const onnx::ValueInfoProto& o : g.output()) ++uses_[o.name()];
    add_input();
    for (int i = 0; i < g.node_size(); ++i) {
      index_ = i;
      node(g.node(i));
    }
    if (g.output_size() != 1) {
      throw Error(path_ + ": the model has " + std::to_string(g.output_size()) +
                  " outputs; the device graph takes exactly one");
    }
    const std::string& out = g.output(0).name();
    auto it = values_.find(out);
    if (it == values_.end())
      throw Error(path_ + ": output '" + out + "' is not computed by a node");
    if (it->second.pad.any()) {
      throw Error(path_ + ": output '" + out + "' comes from a Pad node");
    }
    Node o;
    o.op = OpType::Output;
    o.name = out;
    o.inputs = {it->second.node};
    graph_.add(std::move(o));
    graph_.infer_shapes(graph_.input);
    return std::move(graph_);
  }

 private:
  // ---- errors and attributes --------------------------------------------------------
  [[noreturn]] void fail(const onnx::NodeProto& n, const std::string& what) const {
    const std::string name =
        !n.name().empty() ? n.name()
                          : (n.output_size() > 0 ? n.output(0) : "#" + std::to_string(index_));
    throw Error(path_ + ": node '" + name + "' (" + n.op_type() + "): " + what);
  }

  int opset() const {
    for (const onnx::OperatorSetIdProto& o : model_.opset_import()) {
      if (o.domain().empty() || o.domain() == "ai.onnx") {
        const int64_t v = o.version();
        if (v < 7 || v > 17) {
          throw Error(path_ + ": opset " + std::to_string(v) + " is not supported (7 to 17)");
        }
        return static_cast<int>(v);
      }
    }
    throw Error(path_ + ": the model imports no default-domain opset");
  }

  static const onnx::AttributeProto* attr(const onnx::NodeProto& n, const std::string& name) {
    for (const onnx::AttributeProto& a : n.attribute()) {
      if (a.name() == name) return &a;
    }
    return nullptr;
  }
  int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t fallback) const {
    const onnx::AttributeProto* a = attr(n, name);
    return a == nullptr ? fallback : a->i();
  }
  float attr_float(const onnx::NodeProto& n, const std::string& name, float fallback) const {
    const onnx::AttributeProto* a = attr(n, name);
    return a == nullptr ? fallback : a->f();
  }
  std::string attr_string(const onnx::NodeProto& n, const std::string& name,
                          const std::string& fallback) const {
    const onnx::AttributeProto* a = attr(n, name);
    return a == nullptr ? fallback : a->s();
  }
  std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const std::string& name) const {
    const onnx::AttributeProto* a = attr(n, name);
    if (a == nullptr) return {};
    return {a->ints().begin(), a->ints().end()};
  }

  // ---- constants -----------------------------------------------------------------------
  // A tensor of more values cannot be a weight of an edge device's model (2^31: 8 GiB of
  // float32); the limit keeps every size product below in range.
  static constexpr int64_t kMaxTensorValues = int64_t(1) << 31;
  // A dimension (channels, height, width, kernel, groups) must fit an int, with room for
  // the products of shape rules.
  static constexpr int64_t kMaxDim = int64_t(1) << 24;
  int checked_dim(const onnx::NodeProto& n, int64_t v, const std::string& what) const {
    if (v < 0 || v > kMaxDim) {
      fail(n, what + " " + std::to_string(v) + " is out of range (0 to " + std::to_string(kMaxDim) +
                  ")");
    }
    return static_cast<int>(v);
  }

  bool is_const(const std::string& name) const { return consts_.count(name) != 0; }

  const onnx::TensorProto& const_tensor(const onnx::NodeProto& n, int input) const {
    if (input >= n.input_size() || n.input(input).empty()) {
      fail(n, "input " + std::to_string(input) + " is missing");
    }
    auto it = consts_.find(n.input(input));
    if (it == consts_.end()) {
      fail(n, "input '" + n.input(input) + "' must be a constant (an initializer)");
    }
    return *it->second;
  }

  std::vector<double> tensor_values(const onnx::NodeProto& n, const onnx::TensorProto& t) const {
    if (t.data_location() == onnx::TensorProto::EXTERNAL) {
      fail(n, "tensor '" + t.name() + "' is stored in an external file, which is not supported");
    }
    int64_t count = 1;
    for (int64_t d : t.dims()) {
      if (d < 0) fail(n, "tensor '" + t.name() + "' has a negative dimension");
      if (__builtin_mul_overflow(count, d, &count) || count > kMaxTensorValues) {
        fail(n, "tensor '" + t.name() + "' has more than " + std::to_string(kMaxTensorValues) +
                    " values (its dims multiply past what a device graph holds)");
      }
    }
    std::vector<double> v;
    const bool raw = t.has_raw_data();
    const std::string& r = t.raw_data();
    auto from_raw = [&](size_t size, auto decode) {
      if (r.size() != static_cast<size_t>(count) * size) {
        fail(n, "tensor '" + t.name() + "' has " + std::to_string(r.size()) +
                    " bytes of data for " + std::to_string(count) + " values");
      }
      v.resize(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) v[i] = decode(r.data() + i * size);
    };
    switch (t.data_type()) {
      case onnx::TensorProto::FLOAT:
        if (raw) {
          from_raw(4, [](const char* p) {
            float f;
            std::memcpy(&f, p, 4);
            return double(f);
          });
        } else {
          v.assign(t.float_data().begin(), t.float_data().end());
        }
        break;
      case onnx::TensorProto::DOUBLE:
        if (raw) {
          from_raw(8, [](const char* p) {
            double f;
            std::memcpy(&f, p, 8);
            return f;
          });
        } else {
          v.assign(t.double_data().begin(), t.double_data().end());
        }
        break;
      case onnx::TensorProto::FLOAT16:
        if (raw) {
          from_raw(2, [](const char* p) {
            uint16_t h;
            std::memcpy(&h, p, 2);
            return double(half_to_float(h));
          });
        } else {
          for (int32_t h : t.int32_data()) v.push_back(half_to_float(static_cast<uint16_t>(h)));
        }
        break;
      case onnx::TensorProto::INT64:
        if (raw) {
          from_raw(8, [](const char* p) {
            int64_t f;
            std::memcpy(&f, p, 8);
            return double(f);
          });
        } else {
          v.assign(t.int64_data().begin(), t.int64_data().end());
        }
        break;
      case onnx::TensorProto::INT32:
        if (raw) {
          from_raw(4, [](const char* p) {
            int32_t f;
            std::memcpy(&f, p, 4);
            return double(f);
          });
        } else {
          v.assign(t.int32_data().begin(), t.int32_data().end());
        }
        break;
      default:
        fail(n, "tensor '" + t.name() + "' has data type " + std::to_string(t.data_type()) +
                    " (supported: float, double, float16, int32, int64)");
    }
    if (static_cast<int64_t>(v.size()) != count) {
      fail(n, "tensor '" + t.name() + "' has " + std::to_string(v.size()) +
                  " values, its dims say " + std::to_string(count));
    }
    return v;
  }
  std::vector<float> floats(const onnx::NodeProto& n, int input) const {
    const std::vector<double> d = tensor_values(n, const_tensor(n, input));
    return {d.begin(), d.end()};
  }
  std::vector<int64_t> ints(const onnx::NodeProto& n, int input) const {
    const std::vector<double> d = tensor_values(n, const_tensor(n, input));
    std::vector<int64_t> out;
    for (double x : d) out.push_back(static_cast<int64_t>(x));
    return out;
  }
  static std::vector<int64_t> dims(const onnx::TensorProto& t) {
    return {t.dims().begin(), t.dims().end()};
  }
  bool has_input(const onnx::NodeProto& n, int i) const {
    return i < n.input_size() && !n.input(i).empty();
  }

  // ---- values --------------------------------------------------------------------------
  // A tensor input; a pending Pad is accepted only where `allow_pad`.
  Value value(const onnx::NodeProto& n, int input, bool allow_pad = false) const {
    if (input >= n.input_size() || n.input(input).empty()) {
      fail(n, "input " + std::to_string(input) + " is missing");
    }
    const std::string& name = n.input(input);
    auto it = values_.find(name);
    if (it == values_.end()) {
      if (is_const(name)) {
        fail(n, "input '" + name + "' is a constant; constants are supported only as weights");
      }
      fail(n, "input '" + name + "' is not computed before this node");
    }
    if (it->second.pad.any() && !allow_pad) {
      fail(n, "input '" + name +
                  "' comes from a Pad node, which only a following Conv or AveragePool can absorb");
    }
    return it->second;
  }

  // Output 0 of `n` is held by device node `node` (a new node, or an alias).
  void define(const onnx::NodeProto& n, Value v, int output = 0) {
    if (output >= n.output_size()) fail(n, "has no output " + std::to_string(output));
    const std::string& name = n.output(output);
    node_uses_[static_cast<size_t>(v.node)] += uses(name);
    values_[name] = v;
  }
  int uses(const std::string& name) const {
    auto it = uses_.find(name);
    return it == uses_.end() ? 0 : it->second;
  }
  // Outputs beyond the first must be unused (MaxPool indices, BatchNormalization stats).
  void single_output(const onnx::NodeProto& n) const {
    for (int i = 1; i < n.output_size(); ++i) {
      if (!n.output(i).empty() && uses(n.output(i)) > 0) {
        fail(n, "output " + std::to_string(i) + " ('" + n.output(i) + "') is used; not supported");
      }
    }
  }

  int add(Node n) {
    const int i = graph_.add(std::move(n));
    node_uses_.push_back(0);
    return i;
  }

  const Shape& shape(int node) {
    if (shapes_.size() != graph_.nodes.size()) shapes_ = graph_.compute_shapes(graph_.input);
    return shapes_[static_cast<size_t>(node)];
  }

  // An alias op (Identity, Flatten, ...) consumed one use of `in` and re-exports it.
  void alias(const onnx::NodeProto& n, Value in) {
    --node_uses_[static_cast<size_t>(in.node)];
    define(n, in);
  }

  std::string node_name(const onnx::NodeProto& n) const {
    return !n.name().empty() ? n.name() : (n.output_size() > 0 ? n.output(0) : "");
  }

  // ---- the graph input -----------------------------------------------------------------
  void add_input() {
    const onnx::GraphProto& g = model_.graph();
    const onnx::ValueInfoProto* input = nullptr;
    for (const onnx::ValueInfoProto& v : g.input()) {
      if (is_const(v.name())) continue;
      if (input != nullptr) {
        throw Error(path_ + ": the model has several inputs ('" + input->name() + "', '" +
                    v.name() + "'); the device graph takes one");
      }
      input = &v;
    }
    if (input == nullptr) throw Error(path_ + ": the model has no input");
    Shape s;
    const std::string where = path_ + ": input '" + input->name() + "'";
    if (override_ != nullptr) {
      s = *override_;
    } else {
      if (!input->type().has_tensor_type() || !input->type().tensor_type().has_shape()) {
        throw Error(where + " has no shape; give the input shape explicitly");
      }
      const onnx::TensorShapeProto& sh = input->type().tensor_type().shape();
      if (sh.dim_size() != 4 && sh.dim_size() != 2) {
        throw Error(where + " has rank " + std::to_string(sh.dim_size()) +
                    ", expected 4 (1 x C x H x W) or 2 (1 x K)");
      }
      int d[4] = {1, 1, 1, 1};
      for (int i = 0; i < sh.dim_size(); ++i) {
        const onnx::TensorShapeProto::Dimension& dim = sh.dim(i);
        if (!dim.has_dim_value()) {
          if (i == 0) {
            d[i] = 1;
            continue;
          }
          throw Error(where + " has a symbolic dimension " + std::to_string(i) + " ('" +
                      dim.dim_param() + "'); give the input shape explicitly");
        }
        if (dim.dim_value() < 0 || dim.dim_value() > kMaxDim) {
          throw Error(where + " has dimension " + std::to_string(i) + " = " +
                      std::to_string(dim.dim_value()) + ", out of range (0 to " +
                      std::to_string(kMaxDim) + ")");
        }
        d[i] = static_cast<int>(dim.dim_value());
      }
      if (d[0] != 1) throw Error(where + " has batch " + std::to_string(d[0]) + ", expected 1");
      s = {d[1], d[2], d[3]};
    }
    if (s.c <= 0 || s.h <= 0 || s.w <= 0)
      throw Error(where + ": shape " + to_string(s) + " is empty");
    if (int64_t(s.c) * s.h * s.w > kMaxTensorValues)
      throw Error(where + ": shape " + to_string(s) + " has more than " +
                  std::to_string(kMaxTensorValues) + " values");
    graph_.input = s;
    Node n;
    n.op = OpType::Input;
    n.name = input->name();
    const int i = add(std::move(n));
    node_uses_[static_cast<size_t>(i)] += uses(input->name());
    int rank = 4;
    if (input->type().has_tensor_type() && input->type().tensor_type().has_shape() &&
        input->type().tensor_type().shape().dim_size() == 2) {
      if (s.h != 1 || s.w != 1) {
        throw Error(where + " has rank 2 (1 x K); its shape must be K x 1 x 1, not " +
                    to_string(s));
      }
      rank = 2;
    }
    values_[input->name()] = Value{i, rank, {}};
  }

  // ---- attribute helpers for convolutions and pooling -----------------------------------
  // One value for H and W from a 2-element attribute (or `fallback` when absent).
  int square(const onnx::NodeProto& n, const std::string& name, int fallback) const {
    const std::vector<int64_t> v = attr_ints(n, name);
    if (v.empty()) return fallback;
    if (v.size() != 2) {
      fail(n, name + " has " + std::to_string(v.size()) + " values, expected 2 (2-D only)");
    }
    if (v[0] != v[1]) {
      fail(n, name + " (" + std::to_string(v[0]) + ", " + std::to_string(v[1]) +
                  ") differ on H and W; the device graph needs them equal");
    }
    return checked_dim(n, v[0], name);
  }
  // Two values for H and W from a 2-element attribute (`fallback` for both when absent).
  std::pair<int, int> pair_attr(const onnx::NodeProto& n, const std::string& name,
                                int fallback) const {
    const std::vector<int64_t> v = attr_ints(n, name);
    if (v.empty()) return {fallback, fallback};
    if (v.size() != 2) {
      fail(n, name + " has " + std::to_string(v.size()) + " values, expected 2 (2-D only)");
    }
    return {checked_dim(n, v[0], name), checked_dim(n, v[1], name)};
  }
  // Padding from `pads` / auto_pad for a kernel of kh × kw (dilated extents).
  Pads pads4(const onnx::NodeProto& n, int kh, int kw, int stride, const Shape& in) const {
    const std::string autopad = attr_string(n, "auto_pad", "NOTSET");
    Pads p;
    if (autopad == "VALID") return p;
    if (autopad == "SAME_UPPER" || autopad == "SAME_LOWER") {
      const int sizes[2] = {in.h, in.w}, ks[2] = {kh, kw};
      int begin[2], end[2];
      for (int a = 0; a < 2; ++a) {
        const int out = (sizes[a] + stride - 1) / stride;
        const int total = std::max((out - 1) * stride + ks[a] - sizes[a], 0);
        begin[a] = autopad == "SAME_UPPER" ? total / 2 : total - total / 2;
        end[a] = total - begin[a];
      }
      return Pads{begin[0], begin[1], end[0], end[1]};
    }
    if (autopad != "NOTSET" && !autopad.empty()) fail(n, "auto_pad '" + autopad + "' is unknown");
    const std::vector<int64_t> v = attr_ints(n, "pads");
    if (v.empty()) return p;
    if (v.size() != 4) {
      fail(n, "pads has " + std::to_string(v.size()) + " values, expected 4 (2-D only)");
    }
    return Pads{checked_dim(n, v[0], "pads"), checked_dim(n, v[1], "pads"),
                checked_dim(n, v[2], "pads"), checked_dim(n, v[3], "pads")};
  }
  static Pads sum(Pads a, const Pads& b) {
    a.t += b.t;
    a.l += b.l;
    a.b += b.b;
    a.r += b.r;
    return a;
  }
  // Sets a node's padding: top = pad, left = pad_w, and as much more at the bottom as at
  // the right (pad_end); anything else is not expressible.
  void set_pads(const onnx::NodeProto& n, Node& d, const Pads& p) const {
    if (p.b - p.t != p.r - p.l || p.b < p.t) {
      fail(n, "pads (" + std::to_string(p.t) + ", " + std::to_string(p.l) + ", " +
                  std::to_string(p.b) + ", " + std::to_string(p.r) +
                  ") are not supported (bottom and right may exceed top and left only by the "
                  "same amount)");
    }
    d.pad = p.t;
    d.pad_w = p.l != p.t ? p.l : -1;
    d.pad_end = p.b - p.t;
  }
  // Symmetric padding only (ConvTranspose).
  int padding(const onnx::NodeProto& n, int kernel, int stride, const Shape& in) const {
    const Pads p = pads4(n, kernel, kernel, stride, in);
    if (p.t != p.l || p.t != p.b || p.t != p.r) {
      fail(n, "pads (" + std::to_string(p.t) + ", " + std::to_string(p.l) + ", " +
                  std::to_string(p.b) + ", " + std::to_string(p.r) +
                  ") are not symmetric; the device graph needs equal padding on all sides");
    }
    return p.t;
  }
  void no_dilation(const onnx::NodeProto& n) const {
    for (int64_t d : attr_ints(n, "dilations")) {
      if (d != 1) fail(n, "dilations other than 1 are not supported");
    }
  }
  int dilation(const onnx::NodeProto& n) const {
    const std::pair<int, int> d = pair_attr(n, "dilations", 1);
    if (d.first != d.second || d.first < 1) {
      fail(n, "dilations (" + std::to_string(d.first) + ", " + std::to_string(d.second) +
                  ") differ on H and W; the device graph needs them equal");
    }
    return d.first;
  }
  void expect_rank4(const onnx::NodeProto& n, const Value& v) {
    if (v.rank != 4) fail(n, "input '" + n.input(0) + "' is flattened; expected N x C x H x W");
  }

  // ---- ops -----------------------------------------------------------------------------
  void node(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    if (!n.domain().empty() && n.domain() != "ai.onnx") {
      fail(n, "domain '" + n.domain() + "' is not supported");
    }
    if (op == "Constant") return constant(n);
    if (n.output_size() < 1) fail(n, "has no outputs");
    if (op == "Conv") return conv(n, false);
    if (op == "ConvTranspose") return conv(n, true);
    if (op == "BatchNormalization") return batch_norm(n);
    if (op == "Relu" || op == "Clip" || op == "Sigmoid" || op == "HardSigmoid" ||
        op == "HardSwish" || op == "Gelu" || op == "Swish") {
      return activation(n);
    }
    if (op == "Cast") return cast(n);
    if (op == "MaxPool" || op == "AveragePool") return pool(n);
    if (op == "GlobalAveragePool") return simple(n, OpType::GlobalAvgPool, 1);
    if (op == "Resize" || op == "Upsample") return resize(n);
    if (op == "Concat") return concat(n);
    if (op == "Add" || op == "Mul") return binary(n);
    if (op == "Gemm" || op == "MatMul") return fully_connected(n);
    if (op == "Flatten" || op == "Reshape") return reshape(n);
    if (op == "Identity" && n.input_size() == 1 && is_const(n.input(0))) {
      consts_[n.output(0)] = consts_.at(n.input(0));  // Identity over an initializer
      return;
    }
    if (op == "Transpose") return transpose(n);
    if (op == "Split") return split(n);
    if (op == "Slice") return slice(n);
    if (op == "ReduceMean") return reduce_mean(n);
    if (op == "Identity" || op == "Dropout") {
      single_output(n);
      return alias(n, value(n, 0, true));  // a pending Pad passes through
    }
    if (op == "Pad") return pad(n);
    if (op == "Softmax") return softmax(n);
    fail(n, "op type '" + op + "' is not supported by the device graph");
  }

  void constant(const onnx::NodeProto& n) {
    const onnx::AttributeProto* a = attr(n, "value");
    if (a == nullptr || !a->has_t()) fail(n, "only the 'value' (tensor) form is supported");
    owned_.push_back(a->t());
    owned_.back().set_name(n.output(0));
    consts_[n.output(0)] = &owned_.back();
  }

  void conv(const onnx::NodeProto& n, bool transposed) {
    const Value x = value(n, 0, !transposed);
    expect_rank4(n, x);
    const onnx::TensorProto& wt = const_tensor(n, 1);
    const std::vector<int64_t> wd = dims(wt);
    if (wd.size() != 4) {
      fail(n, "weight '" + wt.name() + "' has rank " + std::to_string(wd.size()) +
                  ", expected 4 (2-D convolution)");
    }
    if (transposed && wd[2] != wd[3]) {
      fail(n, "kernel " + std::to_string(wd[2]) + "x" + std::to_string(wd[3]) +
                  " is not square; the device graph needs square kernels for ConvTranspose");
    }
    for (int i = 0; i < 4; ++i) checked_dim(n, wd[i], "weight dimension " + std::to_string(i));
    const Shape in = shape(x.node);
    Node c;
    c.op = transposed ? OpType::ConvTranspose : OpType::Conv;
    c.name = node_name(n);
    c.inputs = {x.node};
    const std::pair<int, int> ks = pair_attr(n, "kernel_shape", 0);
    c.kernel = ks.first > 0 ? ks.first : static_cast<int>(wd[2]);
    const int kw = ks.second > 0 ? ks.second : static_cast<int>(wd[3]);
    if (c.kernel != wd[2] || kw != wd[3]) {
      fail(n, "kernel_shape does not match the weight's shape");
    }
    if (kw != c.kernel) c.kernel_w = kw;
    c.stride = square(n, "strides", 1);
    if (transposed) {
      no_dilation(n);
    } else {
      c.dilation = dilation(n);
    }
    const int64_t groups = attr_int(n, "group", 1);
    if (groups < 1 || groups > kMaxDim)
      fail(n, "group must be within 1.." + std::to_string(kMaxDim));
    c.groups = static_cast<int>(groups);
    if (transposed) {
      if (attr(n, "output_shape") != nullptr) fail(n, "output_shape is not supported; give pads");
      const std::string autopad = attr_string(n, "auto_pad", "NOTSET");
      if (autopad != "NOTSET" && autopad != "VALID" && !autopad.empty()) {
        fail(n, "auto_pad '" + autopad + "' is not supported; give pads");
      }
      c.pad = autopad == "VALID" ? 0 : padding(n, c.kernel, c.stride, in);
      c.output_pad = square(n, "output_padding", 0);
      if (wd[0] != in.c) {
        fail(n, "weight has " + std::to_string(wd[0]) + " input channels, the input has " +
                    std::to_string(in.c));
      }
      c.out_c = checked_dim(n, wd[1] * c.groups, "output channels");
    } else {
      const int eh = c.dilation * (c.kernel - 1) + 1, ew = c.dilation * (kw - 1) + 1;
      set_pads(n, c, sum(pads4(n, eh, ew, c.stride, in), x.pad));
      if (wd[1] * c.groups != in.c) {
        fail(n, "weight expects " + std::to_string(wd[1] * c.groups) +
                    " input channels, the input has " + std::to_string(in.c));
      }
      c.out_c = static_cast<int>(wd[0]);
    }
    c.weight = floats(n, 1);
    if (has_input(n, 2)) {
      c.bias = floats(n, 2);
      if (static_cast<int>(c.bias.size()) != c.out_c) {
        fail(n, "bias has " + std::to_string(c.bias.size()) + " values, expected " +
                    std::to_string(c.out_c));
      }
    }
    define(n, Value{add(std::move(c)), 4, {}});
  }

  // Output channel o of a Conv / ConvTranspose: multiplies its weights by s.
  static void scale_out_channel(Node& c, const Shape& in, int o, float s) {
    const int64_t kk = int64_t(c.kernel) * c.kernel;
    if (c.op == OpType::Conv) {
      const int64_t per = static_cast<int64_t>(c.weight.size()) / c.out_c;
      for (int64_t k = 0; k < per; ++k) c.weight[o * per + k] *= s;
    } else {
      const int cout_g = c.out_c / c.groups, cin_g = in.c / c.groups;
      const int g = o / cout_g, j = o % cout_g;
      for (int ci = g * cin_g; ci < (g + 1) * cin_g; ++ci) {
        for (int64_t k = 0; k < kk; ++k) c.weight[(int64_t(ci) * cout_g + j) * kk + k] *= s;
      }
    }
  }

  void batch_norm(const onnx::NodeProto& n) {
    single_output(n);
    const Value x = value(n, 0);
    const Shape in = shape(x.node);
    if (x.rank != 4 && !(x.rank == 2 && in.h == 1 && in.w == 1)) {
      fail(n, "input '" + n.input(0) + "' is neither N x C x H x W nor N x C");
    }
    const std::vector<float> gamma = floats(n, 1), beta = floats(n, 2), mean = floats(n, 3),
                             var = floats(n, 4);
    const float eps = attr_float(n, "epsilon", 1e-5f);
    for (const std::vector<float>* v : {&gamma, &beta, &mean, &var}) {
      if (static_cast<int>(v->size()) != in.c) {
        fail(n, "parameters have " + std::to_string(v->size()) + " values for " +
                    std::to_string(in.c) + " channels");
      }
    }
    std::vector<float> scale(in.c), shift(in.c);
    for (int c = 0; c < in.c; ++c) {
      scale[c] = static_cast<float>(gamma[c] / std::sqrt(double(var[c]) + eps));
      shift[c] = beta[c] - mean[c] * scale[c];
    }
    Node& p = graph_.nodes[static_cast<size_t>(x.node)];
    if ((p.op == OpType::Conv || p.op == OpType::ConvTranspose) && p.act == ActType::None &&
        node_uses_[static_cast<size_t>(x.node)] == 1) {
      const Shape pin = shape(p.inputs[0]);
      if (p.bias.empty()) p.bias.assign(static_cast<size_t>(p.out_c), 0.0f);
      for (int c = 0; c < in.c; ++c) {
        scale_out_channel(p, pin, c, scale[c]);
        p.bias[c] = p.bias[c] * scale[c] + shift[c];
      }
      --node_uses_[static_cast<size_t>(x.node)];
      define(n, x);
      return;
    }
    if (p.op == OpType::FullyConnected && p.act == ActType::None &&
        node_uses_[static_cast<size_t>(x.node)] == 1) {  // BatchNorm1d after a Linear
      const size_t per = p.weight.size() / static_cast<size_t>(p.out_c);
      if (p.bias.empty()) p.bias.assign(static_cast<size_t>(p.out_c), 0.0f);
      for (int c = 0; c < in.c; ++c) {
        for (size_t k = 0; k < per; ++k) p.weight[c * per + k] *= scale[c];
        p.bias[c] = p.bias[c] * scale[c] + shift[c];
      }
      --node_uses_[static_cast<size_t>(x.node)];
      define(n, x);
      return;
    }
    define(n, Value{add(depthwise(n, x.node, in.c, scale, shift)), x.rank, {}});
  }

  // A 1×1 depthwise convolution y = w[c]·x + b[c].
  Node depthwise(const onnx::NodeProto& n, int input, int channels, std::vector<float> w,
                 std::vector<float> b) const {
    Node c;
    c.op = OpType::Conv;
    c.name = node_name(n);
    c.inputs = {input};
    c.out_c = channels;
    c.groups = channels;
    c.weight = std::move(w);
    c.bias = std::move(b);
    return c;
  }

  void activation(const onnx::NodeProto& n) {
    const std::string& op = n.op_type();
    const Value x = value(n, 0);
    Node a;
    if (op == "Relu") {
      a.act = ActType::ReLU;
    } else if (op == "Sigmoid") {
      a.act = ActType::Sigmoid;
    } else if (op == "HardSwish") {
      a.act = ActType::HardSwish;
    } else if (op == "Swish") {  // x·sigmoid(alpha·x): SiLU when alpha is 1
      if (attr_float(n, "alpha", 1.0f) != 1.0f)
        fail(n, "only Swish with alpha 1 (SiLU) is supported");
      a.act = ActType::Swish;
    } else if (op == "Gelu") {
      if (attr_string(n, "approximate", "none") != "none") fail(n, "only exact GELU is supported");
      a.act = ActType::GELU;
    } else if (op == "HardSigmoid") {
      a.act = ActType::HardSigmoid;
      a.alpha = attr_float(n, "alpha", 0.2f);
      a.beta = attr_float(n, "beta", 0.5f);
    } else {  // Clip
      float lo = -std::numeric_limits<float>::infinity();
      float hi = std::numeric_limits<float>::infinity();
      if (opset_ < 11) {
        lo = attr_float(n, "min", lo);
        hi = attr_float(n, "max", hi);
      } else {
        if (has_input(n, 1)) lo = scalar(n, 1);
        if (has_input(n, 2)) hi = scalar(n, 2);
      }
      a.act = lo == 0.0f && hi == 6.0f ? ActType::ReLU6 : ActType::Clip;
      a.act_min = lo;
      a.act_max = hi;
    }
    Node& p = graph_.nodes[static_cast<size_t>(x.node)];
    const bool fusable = p.op == OpType::Conv || p.op == OpType::ConvTranspose ||
                         p.op == OpType::Add || p.op == OpType::Mul ||
                         p.op == OpType::FullyConnected;
    if (fusable && p.act == ActType::None && node_uses_[static_cast<size_t>(x.node)] == 1) {
      p.act = a.act;
      p.act_min = a.act_min;
      p.act_max = a.act_max;
      p.alpha = a.alpha;
      p.beta = a.beta;
      --node_uses_[static_cast<size_t>(x.node)];
      define(n, x);
      return;
    }
    a.op = OpType::Activation;
    a.name = node_name(n);
    a.inputs = {x.node};
    define(n, Value{add(std::move(a)), x.rank, {}});
  }

  // Cast between float types: no node (the device's storage format decides the precision).
  void cast(const onnx::NodeProto& n) {
    const int64_t to = attr_int(n, "to", 0);
    if (to != onnx::TensorProto::FLOAT && to != onnx::TensorProto::FLOAT16 &&
        to != onnx::TensorProto::DOUBLE) {
      fail(n, "cast to data type " + std::to_string(to) + " is not supported (float types only)");
    }
    alias(n, value(n, 0, true));
  }

  float scalar(const onnx::NodeProto& n, int input) const {
    const std::vector<float> v = floats(n, input);
    if (v.size() != 1) fail(n, "input '" + n.input(input) + "' must be a scalar");
    return v[0];
  }

  void pool(const onnx::NodeProto& n) {
    single_output(n);
    const bool avg = n.op_type() == "AveragePool";
    const Value x = value(n, 0, avg);  // a Pad before an AveragePool: counted zeros
    expect_rank4(n, x);
    const Shape in = shape(x.node);
    Node p;
    p.op = avg ? OpType::AvgPool : OpType::MaxPool;
    p.name = node_name(n);
    p.inputs = {x.node};
    const std::pair<int, int> k = pair_attr(n, "kernel_shape", 0);
    if (k.first < 1 || k.second < 1) fail(n, "kernel_shape is missing");
    p.kernel = k.first;
    if (k.second != k.first) p.kernel_w = k.second;
    p.stride = square(n, "strides", 1);
    no_dilation(n);
    if (attr_int(n, "storage_order", 0) != 0) fail(n, "storage_order = 1 is not supported");
    Pads pads = pads4(n, k.first, k.second, p.stride, in);
    const bool count_include = attr_int(n, "count_include_pad", 0) != 0;
    if (x.pad.any()) {
      // Pad (zeros) + AveragePool: the zeros are averaged like values, i.e.
      // count_include_pad over the Pad's padding.
      if (pads.any() && !count_include) {
        fail(n, "padding of its own without count_include_pad after a Pad node is not supported");
      }
      pads = sum(pads, x.pad);
      p.count_pad = true;
    } else if (avg && count_include && pads.any()) {
      p.count_pad = true;
    }
    if (attr_int(n, "ceil_mode", 0) != 0) {
      // ceil_mode: extra padding at the bottom / right so that floor gives the ceil size
      // (a window may not start in the bottom / right padding).
      const int sizes[2] = {in.h, in.w}, ks[2] = {k.first, k.second};
      const int begin[2] = {pads.t, pads.l}, end[2] = {pads.b, pads.r};
      int extra[2];
      for (int a = 0; a < 2; ++a) {
        const int len = sizes[a] + begin[a] + end[a];
        int out = (len - ks[a] + p.stride - 1) / p.stride + 1;
        if ((out - 1) * p.stride >= sizes[a] + begin[a]) --out;
        extra[a] = std::max(0, (out - 1) * p.stride + ks[a] - len);
      }
      if (extra[0] != extra[1]) fail(n, "ceil_mode = 1 pads H and W differently; not supported");
      if (extra[0] > 0 && avg) {
        fail(n, "ceil_mode = 1 on an AveragePool that it changes is not supported");
      }
      pads.b += extra[0];
      pads.r += extra[1];
    }
    set_pads(n, p, pads);
    if (p.pad >= p.kernel || p.pw() >= p.kw()) fail(n, "padding must be smaller than the kernel");
    define(n, Value{add(std::move(p)), 4, {}});
  }

  void simple(const onnx::NodeProto& n, OpType op, int inputs) {
    Node s;
    s.op = op;
    s.name = node_name(n);
    for (int i = 0; i < inputs; ++i) {
      const Value v = value(n, i);
      expect_rank4(n, v);
      s.inputs.push_back(v.node);
    }
    define(n, Value{add(std::move(s)), 4, {}});
  }

  void resize(const onnx::NodeProto& n) {
    const Value x = value(n, 0);
    expect_rank4(n, x);
    const Shape in = shape(x.node);
    std::vector<double> scales;
    if (n.op_type() == "Upsample" && opset_ < 9) {
      const onnx::AttributeProto* a = attr(n, "scales");
      if (a == nullptr) fail(n, "the scales attribute is missing");
      scales.assign(a->floats().begin(), a->floats().end());
    } else if (n.op_type() == "Upsample" || opset_ == 10) {
      const std::vector<float> s = floats(n, 1);
      scales.assign(s.begin(), s.end());
    } else {  // Resize 11+: X, roi, scales, sizes
      if (has_input(n, 2) && !tensor_values(n, const_tensor(n, 2)).empty()) {
        const std::vector<float> s = floats(n, 2);
        scales.assign(s.begin(), s.end());
      } else if (has_input(n, 3)) {
        const std::vector<int64_t> sz = ints(n, 3);
        if (sz.size() != 4) fail(n, "sizes must have 4 values");
        const int64_t d[4] = {1, in.c, in.h, in.w};
        for (int i = 0; i < 4; ++i) scales.push_back(double(sz[i]) / double(d[i]));
      } else {
        fail(n, "needs constant scales or sizes");
      }
    }
    if (scales.size() != 4) fail(n, "scales must have 4 values (N, C, H, W)");
    if (scales[0] != 1.0 || scales[1] != 1.0) fail(n, "scales on N and C must be 1");
    if (std::fabs(scales[2] - scales[3]) > 1e-6 || scales[2] <= 0.0) {
      fail(n, "scales on H and W must be equal and positive");
    }
    if (!(scales[2] * double(std::max(in.h, in.w)) <= double(kMaxDim))) {
      fail(n, "scale " + std::to_string(scales[2]) + " makes the output larger than " +
                  std::to_string(kMaxDim) + " pixels a side");
    }
    std::string mode = attr_string(n, "mode", "nearest");
    if (mode == "bilinear") mode = "linear";
    const std::string coord =
        attr_string(n, "coordinate_transformation_mode",
                    n.op_type() == "Upsample" || opset_ < 11 ? "asymmetric" : "half_pixel");
    const std::string nearest_mode = attr_string(n, "nearest_mode", "round_prefer_floor");
    Node r;
    r.op = OpType::Resize;
    r.name = node_name(n);
    r.inputs = {x.node};
    r.scale = static_cast<float>(scales[2]);
    if (mode == "linear") {
      if (coord != "half_pixel" && coord != "pytorch_half_pixel" && coord != "asymmetric" &&
          coord != "align_corners") {
        fail(n, "linear resize with coordinate_transformation_mode '" + coord +
                    "' is not supported (half_pixel, pytorch_half_pixel, asymmetric, "
                    "align_corners)");
      }
      r.coord = parse_resize_coord(coord);
    } else if (mode == "nearest") {
      const double s = scales[2];
      if (std::fabs(s - std::round(s)) > 1e-6) fail(n, "nearest resize needs an integer scale");
      const bool ok = coord == "half_pixel" || coord == "pytorch_half_pixel" ||
                      (coord == "asymmetric" &&
                       (nearest_mode == "floor" || (n.op_type() == "Upsample" && opset_ < 11) ||
                        (nearest_mode == "round_prefer_floor" && std::round(s) == 2.0)));
      if (!ok) {
        fail(n, "nearest resize with coordinate_transformation_mode '" + coord +
                    "' and nearest_mode '" + nearest_mode + "' is not supported");
      }
      r.nearest = true;
    } else {
      fail(n, "mode '" + mode + "' is not supported (nearest, linear)");
    }
    define(n, Value{add(std::move(r)), 4, {}});
  }

  void concat(const onnx::NodeProto& n) {
    int64_t axis = attr_int(n, "axis", 1);
    Node c;
    c.op = OpType::Concat;
    c.name = node_name(n);
    int rank = 4;
    for (int i = 0; i < n.input_size(); ++i) {
      const Value v = value(n, i);
      if (i == 0) rank = v.rank;
      if (v.rank != rank) fail(n, "inputs differ in rank");
      if (v.rank == 2) {
        const Shape& s = shape(v.node);
        if (s.h != 1 || s.w != 1) fail(n, "concatenating flattened tensors is not supported");
      }
      c.inputs.push_back(v.node);
    }
    if (axis < 0) axis += rank;
    if (axis != 1) fail(n, "axis " + std::to_string(axis) + " is not supported (only channels)");
    define(n, Value{add(std::move(c)), rank, {}});
  }

  void binary(const onnx::NodeProto& n) {
    const bool add_op = n.op_type() == "Add";
    if (n.input_size() != 2) fail(n, "needs 2 inputs");
    const bool c0 = is_const(n.input(0)), c1 = is_const(n.input(1));
    if (c0 && c1) fail(n, "both inputs are constants");
    if (c0 || c1) return binary_const(n, add_op, c0 ? 1 : 0, c0 ? 0 : 1);
    Value a = value(n, 0), b = value(n, 1);
    Shape sa = shape(a.node), sb = shape(b.node);
    if (!add_op && !(sa == sb) && sa.h == 1 && sa.w == 1 && sb.c == sa.c) {
      std::swap(a, b);
      std::swap(sa, sb);
    }
    if (!(sa == sb) && (add_op || !(sb.c == sa.c && sb.h == 1 && sb.w == 1))) {
      fail(n, "inputs of shapes " + to_string(sa) + " and " + to_string(sb) +
                  " need broadcasting the device graph does not support");
    }
    if (a.rank != b.rank && !(sa == sb)) fail(n, "inputs differ in rank");
    Node e;
    e.op = add_op ? OpType::Add : OpType::Mul;
    e.name = node_name(n);
    e.inputs = {a.node, b.node};
    define(n, Value{add(std::move(e)), a.rank, {}});
  }

  // Add / Mul with a constant: folded into a FullyConnected's bias, or a 1×1 depthwise conv.
  void binary_const(const onnx::NodeProto& n, bool add_op, int var, int cst) {
    const Value x = value(n, var);
    const Shape s = shape(x.node);
    std::vector<float> k = floats(n, cst);
    Node& p = graph_.nodes[static_cast<size_t>(x.node)];
    const bool channelwise = static_cast<int>(k.size()) == s.c || k.size() == 1;
    if (!channelwise) {
      fail(n, "a constant of " + std::to_string(k.size()) + " values for a " + to_string(s) +
                  " tensor is not supported (scalar or one per channel only)");
    }
    if (k.size() == 1) k.assign(static_cast<size_t>(s.c), k[0]);
    if (add_op && p.op == OpType::FullyConnected && p.act == ActType::None &&
        node_uses_[static_cast<size_t>(x.node)] == 1) {
      if (p.bias.empty()) p.bias.assign(static_cast<size_t>(p.out_c), 0.0f);
      for (int c = 0; c < p.out_c; ++c) p.bias[c] += k[c];
      --node_uses_[static_cast<size_t>(x.node)];
      define(n, x);
      return;
    }
    if (x.rank != 4 && (s.h != 1 || s.w != 1)) {
      fail(n, "a constant operand on a flattened tensor is not supported");
    }
    std::vector<float> w(static_cast<size_t>(s.c), 1.0f), b;
    if (add_op) {
      b = k;
    } else {
      w = k;
    }
    define(n, Value{add(depthwise(n, x.node, s.c, w, b)), x.rank, {}});
  }

  void fully_connected(const onnx::NodeProto& n) {
    const bool gemm = n.op_type() == "Gemm";
    const Value x = value(n, 0);
    const Shape in = shape(x.node);
    if (x.rank != 2) fail(n, "input '" + n.input(0) + "' must be flattened to [1, K]");
    const int64_t k_in = in.numel();
    const onnx::TensorProto& wt = const_tensor(n, 1);
    const std::vector<int64_t> wd = dims(wt);
    if (wd.size() != 2) fail(n, "weight '" + wt.name() + "' must have rank 2");
    bool trans_b = false;
    float alpha = 1.0f, beta = 1.0f;
    if (gemm) {
      if (attr_int(n, "transA", 0) != 0) fail(n, "transA = 1 is not supported");
      trans_b = attr_int(n, "transB", 0) != 0;
      alpha = attr_float(n, "alpha", 1.0f);
      beta = attr_float(n, "beta", 1.0f);
    }
    const int64_t rows = trans_b ? wd[1] : wd[0], cols = trans_b ? wd[0] : wd[1];
    if (rows != k_in) {
      fail(n, "weight '" + wt.name() + "' expects " + std::to_string(rows) +
                  " inputs, the input has " + std::to_string(k_in));
    }
    const std::vector<float> w = floats(n, 1);
    Node f;
    f.op = OpType::FullyConnected;
    f.name = node_name(n);
    f.inputs = {x.node};
    f.out_c = checked_dim(n, cols, "output size");
    f.weight.resize(w.size());
    for (int64_t o = 0; o < cols; ++o) {
      for (int64_t i = 0; i < rows; ++i) {
        f.weight[o * rows + i] = alpha * (trans_b ? w[o * rows + i] : w[i * cols + o]);
      }
    }
    if (gemm && has_input(n, 2)) {
      std::vector<float> b = floats(n, 2);
      if (b.size() == 1) b.assign(static_cast<size_t>(cols), b[0]);
      if (static_cast<int64_t>(b.size()) != cols) {
        fail(n,
             "bias has " + std::to_string(b.size()) + " values, expected " + std::to_string(cols));
      }
      for (float& v : b) v *= beta;
      f.bias = std::move(b);
    }
    define(n, Value{add(std::move(f)), 2, {}});
  }

  void reshape(const onnx::NodeProto& n) {
    const Value x = value(n, 0);
    const Shape s = shape(x.node);
    if (n.op_type() == "Flatten") {
      int64_t axis = attr_int(n, "axis", 1);
      if (axis < 0) axis += x.rank;
      if (axis != 1 && axis != 0) fail(n, "axis " + std::to_string(axis) + " is not supported");
      Value v = x;
      v.rank = 2;
      return alias(n, v);
    }
    const std::vector<int64_t> target = ints(n, 1);
    // The input's ONNX dims.
    std::vector<int64_t> d =
        x.rank == 4 ? std::vector<int64_t>{1, s.c, s.h, s.w} : std::vector<int64_t>{1, s.numel()};
    if (x.rank == 5) {
      d = x.swapped ? std::vector<int64_t>{1, s.c / x.g5, x.g5, s.h, s.w}
                    : std::vector<int64_t>{1, x.g5, s.c / x.g5, s.h, s.w};
    }
    std::vector<int64_t> out(target.size());
    int64_t known = 1;
    int infer = -1;
    for (size_t i = 0; i < target.size(); ++i) {
      out[i] = target[i] == 0 && i < d.size() ? d[i] : target[i];
      if (out[i] == -1) {
        if (infer >= 0) fail(n, "shape has more than one -1");
        infer = static_cast<int>(i);
      } else {
        if (out[i] < 0) fail(n, "shape has a negative dimension " + std::to_string(out[i]));
        if (__builtin_mul_overflow(known, out[i], &known))
          fail(n, "shape's dimensions multiply past 64 bits");
      }
    }
    if (infer >= 0) out[static_cast<size_t>(infer)] = known > 0 ? s.numel() / known : 0;
    int64_t total = 1;
    for (int64_t v : out) {
      if (__builtin_mul_overflow(total, v, &total))
        fail(n, "shape's dimensions multiply past 64 bits");
    }
    if (total != s.numel()) fail(n, "shape does not keep the number of values");
    Value v = x;
    v.g5 = 0;
    v.swapped = false;
    if (out.size() == 2 && out[0] == 1) {
      v.rank = 2;
    } else if (out.size() == 4 && out[0] == 1 && out[1] == s.c && out[2] == s.h && out[3] == s.w) {
      v.rank = 4;
    } else if (out.size() == 5 && x.rank == 4 && out[0] == 1 && out[1] * out[2] == s.c &&
               out[3] == s.h && out[4] == s.w && out[1] >= 1) {
      v.rank = 5;  // the first step of a channel shuffle: [1, G, C/G, H, W]
      v.g5 = static_cast<int>(out[1]);
    } else {
      std::string t;
      for (int64_t e : out) t += (t.empty() ? "" : "x") + std::to_string(e);
      fail(n, "reshape to " + t +
                  " is not supported (only flattening to [1, K] and a channel shuffle's "
                  "[1, G, C/G, H, W])");
    }
    alias(n, v);
  }

  // Transpose: only the middle step of a channel shuffle, [1, G, C/G, H, W] with its two
  // group axes swapped (perm 0, 2, 1, 3, 4).
  void transpose(const onnx::NodeProto& n) {
    const Value x = value(n, 0);
    const std::vector<int64_t> perm = attr_ints(n, "perm");
    if (x.rank != 5 || x.swapped || perm != std::vector<int64_t>{0, 2, 1, 3, 4}) {
      fail(n,
           "only the channel shuffle's transpose (perm 0, 2, 1, 3, 4 of a [1, G, C/G, H, W] "
           "reshape) is supported");
    }
    Node sh;
    sh.op = OpType::Shuffle;
    sh.name = node_name(n);
    sh.inputs = {x.node};
    sh.groups = x.g5;
    Value v{add(std::move(sh)), 5, {}};
    v.g5 = x.g5;
    v.swapped = true;
    define(n, v);
  }

  // A channel range [begin, end) of a rank-4 value as a Slice node (the whole range: alias).
  Value channel_slice(const onnx::NodeProto& n, const Value& x, int begin, int end,
                      const std::string& name) {
    const Shape s = shape(x.node);
    if (begin < 0 || end > s.c || begin >= end) {
      fail(n, "channels " + std::to_string(begin) + ".." + std::to_string(end) +
                  " are not within the input's " + std::to_string(s.c));
    }
    if (begin == 0 && end == s.c) return x;
    Node sl;
    sl.op = OpType::Slice;
    sl.name = name;
    sl.inputs = {x.node};
    sl.c_begin = begin;
    sl.out_c = end - begin;
    return Value{add(std::move(sl)), 4, {}};
  }

  int64_t axis_of(const onnx::NodeProto& n, int64_t axis, int rank) const {
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) fail(n, "axis out of range");
    return axis;
  }

  // Split along channels (ShuffleNet's chunk): one Slice node per output.
  void split(const onnx::NodeProto& n) {
    const Value x = value(n, 0);
    expect_rank4(n, x);
    const Shape s = shape(x.node);
    if (axis_of(n, attr_int(n, "axis", 0), 4) != 1) fail(n, "only splits along channels");
    std::vector<int64_t> sizes;
    if (opset_ >= 13) {
      if (has_input(n, 1)) sizes = ints(n, 1);
    } else {
      sizes = attr_ints(n, "split");
    }
    const int parts = n.output_size();
    if (sizes.empty()) {
      if (parts < 1 || s.c % parts != 0) {
        fail(n, std::to_string(s.c) + " channels do not split into " + std::to_string(parts) +
                    " equal parts");
      }
      sizes.assign(static_cast<size_t>(parts), s.c / parts);
    }
    if (static_cast<int>(sizes.size()) != parts) fail(n, "split sizes do not match the outputs");
    int64_t begin = 0;
    for (int i = 0; i < parts; ++i) {
      const int64_t end = begin + sizes[static_cast<size_t>(i)];
      if (end > s.c || sizes[static_cast<size_t>(i)] < 1)
        fail(n, "split sizes exceed the channels");
      if (!n.output(i).empty() && uses(n.output(i)) > 0) {
        define(n,
               channel_slice(n, x, static_cast<int>(begin), static_cast<int>(end),
                             node_name(n) + ":" + std::to_string(i)),
               i);
      }
      begin = end;
    }
    if (begin != s.c) fail(n, "split sizes do not add up to the channels");
    --node_uses_[static_cast<size_t>(x.node)];
  }

  // Slice along channels with step 1.
  void slice(const onnx::NodeProto& n) {
    const Value x = value(n, 0);
    expect_rank4(n, x);
    const Shape s = shape(x.node);
    std::vector<int64_t> starts, ends, axes, steps;
    if (opset_ < 10) {
      starts = attr_ints(n, "starts");
      ends = attr_ints(n, "ends");
      axes = attr_ints(n, "axes");
    } else {
      starts = ints(n, 1);
      ends = ints(n, 2);
      if (has_input(n, 3)) axes = ints(n, 3);
      if (has_input(n, 4)) steps = ints(n, 4);
    }
    if (axes.empty()) {
      for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    }
    if (starts.size() != 1 || ends.size() != 1 || axes.size() != 1 || axis_of(n, axes[0], 4) != 1 ||
        (!steps.empty() && (steps.size() != 1 || steps[0] != 1))) {
      fail(n, "only a slice of channels with step 1 is supported");
    }
    auto clamp = [&](int64_t v) {
      if (v < 0) v += s.c;
      return static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(v, s.c)));
    };
    const Value v = channel_slice(n, x, clamp(starts[0]), clamp(ends[0]), node_name(n));
    if (v.node == x.node) return alias(n, v);
    --node_uses_[static_cast<size_t>(x.node)];
    define(n, v);
  }

  // ReduceMean over H and W: global average pooling.
  void reduce_mean(const onnx::NodeProto& n) {
    const Value x = value(n, 0);
    expect_rank4(n, x);
    std::vector<int64_t> axes = attr_ints(n, "axes");
    for (int64_t& a : axes) a = axis_of(n, a, 4);
    std::sort(axes.begin(), axes.end());
    if (axes != std::vector<int64_t>{2, 3}) fail(n, "only a mean over H and W is supported");
    Node g;
    g.op = OpType::GlobalAvgPool;
    g.name = node_name(n);
    g.inputs = {x.node};
    define(n, Value{add(std::move(g)), attr_int(n, "keepdims", 1) != 0 ? 4 : 2, {}});
  }

  void pad(const onnx::NodeProto& n) {
    const Value x = value(n, 0);
    expect_rank4(n, x);
    std::string mode = attr_string(n, "mode", "constant");
    if (mode != "constant") fail(n, "mode '" + mode + "' is not supported (constant zeros only)");
    std::vector<int64_t> p;
    float fill = 0.0f;
    if (opset_ < 11) {
      p = attr_ints(n, "pads");
      fill = attr_float(n, "value", 0.0f);
    } else {
      p = ints(n, 1);
      if (has_input(n, 2)) fill = scalar(n, 2);
    }
    if (fill != 0.0f)
      fail(n, "padding value " + std::to_string(fill) + " is not supported (zeros only)");
    if (p.size() != 8 || p[0] != 0 || p[1] != 0 || p[4] != 0 || p[5] != 0) {
      fail(n, "only padding of H and W is supported");
    }
    Value v = x;
    v.pad = sum(v.pad, Pads{checked_dim(n, p[2], "padding"), checked_dim(n, p[3], "padding"),
                            checked_dim(n, p[6], "padding"), checked_dim(n, p[7], "padding")});
    --node_uses_[static_cast<size_t>(x.node)];
    define(n, v);
  }

  void softmax(const onnx::NodeProto& n) {
    const Value x = value(n, 0);
    const Shape s = shape(x.node);
    int64_t axis = attr_int(n, "axis", opset_ >= 13 ? -1 : 1);
    const std::vector<int64_t> d =
        x.rank == 4 ? std::vector<int64_t>{1, s.c, s.h, s.w} : std::vector<int64_t>{1, s.numel()};
    const int rank = static_cast<int>(d.size());
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) fail(n, "axis out of range");
    // The dims ONNX reduces over; the device graph reduces over channels only.
    bool ok = axis <= 1;
    const int last = opset_ >= 13 ? static_cast<int>(axis) : rank - 1;
    for (int i = static_cast<int>(axis); i <= last; ++i) ok = ok && (i == 1 || d[i] == 1);
    if (x.rank == 2 && (s.h != 1 || s.w != 1)) ok = false;
    if (!ok) fail(n, "softmax over axis " + std::to_string(axis) + " is not over channels");
    Node m;
    m.op = OpType::Softmax;
    m.name = node_name(n);
    m.inputs = {x.node};
    define(n, Value{add(std::move(m)), x.rank, {}});
  }

  const onnx::ModelProto& model_;
  std::string path_;
  const Shape* override_;
  int opset_ = 0;
  int index_ = 0;
  DeviceGraph graph_;
  std::vector<Shape> shapes_;
  std::map<std::string, const onnx::TensorProto*> consts_;
  std::deque<onnx::TensorProto> owned_;  // Constant nodes' tensors
  std::map<std::string, int> uses_;
  std::map<std::string, Value> values_;
  std::vector<int> node_uses_;  // per device node: ONNX consumers of its values
};

}  // namespace

DeviceGraph import_onnx_bytes(const std::string& bytes, const std::string& path,
                              const Shape* input_override) {
  const bool gz = bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
                  static_cast<unsigned char>(bytes[1]) == 0x8b;
  onnx::ModelProto model;
  const bool ok = gz ? model.ParseFromString(gunzip(bytes, path)) : model.ParseFromString(bytes);
  if (!ok || !model.has_graph()) throw Error(path + ": not an ONNX model (cannot parse it)");
  fuse_onnx_activations(model);  // decomposed HardSwish / GELU as one node each
  try {
    return Importer(model, path, input_override).run();
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.compare(0, path.size(), path) == 0) throw;
    throw Error(path + ": " + what);  // shape errors of the device graph
  }
}

DeviceGraph import_onnx(const std::string& path, const Shape* input_override) {
  return import_onnx_bytes(read_file(path), path, input_override);
}

}  // namespace dalnas
