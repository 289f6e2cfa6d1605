#include "eval/lut_plan.h"

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "device/lower.h"
#include "eval/host_latency.h"
#include "onnx/onnx_export.h"
#include "nn/network.h"

namespace dalnas {

namespace {

struct Collector {
  std::map<std::string, OpSignature> sigs;
  void add(const OpSignature& s) { sigs.emplace(s.str(), s); }
};

Node make_node(OpType op, const std::string& name, std::vector<int> inputs) {
  Node n;
  n.op = op;
  n.name = name;
  n.inputs = std::move(inputs);
  return n;
}

Node make_conv(const std::string& name, int x, int c_in, int c_out, int k, ActType act) {
  Node n = make_node(OpType::Conv, name, {x});
  n.out_c = c_out;
  n.kernel = k;
  n.pad = k / 2;
  n.act = act;
  n.weight.assign(static_cast<size_t>(c_out) * c_in * k * k, 0.01f);
  n.bias.assign(static_cast<size_t>(c_out), 0.0f);
  return n;
}

// Adds the signatures of the nodes of `g` whose index is in `which`, for input `in`.
void collect(Collector& c, const DeviceGraph& g, const Shape& in, const std::vector<int>& which) {
  const std::vector<Shape> shapes = g.compute_shapes(in);
  for (int i : which) c.add(signature_of(g, static_cast<size_t>(i), shapes));
}

std::vector<BlockGene> block_genes(const SearchSpace& s) {
  std::vector<BlockGene> out;
  for (BlockType t : s.block_types) {
    const std::vector<int> exps = has_expansion(t) ? s.expansions : std::vector<int>{0};
    for (int w : s.widths) {
      for (int k : s.kernels) {
        for (int e : exps) {
          for (Activation a : s.activations) {
            BlockGene g;
            g.type = t;
            g.width = w;
            g.kernel = k;
            g.expansion = e;
            g.act = a;
            out.push_back(g);
          }
        }
      }
    }
  }
  return out;
}

// The block's nodes as a graph of their own: the probe network lowered, cut after the
// block's last node (nodes are in topological order and the block comes first).
DeviceGraph block_graph(const BlockGene& gene, int c_in, std::vector<int>& block_nodes) {
  Genome probe;
  BlockGene filler;
  filler.type = BlockType::ConvAct;
  filler.width = 8;
  filler.kernel = 3;
  probe.blocks = {gene, filler, filler};
  probe.pools = {Pooling::Max, Pooling::Max};
  probe.decoder_width = 8;
  torch::NoGradGuard no_grad;
  Network net = build_network(probe, c_in);
  net->eval();
  const DeviceGraph full = lower(net, LowerOptions{});
  DeviceGraph g;
  g.add(full.nodes[0]);
  block_nodes.clear();
  for (size_t i = 1; i < full.nodes.size(); ++i) {
    if (full.nodes[i].name.rfind("enc0.", 0) != 0) break;
    block_nodes.push_back(g.add(full.nodes[i]));
  }
  if (block_nodes.empty()) throw Error("lut plan: the lowered block has no nodes");
  g.add(make_node(OpType::Output, "output", {block_nodes.back()}));
  return g;
}

}  // namespace

LutPlan plan_lut(const SearchSpace& space, const LutPlanOptions& o) {
  space.check();
  if (o.bands < 1 || o.height < 1 || o.width < 1) {
    throw Error("lut plan: bands and the input size must be positive");
  }
  // Resolution of each stage: H × W, then 2×2 pooling (floor) per stage.
  std::vector<Shape> res;  // c unused
  res.push_back({0, o.height, o.width});
  for (int s = 1; s < space.max_stages; ++s) {
    const Shape& p = res.back();
    if (p.h / 2 < 1 || p.w / 2 < 1) {
      throw Error("lut plan: input " + std::to_string(o.height) + "x" + std::to_string(o.width) +
                  " is too small for " + std::to_string(space.max_stages) + " stages");
    }
    res.push_back({0, p.h / 2, p.w / 2});
  }
  LutPlan plan;
  Collector c;
  if (o.sample > 0) {
    for (const Genome& g : sample_genomes(space, o.sample, o.seed, o.bands)) {
      for (const OpSignature& s : graph_signatures(genome_graph(g, o.bands, o.height, o.width))) {
        c.add(s);
      }
      ++plan.lowered;
    }
  } else {
    // Blocks: input channels -> the stages that see them.
    std::map<int, std::set<int>> stages_of;
    stages_of[o.bands].insert(0);
    for (int w : space.widths) {
      for (int s = 1; s < space.max_stages; ++s) stages_of[w].insert(s);
    }
    std::vector<int> nodes;
    for (const BlockGene& gene : block_genes(space)) {
      for (const auto& [c_in, stages] : stages_of) {
        const DeviceGraph g = block_graph(gene, c_in, nodes);
        ++plan.lowered;
        for (int s : stages) {
          collect(c, g, {c_in, res[static_cast<size_t>(s)].h, res[static_cast<size_t>(s)].w},
                  nodes);
        }
      }
    }
    // Pooling before stage s >= 1.
    for (int s = 1; s < space.max_stages; ++s) {
      for (int w : space.widths) {
        for (Pooling p : space.poolings) {
          DeviceGraph g;
          g.add(make_node(OpType::Input, "input", {}));
          Node n = make_node(p == Pooling::Max ? OpType::MaxPool : OpType::AvgPool, "pool", {0});
          n.kernel = n.stride = 2;
          const int x = g.add(n);
          g.add(make_node(OpType::Output, "output", {x}));
          collect(c, g, {w, res[static_cast<size_t>(s - 1)].h, res[static_cast<size_t>(s - 1)].w},
                  {x});
        }
      }
    }
    // Decoder levels (as lower() builds them): for a network of n stages, level j merges
    // the tensor from below (the bottleneck's width when j == 0, else the decoder width)
    // at stage s + 1's resolution with the skip of stage s = n - 2 - j.
    std::set<std::tuple<int, int, int, int>> levels;  // s, below, skip, decoder
    for (int n = space.min_stages; n <= space.max_stages; ++n) {
      for (int j = 0; j <= n - 2; ++j) {
        const int s = n - 2 - j;
        for (int d : space.decoder_widths) {
          for (int cs : space.widths) {
            if (j == 0) {
              for (int cb : space.widths) levels.insert({s, cb, cs, d});
            } else {
              levels.insert({s, d, cs, d});
            }
          }
        }
      }
    }
    for (const auto& [s, cb, cs, d] : levels) {
      DeviceGraph g;
      g.add(make_node(OpType::Input, "skip", {}));  // cs × res[s]
      Node pool = make_node(OpType::AvgPool, "aux_pool", {0});
      pool.kernel = pool.stride = 2;
      const int p = g.add(pool);
      const int below = g.add(make_conv("aux_below", p, cs, cb, 1, ActType::None));
      const int up = g.add(make_node(OpType::Resize, "up", {below, 0}));
      const int proj = g.add(make_conv("proj", up, cb, cs, 1, ActType::None));
      const int cat = g.add(make_node(OpType::Concat, "concat", {proj, 0}));
      const int c1 = g.add(make_conv("conv1", cat, 2 * cs, d, 3, ActType::ReLU));
      const int c2 = g.add(make_conv("conv2", c1, d, d, 3, ActType::ReLU));
      g.add(make_node(OpType::Output, "output", {c2}));
      collect(c, g, {cs, res[static_cast<size_t>(s)].h, res[static_cast<size_t>(s)].w},
              {up, proj, cat, c1, c2});
    }
    for (int d : space.decoder_widths) {
      DeviceGraph g;
      g.add(make_node(OpType::Input, "input", {}));
      const int h = g.add(make_conv("head", 0, d, 1, 1, ActType::None));
      g.add(make_node(OpType::Output, "output", {h}));
      collect(c, g, {d, o.height, o.width}, {h});
    }
  }
  for (const auto& kv : c.sigs) plan.signatures.push_back(kv.second);
  return plan;
}

int write_lut_plan(const LutPlan& plan, const std::string& dir, const LutPlanWriteOptions& opt) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "models", ec);
  if (ec) throw Error(dir + ": cannot create folder (" + ec.message() + ")");
  std::string csv =
      "signature,op,input,output,kernel,stride,pad,groups,act,variant,model,mean_us,std_us,runs\n";
  int written = 0;
  for (const OpSignature& s : plan.signatures) {
    const std::string key = s.str();
    const std::string model = "models/" + key + ".onnx";
    ExportOptions eo;
    eo.fp16 = opt.fp16;
    eo.opset = opt.opset;
    eo.metadata = {{"dalnas.signature", key}, {"dalnas.op_node", "op"}};
    write_onnx(probe_graph(s), (fs::path(dir) / model).string(), eo);
    ++written;
    csv += signature_csv_fields(s) + "," + model + ",,,\n";
  }
  write_file_atomic((fs::path(dir) / "signatures.csv").string(), csv);
  return written;
}

}  // namespace dalnas
