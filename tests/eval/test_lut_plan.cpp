// The lookup-table plan: on small spaces, the exhaustive plan is exactly the union of the
// signatures of every genome of the space (nothing missing, nothing extra); sampled plans
// are subsets; the written models import back with their op's signature.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "onnx/onnx_import.h"
#include "eval/host_latency.h"
#include "eval/lut_plan.h"

namespace dalnas {
namespace {

namespace fs = std::filesystem;

// Every genome of a space with one kernel, activation and expansion (enumerated here
// independently of plan_lut).
std::vector<Genome> all_genomes(const SearchSpace& s) {
  std::vector<BlockGene> genes;
  for (BlockType t : s.block_types) {
    for (int w : s.widths) {
      BlockGene g;
      g.type = t;
      g.width = w;
      g.kernel = s.kernels.at(0);
      g.expansion = has_expansion(t) ? s.expansions.at(0) : 0;
      g.act = s.activations.at(0);
      genes.push_back(g);
    }
  }
  std::vector<Genome> out;
  for (int n = s.min_stages; n <= s.max_stages; ++n) {
    size_t combos = 1;
    for (int i = 0; i < n; ++i) combos *= genes.size();
    size_t pool_combos = 1;
    for (int i = 0; i < n - 1; ++i) pool_combos *= s.poolings.size();
    for (size_t c = 0; c < combos; ++c) {
      for (size_t pc = 0; pc < pool_combos; ++pc) {
        for (int d : s.decoder_widths) {
          Genome g;
          size_t x = c, y = pc;
          for (int i = 0; i < n; ++i, x /= genes.size())
            g.blocks.push_back(genes[x % genes.size()]);
          for (int i = 0; i < n - 1; ++i, y /= s.poolings.size())
            g.pools.push_back(s.poolings[y % s.poolings.size()]);
          g.decoder_width = d;
          out.push_back(g);
        }
      }
    }
  }
  return out;
}

void expect_exact(const nlohmann::json& space_json, int bands, int h, int w) {
  const SearchSpace space = SearchSpace::from_json(space_json);
  LutPlanOptions o;
  o.bands = bands;
  o.height = h;
  o.width = w;
  const LutPlan plan = plan_lut(space, o);
  std::set<std::string> planned;
  for (const OpSignature& s : plan.signatures) planned.insert(s.str());
  std::set<std::string> seen;
  for (const Genome& g : all_genomes(space)) {
    for (const OpSignature& s : graph_signatures(genome_graph(g, bands, h, w))) {
      seen.insert(s.str());
      EXPECT_TRUE(planned.count(s.str())) << s.str() << " of " << g.str() << " is not planned";
    }
  }
  for (const std::string& s : planned) EXPECT_TRUE(seen.count(s)) << s << " is never produced";
  EXPECT_EQ(planned.size(), seen.size());
}

TEST(LutPlan, ExhaustivePlanIsExactlyTheSpacesSignatures) {
  // Three stages, both poolings, two decoder widths; odd sizes (resize to a skip's size).
  expect_exact({{"block_types", {"ConvAct", "MBConv", "ConvSE"}},
                {"widths", {8, 16}},
                {"kernels", {3}},
                {"expansions", {3}},
                {"activations", {"relu6"}},
                {"poolings", {"max", "avg"}},
                {"stages", {{"min", 3}, {"max", 3}}},
                {"decoder_widths", {8, 16}}},
               3, 22, 17);
  // Three or four stages: the decoder sees the bottleneck or the decoder width from below.
  expect_exact({{"block_types", {"ResNetBlock", "DenseNetBlock"}},
                {"widths", {8, 16}},
                {"kernels", {5}},
                {"activations", {"hswish"}},
                {"poolings", {"avg"}},
                {"stages", {{"min", 3}, {"max", 4}}},
                {"decoder_widths", {8}}},
               4, 32, 32);
}

TEST(LutPlan, SampledPlansAreSubsetsOfTheExhaustivePlan) {
  SearchSpace space =
      SearchSpace::from_json({{"block_types", {"ConvSE", "MBConv", "DenseNetBlock"}},
                              {"widths", {8, 24, 40}},
                              {"expansions", {3, 6}},
                              {"activations", {"relu", "gelu"}}});
  space.max_params = 0;
  LutPlanOptions o;
  o.height = o.width = 64;
  const LutPlan all = plan_lut(space, o);
  std::set<std::string> planned;
  for (const OpSignature& s : all.signatures) planned.insert(s.str());
  EXPECT_EQ(planned.size(), all.signatures.size());  // unique
  o.sample = 20;
  const LutPlan some = plan_lut(space, o);
  EXPECT_EQ(some.lowered, 20);
  EXPECT_GT(some.signatures.size(), 20u);
  for (const OpSignature& s : some.signatures) EXPECT_TRUE(planned.count(s.str())) << s.str();
  // Too small an input for the stages is an error naming the size.
  o.sample = 0;
  o.height = 8;
  EXPECT_THROW(plan_lut(space, o), Error);
}

TEST(LutPlan, WritesOneImportableModelPerSignatureAndAFillableTable) {
  const SearchSpace space = SearchSpace::from_json({{"block_types", {"ConvSE", "MBConv"}},
                                                    {"widths", {8}},
                                                    {"kernels", {3}},
                                                    {"expansions", {3}},
                                                    {"activations", {"gelu"}},
                                                    {"poolings", {"max"}},
                                                    {"stages", {{"min", 3}, {"max", 3}}},
                                                    {"decoder_widths", {8}}});
  LutPlanOptions o;
  o.height = o.width = 16;
  const LutPlan plan = plan_lut(space, o);
  ASSERT_GT(plan.signatures.size(), 10u);
  const fs::path dir = fs::temp_directory_path() / ("dalnas-lutplan-" + std::to_string(getpid()));
  const int n = write_lut_plan(plan, dir.string(), {});
  EXPECT_EQ(n, static_cast<int>(plan.signatures.size()));
  for (const OpSignature& s : plan.signatures) {
    const fs::path model = dir / "models" / (s.str() + ".onnx");
    ASSERT_TRUE(fs::exists(model)) << model;
    const DeviceGraph g = import_onnx(model.string());
    std::set<std::string> sigs;
    for (const OpSignature& x : graph_signatures(g)) sigs.insert(x.str());
    EXPECT_TRUE(sigs.count(s.str())) << s.str() << " not in its imported model";
  }
  // The table reads as empty; with times filled in, as one entry per signature.
  std::ifstream in(dir / "signatures.csv");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_TRUE(LatencyTable::parse_csv(text, "plan").empty());
  std::string filled, line;
  std::istringstream lines(text);
  std::getline(lines, line);
  filled = line + "\n";
  while (std::getline(lines, line)) filled += line.substr(0, line.size() - 2) + "5.5,0.1,10\n";
  const LatencyTable t = LatencyTable::parse_csv(filled, "filled");
  EXPECT_EQ(t.size(), plan.signatures.size());
  for (const LatencyEntry& e : t.entries()) {
    EXPECT_EQ(e.mean_us, 5.5);
    EXPECT_EQ(e.std_us, 0.1);
    EXPECT_EQ(e.runs, 10);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dalnas
