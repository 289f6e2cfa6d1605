#include "device/graph.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace dalnas {

std::string to_string(const Shape& s) {
  return std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w);
}

std::string to_string(OpType op) {
  switch (op) {
    case OpType::Input:
      return "input";
    case OpType::Conv:
      return "conv";
    case OpType::MaxPool:
      return "maxpool";
    case OpType::AvgPool:
      return "avgpool";
    case OpType::GlobalAvgPool:
      return "globalavgpool";
    case OpType::Resize:
      return "resize";
    case OpType::Concat:
      return "concat";
    case OpType::Add:
      return "add";
    case OpType::Mul:
      return "mul";
    case OpType::Activation:
      return "activation";
    case OpType::FullyConnected:
      return "fc";
    case OpType::Output:
      return "output";
    case OpType::ConvTranspose:
      return "convtranspose";
    case OpType::Softmax:
      return "softmax";
    case OpType::Slice:
      return "slice";
    case OpType::Shuffle:
      return "shuffle";
  }
  return "?";
}

std::string to_string(ActType a) {
  switch (a) {
    case ActType::None:
      return "none";
    case ActType::ReLU:
      return "relu";
    case ActType::ReLU6:
      return "relu6";
    case ActType::GELU:
      return "gelu";
    case ActType::HardSwish:
      return "hardswish";
    case ActType::Sigmoid:
      return "sigmoid";
    case ActType::Clip:
      return "clip";
    case ActType::HardSigmoid:
      return "hardsigmoid";
    case ActType::Swish:
      return "swish";
  }
  return "?";
}

std::string to_string(ResizeCoord c) {
  switch (c) {
    case ResizeCoord::Asymmetric:
      return "asymmetric";
    case ResizeCoord::AlignCorners:
      return "align_corners";
    default:
      return "half_pixel";
  }
}

ResizeCoord parse_resize_coord(const std::string& s) {
  if (s == "half_pixel" || s == "pytorch_half_pixel") return ResizeCoord::HalfPixel;
  if (s == "asymmetric") return ResizeCoord::Asymmetric;
  if (s == "align_corners") return ResizeCoord::AlignCorners;
  throw Error("resize mode '" + s + "': expected half_pixel, asymmetric or align_corners");
}

namespace {

std::string node_label(const Node& n, size_t i) {
  return "device graph: node " + std::to_string(i) + " '" + n.name + "' (" + to_string(n.op) + ")";
}

[[noreturn]] void fail(const Node& n, size_t i, const std::string& what) {
  throw Error(node_label(n, i) + ": " + what);
}

void expect_inputs(const Node& n, size_t i, size_t count) {
  if (n.inputs.size() != count) {
    fail(n, i,
         "has " + std::to_string(n.inputs.size()) + " inputs, expected " + std::to_string(count));
  }
}

}  // namespace

int DeviceGraph::add(Node n) {
  const int index = static_cast<int>(nodes.size());
  for (int in : n.inputs) {
    if (in < 0 || in >= index) {
      fail(n, nodes.size(),
           "input " + std::to_string(in) + " is not an earlier node (0.." +
               std::to_string(index - 1) + ")");
    }
  }
  if (n.op == OpType::Output) output = index;
  nodes.push_back(std::move(n));
  return index;
}

