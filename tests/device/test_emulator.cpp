// Emulator vs the naive reference (tests/device/naive_reference.h), node by node, over a
// table of shapes and every numerics mode; and the scalar, AVX2 and AVX-512 paths against
// each other, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "device/emulator.h"
#include "device/kernels.h"
#include "isa_paths.h"
#include "naive_reference.h"

namespace dalnas {
namespace {

struct Mode {
  EmulatorConfig config;
  std::string name;
};

// storage × accumulation × overflow × subnormals × prescale. SHAVE gets the other overflow
// mode and fp32 accumulation, so that placement matters.
std::vector<Mode> all_modes() {
  std::vector<Mode> modes;
  const char* accs[] = {"fp32", "fp16", "fp16-blocked:1", "fp16-blocked:4", "fp16-blocked:16"};
  for (Storage st : {Storage::FP32, Storage::FP16}) {
    for (const char* acc : accs) {
      for (Overflow ov : {Overflow::Inf, Overflow::Saturate}) {
        for (Subnormals sub : {Subnormals::Keep, Subnormals::Flush}) {
          for (bool pre : {false, true}) {
            Mode m;
            Numerics& n = m.config.nce;
            n.storage = st;
            n.acc = parse_accumulation(acc);
            n.half = {ov, sub};
            n.prescale = pre;
            m.config.shave = n;
            m.config.shave.acc = parse_accumulation(std::string(acc) == "fp32" ? "fp16" : "fp32");
            m.config.shave.half.overflow = ov == Overflow::Inf ? Overflow::Saturate : Overflow::Inf;
            m.name = "nce: " + to_string(n) + "; shave: " + to_string(m.config.shave);
            modes.push_back(m);
          }
        }
      }
    }
  }
  return modes;
}

// The kernel paths this CPU runs (only the scalar one under DALNAS_NO_SIMD=1), recorded in
// the test's isa_paths::Report (tests/isa_paths.h): a missing one makes the test skipped,
// or failed when DALNAS_REQUIRE_ISA names it.
std::vector<KernelIsa> isas() {
  std::vector<KernelIsa> v{KernelIsa::Scalar};
  isa_paths::ran("scalar");
  const char* env = std::getenv("DALNAS_NO_SIMD");
  if (env != nullptr && std::string(env) == "1") {
    isa_paths::missing("avx2", "DALNAS_NO_SIMD=1");
    isa_paths::missing("avx512", "DALNAS_NO_SIMD=1");
    return v;
  }
  if (isa_paths::use("avx2")) v.push_back(KernelIsa::AVX2);
  if (isa_paths::use("avx512")) v.push_back(KernelIsa::AVX512);
  return v;
}

// Values of mixed magnitudes: mostly O(1), some tiny (FP16 subnormal products), some
// large (FP16 overflow in products and sums), some zeros of either sign.
float mixed(std::mt19937& rng, float scale) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::uniform_int_distribution<int> pick(0, 99);
  const int p = pick(rng);
  float v = u(rng) * scale;
  if (p < 8)
    v *= 1.0f / 65536.0f;  // tiny
  else if (p < 14)
    v *= 400.0f;  // large
  else if (p < 17)
    v = 0.0f;
  else if (p < 19)
    v = -0.0f;
  return v;
}

Node conv(const std::string& name, int in, int cin, int out_c, int k, int stride, int pad,
          int groups, ActType act, std::mt19937& rng, bool bias = true) {
  Node n;
  n.op = OpType::Conv;
  n.name = name;
  n.inputs = {in};
  n.out_c = out_c;
  n.kernel = k;
  n.stride = stride;
  n.pad = pad;
  n.groups = groups;
  n.act = act;
  n.act_min = -0.5f;
  n.act_max = 2.0f;
  n.alpha = 0.3f;
  n.beta = 0.4f;
  n.weight.resize(static_cast<size_t>(out_c) * (cin / groups) * k * k);
  for (float& w : n.weight) w = mixed(rng, 0.5f);
  if (bias) {
    n.bias.resize(out_c);
    for (float& b : n.bias) b = mixed(rng, 1.0f);
  }
  return n;
}

Node simple(OpType op, const std::string& name, std::vector<int> inputs,
            ActType act = ActType::None) {
  Node n;
  n.op = op;
  n.name = name;
  n.inputs = std::move(inputs);
  n.act = act;
  return n;
}

int add_output(DeviceGraph& g, int from) {
  return g.add(simple(OpType::Output, "out", {from}));
}

std::vector<float> random_input(const Shape& s, std::mt19937& rng, float scale = 2.0f) {
  std::vector<float> x(static_cast<size_t>(s.numel()));
  for (float& v : x) v = mixed(rng, scale);
  return x;
}

// Runs the graph on every kernel path; checks the paths agree bit for bit on every node,
// and every node against the naive reference given the same inputs.
void check_graph(const DeviceGraph& g, const std::vector<float>& input, const Shape& in,
                 const Mode& mode) {
  SCOPED_TRACE(mode.name);
  std::vector<std::vector<float>> ref;
  for (KernelIsa isa : isas()) {
    EmulatorConfig c = mode.config;
    c.isa = isa;
    const Emulator e(g, c);
    ASSERT_EQ(e.isa(), isa);
    std::vector<std::vector<float>> outs = e.run_all(input.data(), in);
    if (ref.empty()) {
      ref = std::move(outs);
      continue;
    }
    for (size_t i = 0; i < ref.size(); ++i) {
      ASSERT_EQ(outs[i].size(), ref[i].size());
      for (size_t k = 0; k < ref[i].size(); ++k) {
        if (!naive::same(outs[i][k], ref[i][k])) {
          FAIL() << to_string(isa) << " differs from scalar at node " << i << " '"
                 << g.nodes[i].name << "' element " << k << ": " << outs[i][k] << " vs "
                 << ref[i][k];
        }
      }
    }
  }
  const std::vector<Shape> shapes = g.compute_shapes(in);
  const std::vector<naive::Prepared> prep = naive::prepare(g, mode.config);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    std::vector<const std::vector<float>*> ins;
    std::vector<Shape> in_shapes;
    for (int x : n.inputs) {
      ins.push_back(&ref[x]);
      in_shapes.push_back(shapes[x]);
    }
    const Numerics& num = on_neural_engine(n) ? mode.config.nce : mode.config.shave;
    const std::vector<float> want =
        naive::run_node(n, num, prep[i], ins, in_shapes, shapes[i], input, g);
    ASSERT_EQ(want.size(), ref[i].size()) << n.name;
    for (size_t k = 0; k < want.size(); ++k) {
      if (!naive::same(want[k], ref[i][k])) {
        FAIL() << "node " << i << " '" << n.name << "' element " << k << ": emulator " << ref[i][k]
               << " (0x" << std::hex << naive::bits(ref[i][k]) << ") naive " << want[k] << " (0x"
               << naive::bits(want[k]) << std::dec << ")";
      }
    }
  }
}

