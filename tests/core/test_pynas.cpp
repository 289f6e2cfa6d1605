#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "core/pynas.h"

namespace dalnas {
namespace {

std::string error_of(const std::string& code, int bands = 4) {
  try {
    genome_from_pynas(code, bands);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Pynas, ConvertsExampleCode) {
  // ConvBnAct o16 on 4 bands -> 64; MBConv keeps 64; ResNetBlock keeps 64.
  const Genome g = genome_from_pynas("Lco16k3s1p1arn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE", 4);
  ASSERT_EQ(g.blocks.size(), 3u);
  ASSERT_EQ(g.pools.size(), 2u);  // the pool after the last layer is dropped
  EXPECT_EQ(g.blocks[0].type, BlockType::ConvBnAct);
  EXPECT_EQ(g.blocks[0].width, 64);
  EXPECT_EQ(g.blocks[0].kernel, 3);
  EXPECT_EQ(g.blocks[0].act, Activation::ReLU);
  EXPECT_EQ(g.blocks[1].type, BlockType::MBConv);
  EXPECT_EQ(g.blocks[1].width, 64);
  EXPECT_EQ(g.blocks[1].expansion, 4);
  EXPECT_EQ(g.blocks[1].kernel, 3);
  EXPECT_EQ(g.blocks[1].act, Activation::GELU);
  EXPECT_EQ(g.blocks[2].type, BlockType::ResNetBlock);
  EXPECT_EQ(g.blocks[2].width, 64);
  EXPECT_EQ(g.pools[0], Pooling::Max);
  EXPECT_EQ(g.pools[1], Pooling::Max);
  EXPECT_EQ(g.decoder_width, 64);  // first skip's width
  EXPECT_EQ(g.str(),
            "ConvBnAct-64-k3-relu_max_MBConv-64-k3-e4-gelu_max_ResNetBlock-64-k3-relu_dec-64");
}

TEST(Pynas, WidthRulesPerType) {
  // 3 bands: ConvAct o04 -> 12; DenseNetBlock o05 -> 12 + 60 = 72; ConvSE o02 -> 144;
  // MBConvNoRes keeps 144; ConvAct k5 p2 o01 -> 144.
  const Genome g = genome_from_pynas(
      "Lbo04k3s1p1agn1EPa2ELdo05arn1EPM2ELeo02k3s1p1arn1EPa2ELne6arn1EPM2ELbo01k5s1p2arn1EPM2EE",
      3);
  ASSERT_EQ(g.blocks.size(), 5u);
  EXPECT_EQ(g.blocks[0].type, BlockType::ConvAct);
  EXPECT_EQ(g.blocks[0].width, 12);
  EXPECT_EQ(g.blocks[1].type, BlockType::DenseNetBlock);
  EXPECT_EQ(g.blocks[1].width, 72);
  EXPECT_EQ(g.blocks[2].type, BlockType::ConvSE);
  EXPECT_EQ(g.blocks[2].width, 144);
  EXPECT_EQ(g.blocks[3].type, BlockType::MBConvNoRes);
  EXPECT_EQ(g.blocks[3].width, 144);
  EXPECT_EQ(g.blocks[3].expansion, 6);
  EXPECT_EQ(g.blocks[4].type, BlockType::ConvAct);
  EXPECT_EQ(g.blocks[4].width, 144);
  EXPECT_EQ(g.blocks[4].kernel, 5);
  const std::vector<Pooling> pools = {Pooling::Avg, Pooling::Max, Pooling::Avg, Pooling::Max};
  EXPECT_EQ(g.pools, pools);
  EXPECT_EQ(g.decoder_width, 12);
}

TEST(Pynas, ParameterOrderDoesNotMatterAndDropoutIsIgnored) {
  const Genome a = genome_from_pynas("Lco08k3s1p1arn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE", 4);
  const Genome b = genome_from_pynas("Lcarn1p1s1k3o08EPM2ELDd0.30ELmagn1e4EPM2ELRarr2n1EPa2EE", 4);
  EXPECT_EQ(a, b);
  // Without the trailing pool the result is the same.
  EXPECT_EQ(genome_from_pynas("Lco08k3s1p1arn1EPM2ELme4agn1EPM2ELRr2arn1EE", 4), a);
}

TEST(Pynas, Errors) {
  struct Case {
    std::string code, must_contain;
  };
  const std::vector<Case> cases = {
      {"Lco16k3s2p1arn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE",
       "pynas segment 'Lco16k3s2p1arn1': stride 2 unsupported"},
      {"Lco16k7s1p3arn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE",
       "pynas segment 'Lco16k7s1p3arn1': kernel 7 unsupported (accepted: 3, 5)"},
      {"Leo16k3s1p2arn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE",
       "pynas segment 'Leo16k3s1p2arn1': padding 2 with kernel 3 unsupported"},
      {"Lco16k3s1p1arn1EPM2ELme7agn1EPM2ELRr2arn1EPa2EE",
       "pynas segment 'Lme7agn1': expansion 7 unsupported (accepted: 3..6)"},
      {"Lxo16k3s1p1arn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE",
       "unknown layer type 'x' (accepted: b (ConvAct), c (ConvBnAct)"},
      {"Lco16k3s1p1asgn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE",
       "activation 'sg' not supported (accepted: r ReLU, g GELU)"},
      {"Lco16k3s1p1n1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE", "missing activation"},
      {"Lco16k3s1p1arn1EPX2ELme4agn1EPM2ELRr2arn1EPa2EE",
       "pynas segment 'PX2': pooling must be PM2 (max) or Pa2 (avg)"},
      {"Lco16k3s1p1arn1ELme4agn1EPM2ELRr2arn1EPa2EE",
       "pynas segment 'Lme4agn1': expected a pooling segment (PM2 or Pa2) between two layers"},
      {"PM2ELco16k3s1p1arn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE", "cannot come first"},
      {"Lco16k3s1p1arn1EPM2EPa2ELme4agn1EPM2ELRr2arn1EE", "two pooling segments in a row"},
      {"Lco16k3s1p1arn1EPM2ELme4agn1EPM2EE", "2 layers, need 3 to 5"},
      {"Lmo16e4arn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE",
       "pynas segment 'Lmo16e4arn1': parameter 'o' not used by MBConv (accepted: e, a, n)"},
      {"Lco16k3s1p1arn2EPM2ELme4agn1EPM2ELRr2arn1EPa2EE", "num_blocks 'n2' unsupported"},
      {"Lco16k3s1p1arn1EPM2ELme4agn1EPM2ELRr2arn1EUf2mnEE",
       "pynas segment 'Uf2mn': unknown segment"},
      {"Lco99k3s1p1arn1EPM2ELco99k3s1p1arn1EPM2ELRr2arn1EPa2EE",
       "pynas segment 'Lco99k3s1p1arn1': 39204 output channels (from 396 input channels) outside "
       "1..1024"},
      {"Lco00k3s1p1arn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE", "0 output channels"},
      {"Lck3s1p1arn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE", "missing out_channels_coefficient"},
      {"Lco16k3k3s1p1arn1EPM2ELme4agn1EPM2ELRr2arn1EPa2EE", "parameter 'k' given twice"},
      {"", "pynas code: empty"},
  };
  for (const auto& c : cases) {
    const std::string e = error_of(c.code);
    EXPECT_NE(e.find(c.must_contain), std::string::npos)
        << "code: " << c.code << "\nerror: " << e << "\nexpected to contain: " << c.must_contain;
  }
}

}  // namespace
}  // namespace dalnas
