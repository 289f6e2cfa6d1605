#include "cost/latency_table.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "core/atomic_file.h"
#include "core/csv.h"
#include "core/error.h"

namespace dalnas {

namespace {

const OpType kOps[] = {
    OpType::Input,         OpType::Conv,       OpType::MaxPool,        OpType::AvgPool,
    OpType::GlobalAvgPool, OpType::Resize,     OpType::Concat,         OpType::Add,
    OpType::Mul,           OpType::Activation, OpType::FullyConnected, OpType::Output,
    OpType::ConvTranspose, OpType::Softmax,    OpType::Slice,          OpType::Shuffle};
const ActType kActs[] = {ActType::None, ActType::ReLU,        ActType::ReLU6,
                         ActType::GELU, ActType::HardSwish,   ActType::Sigmoid,
                         ActType::Clip, ActType::HardSigmoid, ActType::Swish};

bool valid_variant(const std::string& v) {
  for (char c : v) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
  }
  return true;
}

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

OpType parse_op_type(const std::string& s) {
  for (OpType t : kOps) {
    if (to_string(t) == s) return t;
  }
  std::string names;
  for (OpType t : kOps) names += (names.empty() ? "" : ", ") + to_string(t);
  throw Error("'" + s + "' is not an op (allowed: " + names + ")");
}

ActType parse_act_type(const std::string& s) {
  for (ActType a : kActs) {
    if (to_string(a) == s) return a;
  }
  std::string names;
  for (ActType a : kActs) names += (names.empty() ? "" : ", ") + to_string(a);
  throw Error("'" + s + "' is not an activation (allowed: " + names + ")");
}

Shape parse_shape(const std::string& s) {
  int d[3];
  char x1 = 0, x2 = 0;
  std::istringstream ss(s);
  if (!(ss >> d[0] >> x1 >> d[1] >> x2 >> d[2]) || x1 != 'x' || x2 != 'x' || !ss.eof() ||
      d[0] < 1 || d[1] < 1 || d[2] < 1) {
    throw Error("'" + s + "' is not CxHxW with positive sizes");
  }
  return {d[0], d[1], d[2]};
}

OpSignature normalized(OpSignature s) {
  bool geometry = false, act = false;
  switch (s.op) {
    case OpType::Conv:
    case OpType::ConvTranspose:
      geometry = act = true;
      break;
    case OpType::MaxPool:
    case OpType::AvgPool:
      geometry = true;
      s.groups = 1;
      break;
    case OpType::FullyConnected:
    case OpType::Add:
    case OpType::Mul:
    case OpType::Activation:
      act = true;
      break;
    default:
      break;
  }
  if (!geometry) {
    s.kernel = 1;
    s.stride = 1;
    s.pad = 0;
    s.groups = 1;
  }
  if (!act) s.act = ActType::None;
  const bool has_variant = s.op == OpType::Resize || s.op == OpType::ConvTranspose ||
                           s.op == OpType::Mul || s.op == OpType::Concat ||
                           s.variant.find("kw") != std::string::npos;  // imported geometry
  if (!has_variant) s.variant.clear();
  return s;
}

std::string OpSignature::str() const {
  std::string r = to_string(op) + "_i" + to_string(in) + "_o" + to_string(out) + "_k" +
                  std::to_string(kernel) + "_s" + std::to_string(stride) + "_p" +
                  std::to_string(pad) + "_g" + std::to_string(groups) + "_" + to_string(act);
  if (!variant.empty()) r += "_" + variant;
  return r;
}

std::string to_string(const OpSignature& s) {
  return s.str();
}

OpSignature signature_of(const DeviceGraph& g, size_t i, const std::vector<Shape>& shapes) {
  const Node& n = g.nodes.at(i);
  OpSignature s;
  s.op = n.op;
  s.out = shapes.at(i);
  s.in = n.inputs.empty() ? (g.input.numel() > 0 ? g.input : s.out)
                          : shapes.at(static_cast<size_t>(n.inputs[0]));
  s.kernel = n.kernel;
  s.stride = n.stride;
  s.pad = n.pad;
  s.groups = n.groups;
  s.act = n.act;
  switch (n.op) {
    case OpType::Resize:
      s.variant = n.nearest ? "nearest" : "bilinear";
      break;
    case OpType::ConvTranspose:
      if (n.output_pad > 0) s.variant = "op" + std::to_string(n.output_pad);
      break;
    case OpType::Mul:
      if (n.inputs.size() > 1) {
        const Shape& b = shapes.at(static_cast<size_t>(n.inputs[1]));
        if (b.h == 1 && b.w == 1 && !(s.in.h == 1 && s.in.w == 1)) s.variant = "bcast";
      }
      break;
    case OpType::Concat:
      for (int x : n.inputs) {
        s.variant +=
            (s.variant.empty() ? "" : "-") + std::to_string(shapes.at(static_cast<size_t>(x)).c);
      }
      break;
    default:
      break;
  }
  if (n.extended()) {  // never the same signature as a square, symmetric node
    s.variant += (s.variant.empty() ? "" : "-") + std::string("kw") + std::to_string(n.kw()) +
                 "-pw" + std::to_string(n.pw()) + "-pe" + std::to_string(n.pad_end) + "-d" +
                 std::to_string(n.dilation) + (n.count_pad ? "-cp" : "");
  }
  return normalized(s);
}

LatencyTable LatencyTable::read_csv(const std::string& path) {
  return parse_csv(read_file(path), path);
}

LatencyTable LatencyTable::parse_csv(const std::string& text, const std::string& path) {
  LatencyTable t;
  t.path = path;
  std::istringstream in(text);
  std::string line;
  std::map<std::string, size_t> col;
  std::map<std::string, int> first_line;  // canonical string -> line
  bool have_header = false;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty()) continue;
    const std::vector<std::string> f = split_csv_line(line);
    if (!have_header) {
      have_header = true;
      for (size_t i = 0; i < f.size(); ++i) col[trim(f[i])] = i;
      for (const char* need : {"op", "input", "output", "mean_us"}) {
        if (col.count(need) == 0) {
          throw Error(path + ":" + std::to_string(line_no) + ": the header has no column '" + need +
                      "'");
        }
      }
      for (const auto& c : col) {
        static const char* known[] = {"signature", "op",     "input",  "output", "kernel",
                                      "stride",    "pad",    "groups", "act",    "variant",
                                      "mean_us",   "std_us", "runs",   "model"};
        bool ok = false;
        for (const char* k : known) ok = ok || c.first == k;
        if (!ok) {
          throw Error(path + ":" + std::to_string(line_no) + ": unknown column '" + c.first +
                      "' (allowed: signature, op, input, output, kernel, stride, pad, groups, "
                      "act, variant, mean_us, std_us, runs, model)");
        }
      }
      continue;
    }
    const std::string where = path + ":" + std::to_string(line_no);
    auto get = [&](const std::string& name) -> std::string {
      auto it = col.find(name);
      if (it == col.end() || it->second >= f.size()) return "";
      return trim(f[it->second]);
    };
    auto fail = [&](const std::string& column, const std::string& what) {
      throw Error(where + ": " + column + ": " + what);
    };
    const std::string mean = get("mean_us");
    if (mean.empty()) continue;  // not measured yet
    LatencyEntry e;
    try {
      e.sig.op = parse_op_type(get("op"));
    } catch (const Error& x) {
      fail("op", x.what());
    }
    for (const char* c : {"input", "output"}) {
      try {
        (std::string(c) == "input" ? e.sig.in : e.sig.out) = parse_shape(get(c));
      } catch (const Error& x) {
        fail(c, x.what());
      }
    }
    auto int_field = [&](const char* name, int& v, int lo) {
      const std::string s = get(name);
      if (s.empty()) return;
      if (!parse_int(s, v) || v < lo) {
        fail(name, "'" + s + "' is not an integer >= " + std::to_string(lo));
      }
    };
    int_field("kernel", e.sig.kernel, 1);
    int_field("stride", e.sig.stride, 1);
    int_field("pad", e.sig.pad, 0);
    int_field("groups", e.sig.groups, 1);
    if (!get("act").empty()) {
      try {
        e.sig.act = parse_act_type(get("act"));
      } catch (const Error& x) {
        fail("act", x.what());
      }
    }
    e.sig.variant = get("variant");
    if (!valid_variant(e.sig.variant)) {
      fail("variant", "'" + e.sig.variant + "' may hold only letters, digits and '-'");
    }
    e.sig = normalized(e.sig);
    if (!parse_double(mean, e.mean_us) || e.mean_us < 0.0) {
      fail("mean_us", "'" + mean + "' is not a non-negative number");
    }
    const std::string sd = get("std_us");
    if (!sd.empty() && (!parse_double(sd, e.std_us) || e.std_us < 0.0)) {
      fail("std_us", "'" + sd + "' is not a non-negative number");
    }
    int_field("runs", e.runs, 1);
    const std::string key = e.sig.str();
    const std::string given = get("signature");
    if (!given.empty() && given != key) {
      fail("signature", "'" + given + "' does not match the row's fields (" + key + ")");
    }
    auto dup = first_line.find(key);
    if (dup != first_line.end()) {
      fail("signature", key + " is already on line " + std::to_string(dup->second));
    }
    first_line[key] = line_no;
    t.entries_[key] = e;
  }
  if (!have_header) throw Error(path + ": empty (expected a header row)");
  return t;
}