struct ConvCase {
  int cin, cout, h, w, k, stride, pad, groups;
};

const ConvCase kConvCases[] = {
    {3, 17, 7, 9, 3, 1, 1, 1},    // odd sizes, 17 out channels (8 + 8 + 1)
    {1, 1, 1, 1, 1, 1, 0, 1},     // 1×1 spatial, 1×1 kernel
    {17, 33, 7, 9, 1, 1, 0, 1},   // 1×1 convolution, 33 = 4·8 + 1
    {5, 7, 9, 7, 5, 1, 2, 1},     // 5×5, pad 2, 7 = 4 + 1 + 1 + 1
    {17, 17, 9, 7, 3, 1, 1, 17},  // depthwise
    {6, 9, 11, 13, 3, 2, 1, 3},   // grouped, stride 2
    {4, 9, 5, 70, 3, 1, 1, 1},    // wide rows: full tiles + tail
    {33, 4, 4, 37, 3, 2, 1, 1},   // stride 2 wide, 33 input channels
    {3, 3, 5, 75, 3, 1, 1, 3},    // depthwise wide: 4-vector tiles + tail
    {2, 5, 6, 19, 3, 2, 0, 1},    // stride 2, pad 0
    {4, 8, 3, 3, 5, 1, 1, 1},     // kernel larger than the input (output 1×1)
    {3, 4, 10, 10, 3, 3, 0, 1},   // stride 3 (SIMD paths fall back to scalar)
    {1, 3, 1, 1, 3, 1, 1, 1},     // 1×1 input, 3×3 kernel, all padding but one
};

const ActType kActs[] = {ActType::None, ActType::ReLU,        ActType::ReLU6,
                         ActType::GELU, ActType::HardSwish,   ActType::Sigmoid,
                         ActType::Clip, ActType::HardSigmoid, ActType::Swish};

