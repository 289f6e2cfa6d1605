// describe(): the network of nn/network.cpp and nn/blocks/, counted analytically.
//
// Rows: one per tensor the forward pass stores (the points where PrecisionPolicy::act()
// projects), in execution order. A conv row ("conv", or "dwconv" for depthwise) covers
// the conv, its batch norm and its activation: params = weight + bias + 2 per BN channel
// (BN weight and bias; running statistics are buffers, not parameters). Other rows:
// pool, upsample, concat, add, mul, gap (global average pool); they have no parameters
// and count 0 MACs (element-wise work is not a multiply-accumulate).
//
// MACs of a conv: out_h * out_w * out_c * (in_c / groups) * k * k (batch 1); the SE 1×1
// convs run on a 1×1 map.
//
// Peak activation memory (fp32, batch 1): a liveness walk over the rows. Before a row
// runs, live = the tensors still needed (the skips held for the decoder, the block input
// while a residual or dense connection needs it, the row's inputs); the row's output is
// allocated next to them and the sum is a candidate for the peak; then the tensors no
// longer needed are freed. Weights, BN statistics and framework workspace are not counted.
#include "nn/describe.h"

#include <algorithm>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "nn/block_shapes.h"

namespace dalnas {

namespace {

struct Tensor {
  int c = 0, h = 0, w = 0;
  int64_t bytes() const { return int64_t{4} * c * h * w; }
};

class Builder {
 public:
  explicit Builder(ArchDescription& d) : d_(d) {}

  // A conv unit (conv [+ BN] [+ act]) reading `in` (name) and producing `out`.
  Tensor conv(const std::string& name, const std::string& in, const std::string& out, int out_c,
              int k, bool bias, bool bn, int groups = 1) {
    const Tensor x = live_.at(in);
    Tensor y{out_c, x.h, x.w};
    LayerInfo l = row(name, groups > 1 ? "dwconv" : "conv", x.c, y);
    l.params = int64_t{out_c} * (x.c / groups) * k * k + (bias ? out_c : 0) + (bn ? 2 * out_c : 0);
    l.macs = int64_t{y.h} * y.w * out_c * (x.c / groups) * k * k;
    add(l, out, y);
    return y;
  }
  // A parameter-free op producing `out` of shape y from input channels in_c.
  void op(const std::string& name, const std::string& kind, int in_c, const std::string& out,
          Tensor y) {
    add(row(name, kind, in_c, y), out, y);
  }
  const Tensor& get(const std::string& t) const { return live_.at(t); }
  void input(const std::string& t, Tensor x) { produce(t, x); }
  void release(const std::string& t) { live_.erase(t); }

 private:
  LayerInfo row(const std::string& name, const std::string& kind, int in_c, Tensor y) {
    LayerInfo l;
    l.name = name;
    l.op = kind;
    l.in_c = in_c;
    l.out_c = y.c;
    l.h = y.h;
    l.w = y.w;
    return l;
  }
  void add(const LayerInfo& l, const std::string& out, Tensor y) {
    d_.layers.push_back(l);
    d_.params += l.params;
    d_.macs += l.macs;
    produce(out, y);
  }
  void produce(const std::string& t, Tensor y) {
    live_[t] = y;
    int64_t total = 0;
    for (const auto& kv : live_) total += kv.second.bytes();
    d_.peak_activation_bytes = std::max(d_.peak_activation_bytes, total);
  }