void LatencyTable::add(const LatencyEntry& e) {
  LatencyEntry n = e;
  n.sig = normalized(e.sig);
  entries_[n.sig.str()] = n;
}

const LatencyEntry* LatencyTable::find(const OpSignature& sig) const {
  return find(sig.str());
}

const LatencyEntry* LatencyTable::find(const std::string& canonical) const {
  auto it = entries_.find(canonical);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<LatencyEntry> LatencyTable::entries() const {
  std::vector<LatencyEntry> out;
  for (const auto& kv : entries_) out.push_back(kv.second);
  return out;
}

std::string LatencyTable::csv_header() {
  return "signature,op,input,output,kernel,stride,pad,groups,act,variant,mean_us,std_us,runs\n";
}

std::string LatencyTable::to_csv(bool blank_times) const {
  std::string s = csv_header();
  for (const auto& kv : entries_) {
    const OpSignature& g = kv.second.sig;
    s += kv.first + "," + to_string(g.op) + "," + to_string(g.in) + "," + to_string(g.out) + "," +
         std::to_string(g.kernel) + "," + std::to_string(g.stride) + "," + std::to_string(g.pad) +
         "," + std::to_string(g.groups) + "," + to_string(g.act) + "," + g.variant + ",";
    if (blank_times) {
      s += ",,\n";
    } else {
      s += fmt(kv.second.mean_us) + "," + fmt(kv.second.std_us) + "," +
           (kv.second.runs > 0 ? std::to_string(kv.second.runs) : std::string()) + "\n";
    }
  }
  return s;
}

std::string signature_csv_fields(const OpSignature& g) {
  return g.str() + "," + to_string(g.op) + "," + to_string(g.in) + "," + to_string(g.out) + "," +
         std::to_string(g.kernel) + "," + std::to_string(g.stride) + "," + std::to_string(g.pad) +
         "," + std::to_string(g.groups) + "," + to_string(g.act) + "," + g.variant;
}

std::vector<OpSignature> graph_signatures(const DeviceGraph& g) {
  const Shape in = g.input.numel() > 0 ? g.input : g.nodes.at(0).shape;
  const std::vector<Shape> shapes = g.compute_shapes(in);
  std::vector<OpSignature> out;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const OpType op = g.nodes[i].op;
    if (op == OpType::Input || op == OpType::Output) continue;
    out.push_back(signature_of(g, i, shapes));
  }
  return out;
}