TEST(Emulator, ConvMatchesNaiveInEveryMode) {
  const isa_paths::Report isa_report;  // names the kernel paths run (tests/isa_paths.h)
  const std::vector<Mode> modes = all_modes();
  int case_index = 0;
  for (const ConvCase& cc : kConvCases) {
    SCOPED_TRACE("conv case " + std::to_string(case_index));
    std::mt19937 rng(100 + case_index);
    DeviceGraph g;
    const Shape in{cc.cin, cc.h, cc.w};
    g.input = in;
    g.add(simple(OpType::Input, "in", {}));
    const int c = g.add(conv("conv", 0, cc.cin, cc.cout, cc.k, cc.stride, cc.pad, cc.groups,
                             kActs[case_index % std::size(kActs)], rng, case_index % 3 != 2));
    add_output(g, c);
    const std::vector<float> x = random_input(in, rng);
    for (const Mode& m : modes) check_graph(g, x, in, m);
    if (HasFatalFailure()) return;
    ++case_index;
  }
}

TEST(Emulator, EveryActivationInEveryMode) {
  const isa_paths::Report isa_report;  // names the kernel paths run (tests/isa_paths.h)
  const std::vector<Mode> modes = all_modes();
  std::mt19937 rng(7);
  DeviceGraph g;
  const Shape in{3, 5, 21};
  g.add(simple(OpType::Input, "in", {}));
  int last = 0;
  for (ActType a : kActs) {
    const int c = g.add(conv("conv_" + to_string(a), 0, 3, 5, 3, 1, 1, 1, a, rng));
    Node act = simple(OpType::Activation, "act_" + to_string(a), {0}, a);
    act.act_min = 0.25f;
    act.act_max = 1.5f;
    const int s = g.add(act);
    last = g.add(simple(OpType::Add, "add_" + to_string(a), {s, 0}, a));
    (void)c;
  }
  add_output(g, last);
  std::vector<float> x = random_input(in, rng, 6.0f);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  x[4] = std::numeric_limits<float>::infinity();
  x[5] = -std::numeric_limits<float>::infinity();
  x[6] = -3.0f;  // HardSwish's corner
  for (const Mode& m : modes) check_graph(g, x, in, m);
}

TEST(Emulator, PoolResizeConcatAddMulFcInEveryMode) {
  const isa_paths::Report isa_report;  // names the kernel paths run (tests/isa_paths.h)
  const std::vector<Mode> modes = all_modes();
  std::mt19937 rng(11);
  DeviceGraph g;
  const Shape in{5, 9, 11};
  g.add(simple(OpType::Input, "in", {}));
  auto pool = [&](OpType op, const std::string& name, int k, int s) {
    Node n = simple(op, name, {0});
    n.kernel = k;
    n.stride = s;
    return g.add(n);
  };
  pool(OpType::MaxPool, "max2", 2, 2);    // neural engine
  pool(OpType::MaxPool, "max3s1", 3, 1);  // SHAVE (overlapping)
  pool(OpType::AvgPool, "avg2", 2, 2);
  const int avg3 = pool(OpType::AvgPool, "avg3s2", 3, 2);
  const int gap = g.add(simple(OpType::GlobalAvgPool, "gap", {0}));
  Node up = simple(OpType::Resize, "up2", {avg3});
  up.scale = 2.0f;
  g.add(up);
  const int to_in = g.add(simple(OpType::Resize, "up_to_input", {avg3, 0}));
  Node odd = simple(OpType::Resize, "up1.7", {0});
  odd.scale = 1.7f;
  g.add(odd);
  const int cat = g.add(simple(OpType::Concat, "cat", {0, to_in, 0}));
  const int add = g.add(simple(OpType::Add, "add", {0, to_in}, ActType::ReLU));
  const int mul_b = g.add(simple(OpType::Mul, "mul_bcast", {add, gap}, ActType::Sigmoid));
  g.add(simple(OpType::Mul, "mul", {0, to_in}));
  Node fc;
  fc.op = OpType::FullyConnected;
  fc.name = "fc";
  fc.inputs = {mul_b};
  fc.out_c = 7;
  fc.act = ActType::ReLU;
  fc.weight.resize(7 * 5 * 9 * 11);
  for (float& w : fc.weight) w = mixed(rng, 0.1f);
  fc.bias.resize(7);
  for (float& b : fc.bias) b = mixed(rng, 1.0f);
  const int f = g.add(fc);
  g.add(simple(OpType::Concat, "cat2", {cat, 0}));
  add_output(g, f);
  std::vector<float> x = random_input(in, rng, 4.0f);
  x[12] = std::numeric_limits<float>::quiet_NaN();  // inside a max-pool window
  x[50] = std::numeric_limits<float>::infinity();
  x[51] = 70000.0f;  // overflows FP16 on entry
  for (const Mode& m : modes) check_graph(g, x, in, m);
}

