#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <set>
#include <string>

#include "core/error.h"
#include "core/genome.h"

namespace dalnas {
namespace {

const char* kExample =
    "ConvBnAct-16-k3-relu_max_MBConv-24-k3-e4-relu6_max_ResNetBlock-32-k3-relu_dec-16";

// A random valid genome (independent of the parser) for round-trip tests.
Genome random_genome(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Genome g;
  const int n = pick(3, 5);
  for (int i = 0; i < n; ++i) {
    BlockGene b;
    b.type = static_cast<BlockType>(pick(0, 6));
    b.width = pick(0, 4) == 0 ? pick(1, 1024) : pick(1, 64);
    b.kernel = pick(0, 1) ? 3 : 5;
    b.expansion = has_expansion(b.type) ? pick(3, 6) : 0;
    b.act = static_cast<Activation>(pick(0, 3));
    g.blocks.push_back(b);
    if (i > 0) g.pools.push_back(pick(0, 1) ? Pooling::Max : Pooling::Avg);
  }
  g.decoder_width = pick(1, 1024);
  return g;
}

// Naive FNV-1a 64 written straight from the specification.
uint64_t naive_fnv1a64(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < s.size(); ++i) {
    h = h ^ static_cast<uint64_t>(static_cast<unsigned char>(s[i]));
    h = h * 0x100000001b3ULL;
  }
  return h;
}

std::string error_of(const std::string& text) {
  try {
    Genome::parse(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Genome, ParsesExample) {
  const Genome g = Genome::parse(kExample);
  ASSERT_EQ(g.blocks.size(), 3u);
  ASSERT_EQ(g.pools.size(), 2u);
  EXPECT_EQ(g.blocks[0].type, BlockType::ConvBnAct);
  EXPECT_EQ(g.blocks[0].width, 16);
  EXPECT_EQ(g.blocks[0].kernel, 3);
  EXPECT_EQ(g.blocks[0].expansion, 0);
  EXPECT_EQ(g.blocks[0].act, Activation::ReLU);
  EXPECT_EQ(g.blocks[1].type, BlockType::MBConv);
  EXPECT_EQ(g.blocks[1].width, 24);
  EXPECT_EQ(g.blocks[1].expansion, 4);
  EXPECT_EQ(g.blocks[1].act, Activation::ReLU6);
  EXPECT_EQ(g.blocks[2].type, BlockType::ResNetBlock);
  EXPECT_EQ(g.pools[0], Pooling::Max);
  EXPECT_EQ(g.pools[1], Pooling::Max);
  EXPECT_EQ(g.decoder_width, 16);
  EXPECT_EQ(g.str(), kExample);
}

TEST(Genome, RoundTripsRandomGenomes) {
  std::mt19937 rng(1234);
  std::set<BlockType> types_seen;
  for (int i = 0; i < 500; ++i) {
    const Genome g = random_genome(rng);
    ASSERT_NO_THROW(g.validate());
    const std::string s = g.str();
    const Genome back = Genome::parse(s);
    ASSERT_EQ(back, g) << s;
    ASSERT_EQ(back.str(), s);
    ASSERT_EQ(back.hash(), g.hash());
    for (const auto& b : g.blocks) types_seen.insert(b.type);
    for (char c : s)
      ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') << s;
  }
  EXPECT_EQ(types_seen.size(), 7u);
}

TEST(Genome, CanonicalStringsRoundTrip) {
  const std::vector<std::string> canon = {
      kExample,
      "ConvAct-1-k5-gelu_avg_ConvSE-1024-k3-hswish_avg_DenseNetBlock-7-k5-relu6_max_"
      "MBConvNoRes-9-k3-e6-gelu_max_MBConv-12-k5-e3-relu_dec-1",
      "DenseNetBlock-4-k3-relu_avg_ResNetBlock-4-k3-relu_avg_ConvSE-4-k3-relu_dec-1024"};
  for (const auto& s : canon) EXPECT_EQ(Genome::parse(s).str(), s);
}

TEST(Genome, HashIsFnv1aOfCanonicalString) {
  const Genome g = Genome::parse(kExample);
  EXPECT_EQ(g.hash(), naive_fnv1a64(kExample));
  EXPECT_EQ(g.hash(), 0x778c3c5d229fd8d4ULL);  // computed once, independently (Python)
  // Literal values from the FNV-1a 64 specification's test vectors.
  EXPECT_EQ(naive_fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(naive_fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(naive_fnv1a64("foobar"), 0x85944171f73967e8ULL);
  // Different genomes hash differently (any change of token changes the hash).
  Genome h = g;
  h.decoder_width = 17;
  EXPECT_NE(h.hash(), g.hash());
  h = g;
  h.pools[1] = Pooling::Avg;
  EXPECT_NE(h.hash(), g.hash());
}

TEST(Genome, ErrorMessagesNameTokenAndAllowedValues) {
  EXPECT_EQ(error_of("ConvBnAct-16-k3-relu_max_MBConv-24-k4-e4-relu6_max_ResNetBlock-32-k3-relu_"
                     "dec-16"),
            "genome token 3 'MBConv-24-k4-e4-relu6': kernel 'k4' not allowed (allowed: k3, k5)");
  EXPECT_EQ(error_of("ConvBnAct-16-k3-relu_max_ResNetBlock-32-k3-relu_dec-16"),
            "genome: 2 blocks, need 3 to 5");
  EXPECT_EQ(error_of("ConvBnAct-16-k3-relu_mux_MBConv-24-k3-e4-relu6_max_ResNetBlock-32-k3-relu_"
                     "dec-16"),
            "genome token 2 'mux': pooling must be one of max, avg");
  EXPECT_EQ(error_of("ConvBnAct-16-k3-relu_max_MBConv-24-k3-e4-relu6_max_ResNetBlock-32-k3-relu"),
            "genome: missing decoder token 'dec-<width>' at the end");
  const std::string unknown =
      error_of("Conv-16-k3-relu_max_MBConv-24-k3-e4-relu6_max_ResNetBlock-32-k3-relu_dec-16");
  EXPECT_NE(unknown.find("genome token 1 'Conv-16-k3-relu'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("unknown block type 'Conv'"), std::string::npos) << unknown;
  for (const char* t :
       {"ConvAct", "ConvBnAct", "ConvSE", "MBConv", "MBConvNoRes", "ResNetBlock", "DenseNetBlock"})
    EXPECT_NE(unknown.find(t), std::string::npos) << t;
}

TEST(Genome, MoreErrorCases) {
  struct Case {
    std::string text, must_contain;
  };
  const std::string tail = "_max_ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_dec-8";
  const std::vector<Case> cases = {
      {"", "genome: empty string"},
      {"ConvAct-8-k3-relu__max_ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_dec-8",
       "genome token 2 '': empty token"},
      {"ConvAct-0-k3-relu" + tail, "genome token 1 'ConvAct-0-k3-relu': width '0' must be"},
      {"ConvAct-1025-k3-relu" + tail, "width '1025' must be an integer 1..1024"},
      {"ConvAct-016-k3-relu" + tail, "without leading zeros"},
      {"ConvAct-x-k3-relu" + tail, "width 'x'"},
      {"ConvAct-8-k3-tanh" + tail,
       "activation 'tanh' not allowed (allowed: relu, relu6, gelu, hswish)"},
      {"MBConv-8-k3-relu" + tail,
       "genome token 1 'MBConv-8-k3-relu': MBConv needs an expansion after the kernel (allowed: "
       "e3, e4, e5, e6)"},
      {"MBConvNoRes-8-k3-e7-relu" + tail, "expansion 'e7' not allowed (allowed: e3, e4, e5, e6)"},
      {"MBConv-8-k3-e2-relu" + tail, "expansion 'e2' not allowed"},
      {"ConvSE-8-k3-e4-relu" + tail, "ConvSE takes no expansion ('e4'"},
      {"ConvAct-8-k3" + tail, "expected <Type>-<width>-k<kernel>-<activation>"},
      {"ConvAct-8-k3-relu-x" + tail, "expected <Type>-<width>-k<kernel>-<activation>"},
      {"ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_dec-0",
       "genome token 6 'dec-0': decoder width '0' must be an integer 1..1024"},
      {"ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_dec-", "decoder width ''"},
      {"ConvAct-8-k3-relu_ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_dec-8",
       "genome token 2 'ConvAct-8-k3-relu': pooling must be one of max, avg"},
      {"ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_max_dec-8",
       "genome token 4 'max': a pooling token must be followed by a block"},
      {"ConvAct-8-k3-relu_dec-8_ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_dec-8",
       "genome token 2 'dec-8': the decoder token must come last"},
      {"ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_max_"
       "ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_dec-8",
       "genome: 6 blocks, need 3 to 5"},
      {"dec-8", "genome: 0 blocks, need 3 to 5"},
  };
  for (const auto& c : cases) {
    const std::string e = error_of(c.text);
    EXPECT_NE(e.find(c.must_contain), std::string::npos)
        << "input: " << c.text << "\nerror: " << e << "\nexpected to contain: " << c.must_contain;
    EXPECT_EQ(e.find('\n'), std::string::npos);
  }
}

TEST(Genome, ValidateChecksStructure) {
  Genome g = Genome::parse(kExample);
  EXPECT_NO_THROW(g.validate());
  auto fails = [](Genome x, const std::string& must) {
    try {
      x.validate();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(must), std::string::npos) << e.what();
      return;
    }
    ADD_FAILURE() << "validate() accepted an invalid genome; expected: " << must;
  };
  Genome x = g;
  x.pools.pop_back();
  fails(x, "3 blocks need 2 pooling tokens, found 1");
  x = g;
  x.blocks.pop_back();
  x.pools.pop_back();
  fails(x, "genome: 2 blocks, need 3 to 5");
  x = g;
  x.blocks[1].width = 0;
  fails(x, "genome block 2 (MBConv): width 0 outside 1..1024");
  x = g;
  x.blocks[0].width = 1025;
  fails(x, "width 1025 outside 1..1024");
  x = g;
  x.blocks[2].kernel = 7;
  fails(x, "kernel 7 not allowed");
  x = g;
  x.blocks[1].expansion = 2;
  fails(x, "expansion 2 not allowed");
  x = g;
  x.blocks[0].expansion = 4;
  fails(x, "expansion must be 0");
  x = g;
  x.decoder_width = 0;
  fails(x, "decoder width 0 outside 1..1024");
}

TEST(Genome, NamedGenomes) {
  const auto names = named_genome_names();
  for (const char* want : {"reference", "small", "tiny"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  for (const auto& n : names) {
    Genome g;
    ASSERT_TRUE(named_genome(n, g)) << n;
    EXPECT_NO_THROW(g.validate());
    EXPECT_EQ(Genome::parse(g.str()), g);
  }
  Genome g;
  EXPECT_FALSE(named_genome("nope", g));
  ASSERT_TRUE(named_genome("reference", g));
  EXPECT_GE(g.blocks.size(), 4u);
  EXPECT_GE(g.blocks[0].width, 16);  // full-resolution features are kept wide enough
}

TEST(Genome, ResolveArch) {
  Genome ref;
  ASSERT_TRUE(named_genome("reference", ref));
  EXPECT_EQ(resolve_arch("reference", 4), ref);
  EXPECT_EQ(resolve_arch(kExample, 4), Genome::parse(kExample));
  const Genome p = resolve_arch("pynas:Lco04k3s1p1arn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE", 4);
  EXPECT_EQ(p.blocks.size(), 3u);
  EXPECT_EQ(p.blocks[0].width, 16);
  try {
    resolve_arch("referense", 4);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("arch 'referense'"), std::string::npos) << m;
    EXPECT_NE(m.find("reference"), std::string::npos) << m;
    EXPECT_NE(m.find("tiny"), std::string::npos) << m;
    EXPECT_NE(m.find("pynas:"), std::string::npos) << m;
  }
  try {
    resolve_arch("ConvAct-8-k3-relu_max_ConvAct-8-k3-relu_dec-8", 4);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("2 blocks, need 3 to 5"), std::string::npos);
  }
}

}  // namespace
}  // namespace dalnas

namespace dalnas {
namespace {

TEST(GenomePrecision, GenesParseAndPrintLast) {
  const std::string text =
      "ConvBnAct-16-k3-relu-q8_max_MBConv-24-k3-e4-relu6-q4w_max_ResNetBlock-32-k3-relu-f16_dec-16";
  const Genome g = Genome::parse(text);
  EXPECT_EQ(g.blocks[0].precision, LayerPrecision::Int8);
  EXPECT_EQ(g.blocks[1].precision, LayerPrecision::Int4W);
  EXPECT_EQ(g.blocks[2].precision, LayerPrecision::FP16);
  EXPECT_EQ(g.str(), text);
  // int16 activations (TFLite's 16x8): q16.
  const std::string t16 =
      "ConvBnAct-16-k3-relu-q16_max_MBConv-24-k3-e4-relu6_max_ResNetBlock-32-k3-relu_dec-16";
  const Genome g16 = Genome::parse(t16);
  EXPECT_EQ(g16.blocks[0].precision, LayerPrecision::Int16);
  EXPECT_EQ(g16.str(), t16);
  // Without a gene: Default, and the canonical string (and hash) as before genes existed.
  const Genome d = Genome::parse(kExample);
  for (const BlockGene& b : d.blocks) EXPECT_EQ(b.precision, LayerPrecision::Default);
  EXPECT_EQ(d.str(), kExample);
  EXPECT_NE(
      g, Genome::parse("ConvBnAct-16-k3-relu_max_MBConv-24-k3-e4-relu6-q4w_max_ResNetBlock-32-k3-"
                       "relu-f16_dec-16"));
}

TEST(GenomePrecision, UnknownPrecisionNamesTheTokenAndTheAllowedValues) {
  const std::string e = error_of(
      "ConvBnAct-16-k3-relu-q32_max_MBConv-24-k3-e4-relu6_max_ResNetBlock-32-k3-relu_dec-16");
  EXPECT_NE(e.find("q32"), std::string::npos) << e;
  EXPECT_NE(e.find("q4w"), std::string::npos) << e;
  EXPECT_NE(e.find("q16"), std::string::npos) << e;
  // A precision in the activation's place is not an activation.
  EXPECT_NE(
      error_of("ConvBnAct-16-k3-q8_max_MBConv-24-k3-e4-relu6_max_ResNetBlock-32-k3-relu_dec-16"),
      "(no error)");
}

}  // namespace
}  // namespace dalnas