std::vector<Shape> DeviceGraph::compute_shapes(const Shape& in) const {
  std::vector<Shape> shapes(nodes.size());
  if (nodes.empty()) throw Error("device graph: no nodes");
  if (in.c <= 0 || in.h <= 0 || in.w <= 0) {
    throw Error("device graph: input shape " + to_string(in) + " is empty");
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    for (int x : n.inputs) {
      if (x < 0 || static_cast<size_t>(x) >= i) {
        fail(n, i, "input " + std::to_string(x) + " is not an earlier node");
      }
    }
    if ((i == 0) != (n.op == OpType::Input)) {
      fail(n, i, i == 0 ? "node 0 must be the Input" : "only node 0 may be an Input");
    }
    Shape s;
    switch (n.op) {
      case OpType::Input:
        if (input.c > 0 && in.c != input.c) {
          fail(n, i,
               "input has " + std::to_string(in.c) + " channels, the graph expects " +
                   std::to_string(input.c));
        }
        s = in;
        break;
      case OpType::Conv: {
        expect_inputs(n, i, 1);
        const Shape& x = shapes[n.inputs[0]];
        if (n.kernel < 1 || n.kw() < 1 || n.stride < 1 || n.pad < 0 || n.pw() < 0 ||
            n.pad_end < 0 || n.dilation < 1 || n.groups < 1 || n.out_c < 1) {
          fail(n, i,
               "needs kernel >= 1, stride >= 1, pad >= 0, dilation >= 1, groups >= 1, "
               "out_c >= 1");
        }
        if (x.c % n.groups != 0 || n.out_c % n.groups != 0) {
          fail(n, i,
               "groups " + std::to_string(n.groups) + " do not divide in channels " +
                   std::to_string(x.c) + " and out channels " + std::to_string(n.out_c));
        }
        const int64_t expect = int64_t(n.out_c) * (x.c / n.groups) * n.kernel * n.kw();
        if (static_cast<int64_t>(n.weight.size()) != expect) {
          fail(n, i,
               "weight has " + std::to_string(n.weight.size()) + " values, expected " +
                   std::to_string(expect) + " (" + std::to_string(n.out_c) + "x" +
                   std::to_string(x.c / n.groups) + "x" + std::to_string(n.kernel) + "x" +
                   std::to_string(n.kw()) + ")");
        }
        if (!n.bias.empty() && static_cast<int>(n.bias.size()) != n.out_c) {
          fail(n, i,
               "bias has " + std::to_string(n.bias.size()) + " values, expected " +
                   std::to_string(n.out_c));
        }
        if (!n.weight_scale.empty() && static_cast<int>(n.weight_scale.size()) != n.out_c) {
          fail(n, i,
               "weight_scale has " + std::to_string(n.weight_scale.size()) + " values, expected " +
                   std::to_string(n.out_c));
        }
        for (float s : n.weight_scale) {
          if (!std::isfinite(s) || s < 0)
            fail(n, i, "weight_scale holds a negative or non-finite scale");
        }
        const int64_t eh = int64_t(n.dilation) * (n.kernel - 1) + 1;
        const int64_t ew = int64_t(n.dilation) * (n.kw() - 1) + 1;
        const int64_t ph = int64_t(x.h) + 2 * n.pad + n.pad_end;
        const int64_t pw = int64_t(x.w) + 2 * n.pw() + n.pad_end;
        if (ph < eh || pw < ew) {
          fail(n, i,
               "input " + to_string(x) + " is smaller than the kernel " + std::to_string(n.kernel) +
                   " with padding " + std::to_string(n.pad));
        }
        s = {n.out_c, static_cast<int>((ph - eh) / n.stride + 1),
             static_cast<int>((pw - ew) / n.stride + 1)};
        break;
      }
      case OpType::MaxPool:
      case OpType::AvgPool: {
        expect_inputs(n, i, 1);
        const Shape& x = shapes[n.inputs[0]];
        if (n.kernel < 1 || n.kw() < 1 || n.stride < 1) {
          fail(n, i, "needs kernel >= 1 and stride >= 1");
        }
        if (n.pad < 0 || n.pad >= n.kernel || n.pw() < 0 || n.pw() >= n.kw() || n.pad_end < 0) {
          fail(n, i, "needs 0 <= pad < kernel");
        }
        const int ph = x.h + 2 * n.pad + n.pad_end, pw = x.w + 2 * n.pw() + n.pad_end;
        if (ph < n.kernel || pw < n.kw()) {
          fail(n, i,
               "input " + to_string(x) + " is smaller than the kernel " + std::to_string(n.kernel) +
                   " with padding " + std::to_string(n.pad));
        }
        s = {x.c, (ph - n.kernel) / n.stride + 1, (pw - n.kw()) / n.stride + 1};
        break;
      }
      case OpType::GlobalAvgPool:
        expect_inputs(n, i, 1);
        s = {shapes[n.inputs[0]].c, 1, 1};
        break;
      case OpType::Resize: {
        if (n.inputs.empty() || n.inputs.size() > 2) {
          fail(n, i, "has " + std::to_string(n.inputs.size()) + " inputs, expected 1 or 2");
        }
        const Shape& x = shapes[n.inputs[0]];
        if (n.scale > 0.0f) {
          s = {x.c, static_cast<int>(std::floor(double(x.h) * n.scale)),
               static_cast<int>(std::floor(double(x.w) * n.scale))};
          if (s.h < 1 || s.w < 1) {
            fail(
                n, i,
                "scale " + std::to_string(n.scale) + " gives an empty output from " + to_string(x));
          }
        } else {
          if (n.inputs.size() != 2) {
            fail(n, i, "needs a scale > 0 or a second input giving the output size");
          }
          const Shape& ref = shapes[n.inputs[1]];
          s = {x.c, ref.h, ref.w};
        }
        break;
      }
      case OpType::Concat: {
        if (n.inputs.empty()) fail(n, i, "has no inputs");
        const Shape& first = shapes[n.inputs[0]];
        s = {0, first.h, first.w};
        for (int x : n.inputs) {
          const Shape& xs = shapes[x];
          if (xs.h != first.h || xs.w != first.w) {
            fail(n, i, "inputs differ in size: " + to_string(first) + " and " + to_string(xs));
          }
          s.c += xs.c;
        }
        break;
      }
      case OpType::Add: {
        expect_inputs(n, i, 2);
        const Shape& a = shapes[n.inputs[0]];
        const Shape& b = shapes[n.inputs[1]];
        if (!(a == b))
          fail(n, i, "inputs differ in shape: " + to_string(a) + " and " + to_string(b));
        s = a;
        break;
      }
      case OpType::Mul: {
        expect_inputs(n, i, 2);
        const Shape& a = shapes[n.inputs[0]];
        const Shape& b = shapes[n.inputs[1]];
        if (!(a == b) && !(b.c == a.c && b.h == 1 && b.w == 1)) {
          fail(n, i,
               "second input " + to_string(b) + " is neither " + to_string(a) + " nor " +
                   std::to_string(a.c) + "x1x1");
        }
        s = a;
        break;
      }
      case OpType::Activation:
        expect_inputs(n, i, 1);
        s = shapes[n.inputs[0]];
        break;
      case OpType::FullyConnected: {
        expect_inputs(n, i, 1);
        const int64_t in_n = shapes[n.inputs[0]].numel();
        if (n.out_c < 1) fail(n, i, "needs out_c >= 1");
        if (static_cast<int64_t>(n.weight.size()) != int64_t(n.out_c) * in_n) {
          fail(n, i,
               "weight has " + std::to_string(n.weight.size()) + " values, expected " +
                   std::to_string(int64_t(n.out_c) * in_n) + " (" + std::to_string(n.out_c) + "x" +
                   std::to_string(in_n) + ")");
        }
        if (!n.bias.empty() && static_cast<int>(n.bias.size()) != n.out_c) {
          fail(n, i,
               "bias has " + std::to_string(n.bias.size()) + " values, expected " +
                   std::to_string(n.out_c));
        }
        s = {n.out_c, 1, 1};
        break;
      }
      case OpType::Output:
      case OpType::Softmax:
        expect_inputs(n, i, 1);
        s = shapes[n.inputs[0]];
        break;
      case OpType::Slice: {
        expect_inputs(n, i, 1);
        const Shape& x = shapes[n.inputs[0]];
        if (n.c_begin < 0 || n.out_c < 1 || int64_t(n.c_begin) + n.out_c > x.c) {
          fail(n, i,
               "channels " + std::to_string(n.c_begin) + " + " + std::to_string(n.out_c) +
                   " are not within the input's " + std::to_string(x.c));
        }
        s = {n.out_c, x.h, x.w};
        break;
      }
      case OpType::Shuffle: {
        expect_inputs(n, i, 1);
        const Shape& x = shapes[n.inputs[0]];
        if (n.groups < 1 || x.c % n.groups != 0) {
          fail(n, i,
               "groups " + std::to_string(n.groups) + " do not divide " + std::to_string(x.c) +
                   " channels");
        }
        s = x;
        break;
      }
      case OpType::ConvTranspose: {
        expect_inputs(n, i, 1);
        const Shape& x = shapes[n.inputs[0]];
        if (n.kernel < 1 || n.stride < 1 || n.pad < 0 || n.groups < 1 || n.out_c < 1 ||
            n.output_pad < 0 || n.output_pad >= n.stride) {
          fail(n, i,
               "needs kernel >= 1, stride >= 1, pad >= 0, 0 <= output_pad < stride, groups >= 1, "
               "out_c >= 1");
        }
        if (x.c % n.groups != 0 || n.out_c % n.groups != 0) {
          fail(n, i,
               "groups " + std::to_string(n.groups) + " do not divide in channels " +
                   std::to_string(x.c) + " and out channels " + std::to_string(n.out_c));
        }
        const int64_t expect = int64_t(x.c) * (n.out_c / n.groups) * n.kernel * n.kernel;
        if (static_cast<int64_t>(n.weight.size()) != expect) {
          fail(n, i,
               "weight has " + std::to_string(n.weight.size()) + " values, expected " +
                   std::to_string(expect) + " (" + std::to_string(x.c) + "x" +
                   std::to_string(n.out_c / n.groups) + "x" + std::to_string(n.kernel) + "x" +
                   std::to_string(n.kernel) + ")");
        }
        if (!n.bias.empty() && static_cast<int>(n.bias.size()) != n.out_c) {
          fail(n, i,
               "bias has " + std::to_string(n.bias.size()) + " values, expected " +
                   std::to_string(n.out_c));
        }
        s = {n.out_c, (x.h - 1) * n.stride - 2 * n.pad + n.kernel + n.output_pad,
             (x.w - 1) * n.stride - 2 * n.pad + n.kernel + n.output_pad};
        break;
      }
    }
    if (s.numel() <= 0) fail(n, i, "output shape " + to_string(s) + " is empty");
    shapes[i] = s;
  }
  return shapes;
}