namespace {

std::vector<float> pattern(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.01f * static_cast<float>(static_cast<int>(i % 7) - 3);
  return v;
}

// A 1×1 convolution from node x (c_in channels) to c_out channels: a helper operand.
int aux_conv(DeviceGraph& g, int x, int c_in, int c_out, const std::string& name) {
  Node n;
  n.op = OpType::Conv;
  n.name = name;
  n.inputs = {x};
  n.out_c = c_out;
  n.weight = pattern(static_cast<size_t>(c_out) * c_in);
  n.bias = pattern(static_cast<size_t>(c_out));
  return g.add(std::move(n));
}

}  // namespace

int probe_op_index(const DeviceGraph& probe) {
  for (size_t i = 0; i < probe.nodes.size(); ++i) {
    if (probe.nodes[i].name == "op") return static_cast<int>(i);
  }
  throw Error("probe graph: no node named 'op'");
}

DeviceGraph probe_graph(const OpSignature& given) {
  const OpSignature sig = normalized(given);
  const std::string key = sig.str();
  auto fail = [&](const std::string& what) -> DeviceGraph {
    throw Error("signature " + key + ": " + what);
  };
  if (sig.op == OpType::Input || sig.op == OpType::Output) {
    return fail("input and output are not ops to time");
  }
  if (sig.in.numel() <= 0 || sig.out.numel() <= 0) return fail("empty input or output shape");
  DeviceGraph g;
  Shape input = sig.in;
  Node in;
  in.op = OpType::Input;
  in.name = "input";
  in.out_c = sig.in.c;
  g.add(in);
  Node n;
  n.op = sig.op;
  n.name = "op";
  n.kernel = sig.kernel;
  n.stride = sig.stride;
  n.pad = sig.pad;
  n.groups = sig.groups;
  n.act = sig.act;
  n.out_c = sig.out.c;
  n.inputs = {0};
  switch (sig.op) {
    case OpType::Conv:
      if (sig.in.c % sig.groups != 0 || sig.out.c % sig.groups != 0) {
        return fail("channels are not divisible by the groups");
      }
      n.weight = pattern(static_cast<size_t>(sig.out.c) * (sig.in.c / sig.groups) * sig.kernel *
                         sig.kernel);
      n.bias = pattern(static_cast<size_t>(sig.out.c));
      break;
    case OpType::ConvTranspose:
      if (sig.in.c % sig.groups != 0 || sig.out.c % sig.groups != 0) {
        return fail("channels are not divisible by the groups");
      }
      if (!sig.variant.empty()) {
        if (sig.variant.rfind("op", 0) != 0) return fail("variant must be opN");
        n.output_pad = std::atoi(sig.variant.c_str() + 2);
      }
      n.weight = pattern(static_cast<size_t>(sig.in.c) * (sig.out.c / sig.groups) * sig.kernel *
                         sig.kernel);
      n.bias = pattern(static_cast<size_t>(sig.out.c));
      break;
    case OpType::FullyConnected:
      n.weight = pattern(static_cast<size_t>(sig.out.c) * static_cast<size_t>(sig.in.numel()));
      n.bias = pattern(static_cast<size_t>(sig.out.c));
      break;
    case OpType::Add:
      n.inputs = {0, 0};
      break;
    case OpType::Mul:
      if (sig.variant == "bcast") {
        Node gp;
        gp.op = OpType::GlobalAvgPool;
        gp.name = "aux_gate";
        gp.inputs = {0};
        n.inputs = {0, g.add(gp)};
      } else {
        n.inputs = {0, 0};
      }
      break;
    case OpType::Resize: {
      n.nearest = sig.variant == "nearest";
      const bool integral = sig.out.h % sig.in.h == 0 && sig.out.w % sig.in.w == 0 &&
                            sig.out.h / sig.in.h == sig.out.w / sig.in.w;
      if (integral) {
        n.scale = static_cast<float>(sig.out.h / sig.in.h);
      } else {
        // The network resizes a pooled tensor back to its skip's size: the input is that
        // size, pooled 2×2 (floor) before the op.
        input = {sig.in.c, sig.out.h, sig.out.w};
        g.nodes[0].out_c = input.c;
        Node pool;
        pool.op = OpType::AvgPool;
        pool.name = "aux_pool";
        pool.inputs = {0};
        pool.kernel = pool.stride = 2;
        const int x = g.add(pool);
        n.inputs = {x, 0};
      }
      break;
    }
    case OpType::Concat: {
      std::vector<int> parts;
      std::istringstream ss(sig.variant);
      std::string tok;
      while (std::getline(ss, tok, '-')) {
        int c = 0;
        if (!parse_int(tok, c) || c < 1) return fail("concat variant must list channels, 16-32");
        parts.push_back(c);
      }
      if (parts.empty() || parts[0] != sig.in.c) {
        return fail("concat variant must start with the input channels");
      }
      n.inputs = {0};
      for (size_t i = 1; i < parts.size(); ++i) {
        n.inputs.push_back(aux_conv(g, 0, sig.in.c, parts[i], "aux" + std::to_string(i)));
      }
      break;
    }
    default:
      break;
  }
  const int op = g.add(n);
  Node out;
  out.op = OpType::Output;
  out.name = "output";
  out.inputs = {op};
  g.add(out);
  g.input = input;
  try {
    g.infer_shapes(input);
  } catch (const Error& e) {
    return fail(e.what());
  }
  const std::vector<Shape> shapes = g.compute_shapes(input);
  const std::string got = signature_of(g, static_cast<size_t>(op), shapes).str();
  if (got != key) return fail("no single-op graph gives this signature (built " + got + ")");
  return g;
}

}  // namespace dalnas