TEST(Emulator, RunBatchAndRunAgreeWithRunAll) {
  std::mt19937 rng(3);
  DeviceGraph g;
  const Shape in{4, 12, 40};
  g.add(simple(OpType::Input, "in", {}));
  const int c1 = g.add(conv("c1", 0, 4, 16, 3, 1, 1, 1, ActType::ReLU, rng));
  const int p = g.add([&] {
    Node n = simple(OpType::MaxPool, "pool", {c1});
    n.kernel = n.stride = 2;
    return n;
  }());
  const int c2 = g.add(conv("c2", p, 16, 8, 3, 1, 1, 1, ActType::ReLU6, rng));
  const int up = g.add(simple(OpType::Resize, "up", {c2, c1}));
  const int cat = g.add(simple(OpType::Concat, "cat", {c1, up}));
  const int c3 = g.add(conv("c3", cat, 24, 1, 1, 1, 0, 1, ActType::None, rng));
  add_output(g, c3);
  EmulatorConfig cfg;
  cfg.nce.storage = cfg.shave.storage = Storage::FP16;
  cfg.nce.acc = parse_accumulation("fp16-blocked:8");
  const Emulator e(g, cfg);
  const int n = 5;
  std::vector<float> batch;
  for (int i = 0; i < n; ++i) {
    const std::vector<float> x = random_input(in, rng);
    batch.insert(batch.end(), x.begin(), x.end());
  }
  const std::vector<float> out = e.run_batch(batch.data(), n, in, 3);
  const int64_t out_n = e.output_shape(in).numel();
  ASSERT_EQ(out.size(), static_cast<size_t>(out_n * n));
  for (int i = 0; i < n; ++i) {
    const std::vector<float> one = e.run(batch.data() + in.numel() * i, in);
    const std::vector<std::vector<float>> all = e.run_all(batch.data() + in.numel() * i, in);
    for (int64_t k = 0; k < out_n; ++k) {
      ASSERT_TRUE(naive::same(one[k], out[i * out_n + k]));
      ASSERT_TRUE(naive::same(one[k], all[g.output][k]));
    }
  }
}