  ArchDescription& d_;
  std::map<std::string, Tensor> live_;
};

// Adds block i's rows; reads tensor `in`, leaves its output as `out`, frees `in`.
void describe_block(Builder& b, const BlockGene& g, const std::string& prefix,
                    const std::string& in, const std::string& out) {
  const int in_c = b.get(in).c;
  const std::string p = prefix + "." + to_string(g.type) + ".";
  const std::string t = prefix + ":";  // tensor names private to this block
  switch (g.type) {
    case BlockType::ConvAct:
    case BlockType::ConvBnAct:
      b.conv(p + "conv", in, out, g.width, g.kernel, g.type == BlockType::ConvAct,
             g.type == BlockType::ConvBnAct);
      b.release(in);
      return;
    case BlockType::ConvSE: {
      const int r = se_channels(g.width);
      const Tensor y = b.conv(p + "conv", in, t + "conv", g.width, g.kernel, false, true);
      b.release(in);
      b.op(p + "se_pool", "gap", g.width, t + "pool", Tensor{g.width, 1, 1});
      b.conv(p + "se_reduce", t + "pool", t + "reduce", r, 1, true, false);
      b.release(t + "pool");
      b.conv(p + "se_expand", t + "reduce", t + "expand", g.width, 1, true, false);
      b.release(t + "reduce");
      b.op(p + "se_mul", "mul", g.width, out, y);
      b.release(t + "expand");
      b.release(t + "conv");
      return;
    }
    case BlockType::MBConv:
    case BlockType::MBConvNoRes: {
      const bool residual = g.type == BlockType::MBConv && in_c == g.width;
      const int mid = in_c * g.expansion;
      b.conv(p + "expand", in, t + "expand", mid, 1, false, true);
      if (!residual) b.release(in);
      b.conv(p + "dw", t + "expand", t + "dw", mid, g.kernel, false, true, /*groups=*/mid);
      b.release(t + "expand");
      const Tensor y =
          b.conv(p + "project", t + "dw", residual ? t + "project" : out, g.width, 1, false, true);
      b.release(t + "dw");
      if (residual) {
        b.op(p + "add", "add", g.width, out, y);
        b.release(t + "project");
        b.release(in);
      }
      return;
    }
    case BlockType::ResNetBlock: {
      b.conv(p + "conv1", in, t + "conv1", g.width, g.kernel, false, true);
      const Tensor y =
          b.conv(p + "conv2", t + "conv1", t + "conv2", g.width, g.kernel, false, true);
      b.release(t + "conv1");
      if (in_c != g.width) {
        b.conv(p + "shortcut", in, t + "shortcut", g.width, 1, false, true);
        b.release(in);
        b.op(p + "add", "add", g.width, out, y);
        b.release(t + "shortcut");
      } else {
        b.op(p + "add", "add", g.width, out, y);
        b.release(in);
      }
      b.release(t + "conv2");
      return;
    }
    case BlockType::DenseNetBlock: {
      const int gr = densenet_growth(g.width);
      const Tensor x = b.get(in);
      b.conv(p + "conv1", in, t + "x1", gr, g.kernel, false, true);
      b.op(p + "concat1", "concat", in_c + gr, t + "cat1", Tensor{in_c + gr, x.h, x.w});
      b.conv(p + "conv2", t + "cat1", t + "x2", gr, g.kernel, false, true);
      b.release(t + "cat1");
      b.op(p + "concat2", "concat", in_c + 2 * gr, t + "cat2", Tensor{in_c + 2 * gr, x.h, x.w});
      b.release(in);
      b.release(t + "x1");
      b.release(t + "x2");
      b.conv(p + "fuse", t + "cat2", out, g.width, 1, false, true);
      b.release(t + "cat2");
      return;
    }
  }
}

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return (v < 0 ? "-" : "") + s;
}

}  // namespace