void DeviceGraph::infer_shapes(const Shape& in) {
  const std::vector<Shape> shapes = compute_shapes(in);
  for (size_t i = 0; i < nodes.size(); ++i) nodes[i].shape = shapes[i];
}

int64_t DeviceGraph::macs() const {
  int64_t total = 0;
  for (const Node& n : nodes) {
    if (n.op == OpType::Conv || n.op == OpType::FullyConnected) {
      // weight.size() = out_c × in_c/groups × k × k: one MAC per weight per output pixel.
      total += static_cast<int64_t>(n.weight.size()) * n.shape.h * n.shape.w;
    } else if (n.op == OpType::ConvTranspose) {
      // weight.size() = in_c × out_c/groups × k × k: one MAC per weight per input pixel.
      const Shape& x = nodes[static_cast<size_t>(n.inputs.at(0))].shape;
      total += static_cast<int64_t>(n.weight.size()) * x.h * x.w;
    }
  }
  return total;
}

int64_t DeviceGraph::params() const {
  int64_t total = 0;
  for (const Node& n : nodes) total += static_cast<int64_t>(n.weight.size() + n.bias.size());
  return total;
}

std::string DeviceGraph::summary() const {
  std::ostringstream ss;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    ss << i << " " << to_string(n.op) << " '" << n.name << "' " << to_string(n.shape);
    switch (n.op) {
      case OpType::Conv:
        ss << " k" << n.kernel;
        if (n.kw() != n.kernel) ss << "x" << n.kw();
        ss << " s" << n.stride << " p" << n.pad;
        if (n.pw() != n.pad) ss << "x" << n.pw();
        if (n.dilation != 1) ss << " d" << n.dilation;
        if (n.groups != 1) ss << " g" << n.groups;
        break;
      case OpType::ConvTranspose:
        ss << " k" << n.kernel << " s" << n.stride << " p" << n.pad;
        if (n.output_pad != 0) ss << " op" << n.output_pad;
        if (n.groups != 1) ss << " g" << n.groups;
        break;
      case OpType::MaxPool:
      case OpType::AvgPool:
        ss << " k" << n.kernel;
        if (n.kw() != n.kernel) ss << "x" << n.kw();
        ss << " s" << n.stride;
        if (n.pad != 0 || n.pw() != 0) ss << " p" << n.pad;
        if (n.pw() != n.pad) ss << "x" << n.pw();
        if (n.pad_end != 0) ss << " +" << n.pad_end;
        if (n.count_pad) ss << " count-pad";
        break;
      case OpType::Slice:
        ss << " c" << n.c_begin << ".." << n.c_begin + n.out_c;
        break;
      case OpType::Shuffle:
        ss << " g" << n.groups;
        break;
      case OpType::Resize:
        if (n.scale > 0.0f) ss << " x" << n.scale;
        if (n.nearest) ss << " nearest";
        break;
      default:
        break;
    }
    if (n.act != ActType::None) ss << " " << to_string(n.act);
    if (!n.inputs.empty()) {
      ss << " <-";
      for (int x : n.inputs) ss << " " << x;
    }
    ss << "\n";
  }
  return ss.str();
}

}  // namespace dalnas