TEST(Emulator, RoundingEdgesMatchRoundToHalfOnEveryPath) {
  const isa_paths::Report isa_report;  // names the kernel paths run (tests/isa_paths.h)
  // Values around every FP16 boundary, through a 1×1 conv with weight 1 and fp16
  // accumulation (storage fp32 on the input, so the raw values reach the products):
  // y = h(h(0 + h(x)) + 0) = h(x) + 0 on every kernel path.
  std::vector<float> x;
  for (float b :
       {65504.0f, 65519.0f, 65520.0f, 65536.0f, 32768.0f, 2048.0f, 1.0f, kHalfMinNormal,
        kHalfMinSubnormal, kHalfMinSubnormal / 2, kHalfMinSubnormal * 1.5f, 1e-30f, 3e38f}) {
    float v = b, w = b;
    for (int k = 0; k < 40; ++k) {
      x.insert(x.end(), {v, -v, w, -w});
      v = std::nextafter(v, 1e38f);
      w = std::nextafter(w, 0.0f);
    }
  }
  for (float v :
       {0.0f, -0.0f, std::numeric_limits<float>::infinity(),
        -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    x.push_back(v);
  }
  std::mt19937 rng(5);
  std::uniform_int_distribution<uint32_t> any;
  while (x.size() % 16 != 5) {
    const uint32_t u = any(rng);
    float f;
    std::memcpy(&f, &u, sizeof f);
    x.push_back(f);
  }
  for (int i = 0; i < 2000; ++i) {
    const uint32_t u = 0x33000000u + any(rng) % (0x47800000u - 0x33000000u);  // 2^-25 .. 2^16
    float f;
    std::memcpy(&f, &u, sizeof f);
    x.push_back(i % 2 ? f : -f);
  }
  const Shape in{1, 1, static_cast<int>(x.size())};
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  Node c;
  c.op = OpType::Conv;
  c.name = "conv";
  c.inputs = {0};
  c.out_c = 1;
  c.weight = {1.0f};
  g.add(c);
  add_output(g, 1);
  for (Overflow ov : {Overflow::Inf, Overflow::Saturate}) {
    for (Subnormals sub : {Subnormals::Keep, Subnormals::Flush}) {
      for (KernelIsa isa : isas()) {
        EmulatorConfig cfg;
        cfg.nce.acc = parse_accumulation("fp16");
        cfg.nce.half = {ov, sub};
        cfg.isa = isa;
        const std::vector<float> y = Emulator(g, cfg).run(x.data(), in);
        for (size_t i = 0; i < x.size(); ++i) {
          // Sums start at +0, so a zero result is +0.
          const float want = round_to_half(x[i], {ov, sub}) + 0.0f;
          ASSERT_TRUE(naive::same(y[i], want))
              << to_string(isa) << " " << to_string(ov) << " " << to_string(sub) << ": x = " << x[i]
              << " gives " << y[i] << ", round_to_half " << want;
        }
      }
    }
  }
}

// --- Modes that must change the result ----------------------------------------------

DeviceGraph one_conv(int cin, float w, float x_unused, int out_c = 1) {
  (void)x_unused;
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  Node c;
  c.op = OpType::Conv;
  c.name = "conv";
  c.inputs = {0};
  c.out_c = out_c;
  c.weight.assign(static_cast<size_t>(cin) * out_c, w);
  g.add(c);
  add_output(g, 1);
  return g;
}

EmulatorConfig fp16_config(Overflow ov = Overflow::Inf, Subnormals sub = Subnormals::Keep,
                           const char* acc = "fp32", bool prescale = false) {
  EmulatorConfig c;
  for (Numerics* n : {&c.nce, &c.shave}) {
    n->storage = Storage::FP16;
    n->acc = parse_accumulation(acc);
    n->half = {ov, sub};
    n->prescale = prescale;
  }
  return c;
}

TEST(EmulatorModes, OverflowOnEntryAndInProducts) {
  const isa_paths::Report isa_report;  // names the kernel paths run (tests/isa_paths.h)
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  add_output(g, 0);
  const float raw = 65535.0f;
  const Shape s{1, 1, 1};
  EXPECT_EQ(Emulator(g, fp16_config(Overflow::Inf)).run(&raw, s)[0],
            std::numeric_limits<float>::infinity());
  EXPECT_EQ(Emulator(g, fp16_config(Overflow::Saturate)).run(&raw, s)[0], 65504.0f);
  EXPECT_EQ(Emulator(g, EmulatorConfig{}).run(&raw, s)[0], 65535.0f);  // fp32 storage

  // 256 · 512 = 131072 overflows FP16 as a product (fp16 accumulation) and as an output.
  const DeviceGraph c = one_conv(1, 256.0f, 0.0f);
  const float x = 512.0f;
  for (const char* acc : {"fp32", "fp16", "fp16-blocked:4"}) {
    for (KernelIsa isa : isas()) {
      EmulatorConfig inf_cfg = fp16_config(Overflow::Inf, Subnormals::Keep, acc);
      EmulatorConfig sat_cfg = fp16_config(Overflow::Saturate, Subnormals::Keep, acc);
      inf_cfg.isa = sat_cfg.isa = isa;
      EXPECT_EQ(Emulator(c, inf_cfg).run(&x, s)[0], std::numeric_limits<float>::infinity()) << acc;
      EXPECT_EQ(Emulator(c, sat_cfg).run(&x, s)[0], 65504.0f) << acc;
    }
  }
}

TEST(EmulatorModes, SubnormalProductsFlushedOrKept) {
  const isa_paths::Report isa_report;  // names the kernel paths run (tests/isa_paths.h)
  // 2^-10 · 2^-10 = 2^-20: an FP16 subnormal.
  const DeviceGraph c = one_conv(1, std::ldexp(1.0f, -10), 0.0f);
  const float x = std::ldexp(1.0f, -10);
  const Shape s{1, 1, 1};
  for (const char* acc : {"fp32", "fp16", "fp16-blocked:2"}) {
    for (KernelIsa isa : isas()) {
      EmulatorConfig keep = fp16_config(Overflow::Inf, Subnormals::Keep, acc);
      EmulatorConfig flush = fp16_config(Overflow::Inf, Subnormals::Flush, acc);
      keep.isa = flush.isa = isa;
      EXPECT_EQ(Emulator(c, keep).run(&x, s)[0], std::ldexp(1.0f, -20)) << acc;
      EXPECT_EQ(Emulator(c, flush).run(&x, s)[0], 0.0f) << acc;
    }
  }
  // A subnormal weight is flushed when the weights are prepared.
  const DeviceGraph tiny = one_conv(1, std::ldexp(1.0f, -20), 0.0f);
  EXPECT_EQ(
      Emulator(tiny, fp16_config(Overflow::Inf, Subnormals::Flush)).graph().nodes[1].weight[0],
      0.0f);
  EXPECT_EQ(Emulator(tiny, fp16_config(Overflow::Inf, Subnormals::Keep)).graph().nodes[1].weight[0],
            std::ldexp(1.0f, -20));
}

TEST(EmulatorModes, PrescaleSavesTinyWeightsFromFlushing) {
  const isa_paths::Report isa_report;  // names the kernel paths run (tests/isa_paths.h)
  // Weights 2^-20 (FP16 subnormal) flush to zero; pre-scaling lifts them first. Shift:
  // no normal weight -> min(15 + 15, 15) = 15; first layer > 10 -> 7; cap 8 -> 7.
  const DeviceGraph c = one_conv(4, std::ldexp(1.0f, -20), 0.0f);
  const std::vector<float> x(4, 1024.0f);
  const Shape s{4, 1, 1};
  for (KernelIsa isa : isas()) {
    EmulatorConfig off = fp16_config(Overflow::Inf, Subnormals::Flush, "fp32", false);
    EmulatorConfig on = fp16_config(Overflow::Inf, Subnormals::Flush, "fp32", true);
    off.isa = on.isa = isa;
    EXPECT_EQ(Emulator(c, off).run(x.data(), s)[0], 0.0f);
    const Emulator e(c, on);
    EXPECT_EQ(e.prescale_shift(1), 7);
    EXPECT_EQ(e.graph().nodes[1].weight[0], std::ldexp(1.0f, -13));
    EXPECT_EQ(e.run(x.data(), s)[0], 4.0f * 1024.0f * std::ldexp(1.0f, -20));
  }
}

TEST(EmulatorModes, PrescaleCanOverflowInTheScaledDomain) {
  const isa_paths::Report isa_report;  // names the kernel paths run (tests/isa_paths.h)
  // Weights 2^-8 (mean exponent -8, max -8): shift min(23, 8) = 8; the first-layer rule
  // does not apply (8 <= 10). With fp16 accumulation the scaled partial sums overflow:
  // 300 · 2^-8 · 2^8 · 300 channels > 65504, while unscaled they stay below.
  const int cin = 300;
  const DeviceGraph c = one_conv(cin, std::ldexp(1.0f, -8), 0.0f);
  const std::vector<float> x(cin, 300.0f);
  const Shape s{cin, 1, 1};
  for (KernelIsa isa : isas()) {
    EmulatorConfig off = fp16_config(Overflow::Inf, Subnormals::Keep, "fp16", false);
    EmulatorConfig on = fp16_config(Overflow::Inf, Subnormals::Keep, "fp16", true);
    off.isa = on.isa = isa;
    const float plain = Emulator(c, off).run(x.data(), s)[0];
    EXPECT_TRUE(std::isfinite(plain));
    EXPECT_NEAR(plain, 300.0f * 300.0f / 256.0f, 4.0f);
    const Emulator e(c, on);
    EXPECT_EQ(e.prescale_shift(1), 8);
    EXPECT_EQ(e.run(x.data(), s)[0], std::numeric_limits<float>::infinity());
    // With fp32 accumulation the scaled sum is exact and scaled back: no overflow.
    EmulatorConfig on32 = fp16_config(Overflow::Inf, Subnormals::Keep, "fp32", true);
    on32.isa = isa;
    EXPECT_EQ(Emulator(c, on32).run(x.data(), s)[0], round_to_half(300.0f * 300.0f / 256.0f));
  }
}

TEST(EmulatorModes, Fp16AccumulationLosesSmallTermsOnLongReductions) {
  const isa_paths::Report isa_report;  // names the kernel paths run (tests/isa_paths.h)
  // 2048 first, then 1000 ones: in FP16 2048 + 1 rounds back to 2048 (ulp 2, ties to
  // even); fp32 accumulation keeps every one; blocks of 16 add 16 at a time.
  const int cin = 1001;
  DeviceGraph c = one_conv(cin, 1.0f, 0.0f);
  c.nodes[1].weight[0] = 2048.0f;
  const std::vector<float> x(cin, 1.0f);
  const Shape s{cin, 1, 1};
  for (KernelIsa isa : isas()) {
    auto run = [&](const char* acc) {
      EmulatorConfig cfg = fp16_config(Overflow::Inf, Subnormals::Keep, acc);
      cfg.isa = isa;
      return Emulator(c, cfg).run(x.data(), s)[0];
    };
    EXPECT_EQ(run("fp32"), round_to_half(3048.0f));
    EXPECT_EQ(run("fp16"), 2048.0f);
    const float blocked = run("fp16-blocked:16");
    EXPECT_NE(blocked, 2048.0f);
    EXPECT_NEAR(blocked, 3048.0f, 32.0f);
  }
}

TEST(EmulatorModes, HostNormalisationUnlessFolded) {
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  add_output(g, 0);
  g.norm_mean = {1000.0f, 10.0f};
  g.norm_std = {500.0f, 2.0f};
  const std::vector<float> x = {70000.0f, 14.0f};
  const Shape s{2, 1, 1};
  const std::vector<float> host = Emulator(g, fp16_config()).run(x.data(), s);
  EXPECT_EQ(host[0], round_to_half(69000.0f / 500.0f));
  EXPECT_EQ(host[1], 2.0f);
  g.norm_folded = true;
  const std::vector<float> raw = Emulator(g, fp16_config()).run(x.data(), s);
  EXPECT_EQ(raw[0], std::numeric_limits<float>::infinity());
  EXPECT_EQ(raw[1], 14.0f);
  g.norm_folded = false;
  g.norm_std.pop_back();
  EXPECT_THROW(Emulator(g, fp16_config()).run(x.data(), s), Error);
}

TEST(EmulatorModes, PlacementPicksTheEngineNumerics) {
  // The neural engine saturates, SHAVE overflows to inf: a conv (NCE) and an Add (SHAVE)
  // of the same large value differ.
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  Node c;
  c.op = OpType::Conv;
  c.name = "conv";
  c.inputs = {0};
  c.out_c = 1;
  c.weight = {2.0f};
  g.add(c);
  g.add(simple(OpType::Add, "add", {0, 0}));
  add_output(g, 2);
  EmulatorConfig cfg = fp16_config(Overflow::Saturate);
  cfg.shave.half.overflow = Overflow::Inf;
  const float x = 40000.0f;
  const std::vector<std::vector<float>> all = Emulator(g, cfg).run_all(&x, {1, 1, 1});
  EXPECT_EQ(all[1][0], 65504.0f);
  EXPECT_EQ(all[2][0], std::numeric_limits<float>::infinity());
}

TEST(EmulatorSetup, KernelSelection) {
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  add_output(g, 0);
  EmulatorConfig cfg;
  cfg.simd = false;
  EXPECT_EQ(Emulator(g, cfg).isa(), KernelIsa::Scalar);
  cfg.simd = true;
  const KernelIsa best = kernels::cpu_has_avx512()      ? KernelIsa::AVX512
                         : kernels::cpu_has_avx2_f16c() ? KernelIsa::AVX2
                                                        : KernelIsa::Scalar;
  const char* env = std::getenv("DALNAS_NO_SIMD");
  if (env == nullptr || std::string(env) != "1") {
    EXPECT_EQ(Emulator(g, cfg).isa(), best);
    setenv("DALNAS_NO_SIMD", "1", 1);
    EXPECT_EQ(Emulator(g, cfg).isa(), KernelIsa::Scalar);
    unsetenv("DALNAS_NO_SIMD");
  }
  if (!kernels::cpu_has_avx512()) {
    cfg.isa = KernelIsa::AVX512;
    EXPECT_THROW(Emulator e(g, cfg), Error);
  }
}

TEST(EmulatorSetup, TensorStatsCounts) {
  const std::vector<float> v = {0.0f,
                                -0.0f,
                                1e-6f,
                                -3.0f,
                                std::numeric_limits<float>::infinity(),
                                std::numeric_limits<float>::quiet_NaN(),
                                2.0f};
  const TensorStats s = tensor_stats(v);
  EXPECT_EQ(s.count, 7);
  EXPECT_EQ(s.zero, 2);
  EXPECT_EQ(s.fp16_subnormal, 1);
  EXPECT_EQ(s.inf, 1);
  EXPECT_EQ(s.nan, 1);
  EXPECT_EQ(s.nonfinite(), 2);
  EXPECT_EQ(s.max_abs, 3.0f);
}

// The ops added for ONNX import: transposed convolution (SHAVE), pooling with padding,
// nearest resize and softmax, against the naive reference in every mode.
Node conv_transpose(const std::string& name, int in, int cin, int out_c, int k, int stride, int pad,
                    int output_pad, int groups, ActType act, std::mt19937& rng) {
  Node n = conv(name, in, cin, out_c, k, stride, pad, groups, act, rng);
  n.op = OpType::ConvTranspose;
  n.output_pad = output_pad;
  n.weight.resize(static_cast<size_t>(cin) * (out_c / groups) * k * k);
  for (float& w : n.weight) w = mixed(rng, 0.5f);
  return n;
}

TEST(Emulator, ConvTransposePaddedPoolNearestSoftmaxInEveryMode) {
  const isa_paths::Report isa_report;  // names the kernel paths run (tests/isa_paths.h)
  const std::vector<Mode> modes = all_modes();
  std::mt19937 rng(21);
  DeviceGraph g;
  const Shape in{4, 5, 6};
  g.add(simple(OpType::Input, "in", {}));
  const int t1 = g.add(conv_transpose("up_s2", 0, 4, 6, 3, 2, 1, 1, 1, ActType::ReLU, rng));
  g.add(conv_transpose("same_s1", 0, 4, 3, 3, 1, 1, 0, 1, ActType::None, rng));
  g.add(conv_transpose("grouped_k2s2", 0, 4, 6, 2, 2, 0, 0, 2, ActType::Sigmoid, rng));
  g.add(conv_transpose("k4s3_pad2", 0, 4, 2, 4, 3, 2, 2, 1, ActType::None, rng));
  auto pool = [&](OpType op, const std::string& name, int from, int k, int s, int pad) {
    Node n = simple(op, name, {from});
    n.kernel = k;
    n.stride = s;
    n.pad = pad;
    return g.add(n);
  };
  pool(OpType::MaxPool, "max3s2p1", t1, 3, 2, 1);
  pool(OpType::AvgPool, "avg3s1p1", t1, 3, 1, 1);
  pool(OpType::MaxPool, "max2s2p1", 0, 2, 2, 1);  // kernel == stride: neural engine
  Node near = simple(OpType::Resize, "nearest2", {0});
  near.scale = 2.0f;
  near.nearest = true;
  g.add(near);
  Node near_ref = simple(OpType::Resize, "nearest_to_up", {0, t1});
  near_ref.nearest = true;
  g.add(near_ref);
  const int sm = g.add(simple(OpType::Softmax, "softmax", {t1}));
  add_output(g, sm);
  std::vector<float> x = random_input(in, rng, 3.0f);
  x[7] = std::numeric_limits<float>::quiet_NaN();
  for (const Mode& m : modes) check_graph(g, x, in, m);
}

// A transposed convolution is the adjoint of a convolution: scatter every input pixel
// through the kernel (double precision) and compare with the emulator in FP32.
TEST(Emulator, ConvTransposeIsTheScatterDefinition) {
  std::mt19937 rng(5);
  const Shape in{6, 4, 5};
  const int out_c = 4, k = 3, stride = 2, pad = 1, output_pad = 1, groups = 2;
  DeviceGraph g;
  g.add(simple(OpType::Input, "in", {}));
  const int t = g.add(
      conv_transpose("t", 0, in.c, out_c, k, stride, pad, output_pad, groups, ActType::None, rng));
  add_output(g, t);
  const Shape os = g.compute_shapes(in)[1];
  ASSERT_EQ(os.h, (in.h - 1) * stride - 2 * pad + k + output_pad);
  ASSERT_EQ(os.w, (in.w - 1) * stride - 2 * pad + k + output_pad);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(in.numel()));
  for (float& v : x) v = u(rng);
  for (float& w : g.nodes[1].weight) w = u(rng);
  for (float& b : g.nodes[1].bias) b = u(rng);
  const Node& n = g.nodes[1];
  std::vector<double> want(static_cast<size_t>(os.numel()), 0.0);
  const int cin_g = in.c / groups, cout_g = out_c / groups;
  for (int ci = 0; ci < in.c; ++ci) {
    for (int iy = 0; iy < in.h; ++iy) {
      for (int ix = 0; ix < in.w; ++ix) {
        for (int j = 0; j < cout_g; ++j) {
          const int oc = (ci / cin_g) * cout_g + j;
          for (int ky = 0; ky < k; ++ky) {
            for (int kx = 0; kx < k; ++kx) {
              const int oy = iy * stride - pad + ky, ox = ix * stride - pad + kx;
              if (oy < 0 || ox < 0 || oy >= os.h || ox >= os.w) continue;
              want[(static_cast<size_t>(oc) * os.h + oy) * os.w + ox] +=
                  double(n.weight[((static_cast<size_t>(ci) * cout_g + j) * k + ky) * k + kx]) *
                  x[(static_cast<size_t>(ci) * in.h + iy) * in.w + ix];
            }
          }
        }
      }
    }
  }
  for (int oc = 0; oc < out_c; ++oc) {
    for (int p = 0; p < os.h * os.w; ++p)
      want[static_cast<size_t>(oc) * os.h * os.w + p] += n.bias[oc];
  }
  const Emulator e(g, EmulatorConfig{});
  const std::vector<float> got = e.run(x.data(), in);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;
}

}  // namespace
}  // namespace dalnas