ArchDescription describe(const Genome& g, int bands, int height, int width) {
  g.validate();
  const int n = static_cast<int>(g.blocks.size());
  if (bands < 1)
    throw Error("describe: input bands must be positive, got " + std::to_string(bands));
  const int min_side = 1 << (n - 1);
  if (height < min_side || width < min_side)
    throw Error("describe: input " + std::to_string(height) + "x" + std::to_string(width) +
                " is too small for " + std::to_string(n) + " stages (needs at least " +
                std::to_string(min_side) + "x" + std::to_string(min_side) + ")");
  ArchDescription d;
  d.genome = g.str();
  d.bands = bands;
  d.height = height;
  d.width = width;
  Builder b(d);
  b.input("input", Tensor{bands, height, width});
  std::string cur = "input";
  std::vector<std::string> skips;
  for (int i = 0; i < n; ++i) {
    const std::string enc = "enc" + std::to_string(i);
    if (i > 0) {
      const Tensor x = b.get(cur);
      const std::string pool = "pool" + std::to_string(i);
      b.op(pool, g.pools[i - 1] == Pooling::Max ? "maxpool" : "avgpool", x.c, pool,
           Tensor{x.c, x.h / 2, x.w / 2});
      cur = pool;
    }
    describe_block(b, g.blocks[i], enc, cur, enc);
    cur = enc;
    skips.push_back(enc);
  }
  const int dw = g.decoder_width;
  for (int j = 0; j < n - 1; ++j) {
    const std::string level = "dec" + std::to_string(j);
    const std::string& skip = skips[n - 2 - j];
    const Tensor s = b.get(skip);
    const Tensor x = b.get(cur);
    b.op(level + ".up", "upsample", x.c, level + ".up", Tensor{x.c, s.h, s.w});
    b.release(cur);
    b.conv(level + ".proj", level + ".up", level + ".proj", s.c, 1, true, false);
    b.release(level + ".up");
    b.op(level + ".concat", "concat", 2 * s.c, level + ".concat", Tensor{2 * s.c, s.h, s.w});
    b.release(level + ".proj");
    b.release(skip);
    b.conv(level + ".conv1", level + ".concat", level + ".conv1", dw, 3, false, true);
    b.release(level + ".concat");
    b.conv(level + ".conv2", level + ".conv1", level + ".conv2", dw, 3, false, true);
    b.release(level + ".conv1");
    cur = level + ".conv2";
  }
  b.conv("head", cur, "head", 1, 1, true, false);
  return d;
}

nlohmann::json ArchDescription::to_json() const {
  nlohmann::json j;
  j["genome"] = genome;
  j["bands"] = bands;
  j["height"] = height;
  j["width"] = width;
  j["params"] = params;
  j["params_counted"] = "training network: BatchNorm scale and shift counted, not folded";
  j["macs"] = macs;
  j["peak_activation_bytes"] = peak_activation_bytes;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& l : layers) {
    rows.push_back({{"name", l.name},
                    {"op", l.op},
                    {"in_c", l.in_c},
                    {"out_c", l.out_c},
                    {"h", l.h},
                    {"w", l.w},
                    {"params", l.params},
                    {"macs", l.macs}});
  }
  j["layers"] = rows;
  return j;
}

std::string ArchDescription::table() const {
  size_t name_w = 5;
  for (const auto& l : layers) name_w = std::max(name_w, l.name.size());
  std::ostringstream o;
  o << genome << "\n";
  o << "input " << bands << "x" << height << "x" << width << " (bands x height x width)\n";
  o << std::left << std::setw(static_cast<int>(name_w)) << "layer"
    << "  " << std::setw(8) << "op" << std::right << std::setw(6) << "in" << std::setw(6) << "out"
    << std::setw(12) << "size" << std::setw(12) << "params" << std::setw(16) << "MACs"
    << "\n";
  for (const auto& l : layers) {
    o << std::left << std::setw(static_cast<int>(name_w)) << l.name << "  " << std::setw(8) << l.op
      << std::right << std::setw(6) << l.in_c << std::setw(6) << l.out_c << std::setw(12)
      << (std::to_string(l.h) + "x" + std::to_string(l.w)) << std::setw(12) << with_commas(l.params)
      << std::setw(16) << with_commas(l.macs) << "\n";
  }
  o << std::left << std::setw(static_cast<int>(name_w)) << "total"
    << "  " << std::setw(8) << "" << std::right << std::setw(6) << "" << std::setw(6) << ""
    << std::setw(12) << "" << std::setw(12) << with_commas(params) << std::setw(16)
    << with_commas(macs) << "\n";
  o << "params: the training network's (BatchNorm scale and shift counted, not folded; "
       "`dalnas profile` counts the device graph, BatchNorm folded into the convolutions)\n";
  o << "peak activation memory (fp32, batch 1): " << with_commas(peak_activation_bytes)
    << " bytes (" << std::fixed << std::setprecision(2)
    << static_cast<double>(peak_activation_bytes) / (1024.0 * 1024.0) << " MiB)\n";
  return o.str();
}

}  // namespace dalnas
